"""Reading TikTok's live page and the scripts it loads, through the server's upstream client
(`ttsign.tiktok.http.Upstream`: `TTSIGN_PROXY`, its timeout, body cap and redirect policy), for the SDK build
watch and the player watch.

Only scripts on TikTok's own hosts are read (the configured `TTSIGN_TIKTOK_WWW` host, `*.tiktok.com` and
TikTok's static CDNs): a page that names another host gets that script listed as skipped, never fetched, so
the monitor cannot be pointed at an internal address by what a page says. At most `MAX_SDK_SCRIPTS` SDK
scripts and `MAX_OTHER_SCRIPTS` other scripts are read, each within the upstream's body cap, all within
`BUDGET_S`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ttsign.monitor.facts import PageParts, page_parts
from ttsign.tiktok.http import Upstream, UpstreamError

PAGE_PATH = "/live"
"""The page read: TikTok's live page, which loads the SDK and the player."""
MAX_SDK_SCRIPTS = 8
MAX_OTHER_SCRIPTS = 16
BUDGET_S = 30.0
"""The most one page read takes, its scripts included (each request also within the upstream's timeout)."""
SCRIPT_HOSTS = (
    "tiktok.com",
    "tiktokcdn.com",
    "tiktokcdn-us.com",
    "tiktokcdn-eu.com",
    "ttwstatic.com",
    "tiktokv.com",
    "tiktokv.us",
    "byteoversea.com",
    "ibytedtos.com",
    "ibyteimg.com",
)
"""Script hosts read besides the page's own host (each and its subdomains)."""
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


class PageError(Exception):
    """The page could not be read (one line, no address, no body)."""


@dataclass
class PageRead:
    url: str
    parts: PageParts
    cookie_names: list[str]
    scripts: dict[str, bytes] = field(default_factory=dict)  # url -> body, for every script read
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"url", "why"}: scripts not read

    def sdk_scripts(self) -> dict[str, bytes]:
        return {u: self.scripts[u] for u in self.parts.sdk_srcs if u in self.scripts}

    def other_scripts(self) -> dict[str, str]:
        return {u: self.scripts[u].decode("utf-8", "replace") for u in self.parts.other_srcs if u in self.scripts}


def http_of(ctx: Any) -> Upstream:
    """The `Upstream` of `ctx`: an `Upstream`, or anything whose `.upstream` is one (a `TikTokClient`, the
    server's `Services`), however deep."""
    seen = 0
    obj = ctx
    while not isinstance(obj, Upstream):
        obj = getattr(obj, "upstream", None)
        seen += 1
        if obj is None or seen > 4:
            raise PageError("no upstream client to read TikTok's page with (services.upstream is not set)")
    return obj


def script_allowed(url: str, page_url: str) -> bool:
    """Whether a script URL may be read: http(s) on the page's own host and port, or on TikTok's hosts."""
    s, p = urlsplit(url), urlsplit(page_url)
    if s.scheme not in ("http", "https") or not s.hostname:
        return False
    if s.netloc.lower() == p.netloc.lower():
        return True
    host = s.hostname.lower()
    return any(host == h or host.endswith("." + h) for h in SCRIPT_HOSTS)


async def read_page(
    http: Upstream, www: str, *, sdk: bool = True, others: bool = True, budget_s: float = BUDGET_S
) -> PageRead:
    """The live page at `www` + `PAGE_PATH` and its scripts (SDK ones when `sdk`, the rest when `others`), all
    within `budget_s` seconds (a script not read in time is listed as skipped)."""
    deadline = time.monotonic() + budget_s
    url = www.rstrip("/") + PAGE_PATH
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"}
    try:
        resp = await http.get(url, headers=headers)
    except UpstreamError as exc:
        raise PageError(f"TikTok's live page could not be read: {exc}") from None
    if resp.status != 200:
        raise PageError(f"TikTok's live page answered HTTP {resp.status}")
    parts = page_parts(resp.text, url)
    read = PageRead(url, parts, sorted(resp.set_cookies))
    wanted: list[str] = []
    if sdk:
        wanted += parts.sdk_srcs[:MAX_SDK_SCRIPTS]
        read.skipped += [{"url": u, "why": "over the script limit"} for u in parts.sdk_srcs[MAX_SDK_SCRIPTS:]]
    if others:
        wanted += parts.other_srcs[:MAX_OTHER_SCRIPTS]
        read.skipped += [{"url": u, "why": "over the script limit"} for u in parts.other_srcs[MAX_OTHER_SCRIPTS:]]
    for src in dict.fromkeys(wanted):
        if not script_allowed(src, url):
            read.skipped.append({"url": src, "why": "not a TikTok host"})
            continue
        left = deadline - time.monotonic()
        if left <= 0.05:
            read.skipped.append({"url": src, "why": f"not read within the {budget_s:g} s budget"})
            continue
        try:
            async with asyncio.timeout(left):
                got = await http.get(src, headers={"User-Agent": USER_AGENT, "Referer": url})
        except TimeoutError:
            read.skipped.append({"url": src, "why": f"not read within the {budget_s:g} s budget"})
            continue
        except UpstreamError as exc:
            read.skipped.append({"url": src, "why": str(exc)})
            continue
        if got.status != 200:
            read.skipped.append({"url": src, "why": f"HTTP {got.status}"})
            continue
        read.scripts[src] = got.body
    return read
