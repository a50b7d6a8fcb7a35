"""Error bodies: `{"code": N, "message": ...}` with a message of at least 19 characters.

tiktok-live-connector frames a sign-server message with `"-".repeat((len - 19) / 2)`, which throws on
shorter messages (shared/protocol/live-connect.md §1.2a), so every message we emit is at least 19 long.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

MIN_MESSAGE = 19


class ApiError(Exception):
    """Raised anywhere below a route; rendered as a JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        body_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}
        self.body_code = body_code if body_code is not None else status


def long_enough(message: str) -> str:
    """Pad a message so it is at least 19 characters (never truncates)."""
    message = message.strip() or "request failed"
    if len(message) < MIN_MESSAGE:
        message = f"{message} (ttsign error)"
    return message.ljust(MIN_MESSAGE)


def error_body(code: int, message: str, **extra: Any) -> bytes:
    return json.dumps({"code": code, "message": long_enough(message), **extra}).encode()


def error_response(err: ApiError, request_id: str | None = None) -> Response:
    headers = dict(err.headers)
    if request_id:
        headers["X-Request-Id"] = request_id
    return Response(
        error_body(err.body_code, err.message, **err.extra),
        status_code=err.status,
        media_type="application/json",
        headers=headers,
    )
