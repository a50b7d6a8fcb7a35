"""Admin routes: `GET /v1/admin/maintenance` (the state) and `POST /v1/admin/maintenance` (switch it).

They take an admin key from `TTSIGN_ADMIN_KEYS`, in `X-Admin-Key` or `Authorization: Bearer`, never an API
key, and they are never open: with no admin key configured they answer 403 (in open mode too). Keys are
compared in constant time against every configured key and never logged; wrong keys count against the
address's failed-key throttle (`TTSIGN_AUTH_FAILURES_PER_MINUTE`), like wrong API keys. The API-key
middleware lets `/v1/admin/` through (`ttsign.server.middleware.ADMIN_PREFIX`); the check is here.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ttsign.api_keys import env_keys
from ttsign.monitor.maintenance import DEFAULT_RETRY_AFTER_S, MAX_MESSAGE
from ttsign.server import logs
from ttsign.server.auth import check_key
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.server.models import Text, parse_body, request_body
from ttsign.server.openapi import ANY, BODY, responses
from ttsign.server.pipeline.asgi import client_address

router = APIRouter(prefix="/v1/admin", tags=["admin"])

ADMIN_HEADERS = {"WWW-Authenticate": 'ApiKey realm="ttsign-admin", header="X-Admin-Key", Bearer realm="ttsign-admin"'}
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"AdminKey": []}, {"AdminBearer": []}]
"""What `openapi.install` declares for the admin routes (instead of the API key)."""


class MaintenanceIn(BaseModel):
    """`POST /v1/admin/maintenance`: switch maintenance mode on or off."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    enabled: bool = Field(description="true: the signing and connect routes answer 503 with the message")
    message: Text | None = Field(
        None,
        max_length=MAX_MESSAGE,
        description="what callers read in the 503 (at least 19 characters; shorter or absent: a default message)",
    )
    retry_after_s: int | None = Field(
        None, ge=1, le=86_400, description=f"the 503's Retry-After in seconds (default {DEFAULT_RETRY_AFTER_S})"
    )


class MaintenanceStateOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    enabled: bool
    message: str
    since: float | None
    by: Literal["operator", "automatic"]
    reason: str
    retry_after_s: int
    store: Literal["local", "shared", "last_known"] = Field(
        description="local: this process only (memory store); shared: through Redis; last_known: Redis fails"
    )


class MaintenanceOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    message: str
    maintenance: MaintenanceStateOut


MAINTENANCE_BODY = request_body(
    MaintenanceIn,
    {
        "on": {"enabled": True, "message": "Upgrading the signer, back in ten minutes"},
        "off": {"enabled": False},
    },
)
ADMIN_ERRORS = (401, 403, 429)


def require_admin_key(request: Request) -> None:
    """403 when admin routes are off (no TTSIGN_ADMIN_KEYS), 401 for a missing or wrong admin key."""
    svc = services(request)
    keys = env_keys(svc.settings.admin_keys)
    if not keys:
        raise ApiError(403, "admin routes are off on this server: set TTSIGN_ADMIN_KEYS to use them")
    presented = request.headers.get("x-admin-key", "").strip()
    if not presented:
        auth = request.headers.get("authorization", "")
        presented = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not presented:
        raise ApiError(401, "missing admin key: send it in the X-Admin-Key header", headers=ADMIN_HEADERS)
    logs.add_secrets(presented)  # masked in any line this request logs, right or wrong
    if not check_key(presented, keys):
        raise ApiError(401, "invalid admin key (check TTSIGN_ADMIN_KEYS on the server)", headers=ADMIN_HEADERS)


async def _checked(request: Request) -> Any:
    svc = services(request)
    throttle = AuthThrottle(svc.limiter.store, svc.settings.auth_failures_per_minute, svc.limiter.clock)
    address = client_address(request.scope)
    await throttle.check_async(address)
    try:
        require_admin_key(request)
    except ApiError as err:
        if err.status == 401 and err.message.startswith("invalid"):
            await throttle.failed_async(address)
        raise
    flag = svc.maintenance
    if flag is None:
        raise ApiError(503, "maintenance mode is not available in this server build", headers={"Retry-After": "60"})
    return flag


def _answer(flag: Any, message: str) -> JSONResponse:
    return JSONResponse({"code": 200, "message": message, "maintenance": flag.describe()})


ADMIN_RESPONSES = responses(MaintenanceOut, *ANY, *ADMIN_ERRORS)


@router.get(
    "/maintenance",
    summary="Maintenance mode: on or off, the message, since when, by whom",
    responses=ADMIN_RESPONSES,
    openapi_extra={"security": ADMIN_SECURITY},
)
async def get_maintenance(request: Request) -> JSONResponse:
    flag = await _checked(request)
    state = await flag.get()
    return _answer(flag, "maintenance mode is " + ("on" if state.enabled else "off"))


@router.post(
    "/maintenance",
    summary="Switch maintenance mode: signing and connect routes answer 503 with your message",
    responses=responses(MaintenanceOut, *ANY, *ADMIN_ERRORS, *BODY),
    openapi_extra={**MAINTENANCE_BODY, "security": ADMIN_SECURITY},
)
async def set_maintenance(request: Request) -> JSONResponse:
    flag = await _checked(request)
    data = parse_body(MaintenanceIn, await request.body(), request.headers.get("content-type", ""))
    state = await flag.set(data.enabled, data.message, by="operator", retry_after_s=data.retry_after_s)
    return _answer(flag, "maintenance mode is now " + ("on" if state.enabled else "off"))
