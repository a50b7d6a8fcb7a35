"""`GET /overlay/{unique_id}`: a transparent chat-and-gifts overlay for OBS's browser source (issue 12).

One small self-contained page (the HTML, CSS and script in `ttsign/server/overlay_assets/`, package data,
inlined into the answer, so it loads nothing from anywhere else) that opens the room's SSE stream
(`GET /v1/rooms/{unique_id}/events`, its JSON schema in `ttsign.relay.events`) with the page's own
`?token=` and shows chat, gifts and the other events it is asked for as lines on a transparent background.
A Content-Security-Policy allows only the inlined script and style (by hash) and connections to ttsign.

Query options (all optional; a bad value is ignored, the default kept): `token` (a room token from
`POST /v1/tokens`), `events` (comma list of chat, gift, like, member, follow, share, control; default
`chat,gift`), `max` (lines kept, 1..200, default 10), `fade` (seconds before a line fades, 0 = never),
`size` (font size in px), `font` (a font-family list), `color`, `name_color`, `gift_color`, `bg` (the line
background; CSS colours, hex without `#` accepted), `align=top` (lines from the top).

Auth is the relay paths' (`ttsign.server.pipeline.api_key_auth`): a key header, or `?token=` for this room.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ttsign.server.errors import ApiError
from ttsign.server.openapi import ANY, KEYED, PATH_ID, responses
from ttsign.tiktok.rooms import RoomError, normalize_unique_id

router = APIRouter(tags=["native"])
ASSETS = "overlay_assets"
HTML_OK = {
    "description": "The overlay page (HTML with its script and style inlined; add it as an OBS browser source)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _asset(name: str) -> str:
    return resources.files("ttsign.server").joinpath(ASSETS, name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1)
def page() -> tuple[str, str]:
    """The page and its Content-Security-Policy (built once from the package's assets)."""
    css, js = _asset("overlay.css"), _asset("overlay.js")
    html = _asset("overlay.html").replace("{css}", css).replace("{js}", js)
    csp = (
        f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )
    return html, csp


@router.get(
    "/overlay/{unique_id}",
    response_class=Response,  # not HTMLResponse: that would list the JSON errors as text/html too
    summary="A transparent chat-and-gifts overlay for OBS (browser source), fed by the room's SSE stream",
    responses=responses(HTML_OK, *ANY, *KEYED, *PATH_ID),
    openapi_extra={
        "parameters": [
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "a room token from POST /v1/tokens (instead of a key header)",
            }
        ]
    },
)
async def overlay(request: Request, unique_id: str) -> HTMLResponse:
    try:
        normalize_unique_id(unique_id)
    except RoomError as err:
        raise ApiError(400, str(err)) from None
    html, csp = page()
    headers = {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, headers=headers)
