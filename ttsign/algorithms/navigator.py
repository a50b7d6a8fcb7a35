"""Browser presets: one User-Agent and everything a page derives from it, always consistent.

TikTok gates requests whose User-Agent disagrees with the ``browser_platform`` / ``browser_version``
/ ``os`` / ``screen_*`` query parameters (empty 200; tokens.md §7, live-connect.md §2.2). A
:class:`BrowserPreset` carries the UA together with the navigator values the page would read from
that browser, and the X-Bogus environment profile (header bytes and canvas hash, xbogus.md §2.6-2.7)
that the SDK would compute in it.

How the page fills the parameters (checked against public captures of real tiktok.com URLs):

- ``browser_name`` = ``navigator.appCodeName``: always ``Mozilla``.
- ``browser_version`` = ``navigator.appVersion``. Chromium and WebKit return the UA after its first
  ``/`` (so ``5.0 (Windows NT 10.0; ...) ... Safari/537.36``). **Firefox does not**: Gecko returns
  ``5.0 (Windows)``, ``5.0 (Macintosh)`` or ``5.0 (X11)``, and real Firefox captures carry exactly
  that (``browser_version=5.0%20%28Windows%29``). Sending the full UA there would itself be a tell.
- ``browser_platform`` = ``navigator.platform``: ``Win32`` (also on 64-bit Windows), ``MacIntel``
  (also on Apple silicon), ``Linux x86_64``; ``Linux armv81`` on Android, ``iPhone``/``iPad`` on iOS.
- ``os``: ``windows``, ``mac``, ``linux``, ``android``, ``ios``.

Versions chosen (2026-11): Chrome/Edge 156, the Chromium that Debian ships in the SDK oracle
(sdk-oracle.md §1) and where Chrome's 4-week cadence puts stable (142 was 2025-10-28). Chrome and Edge
send the reduced UA (``156.0.0.0``, ``Windows NT 10.0``, ``Mac OS X 10_15_7``). Firefox 157 and
Safari 27.0 are projected from Mozilla's 4-week and Apple's yearly September cadence; replace them
with captured strings when one is at hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "XBOGUS_HEADER_CLEAN",
    "XBOGUS_HEADER_FIREFOX",
    "BrowserPreset",
    "app_version",
    "get_preset",
    "navigator_dict",
    "parse_user_agent",
    "preset_for_user_agent",
    "query_params",
]

XBOGUS_HEADER_CLEAN = bytes.fromhex("4000410e")
"""Clean Chromium on a TikTok host, platform matching the UA, ``init`` done (xbogus.md §2.7)."""
XBOGUS_HEADER_FIREFOX = bytes.fromhex("4004410e")
"""The same with H1 bit 0x04 (observed for a Firefox UA; also in 2022-2023 public TikTok samples)."""

Family = Literal["chrome", "edge", "firefox", "safari", "other"]
OsName = Literal["windows", "mac", "linux", "android", "ios"]


@dataclass(frozen=True)
class BrowserPreset:
    """One browser on one machine: its UA, the navigator-derived query values, its X-Bogus profile."""

    name: str
    """Preset key, e.g. ``chrome-win``; ``ua:<family>-<os>`` for presets derived from a UA."""
    user_agent: str
    """The ``User-Agent`` header, byte for byte the UA the tokens are computed over."""
    browser_name: str
    """``navigator.appCodeName``: ``Mozilla``."""
    browser_version: str
    """``navigator.appVersion`` (see the module docstring for the Firefox rule)."""
    browser_platform: str
    """``navigator.platform``: ``Win32``, ``MacIntel``, ``Linux x86_64``..."""
    os: str
    """The page's ``os`` parameter: ``windows``, ``mac``, ``linux``, ``android`` or ``ios``."""
    screen_width: int
    """``screen.width`` in CSS pixels."""
    screen_height: int
    """``screen.height`` in CSS pixels."""
    device_scale_factor: float
    """``window.devicePixelRatio``."""
    browser_language: str
    """``navigator.language``."""
    tz_name: str
    """``Intl.DateTimeFormat().resolvedOptions().timeZone``."""
    xbogus_header: bytes
    """X-Bogus plaintext bytes 0..3 (H0 H1 H2 H3) for this browser."""
    xbogus_canvas: int
    """X-Bogus 32-bit canvas fingerprint: a constant of the device (xbogus.md §2.6)."""

    @property
    def family(self) -> Family:
        """The browser family read from the UA: chrome, edge, firefox, safari or other."""
        return _family(self.user_agent)


# ------------------------------------------------------------------------------------- UA parsing


def _family(ua: str) -> Family:
    if "Edg/" in ua or "EdgA/" in ua or "EdgiOS/" in ua:
        return "edge"
    if "Firefox/" in ua:
        return "firefox"
    if "Chrome/" in ua or "CriOS/" in ua or "Chromium/" in ua:
        return "chrome"
    if "Safari/" in ua and "Version/" in ua:
        return "safari"
    return "other"


_ANDROID_PLATFORM = "Linux armv81"  # what Chrome on Android reports (seen in real captures)


def _os_and_platform(ua: str) -> tuple[OsName, str]:
    """``(os, navigator.platform)`` as the browser that sent ``ua`` would report them."""
    if "Windows" in ua:
        return "windows", "Win32"
    if "iPhone" in ua or "iPod" in ua:
        return "ios", "iPhone"
    if "iPad" in ua:
        return "ios", "iPad"
    if "Android" in ua:
        return "android", _ANDROID_PLATFORM
    if "Macintosh" in ua or "Mac OS X" in ua:
        return "mac", "MacIntel"
    if "Linux" in ua or "X11" in ua or "CrOS" in ua:
        if "aarch64" in ua:
            return "linux", "Linux aarch64"
        if "i686" in ua and "x86_64" not in ua:
            return "linux", "Linux i686"
        return "linux", "Linux x86_64"
    return "windows", "Win32"  # nothing to agree with: fall back to the most common desktop


_GECKO_PLATFORM = {"windows": "Windows", "mac": "Macintosh", "linux": "X11", "ios": "iPhone"}
_UA_COMMENT = re.compile(r"\(([^;)]*)")


def app_version(user_agent: str) -> str:
    """``navigator.appVersion`` for the browser that sends ``user_agent``.

    Chromium and WebKit: everything after the UA's first ``/`` (the whole UA when it has none).
    Gecko: ``5.0 (<platform>)`` with Windows, Macintosh or X11; on Android the first item of the UA
    comment (``5.0 (Android 10)``).
    """
    if _family(user_agent) != "firefox":
        return user_agent[user_agent.find("/") + 1 :]
    os_name, _ = _os_and_platform(user_agent)
    if os_name == "android":
        m = _UA_COMMENT.search(user_agent)
        return f"5.0 ({m.group(1).strip() if m else 'Android'})"
    return f"5.0 ({_GECKO_PLATFORM[os_name]})"


def parse_user_agent(user_agent: str) -> tuple[Family, OsName, str]:
    """``(family, os, navigator.platform)`` derived from a UA string. Never raises for a str."""
    os_name, platform = _os_and_platform(user_agent)
    return _family(user_agent), os_name, platform


# ----------------------------------------------------------------------------------------- presets

_CHROME = "156.0.0.0"  # Chrome/Edge major 156, reduced UA
_FIREFOX = "157.0"
_SAFARI = "27.0"


def _make(
    name: str,
    user_agent: str,
    *,
    screen: tuple[int, int],
    dpr: float,
    tz_name: str,
    canvas: int,
    language: str = "en-US",
) -> BrowserPreset:
    family, os_name, platform = parse_user_agent(user_agent)
    return BrowserPreset(
        name=name,
        user_agent=user_agent,
        browser_name="Mozilla",
        browser_version=app_version(user_agent),
        browser_platform=platform,
        os=os_name,
        screen_width=screen[0],
        screen_height=screen[1],
        device_scale_factor=dpr,
        browser_language=language,
        tz_name=tz_name,
        xbogus_header=XBOGUS_HEADER_FIREFOX if family == "firefox" else XBOGUS_HEADER_CLEAN,
        xbogus_canvas=canvas,
    )


# Canvas values (xbogus.md §2.6 and §5). Only chrome-linux's is a measurement of that exact browser
# (Debian Chromium 156, DPR 1). The others are real values decoded from public TikTok/Douyin X-Bogus
# tokens whose browser is not recorded; 1192292271 came with the Firefox-UA header 40 04 41 0e. The
# canvas depends on the machine (GPU, fonts, DPR), so any real value is believable; it must only stay
# fixed for the life of a profile. Douyin's hard-coded 536919696 is avoided on purpose.
_BUILTIN: tuple[BrowserPreset, ...] = (
    _make(
        "chrome-win",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{_CHROME} Safari/537.36",
        screen=(1920, 1080),
        dpr=1.0,
        tz_name="America/New_York",
        canvas=3514227631,  # 2025-12 TikTok sample, with X-Gnarly
    ),
    _make(
        "chrome-mac",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{_CHROME} Safari/537.36",
        screen=(1512, 982),  # 14" MacBook Pro, default scaled resolution
        dpr=2.0,
        tz_name="America/Los_Angeles",
        canvas=822158489,  # 2025-11 public sample
    ),
    _make(
        "edge-win",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{_CHROME} Safari/537.36 Edg/{_CHROME}",
        screen=(1536, 864),  # a 1920x1080 laptop panel at Windows' default 125 % scaling
        dpr=1.25,
        tz_name="America/Chicago",
        canvas=1636436329,  # 2022-09 TikTok live sample
    ),
    _make(
        "chrome-linux",
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{_CHROME} Safari/537.36",
        screen=(1920, 1080),
        dpr=1.0,
        tz_name="America/Denver",
        canvas=3666844619,  # measured: Debian Chromium 156, DPR 1
    ),
    _make(
        "safari-mac",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/{_SAFARI} Safari/605.1.15",
        screen=(1470, 956),  # 13"/15" MacBook Air, default scaled resolution
        dpr=2.0,
        tz_name="America/New_York",
        canvas=3845494467,  # 2022-04 public sample
    ),
    _make(
        "firefox-win",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{_FIREFOX}) Gecko/20100101 Firefox/{_FIREFOX}",
        screen=(1920, 1080),
        dpr=1.0,
        tz_name="America/New_York",
        canvas=1192292271,  # 2023-09 TikTok sample, header 40 04 41 0e
    ),
)

PRESETS: Mapping[str, BrowserPreset] = MappingProxyType({p.name: p for p in _BUILTIN})
"""The built-in presets by name (read-only)."""
DEFAULT_PRESET = "chrome-win"

# Templates for UAs whose (family, os) has no built-in preset: screen, DPR and canvas of a typical
# device of that os. Not offered by name: /api/* presets are desktop (device_platform=web_pc).
_MOBILE_TEMPLATES: Mapping[str, BrowserPreset] = MappingProxyType(
    {
        "android": _make(
            "chrome-android",
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{_CHROME} Mobile Safari/537.36",
            screen=(412, 915),
            dpr=2.625,
            tz_name="America/New_York",
            canvas=142579479,  # measured: Chromium 156 at DPR >= 1.5
        ),
        "ios": _make(
            "safari-ios",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{_SAFARI} Mobile/15E148 Safari/604.1",
            screen=(390, 844),
            dpr=3.0,
            tz_name="America/New_York",
            canvas=3845494467,
        ),
    }
)


def get_preset(name: str) -> BrowserPreset:
    """The built-in preset called ``name``. Raises ValueError naming the valid ones."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown browser preset {name!r}; valid: {', '.join(PRESETS)}") from None


def _template(family: Family, os_name: OsName) -> BrowserPreset:
    for p in _BUILTIN:
        if p.family == family and p.os == os_name:
            return p
    if os_name in _MOBILE_TEMPLATES:
        return _MOBILE_TEMPLATES[os_name]
    for p in _BUILTIN:  # same os, Chromium first (the built-ins list Chrome before the others)
        if p.os == os_name:
            return p
    return PRESETS[DEFAULT_PRESET]


def preset_for_user_agent(user_agent: str) -> BrowserPreset:
    """A preset for an arbitrary UA, consistent with it.

    A built-in preset's exact UA gives that preset. Otherwise ``browser_platform``, ``os``,
    ``browser_version`` and the X-Bogus header are derived from the UA itself; screen, DPR, time
    zone and canvas come from the closest built-in preset (same browser and os, else same os).
    Never raises for a str.
    """
    for p in _BUILTIN:
        if p.user_agent == user_agent:
            return p
    family, os_name, platform = parse_user_agent(user_agent)
    base = _template(family, os_name)
    return replace(
        base,
        name=f"ua:{family}-{os_name}",
        user_agent=user_agent,
        browser_version=app_version(user_agent),
        browser_platform=platform,
        os=os_name,
        xbogus_header=XBOGUS_HEADER_FIREFOX if family == "firefox" else XBOGUS_HEADER_CLEAN,
    )


# ---------------------------------------------------------------------------------- serialisation


def _dpr(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def query_params(preset: BrowserPreset, style: Literal["api", "webcast"] = "api") -> list[tuple[str, str]]:
    """The navigator-derived query parameters, raw (not percent-encoded), in the page's order.

    ``api``: the www.tiktok.com ``/api/*`` order, which is alphabetical; merge them into the rest of
    the (alphabetical) parameter set. ``webcast``: the LIVE player's order for webcast requests and
    the push socket (live-connect.md §2.2), which has no ``os``.
    """
    online = ("browser_online", "true")
    cookies = ("cookie_enabled", "true")
    if style == "api":
        return [
            ("browser_language", preset.browser_language),
            ("browser_name", preset.browser_name),
            online,
            ("browser_platform", preset.browser_platform),
            ("browser_version", preset.browser_version),
            cookies,
            ("os", preset.os),
            ("screen_height", str(preset.screen_height)),
            ("screen_width", str(preset.screen_width)),
            ("tz_name", preset.tz_name),
        ]
    if style == "webcast":
        return [
            cookies,
            ("screen_width", str(preset.screen_width)),
            ("screen_height", str(preset.screen_height)),
            ("browser_language", preset.browser_language),
            ("browser_platform", preset.browser_platform),
            ("browser_name", preset.browser_name),
            ("browser_version", preset.browser_version),
            online,
            ("tz_name", preset.tz_name),
        ]
    raise ValueError(f"unknown query style {style!r}; valid: api, webcast")


def navigator_dict(preset: BrowserPreset) -> dict[str, str | int | float]:
    """The origin API's ``navigator`` object for this preset (exactly its six keys)."""
    return {
        "deviceScaleFactor": _dpr(preset.device_scale_factor),
        "user_agent": preset.user_agent,
        "browser_language": preset.browser_language,
        "browser_platform": preset.browser_platform,
        "browser_name": preset.browser_name,
        "browser_version": preset.browser_version,
    }
