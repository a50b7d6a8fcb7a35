"""Request ids: the caller's `X-Request-Id` when it is sane (1-64 of `A-Za-z0-9._:-`), else a new one.

The id goes on `scope["state"]["request_id"]` (routes and the access log read it) and on every answer's
`X-Request-Id`, errors included. A hostile value (CR/LF, spaces, too long, non-ASCII) is replaced, never
echoed.
"""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttsign.server.pipeline.asgi import request_headers

_RID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    """32 random hex digits (the shape of a uuid4's hex, at a fifth of its cost)."""
    return os.urandom(16).hex()


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = request_headers(scope).get("x-request-id", "")
        if not _RID.fullmatch(rid):
            rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
