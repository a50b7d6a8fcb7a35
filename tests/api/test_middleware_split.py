"""Issue 14: `RequestGuard` (seven concerns in one class) is now a pipeline of small pure-ASGI middlewares,
one concern each (`ttsign/server/pipeline/`), composed in order by `ttsign.server.middleware`.

Each one is tested here on its own, around a trivial app, so each does its job without the others; the
behaviour of the whole (issue 7's request id, 413, 408, 401, 429s, 499, log lines, redaction, metrics, the
JSON 500) stays covered by the tests that drive the full app (test_request_guard, test_auth_limits,
test_auth_throttle, test_redaction, ...). Last, the cost: the benchmark's stacks all answer, and the pipeline
costs less per request than the RequestGuard it replaced (benchmarks/bench_middleware.py prints the figures).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

from tests.api.conftest import make_settings
from ttsign.server.app import create_app
from ttsign.server.auth import KeyRing, key_id
from ttsign.server.auth_throttle import AuthThrottle
from ttsign.server.errors import ApiError
from ttsign.server.limits import RateLimiter
from ttsign.server.pipeline.access_log import AccessLog
from ttsign.server.pipeline.api_key_auth import ApiKeyAuth
from ttsign.server.pipeline.asgi import PathSet
from ttsign.server.pipeline.rate_limit import RateLimit
from ttsign.server.pipeline.request_id import RequestId
from ttsign.server.pipeline.size_limit import SizeLimit
from ttsign.store.memory import MemoryRateStore

KEY = "right-key-0001"


def _scope(path: str = "/v1/sign", headers: list[tuple[bytes, bytes]] | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": kw.pop("method", "POST"),
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": kw.pop("query", b""),
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": kw.pop("client", ("127.0.0.1", 40000)),
        "server": ("127.0.0.1", 8080),
    }


class Inner:
    """The app inside a middleware: reads the body, records the scope it saw, answers 200 (or raises)."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.raises = raises

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        while (message := await receive())["type"] == "http.request" and message.get("more_body"):
            pass
        if self.raises is not None:
            raise self.raises
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def _run(app: Any, scope: dict[str, Any], body: list[dict[str, Any]] | None = None) -> tuple[int, dict, bytes]:
    """One request; `receive` gives `body` (default: one empty chunk), then stalls."""
    messages = list(body if body is not None else [{"type": "http.request", "body": b"", "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(scope, receive, send)
    if not sent:
        return 0, {}, b""
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


# ---- the composition ------------------------------------------------------------------------------------


def test_the_app_runs_one_small_middleware_per_concern_in_order():
    app = create_app(make_settings())
    names = [m.cls.__name__ for m in app.user_middleware]  # outermost first
    assert names == ["RequestId", "AccessLog", "SizeLimit", "ApiKeyAuth", "Maintenance", "RateLimit", "HotRoutes"]


# ---- request id -----------------------------------------------------------------------------------------


async def test_request_id_is_echoed_when_sane_and_replaced_when_not():
    inner = Inner()
    status, headers, _ = await _run(RequestId(inner), _scope(headers=[(b"x-request-id", b"trace-1:a.b")]))
    assert status == 200 and headers["x-request-id"] == "trace-1:a.b"
    assert inner.calls[-1]["state"]["request_id"] == "trace-1:a.b"
    for hostile in (b"a b", b"x\r\nSet-Cookie: y=1", b"z" * 65, b""):
        _, headers, _ = await _run(RequestId(inner), _scope(headers=[(b"x-request-id", hostile)]))
        made = headers["x-request-id"]
        assert made != hostile.decode("latin-1") and len(made) == 32 and int(made, 16) >= 0
    _, first, _ = await _run(RequestId(inner), _scope())
    _, second, _ = await _run(RequestId(inner), _scope())
    assert first["x-request-id"] != second["x-request-id"]


# ---- size limit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "status"), [(b"12x", 400), (b"-1", 400), (b"101", 413)])
async def test_size_limit_refuses_a_bad_or_large_declared_length_before_the_app(length, status):
    inner = Inner()
    got, headers, body = await _run(SizeLimit(inner, max_bytes=100), _scope(headers=[(b"content-length", length)]))
    assert got == status and headers["content-type"] == "application/json" and json.loads(body)["code"] == status
    assert inner.calls == []


async def test_size_limit_bounds_a_streamed_body_and_its_time():
    chunks = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 2
    with pytest.raises(ApiError) as info:  # the route's exception handler renders it
        await _run(SizeLimit(Inner(), max_bytes=100), _scope(), chunks)
    assert info.value.status == 413 and info.value.headers == {"Connection": "close"}
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        await _run(SizeLimit(Inner(), max_bytes=100, body_timeout_s=0.2), _scope(), chunks[:1])
    assert info.value.status == 408 and 0.15 < time.monotonic() - started < 2
    status, _, body = await _run(SizeLimit(Inner(), max_bytes=100), _scope(headers=[(b"content-length", b"100")]))
    assert (status, body) == (200, b"ok")


# ---- API-key auth ---------------------------------------------------------------------------------------


def _auth(keys: frozenset[str], inner: Inner, failures: int = 10) -> ApiKeyAuth:
    throttle = AuthThrottle(MemoryRateStore(), failures)
    return ApiKeyAuth(inner, keys=KeyRing(keys), throttle=throttle, public=PathSet({"/health"}, ("/docs/assets/",)))


async def test_auth_names_the_caller_and_refuses_missing_or_wrong_keys():
    inner = Inner()
    auth = _auth(frozenset({KEY, "other-key-0001"}), inner)
    status, _, _ = await _run(auth, _scope(headers=[(b"x-api-key", KEY.encode())]))
    assert status == 200 and inner.calls[-1]["state"]["caller"] == key_id(KEY)
    status, _, _ = await _run(auth, _scope(headers=[(b"authorization", b"Bearer other-key-0001")]))
    assert status == 200 and inner.calls[-1]["state"]["caller"] == key_id("other-key-0001")
    for headers in ([], [(b"x-api-key", b"wrong")], [(b"authorization", b"Bearer wrong")]):
        status, got, body = await _run(auth, _scope(headers=headers))
        assert status == 401 and got["www-authenticate"].startswith("ApiKey ") and json.loads(body)["code"] == 401
    assert len(inner.calls) == 2
    for public in ("/health", "/docs/assets/swagger-ui.css"):
        assert (await _run(auth, _scope(public, method="GET")))[0] == 200


async def test_auth_in_open_mode_names_the_caller_by_address():
    inner = Inner()
    status, _, _ = await _run(_auth(frozenset(), inner), _scope(client=("127.0.0.9", 1)))
    assert status == 200 and inner.calls[-1]["state"]["caller"] == "ip:127.0.0.9"


async def test_auth_throttles_an_address_that_keeps_guessing():
    auth = _auth(frozenset({KEY}), Inner(), failures=2)
    wrong = _scope(headers=[(b"x-api-key", b"guess")], client=("203.0.113.5", 1))
    assert [(await _run(auth, wrong))[0] for _ in range(3)] == [401, 401, 429]
    right = _scope(headers=[(b"x-api-key", KEY.encode())], client=("203.0.113.5", 1))
    status, headers, _ = await _run(auth, right)
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert (await _run(auth, {**right, "client": ("203.0.113.6", 1)}))[0] == 200  # another address is not


# ---- rate limit -----------------------------------------------------------------------------------------


async def test_rate_limit_counts_per_caller_and_answers_429_with_the_headers():
    inner = Inner()
    limiter = RateLimiter(MemoryRateStore(), {"rate_limit_minute": 2})
    limit = RateLimit(inner, limiter=limiter, unmetered=PathSet({"/webcast/rate_limits"}))
    statuses = [(await _run(limit, _scope()))[0] for _ in range(3)]
    assert statuses == [200, 200, 429] and len(inner.calls) == 2
    status, headers, body = await _run(limit, _scope())
    assert status == 429 and json.loads(body)["limit_label"] == "rate_limit_minute"
    assert headers["retry-after"] == headers["ratelimit-remaining"] and headers["ratelimit-limit"] == "2"
    assert headers["ratelimit-reset"] == headers["x-ratelimit-reset"]
    assert (await _run(limit, _scope(client=("127.0.0.2", 1))))[0] == 200  # its own bucket
    assert {(await _run(limit, _scope("/webcast/rate_limits")))[0] for _ in range(3)} == {200}


# ---- access log and metrics -----------------------------------------------------------------------------


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append((level, event, fields))


async def test_access_log_writes_one_line_per_request_with_kind_and_message_on_errors():
    log = Lines()

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})["caller"] = "ip:127.0.0.1"
        err = ApiError(429, "Too many requests: test limit", extra={"limit_label": "rate_limit_minute"})
        from ttsign.server.pipeline.asgi import send_error

        await send_error(send, err)

    await _run(AccessLog(Inner(), logger=log), _scope(query=b"a=1"))
    await _run(AccessLog(refuse, logger=log), _scope(query=b"a=1"))
    (ok_level, ok_event, ok), (bad_level, _, bad) = log.lines
    assert (ok_level, ok_event, ok["status"], ok["caller"]) == ("info", "request", 200, "anonymous")
    assert "error_kind" not in ok and "path" not in ok
    assert (bad_level, bad["status"], bad["error_kind"]) == ("info", 429, "rate_limit_minute")
    assert bad["caller"] == "ip:127.0.0.1"
    assert bad["error"] == "Too many requests: test limit" and bad["query"] == "a=1"


async def test_access_log_answers_an_escaped_exception_with_a_json_500():
    log = Lines()
    status, headers, body = await _run(AccessLog(Inner(raises=RuntimeError("boom")), logger=log), _scope())
    assert status == 500 and headers["content-type"] == "application/json" and json.loads(body)["code"] == 500
    events = [(level, event) for level, event, _ in log.lines]
    assert events == [("error", "unhandled_error"), ("warning", "request")]
    assert log.lines[0][2]["error"] == "RuntimeError('boom')" and log.lines[1][2]["error_kind"] == "internal"


async def test_access_log_logs_a_client_that_left_as_499():
    log = Lines()
    gone = [{"type": "http.request", "body": b"x", "more_body": True}, {"type": "http.disconnect"}]

    async def reader(scope: Any, receive: Any, send: Any) -> None:
        from starlette.requests import ClientDisconnect

        while (await receive())["type"] != "http.disconnect":
            pass
        raise ClientDisconnect()

    assert (await _run(AccessLog(reader, logger=log), _scope(), gone))[0] == 0  # nothing sent
    ((level, _, fields),) = log.lines
    assert level == "info" and fields["status"] == 499 and fields["error_kind"] == "client_disconnected"


# ---- the cost -------------------------------------------------------------------------------------------


def test_every_benchmark_stack_answers():
    from benchmarks import bench_middleware

    names = [name for name, _ in bench_middleware.CASES]
    # the old RequestGuard rows need git history (a shallow clone has none); the cost itself is measured by
    # `make bench` (benchmarks/bench_middleware.py), not by a timed test
    assert names[0] == bench_middleware.BARE and len(names) == (6 if bench_middleware._OLD is not None else 4), names
    for _, fn in bench_middleware.CASES:
        fn()  # asserts the answer was a 200
