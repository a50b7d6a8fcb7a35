"""The legacy ``_signature`` (§7) and the 16-character ``frontierSign`` stub token (§6).

Spec: ``protocol/xbogus.md``. Both are pure functions of their inputs: time, page URL, canvas hash
and environment flags are parameters.

``_signature`` is retired on tiktok.com; it is computed because the origin API returns it.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ttsign.algorithms.errors import SignatureError, XBogusError
from ttsign.algorithms.xbogus import DEFAULT_HEADER, CustomBase64

__all__ = [
    "DEFAULT_SIGNATURE_CANVAS",
    "FRONTIER_ALPHABET",
    "SIGNATURE_ALPHABET",
    "FrontierStubFields",
    "LegacySignatureFields",
    "decode_frontier_stub",
    "decode_legacy_signature",
    "frontier_stub",
    "legacy_signature",
    "signature_query",
    "verify_legacy_signature",
]

_U32 = 0xFFFFFFFF
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"  # for memoryview.cast("H")

# ==================================================================================================
# Legacy _signature (§7)

DEFAULT_SIGNATURE_CANVAS = 2245237792
"""acrawler's own canvas hash in headless Chromium at device scale factor 1 (§7, "Canvas C")."""
SIGNATURE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."
"""``e1`` alphabet: one character per 6 bits (§7, auxiliary functions)."""
SIGNATURE_LENGTH = 47
_SIG_HEAD = "_02B4Z6wo"
_SIG_FLAGS = "00f"  # base-32 of the 4-flag field 1|2|4|8, as in every traced run (§7 step 7)
_SIG_VERSION = "01"
_SIG_INDEX = {c: i for i, c in enumerate(SIGNATURE_ALPHABET)}
_SIG_BODY_RE = re.compile(f"[{re.escape(SIGNATURE_ALPHABET)}]{{31}}")
_BASE32_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_MOD = 65521
_HI = 8208  # floor(N / 2^32) for N = 2*2^44 + 2^36 + X (§7 step 2)
_SCHEME_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _code_units(s: str) -> bytes | memoryview:
    """The UTF-16 code units of ``s``, as JavaScript's ``charCodeAt`` sees them."""
    if s.isascii():
        return s.encode("ascii")
    return memoryview(s.encode(_UTF16_NATIVE, "surrogatepass")).cast("H")


def _hx(h: int, s: str) -> int:
    """``hx``: for each code unit c, ``h = ((h XOR c) * 65599) mod 2^32``.

    Four units per step, masking once: XOR with a 16-bit unit and the product mod 2^32 depend only on
    the low 32 bits of ``h``, so the unmasked intermediate gives the same result (about 20% faster).
    """
    units = _code_units(s)
    it = iter(units)
    for c0, c1, c2, c3 in zip(it, it, it, it, strict=False):
        h = (((((h ^ c0) * 65599 ^ c1) * 65599 ^ c2) * 65599 ^ c3) * 65599) & _U32
    n = len(units)
    for k in range(n - n % 4, n):
        h = ((h ^ units[k]) * 65599) & _U32
    return h


def _ha(h: int, s: str) -> int:
    """``ha``: for each code unit c, ``h = (h * 65599 + c) mod 2^32``."""
    for c in _code_units(s):
        h = (h * 65599 + c) & _U32
    return h


def _e5(x: int) -> str:
    """Five alphabet characters for bits 29..0 of ``x`` (the top two bits are dropped)."""
    a = SIGNATURE_ALPHABET
    return a[(x >> 24) & 63] + a[(x >> 18) & 63] + a[(x >> 12) & 63] + a[(x >> 6) & 63] + a[x & 63]


def _un_e5(s: str) -> int:
    i = _SIG_INDEX
    return (i[s[0]] << 24) | (i[s[1]] << 18) | (i[s[2]] << 12) | (i[s[3]] << 6) | i[s[4]]


def _checksum(s: str) -> str:
    """The last two lowercase hex digits of ``ha(0, s)`` (§7 step 8; JS ``toString(16).slice(-2)``)."""
    return format(_ha(0, s), "x")[-2:]


def _page_without_scheme(page: str) -> str:
    """``location.href.substring(protocol.length + 2)``; a string without a scheme is used as is."""
    m = _SCHEME.match(page)
    return page[m.end() + 2 :] if m else page


def _js_sort_key(s: str) -> bytes:
    """JavaScript's default sort compares UTF-16 code units, not code points."""
    return s.encode("utf-16-be", "surrogatepass")


def signature_query(url: str, tt_webid: str = "", uuid: str = "") -> str:
    """The string ``Q`` hashed into ``_signature`` (§7 step 4).

    The part after the first ``?`` is split on ``&`` and then ``=``; the value is the second field
    (``k=v=w`` gives ``v``), a missing ``=`` gives the literal ``undefined``, a later duplicate key
    wins, nothing is decoded. Keys are emitted in JavaScript sort order as ``key=value&``, followed by
    ``pathname=<path>&tt_webid=<tt_webid>&uuid=<uuid>``. An empty segment inside a non-empty query
    (``a=1&&b=2``) is kept as the key ``""`` with value ``undefined``; that case is not verified.
    """
    q = url.find("?")
    query = url[q + 1 :] if q >= 0 else ""
    pairs: dict[str, str] = {}
    if query:  # an empty query contributes nothing (vector sig-dev-08: no "=undefined&")
        for part in query.split("&"):
            fields = part.split("=")
            pairs[fields[0]] = fields[1] if len(fields) > 1 else "undefined"
    out = [f"{k}={pairs[k]}&" for k in sorted(pairs, key=_js_sort_key)]
    path = _SCHEME_HOST.sub("", url, count=1)
    if q >= 0:
        path = path.split("?", 1)[0]
    out.append(f"pathname={path}&tt_webid={tt_webid}&uuid={uuid}")
    return "".join(out)


def _time_page_hash(timestamp: int, page: str) -> tuple[int, int]:
    """``(a, X)`` of §7 steps 1-2 for this time and page URL."""
    a = _hx(_hx(0, str(timestamp)), _page_without_scheme(page)) % _MOD
    return a, (timestamp ^ (a * _MOD)) & _U32


def legacy_signature(
    url: str,
    user_agent: str,
    timestamp: int,
    page: str,
    *,
    canvas: int = DEFAULT_SIGNATURE_CANVAS,
    env_mask: int = 1,
    tt_webid: str = "",
    uuid: str = "",
) -> str:
    """The 47-character legacy ``_signature`` that ``byted_acrawler.sign({url})`` returned (§7).

    ``timestamp`` is whole Unix seconds; ``page`` is the page's ``location.href`` (its ``scheme://`` is
    removed here); ``canvas`` is acrawler's canvas hash; ``env_mask`` the 11-bit environment mask
    (1 = clean; 0x008 webdriver, 0x200 IP/localhost page, 0x400 UA/platform mismatch).
    The unspecified ``tt_scid`` segment (§7 step 9) is not supported.
    """
    for name, value in (("timestamp", timestamp), ("canvas", canvas)):
        if not 0 <= value <= _U32:
            raise ValueError(f"{name} must be an unsigned 32-bit integer, got {value!r}")
    if not 0 <= env_mask < 1 << 24:
        raise ValueError(f"env_mask out of range: {env_mask!r}")
    a, n = _time_page_hash(timestamp, page)  # n = i32(X); we keep it as uint32 (same bits)
    n_big = 2 * 2**44 + 2**36 + n  # §7 step 2: X zero-padded to 32 bits
    h3 = _hx(0, str(n_big))
    u = _hx(h3, user_agent) % _MOD
    q = _hx(h3, signature_query(url, tt_webid, uuid)) % _MOD
    p4 = (u << 16) | q
    p3 = canvas ^ n
    p5 = ((env_mask << 8) | (2 << 4)) ^ n
    # e5 keeps bits 29..0, so JS's signed/unsigned shift distinctions do not show in the output.
    s = (
        _SIG_HEAD
        + _SIG_FLAGS
        + _SIG_VERSION
        + _e5(n >> 2)
        + _e5((n << 28) | (_HI >> 4))
        + _e5(((_HI << 26) & _U32) | (p3 >> 6))
        + SIGNATURE_ALPHABET[p3 & 63]
        + _e5(p4 >> 2)
        + _e5(((p4 << 28) & _U32) | (p5 >> 4))
        + _e5(a)
    )
    return s + _checksum(s)


@dataclass(frozen=True)
class LegacySignatureFields:
    """What a ``_signature`` carries (§7, "Decoding").

    ``timestamp`` and ``a`` (the time/page hash mod 65521) are read from the token itself; ``u`` and
    ``q`` are the UA and query hashes mod 65521, which can only be compared, not inverted.
    """

    timestamp: int
    a: int
    canvas: int
    env_mask: int
    u: int
    q: int
    flags: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields."""
        return {
            "timestamp": self.timestamp,
            "a": self.a,
            "canvas": self.canvas,
            "env_mask": self.env_mask,
            "u": self.u,
            "q": self.q,
            "flags": self.flags,
        }


def decode_legacy_signature(token: str, timestamp: int | None = None, page: str | None = None) -> LegacySignatureFields:
    """Decode a ``_signature``; raises :class:`SignatureError` (only) when it is malformed.

    The token carries ``X = ts XOR (a * 65521)`` and ``a``, so the time is recovered without being
    given. A ``timestamp`` or ``page`` that is given must agree with the token (the same time, and a
    page URL that hashes to its ``a`` at that time), else SignatureError.
    """
    if not isinstance(token, str):
        raise SignatureError(f"a _signature is a str, got {type(token).__name__}")
    if len(token) != SIGNATURE_LENGTH:
        raise SignatureError(f"a _signature has {SIGNATURE_LENGTH} characters, got {len(token)}")
    if not token.startswith(_SIG_HEAD):
        raise SignatureError(f"a _signature starts with {_SIG_HEAD!r}")
    flags_s, version, body, check = token[9:12], token[12:14], token[14:45], token[45:]
    if any(c not in _BASE32_DIGITS for c in flags_s):
        raise SignatureError(f"flag field {flags_s!r} is not base-32")
    if version != _SIG_VERSION:
        raise SignatureError(f"unknown version field {version!r}, expected {_SIG_VERSION!r}")
    if _SIG_BODY_RE.fullmatch(body) is None:
        raise SignatureError("character outside the _signature alphabet")
    if check != _checksum(token[:45]):
        raise SignatureError(f"checksum {check!r} does not match, expected {_checksum(token[:45])!r}")
    v1, v2, v3, v4, v5, v6 = (_un_e5(body[i : i + 5]) for i in (0, 5, 10, 16, 21, 26))
    p3_low = _SIG_INDEX[body[15]]
    if v2 & 0x0FFFFFFF != _HI >> 4 or v3 >> 26 != 0:
        raise SignatureError("constant bits of the time field do not match")
    n = (v1 << 2) | (v2 >> 28)
    p3 = ((v3 << 6) | p3_low) & _U32
    p4 = (v4 << 2) | (v5 >> 28)
    p5 = ((v5 & 0x0FFFFFFF) << 4) | (n & 0xF)  # the low 4 bits of p5 are those of n (0x20 has none)
    env = p5 ^ n
    if env & 0xFF != 2 << 4:
        raise SignatureError("constant bits of the environment field do not match")
    a, u, q = v6, p4 >> 16, p4 & 0xFFFF
    if a >= _MOD or u >= _MOD or q >= _MOD:
        raise SignatureError("a hash field is out of range (>= 65521)")
    ts = (n ^ (a * _MOD)) & _U32
    if timestamp is not None and timestamp != ts:
        raise SignatureError(f"token was made at ts={ts}, not at {timestamp}")
    if page is not None and _time_page_hash(ts, page)[0] != a:
        raise SignatureError(f"token was not made on page {page!r} (its page hash a={a})")
    return LegacySignatureFields(
        timestamp=ts,
        a=a,
        canvas=p3 ^ n,
        env_mask=env >> 8,
        u=u,
        q=q,
        flags=int(flags_s, 32),
    )


def verify_legacy_signature(
    token: str,
    url: str,
    user_agent: str,
    page: str,
    *,
    tt_webid: str = "",
    uuid: str = "",
) -> list[str]:
    """Names of the fields of ``token`` that do not match (``page``, ``user_agent``, ``url``).

    ``page`` mismatches when the page URL does not give the token's ``a`` at the token's time.
    Raises :class:`SignatureError` when the token is malformed.
    """
    f = decode_legacy_signature(token)
    mismatches = []
    if _time_page_hash(f.timestamp, page)[0] != f.a:
        mismatches.append("page")
    h3 = _hx(0, str(2 * 2**44 + 2**36 + ((f.timestamp ^ (f.a * _MOD)) & _U32)))
    if _hx(h3, user_agent) % _MOD != f.u:
        mismatches.append("user_agent")
    if _hx(h3, signature_query(url, tt_webid, uuid)) % _MOD != f.q:
        mismatches.append("url")
    return mismatches


# ==================================================================================================
# frontierSign stub token (§6)

FRONTIER_ALPHABET = "Dkdpgh4ZKsQB80/Mfvw36XI1R25+WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe"
"""The X-Bogus alphabet with ``+`` in place of ``-`` (§6)."""
FRONTIER_LENGTH = 16
_FRONTIER_B64 = CustomBase64(FRONTIER_ALPHABET, FRONTIER_LENGTH, "frontierSign token")
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
# Fixed bytes of the 12-byte token: b1, b6, b7, b10, and the masks (§6).
_B1, _B6, _B7, _B10 = 0x7F, 0xE0, 0xA7, 0x24
_B2_MASK, _H_MASKS, _S_MASK, _CHECK_SEED = 0x82, (0x8E, 0x59, 0xAA), 0xD9, 0x11


def _stub_digest(stub_md5_hex: str) -> bytes:
    """md5 of the stub parsed as 16 raw bytes; ``""`` counts as 16 zero bytes (§6)."""
    if stub_md5_hex == "":
        raw = bytes(16)
    elif _HEX32.fullmatch(stub_md5_hex):
        raw = bytes.fromhex(stub_md5_hex)
    else:
        # The SDK hashed the empty input for "x" (one probe); the general rule is not known.
        raise ValueError(f"X-MS-STUB must be 32 hex characters or empty, got {stub_md5_hex!r}")
    return hashlib.md5(raw).digest()


def _xor_all(data: Sequence[int]) -> int:
    acc = 0
    for b in data:
        acc ^= b
    return acc


def frontier_stub(
    stub_md5_hex: str,
    call_count: int,
    header: bytes = DEFAULT_HEADER,
    initialized: bool = True,
) -> str:
    """The 16-character token ``byted_acrawler.frontierSign({"X-MS-STUB": stub})`` returns (§6).

    ``call_count`` is the 1-based number of frontierSign calls in the page (it wraps at 64);
    ``header`` is the page's X-Bogus environment header (bytes 1..3 are used); ``initialized``
    is whether ``byted_acrawler.init`` succeeded. Nothing else (time, URL, canvas) is an input.
    """
    if len(header) != 4:
        raise ValueError(f"header must be 4 bytes, got {header!r}")
    if call_count < 0:
        raise ValueError(f"call_count must be >= 0, got {call_count}")
    s = _stub_digest(stub_md5_hex)
    b = bytearray(12)
    b[0] = 0x40 | (0x20 if initialized else 0)
    b[1] = _B1
    b[2] = _B2_MASK ^ (call_count & 0x3F)
    b[3], b[4], b[5] = (header[i + 1] ^ _H_MASKS[i] for i in range(3))
    b[6], b[7] = _B6, _B7
    b[8], b[9] = s[14] ^ _S_MASK, s[15] ^ _S_MASK
    b[10] = _B10
    b[11] = _CHECK_SEED ^ _xor_all(b[1:11])
    return _FRONTIER_B64.encode(bytes(b))


@dataclass(frozen=True)
class FrontierStubFields:
    """What a frontierSign stub token carries (§6)."""

    initialized: bool
    call_index: int
    """The call counter modulo 64 (0 stands for 64, 128, ...)."""
    header: bytes
    """X-Bogus header bytes H1..H3 (H0 is not carried)."""
    stub_tail: bytes
    """Bytes 14..15 of md5(stub bytes)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields."""
        return {
            "initialized": self.initialized,
            "call_index": self.call_index,
            "header_1_3": self.header.hex(),
            "stub_tail": self.stub_tail.hex(),
        }


def decode_frontier_stub(token: str) -> FrontierStubFields:
    """Decode a 16-character frontierSign token; raises :class:`XBogusError` (only) if malformed."""
    b = _FRONTIER_B64.decode(token)
    if b[0] & ~0x20 != 0x40 or b[1] != _B1 or b[6] != _B6 or b[7] != _B7 or b[10] != _B10:
        raise XBogusError("constant bytes do not match a frontierSign token")
    if (b[2] ^ _B2_MASK) > 0x3F:
        raise XBogusError("counter byte out of range")
    expected = _CHECK_SEED ^ _xor_all(b[1:11])
    if b[11] != expected:
        raise XBogusError(f"checksum byte is {b[11]:02x}, the fields give {expected:02x}")
    return FrontierStubFields(
        initialized=bool(b[0] & 0x20),
        call_index=b[2] ^ _B2_MASK,
        header=bytes(b[3 + i] ^ _H_MASKS[i] for i in range(3)),
        stub_tail=bytes((b[8] ^ _S_MASK, b[9] ^ _S_MASK)),
    )
