"""TikTok web ``X-Bogus``: encode, decode, verify (spec: ``protocol/xbogus.md``).

An X-Bogus is 28 characters of a custom base64 over ``02 FF || RC4([0xFF], P)``, where ``P`` is the
19-byte plaintext (§3)::

    0..3   header H0..H3 (environment flags, §2.7)
    4..5   bytes 14..15 of md5(md5(utf8(query)))
    6..7   bytes 14..15 of md5(md5(body))
    8..9   bytes 14..15 of md5(ascii(base64(RC4([H1, H2, H3], latin1(UA)))))
    10..13 Unix time, uint32 big-endian
    14..17 canvas fingerprint, uint32 big-endian
    18     XOR of bytes 0..17

Everything here is pure: the time, the environment header and the canvas value are inputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from ttsign.algorithms.errors import XBogusError

__all__ = [
    "ALPHABET",
    "DEFAULT_CANVAS",
    "DEFAULT_HEADER",
    "DEFAULT_PROFILE",
    "EMPTY_BODY_TAIL",
    "OPAQUE_BODY_TAIL",
    "TOKEN_LENGTH",
    "XBogusFields",
    "XBogusProfile",
    "body_tail",
    "canvas_hash",
    "clear_caches",
    "decode",
    "encode",
    "encode_fields",
    "hook_signed_query",
    "query_tail",
    "rc4",
    "ua_bytes",
    "ua_tail",
    "verify",
]

DEFAULT_HEADER = bytes.fromhex("4000410e")
"""Clean Chromium on a tiktok.com page after ``byted_acrawler.init`` (§2.7, recommended)."""
DEFAULT_CANVAS = 3666844619
"""Canvas hash of Debian Chromium headless at device scale factor 1 (§2.6)."""

ALPHABET = "Dkdpgh4ZKsQB80/Mfvw36XI1R25-WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe"
"""The 64-character output alphabet, index 0 first (§3 step 7)."""
TOKEN_LENGTH = 28
PREFIX = b"\x02\xff"
"""The two raw bytes put in front of the ciphertext (§3 step 6)."""

EMPTY_BODY_TAIL = bytes.fromhex("453f")
"""Bytes 14..15 of md5(md5(b"")): the body field for GET / empty bodies (§2.3)."""
OPAQUE_BODY_TAIL = bytes.fromhex("13c2")
"""Body field the SDK writes for a body it cannot read as bytes (object, number, FormData...) (§2.3)."""

_U32 = 0xFFFFFFFF
_STD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class CustomBase64:
    """Fixed-length base64 over a permuted alphabet (X-Bogus §3 step 7; the frontierSign stub §6).

    The custom base64 differs from the standard one only in its alphabet, so the C base64 codec does the
    bit work and characters are translated on the way in and out.
    """

    def __init__(self, alphabet: str, length: int, name: str, article: str = "a") -> None:
        self.alphabet = alphabet
        self.length = length
        self.name = name
        self._a_name = f"{article} {name}"
        self._set = frozenset(alphabet)
        self._re = re.compile(f"[{re.escape(alphabet)}]{{{length}}}")
        self.to_custom = bytes.maketrans(_STD_ALPHABET, alphabet.encode("ascii"))
        back = bytearray(b"!" * 256)  # "!" is invalid for b64decode(validate=True)
        for i, c in enumerate(alphabet.encode("ascii")):
            back[c] = _STD_ALPHABET[i]
        self._from_custom = bytes(back)

    def encode(self, raw: bytes) -> str:
        return base64.b64encode(raw).translate(self.to_custom).decode("ascii")

    def decode(self, token: object) -> bytes:
        """The raw bytes; raises `XBogusError` (only) for a wrong type, length or alphabet."""
        if not isinstance(token, str):
            raise XBogusError(f"{self._a_name} is a str, got {type(token).__name__}")
        if len(token) != self.length:
            raise XBogusError(f"{self._a_name} has {self.length} characters, got {len(token)}")
        if self._re.fullmatch(token) is None:
            pos, bad = next((i, c) for i, c in enumerate(token) if c not in self._set)
            raise XBogusError(f"character {bad!r} at {pos} is not in the {self.name} alphabet")
        try:
            return base64.b64decode(token.encode("ascii").translate(self._from_custom), validate=True)
        except (binascii.Error, ValueError) as exc:  # unreachable after the alphabet check; kept as a guard
            raise XBogusError(f"not decodable: {exc}") from None


_B64 = CustomBase64(ALPHABET, TOKEN_LENGTH, "X-Bogus", "an")
_TO_CUSTOM = _B64.to_custom

_md5 = hashlib.md5
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"  # for memoryview.cast("H")


@lru_cache(maxsize=64)
def _rc4_schedule(key: bytes) -> tuple[int, ...]:
    """The RC4 state after the key schedule; cached, since X-Bogus keys come from a few headers."""
    s = list(range(256))
    j = 0
    klen = len(key)
    for i in range(256):
        j = (j + s[i] + key[i % klen]) & 0xFF
        s[i], s[j] = s[j], s[i]
    return tuple(s)


def rc4(key: bytes, data: bytes) -> bytes:
    """Textbook RC4: key schedule over a 256-byte state, then the keystream XORed with ``data``."""
    if not key:
        raise ValueError("RC4 key must not be empty")
    s = list(_rc4_schedule(bytes(key)))
    out = bytearray(len(data))
    i = j = 0
    for k, byte in enumerate(data):
        i = (i + 1) & 0xFF
        si = s[i]
        j = (j + si) & 0xFF
        sj = s[j]
        s[i] = sj
        s[j] = si
        out[k] = byte ^ s[(si + sj) & 0xFF]
    return bytes(out)


_KEYSTREAM = rc4(b"\xff", bytes(19))
"""RC4 keystream for the fixed key 0xFF: ``6d 25 2f 24 70 53 1b b0 ...`` (§3 step 5)."""
_KEYSTREAM_INT = int.from_bytes(_KEYSTREAM, "big")


def _check_u32(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32:
        raise ValueError(f"{name} must be an unsigned 32-bit integer, got {value!r}")


@dataclass(frozen=True)
class XBogusProfile:
    """The per-device constants of an X-Bogus: the environment header and the canvas hash.

    Keep a profile consistent with the User-Agent and the ``browser_*``/``os``/``screen_*`` query
    parameters it is used with (§8).
    """

    header: bytes = DEFAULT_HEADER
    canvas: int = DEFAULT_CANVAS
    # Derived constants, so that encode() does no per-call work for the fixed fields.
    _base: int = field(init=False, repr=False, compare=False)
    _check: int = field(init=False, repr=False, compare=False)
    _ua_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.header, bytes | bytearray) or len(self.header) != 4:
            raise ValueError(f"header must be 4 bytes, got {self.header!r}")
        _check_u32("canvas", self.canvas)
        header = bytes(self.header)
        object.__setattr__(self, "header", header)
        h = int.from_bytes(header, "big")
        # raw (21 bytes) = 02 FF || (P XOR keystream); header sits at plaintext bits 120..151, canvas 8..39.
        base = ((0x02FF << 152) | (h << 120) | (self.canvas << 8)) ^ _KEYSTREAM_INT
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_check", _xor_bytes(header + self.canvas.to_bytes(4, "big")))
        object.__setattr__(self, "_ua_key", header[1:4])  # §3 step 3: the RC4 key is H1 H2 H3


def _xor_bytes(data: bytes) -> int:
    acc = 0
    for b in data:
        acc ^= b
    return acc


DEFAULT_PROFILE = XBogusProfile()


# --------------------------------------------------------------------------------------------------
# Field digests (§3 steps 1-3)


def _tail16(data: bytes | bytearray | memoryview) -> int:
    """Bytes 14..15 of md5(md5(data)) as a 16-bit integer."""
    d = _md5(_md5(data).digest()).digest()
    return (d[14] << 8) | d[15]


def _body_bytes(body: str | bytes | bytearray | memoryview | None) -> bytes | bytearray | memoryview:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


def query_tail(query: str | bytes) -> bytes:
    """The query field: bytes 14..15 of md5(md5(utf8(query))) (§3 step 1, §2.1)."""
    data = query.encode("utf-8") if isinstance(query, str) else query
    return _tail16(data).to_bytes(2, "big")


def body_tail(body: str | bytes | None) -> bytes:
    """The body field: bytes 14..15 of md5(md5(body bytes)); a str is hashed as UTF-8 (§2.3).

    ``None`` and ``""`` give :data:`EMPTY_BODY_TAIL`. For a body the SDK cannot read as bytes (a plain
    object, ``FormData``...) use :data:`OPAQUE_BODY_TAIL` with :func:`encode_fields`.
    """
    data = _body_bytes(body)
    return EMPTY_BODY_TAIL if not data else _tail16(data).to_bytes(2, "big")


def ua_bytes(user_agent: str) -> bytes:
    """The UA as the SDK feeds it to RC4: each UTF-16 code unit reduced to ``charCode & 0xFF`` (§2.4).

    A character outside the BMP is two code units (a surrogate pair) in JavaScript, so it gives two
    bytes: the low bytes of the high and the low surrogate.
    """
    if user_agent.isascii():
        return user_agent.encode("ascii")
    # The low byte of each little-endian UTF-16 code unit sits at the even offsets.
    return user_agent.encode("utf-16-le", "surrogatepass")[0::2]


@lru_cache(maxsize=1024)
def _ua_tail_int(user_agent: str, key: bytes) -> int:
    encrypted = rc4(key, ua_bytes(user_agent))
    d = _md5(base64.b64encode(encrypted)).digest()  # a single md5 over the ASCII base64 text
    return (d[14] << 8) | d[15]


def ua_tail(user_agent: str, header: bytes = DEFAULT_HEADER) -> bytes:
    """The UA field: bytes 14..15 of md5(base64(RC4(header[1:4], latin1(UA)))) (§3 step 3).

    Cached per (UA, H1..H3): the value depends on nothing else (§8).
    """
    if len(header) != 4:
        raise ValueError(f"header must be 4 bytes, got {header!r}")
    return _ua_tail_int(user_agent, bytes(header[1:4])).to_bytes(2, "big")


def clear_caches() -> None:
    """Forget cached UA digests and RC4 key schedules (for benchmarks of the cold path)."""
    _ua_tail_int.cache_clear()
    _rc4_schedule.cache_clear()


# --------------------------------------------------------------------------------------------------
# Encoder (§3)


def encode(
    query: str | bytes,
    body: str | bytes | None,
    user_agent: str,
    timestamp: int,
    profile: XBogusProfile = DEFAULT_PROFILE,
) -> str:
    """The 28-character X-Bogus for this (query, body, UA, time) under ``profile``.

    ``query`` is the exact string after ``?`` that goes on the wire, without X-Bogus/X-Gnarly, hashed
    as UTF-8 with no normalisation (§2.1). ``body`` is the exact body sent (``""`` for GET); a str is
    hashed as UTF-8. ``timestamp`` is whole Unix seconds (``Date.now() // 1000``), uint32.
    Raises ValueError for a timestamp outside uint32, and UnicodeEncodeError (a ValueError) for a
    query or body containing a lone surrogate, which has no UTF-8 form.
    """
    if not 0 <= timestamp <= _U32:
        raise ValueError(f"timestamp must be an unsigned 32-bit integer, got {timestamp!r}")
    q = query.encode("utf-8") if type(query) is str else query
    d = _md5(_md5(q).digest()).digest()  # type: ignore[arg-type]
    qv = (d[14] << 8) | d[15]
    if body:
        d = _md5(_md5(body.encode("utf-8") if type(body) is str else body).digest()).digest()  # type: ignore[arg-type]
        bv = (d[14] << 8) | d[15]
    else:
        bv = 0x453F  # EMPTY_BODY_TAIL
    uv = _ua_tail_int(user_agent, profile._ua_key)
    # Checksum = XOR of the 18 plaintext bytes; header and canvas are folded into profile._check.
    x = qv ^ bv ^ uv ^ (timestamp >> 16) ^ (timestamp & 0xFFFF)
    check = profile._check ^ ((x >> 8) ^ x) & 0xFF
    raw = profile._base ^ ((qv << 104) | (bv << 88) | (uv << 72) | (timestamp << 40) | check)
    return base64.b64encode(raw.to_bytes(21, "big")).translate(_TO_CUSTOM).decode("ascii")


def encode_fields(fields: XBogusFields) -> str:
    """Encode explicit field values (any header, any tails): the inverse of :func:`decode`."""
    plain = (
        fields.header
        + fields.query_tail
        + fields.body_tail
        + fields.ua_tail
        + fields.timestamp.to_bytes(4, "big")
        + fields.canvas.to_bytes(4, "big")
    )
    plain += bytes((_xor_bytes(plain),))
    cipher = (int.from_bytes(plain, "big") ^ _KEYSTREAM_INT).to_bytes(19, "big")
    return base64.b64encode(PREFIX + cipher).translate(_TO_CUSTOM).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Decoder (§4)


@dataclass(frozen=True)
class XBogusFields:
    """The decoded content of an X-Bogus (§4 step 5)."""

    header: bytes
    query_tail: bytes
    body_tail: bytes
    ua_tail: bytes
    timestamp: int
    canvas: int

    def __post_init__(self) -> None:
        for name, size in (("header", 4), ("query_tail", 2), ("body_tail", 2), ("ua_tail", 2)):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != size:
                raise ValueError(f"{name} must be {size} bytes, got {value!r}")
        _check_u32("timestamp", self.timestamp)
        _check_u32("canvas", self.canvas)

    @property
    def profile(self) -> XBogusProfile:
        """The (header, canvas) profile this token was made with."""
        return XBogusProfile(self.header, self.canvas)

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp, UTC)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly values: bytes as lowercase hex, time also as ISO 8601 UTC."""
        return {
            "header": self.header.hex(),
            "query_tail": self.query_tail.hex(),
            "body_tail": self.body_tail.hex(),
            "ua_tail": self.ua_tail.hex(),
            "timestamp": self.timestamp,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "canvas": self.canvas,
        }


def decode(token: str) -> XBogusFields:
    """Decode an X-Bogus to its fields; raises :class:`XBogusError` (and nothing else) if malformed."""
    raw = _B64.decode(token)
    if raw[:2] != PREFIX:
        raise XBogusError(f"raw prefix is {raw[:2].hex()}, expected 02ff (an X-Bogus starts with 'DFSz')")
    plain = (int.from_bytes(raw[2:], "big") ^ _KEYSTREAM_INT).to_bytes(19, "big")
    expected = _xor_bytes(plain[:18])
    if plain[18] != expected:
        raise XBogusError(f"checksum byte is {plain[18]:02x}, the fields give {expected:02x}")
    return XBogusFields(
        header=plain[0:4],
        query_tail=plain[4:6],
        body_tail=plain[6:8],
        ua_tail=plain[8:10],
        timestamp=int.from_bytes(plain[10:14], "big"),
        canvas=int.from_bytes(plain[14:18], "big"),
    )


def verify(
    token: str,
    query: str | bytes,
    body: str | bytes | None,
    user_agent: str,
    *,
    now: int | None = None,
    max_skew: int = 300,
    canvas: int | None = None,
) -> list[str]:
    """Names of the fields of ``token`` that do not match the candidate inputs; empty means a match.

    Compares ``query_tail``, ``body_tail`` and ``ua_tail`` (the UA digest is keyed by the token's own
    header, §4 step 6); ``timestamp`` only when ``now`` is given (allowed skew ``max_skew`` seconds);
    ``canvas`` only when given. Each tail is 16 bits, so a match is strong evidence, not proof.
    Raises :class:`XBogusError` when the token itself is malformed.
    """
    fields = decode(token)
    mismatches = []
    if query_tail(query) != fields.query_tail:
        mismatches.append("query_tail")
    if body_tail(body) != fields.body_tail:
        mismatches.append("body_tail")
    if ua_tail(user_agent, fields.header) != fields.ua_tail:
        mismatches.append("ua_tail")
    if now is not None and abs(fields.timestamp - now) > max_skew:
        mismatches.append("timestamp")
    if canvas is not None and canvas != fields.canvas:
        mismatches.append("canvas")
    return mismatches


# --------------------------------------------------------------------------------------------------
# The SDK's fetch/XHR hook (§2.2)

# encodeURI leaves letters, digits and  ; , / ? : @ & = + $ - _ . ! ~ * ' ( ) #  alone; quote() always
# keeps letters, digits and _ . - ~, so the rest goes in `safe`. Both use upper-case hex.
_ENCODE_URI_SAFE = ";,/?:@&=+$!*'()#"
_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HIGH_ESCAPE = re.compile(r"%[89A-Fa-f][0-9A-Fa-f]")
_OEC_BSID = "X-Tts-Oec-Bsid"


def _has_escapes(url: str) -> bool:
    """Whether ``decodeURIComponent(url) !== url``; raises ValueError where decodeURIComponent throws.

    A valid escape always shortens the string, so "differs" is the same as "has a valid escape".
    decodeURIComponent throws on a ``%`` not followed by two hex digits and on escapes that are not
    well-formed UTF-8 (the strict codec rejects the same: overlong forms, surrogates, > U+10FFFF).
    Escapes of ASCII bytes (``%00``-``%7F``) are always well-formed, so runs are decoded only when some
    escape holds a byte of 0x80 or more.
    """
    if "%" not in url:
        return False
    if _BAD_PERCENT.search(url):
        raise ValueError("a '%' that is not a valid escape: the SDK hook throws (URIError)")
    if _HIGH_ESCAPE.search(url):
        for m in _ESCAPE_RUN.finditer(url):
            try:
                bytes.fromhex(m.group().replace("%", "")).decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"malformed UTF-8 percent-escape {m.group()!r}: the SDK hook throws") from None
    return True


def hook_signed_query(url: str, ms_token: str, *, ac_testid: str = "") -> tuple[str, str]:
    """What the SDK's fetch/XHR hook does to ``url`` before signing it (§2.2).

    Returns ``(url, signed)``: the URL the hook hands to the browser, with ``msToken`` appended (before
    X-Bogus and X-Gnarly), and the string the hook passes to the X-Bogus function. Raw non-ASCII
    characters left in ``url`` (when it already had escapes) are signed raw; the browser's URL parser
    percent-encodes them on the wire. Raises ValueError where the hook throws (a malformed escape, or a
    lone surrogate that encodeURI rejects).
    """
    # 1. Escaping: encodeURI over the whole URL when decodeURIComponent would not change it.
    if not _has_escapes(url):
        try:
            url = quote(url, safe=_ENCODE_URI_SAFE, encoding="utf-8", errors="strict")
        except UnicodeEncodeError:
            raise ValueError("lone surrogate in the URL: encodeURI throws (URIError)") from None
    # 2. Quotes: every ' after the first ? becomes %27.
    q = url.find("?")
    if q >= 0:
        url = url[: q + 1] + url[q + 1 :].replace("'", "%27")
    # 3. msToken (and __ac_testid when non-empty, [I]); never escaped, always appended.
    url += ("&" if "?" in url else "?") + "msToken=" + ms_token
    if ac_testid:
        url += "&__ac_testid=" + ac_testid
    # 4. Signed part: everything after the first ?, minus the last X-Tts-Oec-Bsid parameter.
    signed = url[url.index("?") + 1 :]
    parts = signed.split("&")
    for i in range(len(parts) - 1, -1, -1):
        if unquote(parts[i].split("=", 1)[0]) == _OEC_BSID:
            del parts[i]
            signed = "&".join(p for p in parts if p)
            break
    return url, signed


# --------------------------------------------------------------------------------------------------
# Canvas fingerprint (§2.6)


def canvas_hash(data_url: str) -> int:
    """The SDK's 32-bit hash of a canvas ``toDataURL()`` string (§2.6).

    Samples 32 UTF-16 code units at positions picked by the running hash; ``""`` gives 0.
    """
    if data_url.isascii():
        units: bytes | memoryview = data_url.encode("ascii")
    else:
        units = memoryview(data_url.encode(_UTF16_NATIVE, "surrogatepass")).cast("H")
    n = len(units)
    if n == 0:
        return 0
    h = 0xDEADBEEF
    for _ in range(32):
        h = (h * 65599 + units[h % n]) & _U32
    return h
