"""CORS, so a page on another origin (a stream overlay in a browser) can call ttsign: `TTSIGN_CORS_ORIGINS`.

Starlette's `CORSMiddleware`, installed outermost: a preflight (`OPTIONS` with `Origin` and
`Access-Control-Request-Method`) is answered before the request guard, so it needs no API key and never
counts against a rate limit; every other answer, errors included (401, 429), carries the CORS headers,
so the page can read a 429's `Retry-After`. An empty setting installs nothing (no CORS headers at all).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ttsign.server.errors import ApiError, error_response

_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s,*?#@]+")
ALLOW_METHODS = ("GET", "HEAD", "POST")
ALLOW_HEADERS = ("X-Api-Key", "Authorization", "Content-Type", "X-Request-Id")
EXPOSE_HEADERS = (
    "X-Request-Id",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-RateLimit-Reset",
    "X-Set-TT-Cookie",
    "X-Room-Id",
    "X-Connect-Strategy",
)
MAX_AGE_S = 600


def parse_origins(setting: str) -> list[str]:
    """`TTSIGN_CORS_ORIGINS` as a list: comma-separated `scheme://host[:port]` (what a browser sends as
    `Origin`: no path, no trailing `/`) or `*`. A `ValueError` names the first entry that is neither."""
    origins = [part.strip() for part in setting.split(",")] if setting.strip() else []
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"{origin!r} is not an origin: use scheme://host[:port] (no path or trailing /), or *, comma-separated"
            )
    return origins


class Cors(CORSMiddleware):
    """`CORSMiddleware` whose refused preflight is a JSON error like every other ttsign error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode("latin-1").removeprefix("Disallowed CORS ")
        err = ApiError(
            response.status_code,
            f"CORS preflight refused: {refused} not allowed (see TTSIGN_CORS_ORIGINS)",
            headers={"Vary": response.headers.get("vary", "Origin")},
        )
        return error_response(err)


def install(app: FastAPI, setting: str) -> None:
    """Add the CORS middleware for these origins (nothing when empty). Call it after every other
    middleware, so it is the outermost."""
    origins = parse_origins(setting)
    if origins:
        app.add_middleware(
            Cors,
            allow_origins=origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            # A listed page may call a ttsign on this machine or network (Chrome's private network
            # preflight); `*` does not extend that to every web page.
            allow_private_network="*" not in origins,
            max_age=MAX_AGE_S,
        )
