"""Which tokens a URL gets, and the exact query bytes that are signed and sent.

Decisions follow the endpoint table in `shared/protocol/tokens.md` (state of October 2026):

* ``www.tiktok.com/api/*`` (any TikTok host, path under ``/api/``): the page's hooked suffix,
  ``X-Dynosaur``, ``msToken``, ``X-Bogus=1``, ``X-Gnarly`` in that order (product ``full``).
* ``webcast.tiktok.com/webcast/*``: unsigned by the page except an allow-list (tokens.md §0.2).
  ``im/fetch``, ``room/info``, ``gift/list`` and everything not allow-listed get ``msToken`` only
  (possibly empty), plus a 28-character X-Bogus when the ``webcast_xbogus`` setting asks for it
  (product ``webcast``). Any X-Gnarly or X-Dynosaur there is answered with 403 by TikTok.
* Allow-listed webcast calls (``room/enter``, ``room/chat`` … POSTs, wallet GETs) get ``full``.
* Anything else on a TikTok host gets the classic pair ``msToken`` + 28-character ``X-Bogus``
  (product ``classic``), which is what ``frontierSign``-era signers produced.

Escaping rules (the query bytes signed are the query bytes emitted)
-------------------------------------------------------------------
The caller's query is split on ``&``; segments named ``X-Bogus``, ``X-Gnarly``, ``X-Dynosaur``,
``_signature`` or ``msToken`` are removed (a removed ``msToken`` value is kept and passed through as
the real token when the caller gives none) and empty segments are dropped. The rest keeps its order and
its bytes, except that characters a browser would escape are escaped the way the page does it
(``ttsign.algorithms.query.escape_component``): space, ``"``, ``<``, ``>``, `````, ``#``, controls and
non-ASCII become ``%XX`` (UTF-8, upper-case hex); every other printable ASCII character, ``%``
included, stays literal, so an already percent-encoded query passes through unchanged. A ``#fragment``
on the URL is dropped. Token values are appended raw (never percent-encoded), exactly as the SDK does.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ttsign.algorithms.query import escape_component

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TOKEN_PARAMS = frozenset({"X-Bogus", "X-Gnarly", "X-Dynosaur", "_signature", "msToken"})

# tokens.md §0.2: the SDK hook signs these webcast paths; im/fetch, room/info and gift/list are not on it.
# The public list names room/chat, room/enter, room/leave, room/ping/audience plus wallet and KYC paths;
# the wallet and KYC ones are matched by prefix because their exact list is not public.
WEBCAST_SIGNED_POST = frozenset(
    {
        "room/enter/",
        "room/leave/",
        "room/chat/",
        "room/ping/audience/",
        "room/like/",
        "room/emote_chat/",
    }
)
WEBCAST_SIGNED_PREFIXES = ("wallet_api/", "wallet/", "kyc/")


class Product(enum.StrEnum):
    """The signing product a request gets."""

    FULL = "full"  # X-Dynosaur, msToken, X-Bogus=1, X-Gnarly
    WEBCAST = "webcast"  # msToken only (+ optional 28-char X-Bogus)
    CLASSIC = "classic"  # msToken + 28-char X-Bogus


class PolicyError(ValueError):
    """The URL cannot be signed (not absolute http(s), no host, bad characters)."""


@dataclass(frozen=True)
class ParsedURL:
    """A TikTok URL split into the parts signing needs; `query` is already escaped and token-free."""

    scheme: str
    host: str
    path: str
    query: str
    ms_token: str | None  # an msToken value found in the caller's query, passed through verbatim

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"


def parse_url(url: str) -> ParsedURL:
    """Split `url`, strip existing token params and escape the rest as the page would."""
    if not isinstance(url, str) or not url:
        raise PolicyError("url must be a non-empty string")
    if _CONTROL.search(url):
        raise PolicyError("url contains control characters")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise PolicyError(f"url does not parse: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise PolicyError("url must start with http:// or https://")
    try:
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise PolicyError(f"url has a bad host or port: {exc}") from None
    if not host:
        raise PolicyError("url has no host")
    netloc = host if port is None else f"{host}:{port}"
    path = escape_component(parts.path or "/")
    kept: list[str] = []
    ms_token: str | None = None
    for segment in parts.query.split("&"):
        if not segment:
            continue
        name = segment.split("=", 1)[0]
        if name in TOKEN_PARAMS:
            if name == "msToken" and ms_token is None:
                ms_token = segment[len(name) + 1 :]
            continue
        kept.append(segment)
    # "&" and "=" are literal under the escaping rules, so escaping the joined query at once is the
    # same as escaping each name and value, and much cheaper.
    return ParsedURL(scheme, netloc, path, escape_component("&".join(kept)), ms_token)


def host_allowed(host: str, suffixes: tuple[str, ...]) -> bool:
    """True when `host` (without port) is one of `suffixes` or a subdomain of one."""
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return any(bare == s or bare.endswith("." + s) for s in suffixes)


def choose_product(host: str, path: str, method: str) -> Product:
    """Pick the signing product for a request (see the module docstring)."""
    method = method.upper()
    bare = host.split(":", 1)[0]
    webcast_path = path.split("/webcast/", 1)[1] if "/webcast/" in path else None
    if webcast_path is not None or bare.startswith("webcast"):
        sub = webcast_path if webcast_path is not None else path.lstrip("/")
        if sub.startswith(WEBCAST_SIGNED_PREFIXES):
            return Product.FULL
        if method == "POST" and (sub if sub.endswith("/") else sub + "/") in WEBCAST_SIGNED_POST:
            return Product.FULL
        return Product.WEBCAST
    if path.startswith("/api/"):
        return Product.FULL
    return Product.CLASSIC
