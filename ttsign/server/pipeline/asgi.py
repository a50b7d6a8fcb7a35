"""What the pipeline's middlewares share: the request's headers (read once), the client address, a set of
paths, and a JSON error answer sent straight from a middleware."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import Scope, Send

from ttsign.server.errors import ApiError, error_body

_HEADERS = "ttsign.headers"  # scope key: the decoded headers, built by the first middleware that asks


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (latin-1, as sent; a repeated header keeps its last value)."""
    headers: dict[str, str] | None = scope.get(_HEADERS)
    if headers is None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scope[_HEADERS] = headers
    return headers


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class PathSet:
    """Exact paths plus path prefixes (`"/static/"` holds everything under it)."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, exact: Iterable[str], prefixes: Iterable[str] = ()) -> None:
        self.exact = frozenset(exact)
        self.prefixes = tuple(p for p in prefixes if p)

    def __contains__(self, path: Any) -> bool:
        return path in self.exact or (bool(self.prefixes) and str(path).startswith(self.prefixes))

    def __or__(self, other: PathSet) -> PathSet:
        return PathSet(self.exact | other.exact, self.prefixes + other.prefixes)


async def send_error(send: Send, err: ApiError) -> None:
    """Answer with `err` as the JSON error body (`{"code": N, "message": ...}`) and its headers."""
    body = error_body(err.body_code, err.message, **err.extra)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
