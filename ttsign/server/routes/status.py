"""`GET /status`: the operator's page (providers and breakers, the monitor's cycles, the last drift, the SDK
build, the identity pool, rate limits, maintenance, alerts, version and uptime), one self-contained HTML
page that reloads itself every `REFRESH_S` seconds (`ttsign.server.status_page`, from the snapshot
`ttsign.server.status_snapshot` gathers).

Who may open it: what the API-key middleware lets through. Without keys the server listens on loopback
only and the page is open there. With keys it needs one, and since a browser cannot send a header the
middleware also takes it, for this page only, from `?api_key=KEY` or the `ttsign_key` cookie
(`ttsign.server.pipeline.api_key_auth.PAGE_PATHS`). Opening `/status?api_key=KEY` answers 303 to
`/status` with that cookie (HttpOnly, SameSite=Strict, Path=/status, Secure over https), so the key leaves
the address bar and the history, and the page's refreshes carry the cookie. `api_key` is a secret name to
the log redaction (`ttsign.server.logs`): the access log and uvicorn's lines show `api_key=***`, and the
cookie header is masked whole.
"""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ttsign.server import status_page, status_snapshot
from ttsign.server.deps import services
from ttsign.server.openapi import ANY, KEYED, responses
from ttsign.server.pipeline.api_key_auth import PAGE_KEY_COOKIE, PAGE_KEY_PARAM

router = APIRouter(tags=["ops"])

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""The page loads nothing and runs nothing: its style is inline, its refresh a meta tag."""
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
COOKIE_MAX_AGE_S = 7 * 86400
COOKIE_SAFE = re.compile(r"[!#-+\--:<-\[\]-~]{1,512}")
"""RFC 6265 cookie-octets: a key made of anything else stays in the query (the page still renders)."""

STATUS_OK = {
    "description": "The status page: one HTML document, inline CSS, no scripts, reloading itself",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
SEE_OTHER = {
    "description": "The key came in the query: it is moved into the `ttsign_key` cookie and the page reloads "
    "from `/status` (so the key leaves the address bar)",
    "headers": {
        "Location": {"description": "the page without the key", "required": True, "schema": {"type": "string"}},
        "Set-Cookie": {"description": "`ttsign_key`, HttpOnly, SameSite=Strict", "schema": {"type": "string"}},
    },
}
PARAMETERS = {
    "parameters": [
        {
            "name": PAGE_KEY_PARAM,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "the API key, for a browser (it cannot send X-Api-Key); moved into a cookie at once",
        },
        {
            "name": PAGE_KEY_COOKIE,
            "in": "cookie",
            "required": False,
            "schema": {"type": "string"},
            "description": "the API key, as the 303 from `?api_key=` set it",
        },
    ]
}


def _signer_ok(request: Request) -> bool:
    tracker = getattr(request.app.state, "health", None)
    test = getattr(tracker, "self_test", None)
    return bool(getattr(test, "passed", True))


@router.get(
    "/status",
    summary="Status page (HTML): providers, monitor cycles, last drift, SDK build, identity pool, limits, maintenance",
    response_class=Response,  # not HTMLResponse: that would list the JSON errors as text/html too
    responses={**responses(STATUS_OK, *ANY, *KEYED), 303: SEE_OTHER},
    openapi_extra=PARAMETERS,
)
async def status(request: Request) -> Response:
    caller = str(request.scope.get("state", {}).get("caller", "anonymous"))
    key = request.query_params.get(PAGE_KEY_PARAM)
    if key and caller.startswith("key:") and COOKIE_SAFE.fullmatch(key):
        target = request.scope.get("root_path", "") + "/status"
        answer = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        answer.set_cookie(
            PAGE_KEY_COOKIE,
            key,
            max_age=COOKIE_MAX_AGE_S,
            path=target,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return answer
    svc = services(request)
    snap = await status_snapshot.build(svc, caller=caller, now=time.time(), signer_ok=_signer_ok(request))
    return HTMLResponse(status_page.render(snap), headers=HEADERS)
