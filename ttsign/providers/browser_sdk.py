"""TikTok's SDK as the browser provider sees it: which script a page loaded, its version strings and sha256,
and a pinned SDK file (`TTSIGN_BROWSER_SDK`) served to a blank page at TikTok's origin.

The page-side scripts (the freeze script of `shared/protocol/sdk-oracle.md` §2, the request sender, the
`byted_acrawler.init` options of §2 step 7) live here too, as strings: they are small and belong to the
SDK's set-up, not to the pool.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SDK_SCRIPT = re.compile(r"(webmssdk|secsdk|acrawler|mssdk).*\.js$", re.IGNORECASE)
"""A script URL's path that holds TikTok's web SDK (`webmssdk_2.0.0.561.js`, `secsdk-lastest.umd.js` ...)."""
_VERSION = re.compile(r"""\b(scmVersion|sdkVersion|release)\s*[=:]\s*["']([0-9][0-9A-Za-z.\-]{2,40})["']""")

PINNED_SDK_PATH = "/__ttsign/sdk/"
"""Where a pinned SDK is served on the page's own origin (Playwright routing answers it, no server)."""

BLANK_PAGE = "<!doctype html><meta charset=utf-8><title>TikTok</title><div id=app></div>"

INIT_OPTIONS: dict[str, Any] = {
    "aid": 1988,
    "dfp": False,
    "boe": False,
    "intercept": True,
    "enablePathList": ["/api/*", "/webcast/*", "/api-live/*"],
    "region": "sg-tiktok",
    "apiHost": "",
    "mode": 516,
    "isSDK": False,
    "custom": {},
}
"""`byted_acrawler.init` for a pinned SDK on a blank page (sdk-oracle.md §2 step 7)."""

SEND_SCRIPT = """(() => {
  // The browser provider's request: the SDK's fetch/XHR hook signs it, Playwright routing aborts it.
  // Resolves with "" once the request ended (it is always aborted), or with the error the hook threw.
  window.__ttsignSend = (kind, url, method, body) => new Promise((resolve) => {
    const done = (e) => resolve(e ? String(e && e.name ? e.name + ': ' + e.message : e) : '');
    try {
      if (kind === 'fetch') {
        const init = { method, credentials: 'include' };
        if (body !== null) init.body = body;
        fetch(url, init).then(() => done(''), (e) => done(e));
      } else {
        const x = new XMLHttpRequest();
        x.open(method, url, true);
        x.withCredentials = true;
        x.onloadend = () => done('');
        x.send(body);
      }
    } catch (e) {
      done(e);
    }
  });
})();"""


def freeze_script(frozen_ms: int) -> str:
    """sdk-oracle.md §2: `Date`/`Date.now` answer `window.__frozen`, `Math.random` 0.5, `performance.now`
    1234.5 (the real one kept as `window.__realPerfNow`). Installed before the SDK loads."""
    return f"""(() => {{
  const RealDate = Date;
  window.__frozen = {int(frozen_ms)};
  window.__rnd = 0.5;
  window.__perf = 1234.5;
  function FrozenDate(...args) {{
    if (!(this instanceof FrozenDate)) return new RealDate(window.__frozen).toString();
    return args.length ? new RealDate(...args) : new RealDate(window.__frozen);
  }}
  FrozenDate.prototype = RealDate.prototype;
  FrozenDate.now = () => window.__frozen;
  FrozenDate.parse = RealDate.parse;
  FrozenDate.UTC = RealDate.UTC;
  window.Date = FrozenDate;
  Math.random = () => window.__rnd;
  window.__realPerfNow = performance.now.bind(performance);
  performance.now = () => window.__perf;
}})();"""


def versions_in(text: str) -> list[str]:
    """The SDK's version strings (`scmVersion`, `sdkVersion`, the monitor plugin's `release`), each once, in
    the order they appear: `["1.0.0.368", "5.1.3-ZTCA"]`."""
    out: list[str] = []
    for match in _VERSION.finditer(text):
        value = match.group(2)
        if value not in out:
            out.append(value)
    return out


@dataclass(frozen=True, slots=True)
class SdkRecord:
    """One SDK script a page ran: where it came from, its sha256 and the version strings inside it."""

    url: str
    sha256: str
    versions: tuple[str, ...] = ()

    @classmethod
    def of(cls, url: str, body: bytes) -> SdkRecord:
        text = body.decode("utf-8", "replace")
        return cls(url, hashlib.sha256(body).hexdigest(), tuple(versions_in(text)))

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "sha256": self.sha256, "versions": list(self.versions)}


def is_sdk_script(url: str) -> bool:
    return bool(SDK_SCRIPT.search(urlsplit(url).path))


@dataclass(frozen=True, slots=True)
class PinnedSdk:
    """A pinned SDK (`TTSIGN_BROWSER_SDK`): its bytes, served at `PINNED_SDK_PATH + name` on the page's origin."""

    source: str
    """The file path or URL it was read from (what `info()` reports as its url)."""
    name: str
    body: bytes
    record: SdkRecord = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "record", SdkRecord.of(self.source, self.body))


class SdkLoadError(Exception):
    """The pinned SDK could not be read (one line, says which source)."""


async def load_pinned(source: str, *, proxy: str = "", timeout_s: float = 20.0) -> PinnedSdk:
    """Read a pinned SDK from a file path or an http(s) URL (fetched once, through `proxy` when set)."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        import httpx

        try:
            async with httpx.AsyncClient(proxy=proxy or None, timeout=timeout_s, follow_redirects=True) as client:
                response = await client.get(source)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SdkLoadError(f"TTSIGN_BROWSER_SDK {source}: {type(exc).__name__}: {exc}") from None
        body = response.content
        name = Path(parts.path).name or "sdk.js"
    else:
        path = Path(source[len("file://") :] if source.startswith("file://") else source).expanduser()
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise SdkLoadError(f"TTSIGN_BROWSER_SDK {source}: {exc.strerror or exc}") from None
        name = path.name
    if not body.strip():
        raise SdkLoadError(f"TTSIGN_BROWSER_SDK {source}: the file is empty")
    return PinnedSdk(source, name if name.endswith(".js") else name + ".js", body)
