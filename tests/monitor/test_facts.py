"""`ttsign.monitor.facts`: SDK facts from TikTok's real SDK files (npm `tiktok-signature@4.3.6`) and changed
copies of them, socket facts from the shapes a live page and its player may take."""

from __future__ import annotations

import pytest

from tests.fakes import sdk_site
from tests.fakes.tiktok import FakeConfig
from tests.providers.sdk_files import SHA256, VERSIONS, sdk_file
from ttsign.monitor.facts import (
    PageParts,
    ScriptFacts,
    SocketFacts,
    digest,
    page_parts,
    page_signed_paths,
    sdk_facts,
    signed_paths_in,
    socket_facts,
)


@pytest.mark.parametrize("name", sorted(SHA256))
def test_sdk_facts_of_tiktoks_npm_builds(name: str) -> None:
    body = sdk_file(name).read_bytes()
    facts = sdk_facts(f"https://sf16-website-login.neutral.ttwstatic.com/obj/x/{name}", body)
    assert facts.name == name
    assert facts.sha256 == SHA256[name]  # the sha256 sdk-oracle.md lists
    assert facts.size == len(body)
    assert facts.versions == VERSIONS[name]  # scmVersion / sdkVersion as the file holds them
    assert {"/web/common", "/web/report", "/mssdk/web_common"} <= set(facts.endpoints)  # its own signed reports
    assert facts.signed_paths == ()  # this build holds no enablePathList: the page passes it to init
    assert ScriptFacts.from_dict(facts.to_dict()) == facts


def test_a_changed_copy_shows_its_new_version_and_signed_path() -> None:
    body = sdk_file("webmssdk_1.0.0.368.js").read_text()
    changed = body.replace('"1.0.0.368"', '"1.0.0.400"') + ';var cfg={enablePathList:["/api/*","/tiktok/v1/*"]};'
    old = sdk_facts("https://x/webmssdk.js", body.encode())
    new = sdk_facts("https://x/webmssdk.js", changed.encode())
    assert new.sha256 != old.sha256
    assert new.versions == ("1.0.0.400", "5.1.3-ZTCA")
    assert new.signed_paths == ("/api/*", "/tiktok/v1/*")


def test_signed_paths_of_an_init_call_each_once_in_order() -> None:
    text = (
        'byted_acrawler.init({"aid":1988,"enablePathList":["/api/*","/webcast/*"]});'
        "x.init({enablePathList:['/webcast/*','/api-live/*'],enableSDIPathList:[\"/passport/*\"]})"
    )
    assert signed_paths_in(text) == ["/api/*", "/webcast/*", "/api-live/*", "/passport/*"]
    assert signed_paths_in("var enablePathList = 3;") == []


def test_page_parts_resolve_srcs_and_keep_code_not_json() -> None:
    html = (
        "<html><head><script src='/static/sdk/webmssdk_1.0.0.368.js'></script>"
        '<script src="//lf16-tiktok-web.tiktokcdn-us.com/obj/live-player.js" defer></script>'
        '<script id="SIGI_STATE" type="application/json">{"a": "wss://not.code/"}</script>'
        "<script>byted_acrawler.init({enablePathList:['/api/*']})</script></head></html>"
    )
    parts = page_parts(html, "https://www.tiktok.com/live")
    assert parts.srcs == [
        "https://www.tiktok.com/static/sdk/webmssdk_1.0.0.368.js",
        "https://lf16-tiktok-web.tiktokcdn-us.com/obj/live-player.js",
    ]
    assert parts.sdk_srcs == parts.srcs[:1] and parts.other_srcs == parts.srcs[1:]
    assert parts.inline == ["byted_acrawler.init({enablePathList:['/api/*']})"]
    assert page_signed_paths(parts) == ["/api/*"]


def test_socket_facts_of_the_fakes_player_object_literal() -> None:
    cfg = FakeConfig()
    player = sdk_site.player_script(cfg, "http://127.0.0.1:9000")
    facts = socket_facts(PageParts(), {"http://127.0.0.1:9000/static/player/live-player.js": player}, ["ttwid"])
    assert facts.hosts == ("127.0.0.1:9000",)
    assert facts.paths == ("/webcast/im/ws_proxy/ws_reuse_supplement/",)
    assert facts.query_keys == sdk_site.PLAYER_QUERY
    assert facts.signed_keys == () and facts.ws_signer is False
    assert facts.cookie_names == ("ttwid",)
    cfg.page_ws_signed = ["X-Gnarly"]
    signed = socket_facts(PageParts(), {"https://x/live-player.js": sdk_site.player_script(cfg, "http://h:1")}, [])
    assert signed.signed_keys == ("X-Gnarly",) and signed.ws_signer is True
    assert signed.query_keys == sdk_site.PLAYER_QUERY  # the signature is listed apart


def test_socket_facts_of_a_full_url_a_query_literal_and_a_host_literal() -> None:
    full = 'var u="wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/?aid=1988&room_id=1&X-Bogus=x";'
    facts = socket_facts(PageParts(inline=[full]), {}, ["ttwid", "msToken"])
    assert facts.hosts == ("webcast-ws.tiktok.com",)
    assert facts.query_keys == ("aid", "room_id") and facts.signed_keys == ("X-Bogus",)
    assert facts.cookie_names == ("msToken", "ttwid")
    literal = (
        'var h="webcast-ws.eu.tiktok.com",p="/webcast/im/push/v2/";'
        'var q="version_code=180800&ws_direct=1&heartbeat_duration=10000&did_rule=3";'
    )
    facts = socket_facts(PageParts(), {"https://x/player.js": literal}, [])
    assert facts.hosts == ("webcast-ws.eu.tiktok.com",)
    assert facts.query_keys == ("version_code", "ws_direct", "heartbeat_duration", "did_rule")
    # SDK scripts are not the player: their text is left out
    assert socket_facts(PageParts(), {"https://x/webmssdk_1.js": literal}, []).query_keys == ()


def test_nested_values_are_not_keys() -> None:
    text = "var p={aid:1988,ws_direct:1,nested:{inner:1},fn:f({a:1}),'quoted-key':'',\"x\":[1,{b:2}]};"
    facts = socket_facts(PageParts(inline=[text]), {}, [])
    assert facts.query_keys == ("aid", "ws_direct", "nested", "fn", "quoted-key", "x")


def test_digest_is_stable_and_moves_with_any_fact() -> None:
    a = SocketFacts(hosts=("h",), query_keys=("a", "b"), cookie_names=("ttwid",))
    assert a.digest == SocketFacts.from_dict(a.to_dict()).digest == digest(a.to_dict())
    assert SocketFacts(hosts=("h",), query_keys=("b", "a"), cookie_names=("ttwid",)).digest != a.digest
    assert SocketFacts(hosts=("h",), query_keys=("a", "b"), ws_signer=True, cookie_names=("ttwid",)).digest != a.digest
