r"""Which tokens a URL gets, and the exact query bytes that are signed and sent.

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

URLs are read the way a browser reads them (WHATWG URL Standard)
----------------------------------------------------------------
Every URL is parsed with ``ada_url`` (the WHATWG parser Node is built on), and the host that is checked
is the host *that parser* gives, never a substring of the input. ``tests/vectors/urls.json`` records
Chrome's and Node's reading of every hostile input in ``tests/unit/test_whatwg_urls.py``: wherever ttsign
accepts a URL, all three read the same host. On top of that, a URL is **refused** (``PolicyError``) when
a browser would read it differently from a plain reading of its text, or when no page could send it:

* a scheme other than ``http``/``https`` (``javascript:``, ``data:``, ``file:``, ``ftp:``, ``ws:`` ...), or
  one not followed by exactly ``//`` (``https:host``, ``https:/\host``, ``https:///host``, which a
  browser repairs);
* a backslash before the query: a browser reads ``\`` as ``/``, so ``https://evil.com\.tiktok.com/`` is
  host ``evil.com`` (other parsers disagree);
* userinfo: any ``@`` in the authority (``user:pw@``, ``tiktok.com@evil.com``, a bare ``@host``);
* a host not written as the browser's canonical ASCII host (letter case aside): percent-escapes
  (``www%2Etiktok.com``), any non-ASCII (IDN, fullwidth ``ｔｉｋｔｏｋ``, the ideographic full stop, a soft
  hyphen: a browser maps each to some other string), IPv4 in any form but dotted decimal (``0x7f.1``,
  ``2130706433``, ``127.1``, ``0177.0.0.1``), IPv6 not in its shortest form (``[::ffff:127.0.0.1]``);
* a domain that is not dot-separated labels of 1-63 letters, digits and inner hyphens, 253 in all:
  ``evil.com;.tiktok.com`` (a browser takes ``;`` into the host), ``a_b``, ``www..tiktok.com``, a
  trailing dot;
* an empty port (``host:``) or one a browser refuses (``:99999``, ``:abc``);
* a control character (U+0000-U+001F, U+007F) once the ends are trimmed, tab, CR and LF included: a
  browser deletes tabs and newlines anywhere (``www.tik<TAB>tok.com`` is ``www.tiktok.com``) while the
  SDK's hook first turns them into ``%09``/``%0A``; a lone surrogate (not Unicode);
* a ``%`` that does not start a well-formed UTF-8 escape (``100%``, ``%zz``, ``%4``, ``%E4``,
  ``%C0%80``): the SDK's hook throws ``URIError`` on it, so no page sends such a request. Write a
  literal ``%`` as ``%25``.

**Normalised** instead, because every browser and parser reads them the same way: spaces, tabs, CR, LF
and FF at either end are trimmed (other controls are refused even there); scheme and host are
lower-cased; the default port (``:443``, ``:80``, also as ``:0443``) is dropped; dot segments in the path
(``/a/./b/../c``, also written ``%2e``) are resolved before the product is chosen. IP-literal hosts
parse, and :func:`host_allowed` then refuses them unless an allowed host is exactly that address.

What is signed and what is sent (tests/vectors/urls.json: TikTok's SDK in Chromium)
-----------------------------------------------------------------------------------
The caller's query, up to any ``#`` (the fragment is dropped: the hook would append msToken *into* it),
is split on ``&``. Segments named ``X-Bogus``, ``X-Gnarly``, ``X-Dynosaur``, ``_signature`` or
``msToken`` are removed (a removed ``msToken`` value is kept and passed through as the real token when
the caller gives none), and empty segments are dropped (``a=1&&b=2&`` is signed as ``a=1&b=2``). The rest
keeps its order and bytes, and then goes through what the SDK's fetch hook does to a URL
(``xbogus.hook_signed_query``, xbogus.md §2.2):

* if the URL holds no ``%`` at all, ``encodeURI`` over the whole of it: space, ``"``, ``<``, ``>``,
  backquote, ``[ ] { } | \ ^``, and non-ASCII become ``%XX`` (UTF-8, upper-case hex), while
  ``+ / = & ' ( ) ! * ~ ; , : @ $`` stay literal;
* if it holds a valid escape anywhere, nothing is re-encoded: raw characters are signed raw;
* either way every ``'`` in the query becomes ``%27``.

``ParsedURL.query`` is that string: what the SDK hashes (X-Bogus, X-Gnarly, X-Dynosaur), so what the
tokens are computed over. The browser then serializes the URL: in the query space, ``"``, ``<``, ``>``,
``'`` and everything above U+007E become ``%XX`` and nothing else changes (backquote, ``{ } | \ ^ [ ]``,
``%`` and lower-case hex stay as they are); in the path also backquote, ``{``, ``}``, ``^`` and, in
Chrome only, ``|`` (``query.chrome_path``). ``ParsedURL.wire_query``, ``ParsedURL.path`` and
:meth:`ParsedURL.url_with` give exactly those bytes. So in a URL that already holds escapes, a raw
``日本`` is signed raw and sent as ``%E6%97%A5%E6%9C%AC``, as a page does. Token values are appended raw,
exactly as the SDK does.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import ada_url
from ada_url.ada_adapter import ParseAttributes  # the TypedDict ada_url.parse_url answers

from ttsign.algorithms.query import chrome_path
from ttsign.algorithms.xbogus import hook_signed_query
from ttsign.signing import accel

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRIM = " \t\n\r\f"  # trimmed from both ends (the URL Standard trims these and every other C0 control)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
_DEFAULT_PORT = {"http": 80, "https": 443}
_WIRE_SAFE = re.compile(r"[!$-&(-;=?-~]*")
"""Query text the WHATWG serializer leaves as it is: printable ASCII but space, ``"``, ``#``, ``'``, ``<``, ``>``."""
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
    """The URL cannot be signed (see the module docstring for every rule)."""


@dataclass(frozen=True)
class ParsedURL:
    """A TikTok URL as a browser reads it, split into the parts signing needs (module docstring).

    `host` is the WHATWG host (lower-case, ``:port`` only when not the default), `path` the path as Chrome
    sends it, `query` the token-free business query exactly as the SDK signs it, and `wire_query` the
    same query as it goes on the wire (differs from `query` only where the browser percent-encodes).
    """

    scheme: str
    host: str
    path: str
    query: str
    ms_token: str | None  # an msToken value found in the caller's query, passed through verbatim
    wire_query: str | None = None  # None: the same as `query`

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"

    def url_with(self, signed: str, *, tail_safe: bool = False) -> str:
        """The URL a browser sends for the signed string `signed` (`query`, then ``&``-joined token params).

        The business query is replaced by its wire form and the token params are serialized as the
        browser serializes them (they are plain ASCII, so normally unchanged). `tail_safe`: the caller knows
        every token param is `wire_safe` (the signer's own tokens and a wire-safe msToken), so none is checked.
        """
        wire = self.query if self.wire_query is None else self.wire_query
        if self.query:
            if not signed.startswith(self.query):
                raise ValueError("signed string does not start with the business query")
            tail = signed[len(self.query) :]
        else:
            tail = "&" + signed if signed else ""
        sent = wire + tail if wire else tail[1:]
        if not sent:
            return self.base
        # The wire query is the serializer's own output: only the tail can change.
        if tail_safe or _WIRE_SAFE.fullmatch(tail):
            return f"{self.base}?{sent}"
        # ada serializes the query as a browser does; the base is already canonical, so it is unchanged.
        sent = sent.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return ada_url.URL(f"{self.base}?{sent}").href


def wire_safe(text: str) -> bool:
    """Whether the WHATWG serializer leaves `text` unchanged in a query (printable ASCII but ``"#'<>`` and space)."""
    return _WIRE_SAFE.fullmatch(text) is not None


def _why_unparsable(text: str) -> str:
    """A reason for a URL the WHATWG parser refuses (it says only "invalid")."""
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme.isascii() or not scheme.isalpha():
        return "send an absolute http:// or https:// URL with a host"
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0].rpartition("@")[2]
    _, colon, port = authority.rpartition(":") if not authority.endswith("]") else (authority, "", "")
    if colon and "]" not in port and not (_PORT.fullmatch(port) and int(port) <= 65535):
        return "the port must be a number from 0 to 65535"
    return "the host is not a valid host name or address"


_Parts = ParseAttributes
_FIRST = ("protocol", "username", "password", "hostname", "host", "port", "host_type")


def _shown(url: _Parts) -> str:
    """The host a browser reads, quoted and bounded for an error message."""
    host = url["hostname"]
    return repr(host if len(host) <= 80 else host[:77] + "...")


def _authority_checks(text: str, url: _Parts, scheme: str) -> int:
    """Refuse an authority a browser would read differently from its text; returns where it ends."""
    if text[len(scheme) + 1 : len(scheme) + 3] != "//" or text[len(scheme) + 3 : len(scheme) + 4] in ("/", "\\"):
        raise PolicyError(f"url must start with {scheme}:// followed by the host")
    start = len(scheme) + 3
    end = start
    while end < len(text) and text[end] not in "/?#\\":
        end += 1
    authority = text[start:end]
    if end < len(text) and text[end] == "\\":
        raise PolicyError(f"url has a backslash after the host; a browser reads it as '/', the host as {_shown(url)}")
    if not authority:
        raise PolicyError("url has no host")
    if "@" in authority or url["username"] or url["password"]:
        raise PolicyError(f"url has userinfo ('user:password@' or '@'); a browser reads the host as {_shown(url)}")
    if "%" in authority:
        raise PolicyError("url host holds percent-escapes; write the host in plain ASCII")
    if not authority.isascii():
        raise PolicyError(f"url host is not ASCII (IDN); a browser reads it as {_shown(url)}")
    if authority.startswith("["):
        close = authority.find("]")
        typed_host, port = authority[: close + 1], authority[close + 1 :]
    else:
        typed_host, colon, port = authority.partition(":")
        port = colon + port
    if port:
        digits = port[1:]
        if not _PORT.fullmatch(digits):
            raise PolicyError("url port must be 1-5 decimal digits")
        if int(digits) != (int(url["port"]) if url["port"] else _DEFAULT_PORT[scheme]):
            raise PolicyError("url port does not parse as written")
    if typed_host.lower() != url["hostname"]:
        raise PolicyError(f"url host is not written in canonical form; a browser reads it as {_shown(url)}")
    if url["host_type"] == ada_url.HostType.DEFAULT:
        labels = url["hostname"].split(".")
        if len(url["hostname"]) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise PolicyError("url host must be letters, digits and hyphens in dot-separated labels of 1-63")
    return end


def parse_url(url: str) -> ParsedURL:
    """Parse `url` as a browser does, refuse what it would read differently, and split it for signing."""
    if not isinstance(url, str) or not url:
        raise PolicyError("url must be a non-empty string")
    text = url.strip(_TRIM)
    if not text:
        raise PolicyError("url must be a non-empty string")
    fast = accel.active()
    if fast is not None:  # a plain URL is read in one compiled call (accel/src/hook.rs `plain_url`)
        try:
            plain = fast.plain_url(text)
        except ValueError as exc:
            raise PolicyError(f"bad percent-escape in url ({exc}); write a literal '%' as %25") from None
        if plain is not None:
            return ParsedURL(*plain)
    if _CONTROL.search(text):
        raise PolicyError("url contains control characters (tab, newline, CR or another C0/DEL)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PolicyError("url holds a lone surrogate: not valid Unicode") from None
    try:
        parsed = ada_url.parse_url(text, _FIRST)  # one call for every part (each attribute costs a call)
    except ValueError:
        raise PolicyError(f"url does not parse as a browser reads it: {_why_unparsable(text)}") from None
    scheme = parsed["protocol"][:-1]
    if scheme not in _DEFAULT_PORT:
        raise PolicyError("url must start with http:// or https://")
    end = _authority_checks(text, parsed, scheme)
    rest = text[end:].split("#", 1)[0]  # the fragment is never sent
    raw_path, qmark, raw_query = rest.partition("?")
    if "\\" in raw_path:
        raise PolicyError("url path has a backslash; a browser reads it as '/'")
    try:
        if fast is not None:  # the same steps, compiled (accel/src/hook.rs)
            hooked, query, ms_token = fast.prepare_query(scheme, raw_path, raw_query if qmark else None)
        else:
            hooked, query, ms_token = _prepare_query(scheme, raw_path, raw_query if qmark else None)
    except ValueError as exc:
        raise PolicyError(f"bad percent-escape in url ({exc}); write a literal '%' as %25") from None
    try:
        sent = ada_url.parse_url(hooked, ("pathname", "search"))
    except ValueError:  # cannot happen for a URL that parsed above; refuse rather than guess
        raise PolicyError("url does not parse after the SDK's escaping") from None
    return ParsedURL(scheme, parsed["host"], chrome_path(sent["pathname"]), query, ms_token, sent["search"][1:])


def _prepare_query(scheme: str, raw_path: str, raw_query: str | None) -> tuple[str, str, str | None]:
    """Token params and empty segments out of the query (the first msToken value kept), then the SDK hook.

    Returns ``(hooked URL without its msToken, business query, msToken found or None)``; raises ValueError
    where the hook throws (a malformed escape).
    """
    kept: list[str] = []
    ms_token: str | None = None
    for segment in raw_query.split("&") if raw_query is not None else ():
        if not segment:
            continue
        name = segment.split("=", 1)[0]
        if name in TOKEN_PARAMS:
            if name == "msToken" and ms_token is None:
                ms_token = segment[len(name) + 1 :]
            continue
        kept.append(segment)
    # The hook sees the whole URL, but the canonical host never holds a '%' and its characters do not
    # change the hook's output; a placeholder keeps encodeURI off IPv6 brackets.
    page_url = f"{scheme}://h{raw_path}" + ("?" + "&".join(kept) if kept else "")
    hooked, signed = hook_signed_query(page_url, "")  # what the SDK's fetch hook does (xbogus.md §2.2)
    hooked = hooked[: -len("?msToken=")]  # the hook appended "&msToken=" (or "?msToken="): take it off
    return hooked, signed[: -len("&msToken=")] if signed != "msToken=" else "", ms_token


@lru_cache(maxsize=1024)  # pure; a caller's hosts repeat, and parsing an IP literal costs a few microseconds
def host_allowed(host: str, suffixes: tuple[str, ...]) -> bool:
    """True when `host` (a WHATWG host, ``:port`` allowed) is one of `suffixes` or a subdomain of one.

    A domain matches a suffix or a subdomain of it, comparing lower-case labels; a host with any
    character outside ``a-z 0-9 - .`` or an empty label (a trailing dot) matches nothing. An IP literal
    matches only a suffix that is exactly the same address.
    """
    h = host.lower()
    if h.startswith("["):
        bare = h[: h.find("]") + 1]
    else:
        bare = h.split(":", 1)[0]
    ip = _ip(bare)
    if ip is None and not all(_LABEL.fullmatch(label) for label in bare.split(".")):
        return False
    for suffix in suffixes:
        s = suffix.strip().lower().lstrip(".")
        if not s:
            continue
        if ip is not None or _ip(s) is not None:
            if ip is not None and ip == _ip(s):
                return True
            continue
        if bare == s or bare.endswith("." + s):
            return True
    return False


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
    except ValueError:
        return None


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
