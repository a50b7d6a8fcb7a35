"""Request size and body time: a declared `Content-Length` that is not a number is a 400, one over the cap
a 413, both before a byte of the body is read; then, while the route reads the body, more than the cap is
a 413 and a body not in full within `body_timeout_s` (a client that sends its headers and stalls, or drips)
is a 408, both with `Connection: close`. The time is the body's total, not per chunk; once the body is in,
later reads (listening for a disconnect) are not bounded.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsign.server.errors import ApiError
from ttsign.server.pipeline.asgi import request_headers, send_error

_LENGTH = re.compile(r"[0-9]{1,18}")


class SizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, body_timeout_s: float = 15.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = request_headers(scope).get("content-length")
        if length is not None:
            if not _LENGTH.fullmatch(length.strip()):
                return await send_error(send, ApiError(400, "Content-Length header is not a number"))
            if int(length) > self.max_bytes:
                return await send_error(send, ApiError(413, f"request body is larger than {self.max_bytes} bytes"))
        await self.app(scope, self._bounded(receive), send)

    def _bounded(self, receive: Receive) -> Receive:
        """`receive`, with the body bounded in size (413) and in time (408) until it is complete."""
        limit, timeout = self.max_bytes, self.body_timeout_s
        seen, complete, deadline = 0, False, 0.0

        async def bounded() -> Message:
            nonlocal seen, complete, deadline
            if complete:  # the body is in: later calls only listen for a disconnect, unbounded
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise ApiError(
                    408,
                    f"request body not received within {timeout:g} s; closing the connection",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, f"request body is larger than {limit} bytes", headers={"Connection": "close"})
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                complete = True
            return message

        return bounded
