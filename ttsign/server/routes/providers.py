"""`GET /v1/providers`: the signing providers in chain order, each with its state, its breaker, its last
error and counts (and, for the browser, the SDK it runs: versions and sha256), plus the shadow report.

Keyed like the other `/v1` routes. What each provider reports comes from `ProviderChain.describe()`
(the chain's breaker and counts, merged with the provider's own `info()`); the shadow report from
`ProviderChain.shadow_report()`. Nothing here holds a key, a cookie or a remote's userinfo.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ttsign.server.deps import services
from ttsign.server.openapi import ANY, KEYED, responses

router = APIRouter(prefix="/v1", tags=["native"])


class ProviderRow(BaseModel):
    """One provider as the chain describes it (`ProviderChain.describe()`); providers add their own facts
    (the browser: `sdk`, a list of `{url, version, sha256}`; the remote: its `host`)."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(description="`native`, `browser` or `remote`")


class ProvidersOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    message: str
    order: list[str] = Field(description="TTSIGN_PROVIDERS: the order a signing call tries them in")
    providers: list[ProviderRow]
    shadow: dict[str, Any] = Field(description="shadow comparisons (TTSIGN_SHADOW_RATE): counts and the last few")


def providers_answer(chain: Any) -> dict[str, Any]:
    """The `/v1/providers` body for `chain`."""
    rows = chain.describe()
    report = chain.shadow_report() if hasattr(chain, "shadow_report") else {}
    return {
        "code": 200,
        "message": f"{len(rows)} signing provider(s), in the order they are tried",
        "order": [row["name"] for row in rows],
        "providers": rows,
        "shadow": report if isinstance(report, dict) else {"report": report},
    }


@router.get(
    "/providers",
    summary="The signing providers: state, breaker, last error, counts, the browser's SDK; the shadow report",
    responses=responses(ProvidersOut, *ANY, *KEYED),
)
async def v1_providers(request: Request) -> JSONResponse:
    return JSONResponse(providers_answer(services(request).providers))
