"""The pages a person opens: the landing page at `/`, and the API reference at `/docs` and `/redoc`.

`/` is one self-contained HTML page (inline CSS, no scripts, no external assets); its "point your client
here" snippet uses the origin the request came to, HTML-escaped (the Host header is the caller's).

`/docs` (Swagger UI) and `/redoc` follow FastAPI's static-assets recipe with the copies of the scripts and
styles that `fastapi-offline` ships, served by ttsign itself: the pages work with no network. A
Content-Security-Policy holds every page to its own origin, so nothing the bundles would fetch from
elsewhere (ReDoc's footer logo) leaves the machine. All of it is public (`PUBLIC_PATHS`, `PUBLIC_PREFIX`).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ttsign import __version__
from ttsign.server.openapi import ANY, SWAGGER_UI, responses

router = APIRouter(tags=["ops"])

HTML_OK = {
    "description": "A short HTML page: version, links to the docs, health and metrics, client set-up",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"
"""Nothing but the page itself and its inline style: it loads nothing, from anywhere."""

LINKS = (
    ("/docs", "API reference (Swagger UI: try each route, Authorize takes your key)"),
    ("/redoc", "API reference (ReDoc)"),
    ("/health", "health: signer, store and upstream state"),
    ("/metrics", "Prometheus metrics"),
    ("/openapi.json", "the OpenAPI schema"),
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ttsign {version}</title>
<link rel="icon" href="/docs/assets/favicon.png">
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem;
         color: #1d1f23; background: #fafafa; }}
  h1 {{ margin-bottom: 0; }} h1 small {{ font-size: 1rem; color: #666; font-weight: normal; }}
  ul {{ padding-left: 1.2rem; }} li {{ margin: .3rem 0; }}
  a {{ color: #0b57d0; }} code, pre {{ font: 14px/1.45 ui-monospace, monospace; }}
  pre {{ background: #1d1f23; color: #e8eaed; padding: 1rem; border-radius: 6px; overflow-x: auto; }}
  footer {{ margin-top: 2rem; color: #666; font-size: .9rem; }}
</style>
</head>
<body>
<h1>ttsign <small>{version}</small></h1>
<p>Self-hosted TikTok web signing (X-Bogus, X-Gnarly, X-Dynosaur) for TikTokLive, tiktok-live-connector
and your own code.</p>
<h2>Links</h2>
<ul>
{links}
</ul>
<h2>Point your client here</h2>
<pre>export SIGN_API_URL={origin}
export SIGN_API_KEY=your-key   # only when the server has TTSIGN_API_KEYS</pre>
<p>TikTokLive (Python) and tiktok-live-connector (Node) read <code>SIGN_API_URL</code>; set it before the
client is imported. Your own code can call <code>POST {origin}/v1/sign</code> (see the reference).</p>
<footer>Errors are JSON <code>{{"code": N, "message": "..."}}</code>.</footer>
</body>
</html>
"""


def render(origin: str) -> str:
    links = "\n".join(f'<li><a href="{path}">{path}</a>: {escape(what)}</li>' for path, what in LINKS)
    return PAGE.format(version=escape(__version__), links=links, origin=escape(origin))


@router.get(
    "/",
    summary="Landing page: version, links to the docs, client set-up",
    response_class=Response,  # not HTMLResponse: that would list the JSON errors as text/html too
    responses=responses(HTML_OK, *ANY),
)
async def landing(request: Request) -> HTMLResponse:
    origin = str(request.base_url).rstrip("/")
    return HTMLResponse(
        render(origin), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Frame-Options": "DENY"}
    )


# ---- /docs and /redoc -----------------------------------------------------------------------------

ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png."""
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The docs pages load and call only their own origin (the inline script is FastAPI's Swagger UI set-up)."""


def mount_docs(app: FastAPI, assets_url: str) -> None:
    """`/docs`, `/docs/oauth2-redirect` and `/redoc` on `app` (create it with `docs_url=None,
    redoc_url=None`), their assets under `assets_url`."""
    assets_url = assets_url.rstrip("/")
    app.mount(assets_url, StaticFiles(directory=ASSETS), name="docs-assets")
    csp = {"Content-Security-Policy": DOCS_CSP}

    def with_csp(page: HTMLResponse) -> HTMLResponse:
        page.headers.update(csp)
        return page

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return with_csp(
            get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} {app.version}: API reference",
                oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
                swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
                swagger_favicon_url=f"{root}{assets_url}/favicon.png",
                swagger_ui_parameters=SWAGGER_UI,
            )
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return with_csp(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return with_csp(
            get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} {app.version}: API reference",
                redoc_js_url=f"{root}{assets_url}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{assets_url}/favicon.png",
                with_google_fonts=False,
            )
        )
