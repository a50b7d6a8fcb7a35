"""What the monitor reads out of TikTok's pages and scripts. Pure: text in, facts out, no I/O.

Two kinds of facts:

* **SDK facts** (`sdk_facts`), per SDK script the page loads: its sha256 and size, its version strings
  (`scmVersion`, `sdkVersion`, the monitor plugin's `release`: `ttsign.providers.browser_sdk.versions_in`),
  the path patterns it signs (`enablePathList` arrays written in it, e.g. `["/api/*", "/webcast/*"]`) and
  the endpoint paths it names itself (`"/web/common"`, `"/mssdk/web_common"` ...: the reports it sends, signed
  too). The npm build 1.0.0.368 holds no `enablePathList` of its own: the page passes it to
  `byted_acrawler.init`, so `page_signed_paths` reads the page's inline scripts for it as well.
* **Socket facts** (`socket_facts`), from the live page and its (non-SDK) scripts: the push socket's hosts and
  paths (`wss://host/path` literals), the query keys the player puts on it (a `ws://`/`wss://` URL's own query,
  else the object literal or query string around `ws_direct=`/`heartbeat_duration`), less the signature keys,
  which are listed apart (`X-Bogus`, `X-Gnarly` ...: `signed_keys`), whether the player asks the SDK for a socket signer
  (`registerWsSigner`), and the names of the cookies the page sets.

These are heuristics over minified code: each rule is a documented shape, and what a rule does not find is an
empty list (a change the analyzer reports), never an error. `digest` gives a stable hash of facts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from ttsign.providers.browser_sdk import is_sdk_script, versions_in

__all__ = [
    "SIGNATURE_KEYS",
    "PageParts",
    "ScriptFacts",
    "SocketFacts",
    "digest",
    "endpoints_in",
    "page_parts",
    "page_signed_paths",
    "sdk_facts",
    "signed_paths_in",
    "socket_facts",
]

SIGNATURE_KEYS = ("X-Bogus", "X-Gnarly", "X-Dynosaur", "_signature", "signature", "msToken")
"""Query keys that are tokens (a socket query holding one is a signed socket)."""

_PATH_LIST = re.compile(r"""enable(?:SDI)?PathList["']?\s*[:=]\s*\[([^\]]{0,4000})\]""")
_STRING = re.compile(r""""([^"\\\n]{0,400})"|'([^'\\\n]{0,400})'""")
_ENDPOINT = re.compile(r"""["'](/[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-.]+)*/?)["']""")
_WS_URL = re.compile(r"""wss?://[A-Za-z0-9.\-]+(?::\d{1,5})?(?:/[^\s"'`?#<>\\]*)?(?:\?[^\s"'`#<>\\]*)?""")
_WS_HOST = re.compile(r"""["'`]((?:[a-z0-9\-]+\.)*[a-z0-9\-]*-ws[a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.tiktok\.com)["'`]""")
_ANCHORS = re.compile(r"""\b(ws_direct|heartbeat_duration)\b""")
_QUERY_LITERAL = re.compile(r"""["'`]([^"'`\n]{0,4000}\b(?:ws_direct|heartbeat_duration)=[^"'`\n]{0,4000})["'`]""")
_OBJECT_KEY = re.compile(r"""(?:^|[{,])\s*(?:"([^"\n]{1,60})"|'([^'\n]{1,60})'|([A-Za-z_$][\w$\-]{0,60}))\s*:""")
_SCAN = 20_000  # characters scanned either side of an anchor for its enclosing object literal
_MAX_ANCHORS = 8


def digest(facts: Mapping[str, Any]) -> str:
    """A stable sha256 (hex) of JSON-safe facts (keys sorted, compact)."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _strings(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _STRING.finditer(text)]


def signed_paths_in(text: str) -> list[str]:
    """The path patterns of every `enablePathList` (and `enableSDIPathList`) array literal in `text`, each once,
    in order: `["/api/*", "/webcast/*", "/api-live/*"]`."""
    return _unique(s for m in _PATH_LIST.finditer(text) for s in _strings(m.group(1)) if s.startswith("/"))


def endpoints_in(text: str) -> list[str]:
    """The endpoint paths an SDK script names (string literals that are absolute paths: `/web/common` ...),
    sorted. Paths inside `enablePathList` patterns (with `*`) are not endpoints."""
    return sorted({m.group(1) for m in _ENDPOINT.finditer(text) if len(m.group(1)) > 1})


@dataclass(frozen=True)
class ScriptFacts:
    """One SDK script: where it came from and what is in it."""

    url: str
    name: str
    sha256: str
    size: int
    versions: tuple[str, ...] = ()
    signed_paths: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScriptFacts:
        return cls(
            url=str(data.get("url", "")),
            name=str(data.get("name", "")),
            sha256=str(data.get("sha256", "")),
            size=int(data.get("size", 0)),
            versions=tuple(str(v) for v in data.get("versions") or ()),
            signed_paths=tuple(str(v) for v in data.get("signed_paths") or ()),
            endpoints=tuple(str(v) for v in data.get("endpoints") or ()),
        )


def sdk_facts(url: str, body: bytes) -> ScriptFacts:
    """The facts of one SDK script (`url` is where the page loaded it from)."""
    text = body.decode("utf-8", "replace")
    return ScriptFacts(
        url=url,
        name=urlsplit(url).path.rsplit("/", 1)[-1] or url,
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        versions=tuple(versions_in(text)),
        signed_paths=tuple(signed_paths_in(text)),
        endpoints=tuple(endpoints_in(text)),
    )


@dataclass
class PageParts:
    """A page's scripts: the `src` of each `<script src>` (absolute, in page order) and each inline script."""

    srcs: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)

    @property
    def sdk_srcs(self) -> list[str]:
        return [s for s in self.srcs if is_sdk_script(s)]

    @property
    def other_srcs(self) -> list[str]:
        return [s for s in self.srcs if not is_sdk_script(s)]


class _ScriptParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.parts = PageParts()
        self._inline: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script":
            return
        a = dict(attrs)
        kind = (a.get("type") or "").strip().lower()
        src = (a.get("src") or "").strip()
        if src:
            self.parts.srcs.append(urljoin(self.base_url, src))
            self._inline = None
        elif kind in ("", "text/javascript", "module", "application/javascript"):
            self._inline = []  # JSON data blocks (SIGI_STATE) are not code
        else:
            self._inline = None

    def handle_data(self, data: str) -> None:
        if self._inline is not None:
            self._inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._inline is not None:
            text = "".join(self._inline).strip()
            if text:
                self.parts.inline.append(text)
            self._inline = None


def page_parts(html: str, base_url: str) -> PageParts:
    """The scripts of an HTML page (`base_url` resolves relative `src`s)."""
    parser = _ScriptParser(base_url)
    parser.feed(html)
    parser.close()
    return parser.parts


def page_signed_paths(parts: PageParts) -> list[str]:
    """The `enablePathList` patterns the page's inline scripts pass to the SDK (`byted_acrawler.init`)."""
    return _unique(p for text in parts.inline for p in signed_paths_in(text))


@dataclass(frozen=True)
class SocketFacts:
    """What the push socket depends on, as the page and its player script show it."""

    hosts: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    query_keys: tuple[str, ...] = ()
    signed_keys: tuple[str, ...] = ()
    ws_signer: bool = False
    cookie_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SocketFacts:
        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in data.get(key) or ())

        return cls(
            hosts=strings("hosts"),
            paths=strings("paths"),
            query_keys=strings("query_keys"),
            signed_keys=strings("signed_keys"),
            ws_signer=bool(data.get("ws_signer", False)),
            cookie_names=strings("cookie_names"),
        )

    @property
    def digest(self) -> str:
        return digest(self.to_dict())


def _enclosing_object(text: str, at: int) -> str | None:
    """The `{...}` literal around position `at` (braces counted naively, within `_SCAN` characters)."""
    depth, start = 0, None
    for i in range(at, max(-1, at - _SCAN), -1):
        ch = text[i]
        if ch == "}":
            depth += 1
        elif ch == "{":
            if depth == 0:
                start = i
                break
            depth -= 1
    if start is None:
        return None
    depth = 0
    for j in range(start, min(len(text), start + 2 * _SCAN)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : j + 1]
    return None


def _top_level(obj: str) -> str:
    """An object literal's text at depth 1 only (nested objects, arrays and calls blanked out)."""
    out, depth = [], 0
    for ch in obj:
        if ch in "{[(":
            depth += 1
            out.append(ch if depth == 1 else " ")
            continue
        if ch in "}])":
            out.append(ch if depth == 1 else " ")
            depth -= 1
            continue
        out.append(ch if depth == 1 else " ")
    return "".join(out)


def _object_keys(obj: str) -> list[str]:
    return _unique(next(g for g in m.groups() if g is not None) for m in _OBJECT_KEY.finditer(_top_level(obj)))


def _query_keys(texts: list[str], ws_urls: list[str]) -> list[str]:
    for url in ws_urls:  # a full socket URL written with its query
        query = urlsplit(url).query
        if query:
            return [k for k, _ in parse_qsl(query, keep_blank_values=True)]
    for text in texts:  # the player's params object
        for n, m in enumerate(_ANCHORS.finditer(text)):
            if n >= _MAX_ANCHORS:
                break
            obj = _enclosing_object(text, m.start())
            if obj:
                keys = _object_keys(obj)
                if m.group(1) in keys:
                    return keys
    for text in texts:  # a query string literal
        found = _QUERY_LITERAL.search(text)
        if found:
            return [k for k, _ in parse_qsl(found.group(1).lstrip("?&"), keep_blank_values=True)]
    return []


def socket_facts(parts: PageParts, scripts: Mapping[str, str], cookie_names: Iterable[str]) -> SocketFacts:
    """The socket facts of a page: its inline scripts, the text of its non-SDK scripts (`scripts`: url ->
    text) and the names of the cookies it set."""
    texts = [*parts.inline, *(text for url, text in scripts.items() if not is_sdk_script(url))]
    ws_urls = _unique(m.group(0) for text in texts for m in _WS_URL.finditer(text))
    hosts = _unique(
        [*(urlsplit(u).netloc for u in ws_urls), *(m.group(1) for t in texts for m in _WS_HOST.finditer(t))]
    )
    paths = _unique(urlsplit(u).path for u in ws_urls)
    keys = _query_keys(texts, ws_urls)
    return SocketFacts(
        hosts=tuple(sorted(hosts)),
        paths=tuple(sorted(p for p in paths if p)),
        query_keys=tuple(k for k in keys if k not in SIGNATURE_KEYS),
        signed_keys=tuple(k for k in SIGNATURE_KEYS if k in keys),
        ws_signer=any("registerWsSigner" in t for t in texts),
        cookie_names=tuple(sorted(set(cookie_names))),
    )
