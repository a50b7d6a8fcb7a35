"""Maintenance mode on the request path: while `services.maintenance` is on, the signing and connect routes
answer 503 JSON `{"code": 503, "message": <the operator's message>, "reason": "maintenance"}` with
`Retry-After`; every other route (health, metrics, docs, admin, rate limits) answers as usual. The flag is
read from memory (`MaintenanceFlag.current`): no store call per request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ttsign.server.errors import ApiError
from ttsign.server.pipeline.asgi import send_error

CONNECT_PATHS = frozenset({"/webcast/fetch", "/webcast/fetch/"})
CONNECT_PREFIXES = ("/webcast/rooms/", "/webcast/anchors/")
"""The connect routes: `/webcast/fetch`, `/webcast/rooms/{room_id}/connect`, `/webcast/anchors/{id}/connect`."""


def is_connect(path: str) -> bool:
    return path in CONNECT_PATHS or (path.startswith(CONNECT_PREFIXES) and path.endswith("/connect"))


def app_flag(app: Any) -> Callable[[], Any]:
    """The flag of `app` (`app.state.services.maintenance`), looked up per request: the app builds it after
    its middleware, and a bare app (a benchmark stack) has none."""
    return lambda: getattr(getattr(app.state, "services", None), "maintenance", None)


class Maintenance:
    def __init__(self, app: ASGIApp, *, paths: Iterable[str], flag: Callable[[], Any]) -> None:
        self.app = app
        self.paths = frozenset(paths) | CONNECT_PATHS
        self.flag = flag  # -> the MaintenanceFlag (or None), looked up per request: the app builds it later

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path in self.paths or is_connect(path):
                flag = self.flag()
                state = flag.current if flag is not None else None
                if state is not None and state.enabled:
                    err = ApiError(
                        503,
                        state.message,
                        headers={"Retry-After": str(state.retry_after_s)},
                        extra={"reason": "maintenance"},
                    )
                    return await send_error(send, err)
        await self.app(scope, receive, send)
