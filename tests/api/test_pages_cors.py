"""The landing page, the offline docs pages and CORS, in-process (the browser view is in
`tests/e2e/test_pages_chromium.py`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign import __version__
from ttsign.server.cors import parse_origins
from ttsign.server.routes.pages import render

KEY = "pages-cors-test-key-0123456789"
OVERLAY = "http://127.0.0.1:5173"
SIGN_BODY = {"url": "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=someone"}


def preflight(client: TestClient, origin: str = OVERLAY, path: str = "/v1/sign", **extra: str) -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-api-key",
    }
    return client.options(path, headers={**headers, **extra})


PRIVATE_NETWORK = {"Access-Control-Request-Private-Network": "true"}


# ---- the landing page ----------------------------------------------------------------------------


def test_landing_page_is_public_html_with_links_and_this_origin(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY)
    r = client.get("/", headers={"Host": "sign.example.com:8443"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert __version__ in r.text and "SIGN_API_URL=http://sign.example.com:8443" in r.text
    for path in ("/docs", "/redoc", "/health", "/metrics"):
        assert f'href="{path}"' in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "http://" not in r.text.replace("http://sign.example.com:8443", "")  # no external asset


def test_landing_page_escapes_the_origin() -> None:
    page = render('http://x"><script>alert(1)</script>')  # the Host header is the caller's
    assert "<script>" not in page and "http://x&quot;&gt;&lt;script&gt;" in page


def test_landing_page_is_in_the_schema_as_html(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/"]["get"]
    assert "text/html" in operation["responses"]["200"]["content"]
    assert "security" not in operation  # public


# ---- /docs and /redoc work offline --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_their_own_origin(make_client: Callable[..., TestClient], path: str) -> None:
    client = make_client(api_keys=KEY)
    r = client.get(path)
    assert r.status_code == 200
    assert "cdn." not in r.text and "https://" not in r.text and "fonts.googleapis" not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


@pytest.mark.parametrize("asset", ["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"])
def test_docs_assets_are_served_without_a_key(make_client: Callable[..., TestClient], asset: str) -> None:
    client = make_client(api_keys=KEY)
    r = client.get(f"/docs/assets/{asset}")
    assert r.status_code == 200 and len(r.content) > 1000


def test_the_asset_prefix_opens_nothing_else(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY)
    assert client.get("/docs/assets/nope.js").status_code == 404
    assert client.get("/docs/assetsx").status_code == 401  # only the prefix with its slash is public
    assert client.get("/webcast/rate_limits").status_code == 401


# ---- CORS ---------------------------------------------------------------------------------------------


def test_no_cors_headers_by_default(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    r = client.get("/health", headers={"Origin": OVERLAY})
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    assert preflight(client).status_code == 405  # no CORS: the preflight is an ordinary OPTIONS


def test_preflight_needs_no_api_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY, cors_origins=OVERLAY)
    r = preflight(client)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == OVERLAY
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "x-api-key" in allowed and "authorization" in allowed and "content-type" in allowed
    assert "POST" in r.headers["access-control-allow-methods"]


def test_preflights_do_not_count_against_the_rate_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=OVERLAY, rate_limit_minute=1)  # open mode: the per-IP limit
    for path in ("/v1/sign", "/v1/rooms/someone", "/webcast/fetch", "/signature"):
        assert preflight(client, path=path).status_code == 200
    limits = client.get("/webcast/rate_limits", headers={"Origin": OVERLAY}).json()["limits"]
    assert limits and all(row["used"] == 0 for row in limits), limits


def test_a_429_is_readable_by_the_page(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY, cors_origins=OVERLAY, rate_limit_minute=1)
    headers = {"Origin": OVERLAY, "X-Api-Key": KEY}
    first = client.post("/v1/sign", json=SIGN_BODY, headers=headers)
    assert first.status_code == 200
    assert first.headers["access-control-allow-origin"] == OVERLAY
    second = client.post("/v1/sign", json=SIGN_BODY, headers=headers)
    assert second.status_code == 429
    assert second.headers["access-control-allow-origin"] == OVERLAY
    exposed = {h.strip().lower() for h in second.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "ratelimit-remaining", "ratelimit-reset", "x-request-id"} <= exposed
    assert {"x-set-tt-cookie", "x-room-id"} <= exposed


def test_errors_carry_cors_headers(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY, cors_origins=OVERLAY)
    r = client.post("/v1/sign", json=SIGN_BODY, headers={"Origin": OVERLAY})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == OVERLAY


def test_an_unlisted_origin_is_refused_with_a_json_error(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEY, cors_origins=OVERLAY)
    r = preflight(client, origin="https://evil.example")
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    body = json.loads(r.content)
    assert body["code"] == 400 and "TTSIGN_CORS_ORIGINS" in body["message"]
    plain = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_star_allows_any_origin(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins="*")
    r = preflight(client, origin="https://overlay.example")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    # ... but `*` does not let every web page reach a ttsign on a private address (Chrome asks first)
    private = preflight(client, origin="https://overlay.example", **PRIVATE_NETWORK)
    assert private.status_code == 400 and "access-control-allow-private-network" not in private.headers


def test_a_listed_origin_may_reach_a_private_address(make_client: Callable[..., TestClient]) -> None:
    r = preflight(make_client(cors_origins=OVERLAY), **PRIVATE_NETWORK)
    assert r.status_code == 200 and r.headers["access-control-allow-private-network"] == "true"


def test_origins_setting_is_parsed_and_checked() -> None:
    assert parse_origins("") == [] and parse_origins(" ") == []
    assert parse_origins("https://a.example, http://127.0.0.1:5173") == ["https://a.example", "http://127.0.0.1:5173"]
    assert parse_origins("*") == ["*"]
    for bad in ("https://a.example/", "a.example", "https://a.example/overlay", "https://a.example,", "http://*.a"):
        with pytest.raises(ValueError, match="is not an origin"):
            parse_origins(bad)
    with pytest.raises(ValidationError, match="is not an origin"):
        make_settings(cors_origins="https://overlay.example/")
