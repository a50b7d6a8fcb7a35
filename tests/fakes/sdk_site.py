"""The fake TikTok's live page as the monitor reads it: a page that loads an SDK script and a player script.

``GET /live`` (and ``/``, ``/explore``) answers this page; ``GET /static/sdk/<name>`` the SDK script it loads;
``GET /static/player/live-player.js`` the player script, which holds the push socket's URL and query keys.
Everything is switched at run time through :class:`tests.fakes.tiktok.FakeConfig` (``fake.configure(...)`` or
``POST /__config``), so ``fake.reset()`` puts it back:

* ``page_sdk_name``: the SDK file name the page loads (``webmssdk_1.0.0.368.js``), or a full URL (a script
  on another host);
* ``page_sdk_script``: the SDK script's text; empty: a small stand-in holding the version strings
  ``1.0.0.368`` / ``5.1.3-ZTCA`` and one report endpoint (a test may serve TikTok's npm SDK file, or a changed
  copy of it: a new build);
* ``page_ws_url``: the socket URL the player opens; empty: this fake's own socket;
* ``page_ws_query``: the player's socket query keys; empty: the player's own set (live-connect.md §2.2);
* ``page_ws_signed``: signature keys the player adds to that query (``["X-Gnarly"]``); non-empty also makes
  the player ask the SDK for a socket signer (``registerWsSigner``);
* ``page_cookies``: names of extra cookies the page sets (besides ttwid, tt_csrf_token, tt_chain_token, msToken).

The page passes ``enablePathList`` to ``byted_acrawler.init`` as TikTok's does (sdk-oracle.md §2 step 7).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ttsign.providers.browser_sdk import INIT_OPTIONS

ROUTE = "/static/{kind}/{name}"
PLAYER_NAME = "live-player.js"
DEFAULT_SDK_NAME = "webmssdk_1.0.0.368.js"
WS_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
PAGE_INIT = dict(INIT_OPTIONS)  # the page inits the SDK as the browser provider does (sdk-oracle.md §2)
PLAYER_QUERY = (
    "version_code",
    "device_platform",
    "cookie_enabled",
    "screen_width",
    "screen_height",
    "browser_language",
    "browser_platform",
    "browser_name",
    "browser_version",
    "browser_online",
    "tz_name",
    "app_name",
    "sup_ws_ds_opt",
    "update_version_code",
    "compress",
    "webcast_language",
    "ws_direct",
    "aid",
    "live_id",
    "app_language",
    "client_enter",
    "room_id",
    "identity",
    "history_comment_count",
    "last_rtt",
    "heartbeat_duration",
    "resp_content_type",
    "did_rule",
)
"""The player's socket query keys (live-connect.md §2.2; its second ``version_code`` is appended as text)."""


def stand_in_sdk(scm: str = "1.0.0.368", sdk: str = "5.1.3-ZTCA", paths: tuple[str, ...] = ()) -> str:
    """A small script standing in for TikTok's SDK: its version strings, a report endpoint, and (with
    ``paths``) an ``enablePathList`` of its own. Not TikTok's code."""
    own = f"var defaults={{enablePathList:{json.dumps(list(paths))}}};" if paths else ""
    return (
        "/* the fake TikTok's stand-in web SDK */\n(function(){"
        f'var info={{scmVersion:"{scm}",sdkVersion:"{sdk}"}};var report="/web/common";{own}'
        "window.byted_acrawler=window.byted_acrawler||{init:function(o){window.__fakeInit=o;return true},"
        "frontierSign:function(){return {}},info:info,report:report};})();\n"
    )


def page_html(config: Any) -> str:
    """The live page: the SDK script, the page's ``byted_acrawler.init``, the player script."""
    name = config.page_sdk_name
    src = name if "://" in name else f"/static/sdk/{name}"  # a full URL: a script on another host
    return (
        "<!DOCTYPE html><html><head><title>TikTok LIVE</title>"
        f'<script src="{src}"></script>'
        f"<script>window.byted_acrawler&&byted_acrawler.init({json.dumps(PAGE_INIT)})</script>"
        f'<script src="/static/player/{PLAYER_NAME}" defer></script>'
        "</head><body><div id=app></div></body></html>"
    )


def player_script(config: Any, base_url: str) -> str:
    """The player: the socket URL, its query params (one key each), the signer call when signed."""
    ws_url = config.page_ws_url or base_url.replace("http", "ws", 1) + WS_PATH
    keys = list(config.page_ws_query or PLAYER_QUERY) + [k for k in config.page_ws_signed]
    params = ",".join(f"{json.dumps(k)}:{json.dumps('')}" for k in keys)
    signer = (
        "var signer=window.byted_acrawler.registerWsSigner();"
        + "".join(f"params[{json.dumps(k)}]=signer({{'X-MS-Q':q}})[{json.dumps(k)}];" for k in config.page_ws_signed)
        if config.page_ws_signed
        else ""
    )
    return (
        "/* the fake TikTok's live player */\n(function(){"
        f"var WS_URL={json.dumps(ws_url)};"
        f"var params={{{params}}};"
        "function open(room){params.room_id=room;var q=Object.keys(params).map(function(k){"
        "return k+'='+encodeURIComponent(params[k])}).join('&')+'&version_code=270000';"
        f"{signer}return new WebSocket(WS_URL+'?'+q)}}"
        "window.__fakePlayer={open:open};})();\n"
    )


def set_page_cookies(resp: web.StreamResponse, config: Any) -> None:
    """The extra cookies ``page_cookies`` names."""
    for name in config.page_cookies:
        resp.set_cookie(name, "1", path="/", max_age=3600)


def script_handler(fake: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``GET /static/{kind}/{name}``: the SDK script the page loads, or the player script."""

    async def handler(request: web.Request) -> web.Response:
        kind, name = request.match_info["kind"], request.match_info["name"]
        with fake.lock:
            config = fake.config
            if kind == "sdk" and name == config.page_sdk_name:
                body = config.page_sdk_script or stand_in_sdk()
            elif kind == "player" and name == PLAYER_NAME:
                body = player_script(config, fake.base_url)
            else:
                return web.json_response({"status_code": 404, "message": "no such static script"}, status=404)
        return web.Response(text=body, content_type="application/javascript")

    return handler
