"""Transports to inject into `ttsign.tiktok.http.Upstream` (its seam), as httpx's MockTransport is used.

`MockTransport(handler)` answers every hop with what `handler(SentRequest)` returns (a `TransportResponse`,
or raises a `TransportError`), and records what was sent. `Rewrite(inner, rewrite)` sends through a real
transport after changing the URL (to aim one endpoint at another server). Nothing here subclasses `Upstream`:
redirects, the body cap, the deadline and the error messages stay the real client's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ttsign.tiktok.http import CurlTransport, Transport, TransportError, TransportResponse


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    timeout_s: float
    max_bytes: int


Handler = Callable[[SentRequest], TransportResponse | Awaitable[TransportResponse]]


class MockTransport:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[SentRequest] = []
        self.closed = False

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout_s: float,
        max_bytes: int,
    ) -> TransportResponse:
        req = SentRequest(method, url, dict(params or {}), dict(headers), body, timeout_s, max_bytes)
        self.sent.append(req)
        answer = self.handler(req)
        if not isinstance(answer, TransportResponse):
            answer = await answer
        return answer

    async def close(self) -> None:
        self.closed = True


def answer(
    status: int = 200, body: bytes | str | Any = b"", headers: Mapping[str, str] | None = None, **kw: Any
) -> TransportResponse:
    """A `TransportResponse`; a body that is not bytes or str is sent as JSON."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
        hdrs.setdefault("content-type", "application/json")
    data = body.encode() if isinstance(body, str) else body
    return TransportResponse(status, hdrs, body=data, **kw)


def canned(result: TransportResponse | TransportError) -> MockTransport:
    """Every hop gets `result` (or raises it)."""

    def handler(_req: SentRequest) -> TransportResponse:
        if isinstance(result, TransportError):
            raise result
        return result

    return MockTransport(handler)


class Rewrite:
    """A real transport (curl by default) that sends each hop to `rewrite(url)` instead."""

    def __init__(self, rewrite: Callable[[str], str], inner: Transport | None = None) -> None:
        self.rewrite = rewrite
        self.inner: Transport = inner or CurlTransport(timeout_s=5.0)

    async def send(self, method: str, url: str, **kw: Any) -> TransportResponse:
        return await self.inner.send(method, self.rewrite(url), **kw)

    async def close(self) -> None:
        await self.inner.close()
