"""Browser presets: UA <-> browser_version <-> browser_platform <-> os always agree."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsign.algorithms.navigator import (
    DEFAULT_PRESET,
    PRESETS,
    XBOGUS_HEADER_CLEAN,
    XBOGUS_HEADER_FIREFOX,
    BrowserPreset,
    app_version,
    get_preset,
    navigator_dict,
    preset_for_user_agent,
    query_params,
)

REQUIRED = {"chrome-win", "chrome-mac", "edge-win", "chrome-linux", "safari-mac", "firefox-win"}

# Independent expectations: (os, navigator.platform) from the UA's platform token.
PLATFORM_OF = [
    ("Windows NT", "windows", "Win32"),
    ("Macintosh", "mac", "MacIntel"),
    ("X11;", "linux", "Linux x86_64"),
]
# Real Gecko appVersion strings, as seen in captured tiktok.com URLs.
GECKO_APP_VERSION = {"windows": "5.0 (Windows)", "mac": "5.0 (Macintosh)", "linux": "5.0 (X11)"}


def _expected_platform(ua: str) -> tuple[str, str]:
    for token, os_name, platform in PLATFORM_OF:
        if token in ua:
            return os_name, platform
    raise AssertionError(f"no desktop platform token in {ua!r}")


def assert_consistent(p: BrowserPreset) -> None:
    """The invariants TikTok's consistency checks rely on, checked without the module's parser."""
    assert p.browser_name == "Mozilla"
    if "Firefox/" in p.user_agent:
        assert p.browser_version == GECKO_APP_VERSION[p.os]
        assert p.xbogus_header == bytes.fromhex("4004410e")
    else:
        assert p.user_agent.startswith("Mozilla/")
        assert p.browser_version == p.user_agent.removeprefix("Mozilla/")
        assert p.xbogus_header == bytes.fromhex("4000410e")
    assert (p.os, p.browser_platform) == _expected_platform(p.user_agent)
    assert len(p.xbogus_header) == 4 and p.xbogus_header[0] == 0x40
    assert 0 < p.xbogus_canvas < 2**32
    assert p.screen_width > p.screen_height > 0
    assert p.device_scale_factor in (1.0, 1.25, 1.5, 2.0)
    assert p.browser_language == "en-US"
    assert re.fullmatch(r"[A-Z][a-z]+/[A-Za-z_]+", p.tz_name)


# ------------------------------------------------------------------------------------ built-ins


def test_required_presets_exist() -> None:
    assert set(PRESETS) >= REQUIRED
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_is_self_consistent(name: str) -> None:
    p = get_preset(name)
    assert p.name == name
    assert_consistent(p)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_through_its_ua(name: str) -> None:
    p = get_preset(name)
    assert preset_for_user_agent(p.user_agent) is p


@pytest.mark.parametrize(
    ("name", "family", "os_name", "token"),
    [
        ("chrome-win", "chrome", "windows", "Chrome/156.0.0.0 Safari/537.36"),
        ("chrome-mac", "chrome", "mac", "Chrome/156.0.0.0 Safari/537.36"),
        ("edge-win", "edge", "windows", "Edg/156.0.0.0"),
        ("chrome-linux", "chrome", "linux", "Chrome/156.0.0.0 Safari/537.36"),
        ("safari-mac", "safari", "mac", "Version/27.0 Safari/605.1.15"),
        ("firefox-win", "firefox", "windows", "rv:157.0) Gecko/20100101 Firefox/157.0"),
    ],
)
def test_preset_identity(name: str, family: str, os_name: str, token: str) -> None:
    p = get_preset(name)
    assert p.family == family and p.os == os_name
    assert p.user_agent.endswith(token)
    assert "Chrome/" not in p.user_agent or "Chrome/156.0.0.0" in p.user_agent  # reduced Chrome UA


def test_firefox_profile_and_chromium_profile_headers() -> None:
    assert get_preset("firefox-win").xbogus_header == XBOGUS_HEADER_FIREFOX == b"\x40\x04\x41\x0e"
    for name in ("chrome-win", "chrome-mac", "edge-win", "chrome-linux", "safari-mac"):
        assert get_preset(name).xbogus_header == XBOGUS_HEADER_CLEAN == b"\x40\x00\x41\x0e"


def test_canvas_values_from_xbogus_md() -> None:
    assert get_preset("chrome-linux").xbogus_canvas == 3666844619  # measured, Chromium 156 DPR 1
    assert get_preset("chrome-linux").device_scale_factor == 1.0
    assert 536919696 not in {p.xbogus_canvas for p in PRESETS.values()}  # Douyin's hard-coded value
    assert len({p.xbogus_canvas for p in PRESETS.values()}) == len(PRESETS)


def test_presets_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_preset("chrome-win").os = "mac"  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["", "chrome", "Chrome-Win", "chrome_win", "firefox-mac"])
def test_unknown_preset_raises_value_error_listing_names(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        get_preset(bad)
    assert not isinstance(info.value, KeyError)
    for name in REQUIRED:
        assert name in str(info.value)


def test_unhashable_name_raises_value_error() -> None:
    with pytest.raises(ValueError):
        get_preset(["chrome-win"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- query params


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_api_query_params(name: str) -> None:
    p = get_preset(name)
    params = query_params(p)
    keys = [k for k, _ in params]
    assert keys == sorted(keys)  # the /api/* page sends its parameters alphabetically
    assert keys == [
        "browser_language",
        "browser_name",
        "browser_online",
        "browser_platform",
        "browser_version",
        "cookie_enabled",
        "os",
        "screen_height",
        "screen_width",
        "tz_name",
    ]
    d = dict(params)
    assert d["browser_version"] == p.browser_version  # raw, not escaped
    assert d["browser_platform"] == p.browser_platform
    assert d["os"] == p.os
    assert d["screen_width"] == str(p.screen_width) and d["screen_height"] == str(p.screen_height)
    assert d["tz_name"] == p.tz_name and "%" not in d["tz_name"]
    assert d["browser_online"] == d["cookie_enabled"] == "true"


def test_api_query_params_match_a_real_capture_layout() -> None:
    # The navigator part of the xbogus.json item_list query (Chrome 120 Win), decoded.
    ua = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36"
    )
    p = dataclasses.replace(preset_for_user_agent(ua), screen_width=1920, screen_height=1080)
    got = "&".join(f"{k}={v}" for k, v in query_params(p))
    assert got == (
        "browser_language=en-US&browser_name=Mozilla&browser_online=true&browser_platform=Win32"
        "&browser_version=5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36&cookie_enabled=true&os=windows&screen_height=1080"
        "&screen_width=1920&tz_name=America/New_York"
    )


def test_webcast_query_params_order() -> None:
    p = get_preset("chrome-win")
    assert [k for k, _ in query_params(p, "webcast")] == [
        "cookie_enabled",
        "screen_width",
        "screen_height",
        "browser_language",
        "browser_platform",
        "browser_name",
        "browser_version",
        "browser_online",
        "tz_name",
    ]
    assert dict(query_params(p, "webcast")).items() <= dict(query_params(p)).items()


def test_unknown_query_style() -> None:
    with pytest.raises(ValueError):
        query_params(get_preset("chrome-win"), "mobile")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- navigator dict


def test_navigator_dict_keys_and_values() -> None:
    p = get_preset("chrome-mac")
    d = navigator_dict(p)
    assert set(d) == {
        "deviceScaleFactor",
        "user_agent",
        "browser_language",
        "browser_platform",
        "browser_name",
        "browser_version",
    }
    assert d["deviceScaleFactor"] == 2 and isinstance(d["deviceScaleFactor"], int)
    assert d["user_agent"] == p.user_agent
    assert d["browser_version"] == p.browser_version
    assert d["browser_platform"] == "MacIntel"
    assert d["browser_name"] == "Mozilla" and d["browser_language"] == "en-US"


def test_navigator_dict_fractional_dpr() -> None:
    d = navigator_dict(get_preset("edge-win"))
    assert d["deviceScaleFactor"] == 1.25 and isinstance(d["deviceScaleFactor"], float)


# ------------------------------------------------------------------- presets from arbitrary UAs

# Real UAs and what a browser sending each reports: (ua, family, os, platform, appVersion or None
# for "UA minus Mozilla/").
REAL_UAS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "chrome",
        "windows",
        "Win32",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
        "edge",
        "windows",
        "Win32",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "firefox",
        "windows",
        "Win32",
        "5.0 (Windows)",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
        "firefox",
        "mac",
        "MacIntel",
        "5.0 (Macintosh)",
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "firefox",
        "linux",
        "Linux x86_64",
        "5.0 (X11)",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Safari/605.1.15",
        "safari",
        "mac",
        "MacIntel",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.0.0 Safari/537.36",
        "chrome",
        "mac",
        "MacIntel",
        None,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
        "chrome",
        "linux",
        "Linux x86_64",
        None,
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "chrome",
        "linux",
        "Linux x86_64",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0",
        "chrome",
        "windows",
        "Win32",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.0.0 Mobile Safari/537.36",
        "chrome",
        "android",
        "Linux armv81",
        None,
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "firefox",
        "android",
        "Linux armv81",
        "5.0 (Android 14)",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "safari",
        "ios",
        "iPhone",
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        "chrome",
        "ios",
        "iPhone",
        None,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        "safari",
        "ios",
        "iPad",
        None,
    ),
]


@pytest.mark.parametrize(
    ("ua", "family", "os_name", "platform", "version"),
    REAL_UAS,
    ids=[f"{r[1]}-{r[2]}-{i}" for i, r in enumerate(REAL_UAS)],
)
def test_preset_for_real_user_agents(ua: str, family: str, os_name: str, platform: str, version: str | None) -> None:
    p = preset_for_user_agent(ua)
    assert p.user_agent == ua
    assert p.family == family
    assert p.os == os_name
    assert p.browser_platform == platform
    assert p.browser_version == (version or ua.removeprefix("Mozilla/"))
    assert p.browser_version == app_version(ua)
    assert p.browser_name == "Mozilla"
    assert p.name == f"ua:{family}-{os_name}"
    assert p.xbogus_header == (XBOGUS_HEADER_FIREFOX if family == "firefox" else XBOGUS_HEADER_CLEAN)
    if os_name in ("windows", "mac", "linux"):
        assert_consistent(p)
    # screen and canvas come from a preset of the same os, so a Windows UA never gets a Mac screen
    assert (p.screen_width, p.screen_height) in {
        (b.screen_width, b.screen_height) for b in PRESETS.values() if b.os == os_name
    } or os_name in ("android", "ios")


def test_derived_preset_keeps_template_environment() -> None:
    ua = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/150.0.0.0 Safari/537.36 Edg/150.0.0.0"
    )
    p, base = preset_for_user_agent(ua), get_preset("edge-win")
    assert (p.screen_width, p.screen_height, p.device_scale_factor) == (1536, 864, 1.25)
    assert (p.tz_name, p.xbogus_canvas) == (base.tz_name, base.xbogus_canvas)


def test_mobile_derived_presets_are_portrait() -> None:
    for ua, _family, os_name, *_ in REAL_UAS:
        if os_name in ("android", "ios"):
            p = preset_for_user_agent(ua)
            assert p.screen_height > p.screen_width and p.device_scale_factor >= 2


@pytest.mark.parametrize(
    ("ua", "version"),
    [
        ("", ""),
        ("curl/8.5.0", "8.5.0"),
        ("no slash here", "no slash here"),
        ("Mozilla/5.0", "5.0"),
        ("TikTokLive.py/7.0.1", "7.0.1"),
    ],
)
def test_app_version_blink_rule(ua: str, version: str) -> None:
    # Blink/WebKit: everything after the first "/", the whole UA when there is none.
    assert app_version(ua) == version
    p = preset_for_user_agent(ua)
    assert p.browser_version == version and p.os == "windows" and p.browser_platform == "Win32"


_ALLOWED = {
    ("windows", "Win32"),
    ("mac", "MacIntel"),
    ("linux", "Linux x86_64"),
    ("linux", "Linux aarch64"),
    ("linux", "Linux i686"),
    ("android", "Linux armv81"),
    ("ios", "iPhone"),
    ("ios", "iPad"),
}

_UA_PIECES = st.sampled_from(
    [
        "Mozilla/5.0 ",
        "(Windows NT 10.0; Win64; x64) ",
        "(Macintosh; Intel Mac OS X 10_15_7) ",
        "(X11; Linux x86_64) ",
        "(Linux; Android 10; K) ",
        "(iPhone; CPU iPhone OS 17_5 like Mac OS X) ",
        "AppleWebKit/537.36 (KHTML, like Gecko) ",
        "Chrome/156.0.0.0 ",
        "Safari/537.36 ",
        "Version/17.1 ",
        "Edg/156.0.0.0",
        "rv:157.0) Gecko/20100101 Firefox/157.0",
        "(",
        ")",
        "/",
        ";",
        "",
    ]
)


@settings(max_examples=400)
@given(st.one_of(st.text(), st.lists(_UA_PIECES | st.text(max_size=5), max_size=12).map("".join)))
def test_arbitrary_user_agents_never_crash(ua: str) -> None:
    p = preset_for_user_agent(ua)
    assert isinstance(p, BrowserPreset)
    assert p.user_agent == ua
    assert (p.os, p.browser_platform) in _ALLOWED
    assert p.browser_name == "Mozilla"
    assert p.browser_version == app_version(ua)
    edge = any(t in ua for t in ("Edg/", "EdgA/", "EdgiOS/"))
    assert (p.family == "firefox") == ("Firefox/" in ua and not edge)
    if p.family == "firefox":
        assert p.browser_version.startswith("5.0 (")
        assert p.xbogus_header == XBOGUS_HEADER_FIREFOX
    else:
        assert p.browser_version == ua[ua.find("/") + 1 :]
        assert p.xbogus_header == XBOGUS_HEADER_CLEAN
    assert "Windows" not in ua or p.os == "windows"
    assert len(navigator_dict(p)) == 6
    assert len(query_params(p)) == 10
