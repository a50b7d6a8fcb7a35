"""`HotRoutes` (issue 13): the signing routes whose endpoint takes only the request are called without
FastAPI's router, and nothing a caller sees changes. Each case is sent to the app as built and to the same
app with `HotRoutes` taken out (the router answering), and the answers are compared: status, JSON body
(less the per-request time and tokens) and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign.server.app import create_app, telemetry_config
from ttsign.server.errors import ApiError
from ttsign.server.middleware import SIGNING_PATHS
from ttsign.server.pipeline.hot_routes import HotRoutes, request_only

API = "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=someone"
VARYING = {"response_time_ms", "signature", "signed_url", "X-Bogus", "X-Gnarly", "X-Dynosaur", "x-tt-params"}
VARYING |= {"url", "tokens", "timestamp", "ts", "signed_query"}  # fresh per sign (time, nonces): compared by kind only


def _steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: type(v).__name__ if k in VARYING else _steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _clients() -> tuple[TestClient, TestClient]:
    hot = create_app(make_settings())
    cold = create_app(make_settings())
    cold.user_middleware = [m for m in cold.user_middleware if m.cls is not HotRoutes]
    assert len(cold.user_middleware) == len(hot.user_middleware) - 1
    return TestClient(hot, raise_server_exceptions=False), TestClient(cold, raise_server_exceptions=False)


def _shape(response: Any) -> tuple[int, Any, dict[str, str]]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    body = _steady(body)
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "content-length", "date")}
    return response.status_code, body, headers


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/signature", {"content": API, "headers": {"content-type": "text/plain"}}),
    ("POST", "/signature", {"content": json.dumps({"url": API}), "headers": {"content-type": "application/json"}}),
    ("POST", "/signature", {"content": API, "headers": {"content-type": "image/png"}}),  # 415
    ("POST", "/signature", {"content": "https://evil.example/api/x", "headers": {"content-type": "text/plain"}}),
    ("POST", "/signature", {"content": b"\xff\xfe", "headers": {"content-type": "text/plain"}}),  # not UTF-8
    ("POST", "/signature", {"content": "{", "headers": {"content-type": "application/json"}}),
    ("GET", "/signature", {}),  # 405 from the router either way
    ("POST", "/sign", {"json": {"url": API, "user_agent": "Mozilla/5.0 test"}}),
    ("POST", "/sign", {"json": {}}),
    ("POST", "/v1/sign", {"json": {"url": API}}),
    ("POST", "/v1/sign", {"json": {"url": 7}}),
    ("GET", "/webcast/sign_url", {}),
    ("POST", "/webcast/sign_url", {"json": {"url": "https://webcast.tiktok.com/webcast/room/enter/?aid=1988"}}),
]


@pytest.mark.parametrize(("method", "path", "kw"), CASES, ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(CASES)])
def test_a_hot_route_answers_as_the_router_does(method: str, path: str, kw: dict[str, Any]) -> None:
    hot, cold = _clients()
    with hot, cold:
        a, b = hot.request(method, path, **kw), cold.request(method, path, **kw)
    assert _shape(a) == _shape(b)
    assert a.headers.get("x-request-id")


def test_the_signing_routes_are_hot_and_the_others_are_not() -> None:
    app = create_app(make_settings())
    hot = HotRoutes(lambda *a: None, routes=app.routes, paths=SIGNING_PATHS)
    assert {("POST", "/signature"), ("POST", "/sign"), ("POST", "/v1/sign")} <= set(hot.table)
    assert {path for _, path in hot.table} <= SIGNING_PATHS  # /health, /livez...: the router keeps them
    health = HotRoutes(lambda *a: None, routes=app.routes, paths={"/health"})
    assert {path for _, path in health.table} == {"/health"}  # only the paths asked for


def test_an_endpoint_fastapi_has_work_for_is_never_hot() -> None:
    router = APIRouter()

    @router.get("/q")
    async def with_query(request: Request, n: int = 1) -> JSONResponse:
        return JSONResponse({"n": n})

    @router.get("/dict")
    async def returns_a_dict(request: Request) -> dict[str, int]:  # needs FastAPI to serialize it
        return {"n": 1}

    @router.get("/plain")
    async def plain(request: Request) -> JSONResponse:
        return JSONResponse({})

    routes = {r.path: r for r in router.routes}
    assert not request_only(routes["/q"]) and not request_only(routes["/dict"])  # type: ignore[arg-type]
    assert request_only(routes["/plain"])  # type: ignore[arg-type]


def _app_with(exc: Exception) -> TestClient:
    app = FastAPI()

    @app.post("/boom")
    async def boom(request: Request) -> JSONResponse:
        raise exc

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"message": err.message}, status_code=err.status)

    app.add_middleware(HotRoutes, routes=app.routes, paths={"/boom"})
    return TestClient(app, raise_server_exceptions=False)


def test_an_error_is_rendered_by_the_apps_handler_and_an_unhandled_one_goes_on_out() -> None:
    with _app_with(ApiError(418, "a teapot, as the handler says")) as client:
        answer = client.post("/boom")
    assert answer.status_code == 418 and answer.json() == {"message": "a teapot, as the handler says"}
    with _app_with(RuntimeError("nobody handles this")) as client:
        assert client.post("/boom").status_code == 500  # Starlette's server-error middleware, as from the router


def test_fastapi_telemetry_is_off_unless_the_operator_asks_for_opentelemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("FASTAPI_OTEL_AUTO_CONFIGURE", raising=False)
    assert telemetry_config() == {"tracing": False, "metrics": False, "logs": False}
    assert not create_app(make_settings())._native_telemetry.enabled()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ttsign")
    assert telemetry_config() is None  # FastAPI's defaults: the global providers, if any are configured
