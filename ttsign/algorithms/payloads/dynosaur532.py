"""X-Dynosaur, payload version 5.3.2, as emitted by webmssdk 2.0.0.561 (protocol/gnarly-532.md section 2).

Layout (2.1): no count byte; exactly 25 records ``key (1) || length (2, big-endian) || value`` with keys
0x20..0x38, one each, ascending. Keys 0x2B, 0x2E, 0x30 and 0x38 hold 4-byte big-endian hashes; every
other value is a text scrambled by variant A, or variant B for 0x20-0x22 (2.2). The envelope is the
shared one (section E) with leading byte 0x4B.

Fields (2.5), named as in ``vectors/dynosaur.json`` ``derived.fields``:

====  =====================  ========================================================================
key   attribute              value
====  =====================  ========================================================================
0x20  ``checksum``           XOR of byte 1 of every record value (2.4), as decimal text (variant B)
0x21  ``flag_1a``            "1" (variant B)
0x22  ``flag_1b``            "1" (variant B)
0x23  ``const_0_23``         "0"
0x24  ``mix``                ``(env << 16) | fold(timestamp, nonce)``
0x25  ``counter_25``         the SDK's signing counter
0x26  ``env_code``           environment code (Chrome 65)
0x27  ``timestamp``          unix seconds
0x28  ``webgl_hash``         WebGL fingerprint text ("0" in the ports)
0x29  ``const_0_29``         "0"
0x2A  ``sdk_version``        "5.3.2"
0x2B  ``body_hash``          hash_state of the body; hash("") in the ports, even for POST (2.5)
0x2C  ``canvas_hash``        canvas fingerprint text; "-1" = no 2D canvas, a bot tell
0x2D  ``const_0_2d``         "0"
0x2E  ``query_hash``         hash_state of the business query ``Q`` only (no ``?``, no tokens)
0x2F  ``counter_2f``         a second counter (equal to 0x25 in the harness, not in a browser)
0x30  ``ua_hash``            hash_state of the User-Agent
0x31  ``scm_version``        "2.0.0.561"
0x32  ``component_version``  component version text ("0" in the ports)
0x33  ``device_hash``        device hash text, md5 hex in a browser ("0" in the ports)
0x34  ``nonce``              a microsecond clock reading
0x35  ``page``               ``location.host + location.pathname``
0x36  ``ub_code``            user-behaviour code (Chrome 8)
0x37  ``const_0_37``         "0"
0x38  ``vm_state_hash``      constant 0xC46CE353
====  =====================  ========================================================================

Numeric texts (0x20, 0x24-0x27, 0x2F, 0x34, 0x36) decode to ints and must be canonical decimals; the
other texts stay strings. ``hash_state`` is the FNV-1a variant of 2.3.

Errors: :func:`parse_payload` and :func:`decode` raise :class:`PayloadError` (or
:class:`EnvelopeError` from the envelope), both ``ValueError``; bad encoder arguments raise
``ValueError``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from datetime import UTC, datetime
from functools import lru_cache
from operator import getitem
from typing import Any, Literal

from ttsign.algorithms import gnarly
from ttsign.algorithms.errors import PayloadError
from ttsign.algorithms.payloads import gnarly532

__all__ = [
    "EMPTY_HASH",
    "KEYS",
    "PAYLOAD_VERSION",
    "RAW_KEYS",
    "SCM_VERSION",
    "VARIANT_B_KEYS",
    "VM_STATE_HASH",
    "Fields",
    "bot_tells",
    "build_payload",
    "checksum",
    "compute_fields",
    "decode",
    "encode",
    "hash_state",
    "pack_fields",
    "parse_payload",
    "scramble",
    "unscramble",
    "verify",
]

PAYLOAD_VERSION = "5.3.2"
SCM_VERSION = "2.0.0.561"
VM_STATE_HASH = 0xC46CE353
"""Key 0x38: constant across SDK 2.0.0.514/561 and every environment tried (2.5)."""
KEYS: tuple[int, ...] = tuple(range(0x20, 0x39))
RAW_KEYS = frozenset({0x2B, 0x2E, 0x30, 0x38})
VARIANT_B_KEYS = frozenset({0x20, 0x21, 0x22})
FNV_BASIS = 0x811C9DC4
"""hash_state's starting value: one less than the standard FNV-1a offset basis (2.3)."""
EMPTY_HASH = FNV_BASIS
"""hash_state("")."""
MAX_TEXT = 253
"""Longest text the scrambler is specified for: the size (n + 2) must fit the one-byte length (2.2)."""

Variant = Literal["A", "B"]

_M32 = 0xFFFFFFFF
_FNV_STEP = (16777619 * 33) & _M32  # (x * 16777619 mod 2**32) * 33 == x * (16777619 * 33) mod 2**32
_NUMERIC_KEYS = frozenset({0x20, 0x24, 0x25, 0x26, 0x27, 0x2F, 0x34, 0x36})
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_PAD = bytes((221 + i) & 0xFF for i in range(256))  # pad byte at position i is (221 + i) mod 256 (2.2)

# (X, Aadd, pre-XOR E or None, rot, Padd) per variant (2.2).
_VARIANTS: dict[str, tuple[int, int, int | None, int, int]] = {
    "A": (103, 1, None, 2, 1),
    "B": (102, 0, 165, 1, 0),
}


def _tail(variant: str) -> tuple[bytes, bytes]:
    """The position-independent part of a variant, ``v -> (rotl(v XOR E) XOR 187) + Padd``, and its inverse."""
    _, _, pre, rot, padd = _VARIANTS[variant]
    fwd = bytearray(256)
    for v in range(256):
        u = v ^ pre if pre is not None else v
        u = ((u << rot) | (u >> (8 - rot))) & 0xFF
        fwd[v] = ((u ^ 187) + padd) & 0xFF
    inv = bytearray(256)
    for v, o in enumerate(fwd):
        inv[o] = v
    return bytes(fwd), bytes(inv)


_TAILS = {name: _tail(name) for name in _VARIANTS}
_ROWS: dict[str, tuple[list[bytes], list[bytes]]] = {name: ([], []) for name in _VARIANTS}
_ROWS_LOCK = threading.Lock()


def _tables(variant: str, n: int) -> tuple[list[bytes], list[bytes]]:
    """Per-position lookup tables for positions < n: ``fwd[i][code] = out[i]``, ``inv[i][out[i]] = code``.

    Position i maps ``code -> tail((code XOR (X + i)) + Aadd + (i AND 170))`` (2.2); rows are built on
    first use.
    """
    try:
        fwd, inv = _ROWS[variant]
    except KeyError:
        raise ValueError(f"unknown scrambler variant {variant!r} (A or B)") from None
    if len(fwd) < n or len(inv) < n:
        x, add, _, _, _ = _VARIANTS[variant]
        tail, tail_inv = _TAILS[variant]
        with _ROWS_LOCK:  # rows are appended in order, so readers never see a wrong row
            for i in range(len(fwd), n):
                k = (x + i) & 0xFF
                s = add + (i & 170)
                fwd.append(bytes(tail[((c ^ k) + s) & 0xFF] for c in range(256)))
            for i in range(len(inv), n):
                k = (x + i) & 0xFF
                s = add + (i & 170)
                inv.append(bytes(((tail_inv[o] - s) & 0xFF) ^ k for o in range(256)))
    return fwd, inv


@lru_cache(maxsize=4096)
def scramble(text: str, variant: Variant = "A") -> bytes:
    """Scramble ``text`` into a record value (2.2): ``max(n + 2, 6)`` bytes.

    Per position i < n: ``v = code XOR (X + i)``, ``v += Aadd + (i AND 170)``, optional pre-XOR E,
    rotate left by ``rot`` in 8 bits, ``out = (v XOR 187) + Padd`` (all mod 256); then pad bytes
    ``(221 + i) mod 256``, a 0 and the length n. Each step is a bijection of the code, so this is
    computed through per-position tables. Texts must be at most 253 characters of code < 256.
    """
    try:
        codes = text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"scrambled texts take character codes below 256, got {text!r}") from None
    n = len(codes)
    if n > MAX_TEXT:
        raise ValueError(f"scrambled texts are at most {MAX_TEXT} characters, got {n}")
    fwd = _tables(variant, n)[0]
    size = max(n + 2, 6)
    return b"".join((bytes(map(getitem, fwd, codes)), _PAD[n : size - 2], bytes((0, n))))


def unscramble(value: bytes, variant: Variant = "A") -> str:
    """The inverse of :func:`scramble`; raises :class:`PayloadError` for a malformed value (2.2).

    Well-formed: ``size == max(n + 2, 6)`` where n is the last byte, ``out[size-2] == 0``, and the pad
    bytes are ``(221 + i) mod 256``. The text is returned as latin-1 (ASCII in every real token).
    """
    size = len(value)
    if size < 6:
        raise PayloadError(f"a scrambled value is at least 6 bytes, got {size}")
    n = value[-1]
    if size != max(n + 2, 6):
        raise PayloadError(f"scrambled value of {size} bytes says its text has {n} characters")
    if value[-2] != 0:
        raise PayloadError("scrambled value: the byte before the length is not 0")
    if value[n : size - 2] != _PAD[n : size - 2]:
        raise PayloadError("scrambled value: bad padding bytes")
    inv = _tables(variant, n)[1]
    return bytes(map(getitem, inv, value[:n])).decode("latin-1")


def hash_state(data: str | bytes) -> int:
    """The FNV-1a variant of 2.3: ``h = 0x811C9DC4``; per byte ``h = ((h XOR b) * 16777619) * 33``.

    A ``str`` is hashed as UTF-8. Eight bytes are folded per step without masking: the low 32 bits of
    a product depend only on the low 32 bits of its factors, and XOR with a byte only touches the low
    8 bits, so masking once per eight bytes gives the same result with fewer bytecodes.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    k = _FNV_STEP
    h = FNV_BASIS
    n8 = len(data) & ~7
    it = iter(data[:n8])
    for a, b, c, d, e, f, g, i in zip(it, it, it, it, it, it, it, it, strict=True):
        h = ((((((((((((((((h ^ a) * k) ^ b) * k) ^ c) * k) ^ d) * k) ^ e) * k) ^ f) * k) ^ g) * k) ^ i) * k) & _M32
    for b in data[n8:]:
        h = ((h ^ b) * k) & _M32
    return h


def _numeric(name: str, value: int, low: int = 0, bits: int = 32) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 1 << bits:
        raise ValueError(f"{name} must be an integer in {low}..{(1 << bits) - 1}, got {value!r}")
    return str(value)


def _text(name: str, value: str | int) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or len(text) > MAX_TEXT:
        raise ValueError(f"{name} must be ASCII text of at most {MAX_TEXT} characters, got {value!r}")
    return text


def _u32(name: str, value: int) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _M32:
        raise ValueError(f"{name} must be a uint32, got {value!r}")
    return value.to_bytes(4, "big")


_CHECKSUM_PLACEHOLDER = scramble("0", "A")  # 2.4 step 1: 0x20 is provisionally variant-A "0"


def checksum(values: list[bytes]) -> int:
    """Key 0x20's number (2.4): XOR of byte 1 of the 25 record values, with 0x20 set to the placeholder.

    ``values`` are the 25 record values in key order; ``values[0]`` is ignored (replaced by variant-A
    ``"0"``, whose byte 1 is 0xDE).
    """
    c = _CHECKSUM_PLACEHOLDER[1]
    for v in values[1:]:
        c ^= v[1]
    return c


def _assemble(values: list[bytes]) -> bytes:
    out = bytearray()
    for key, v in zip(KEYS, values, strict=True):
        out += bytes((key, len(v) >> 8, len(v) & 0xFF))
        out += v
    return bytes(out)


def build_payload(
    business_query: str | bytes,
    user_agent: str | bytes,
    *,
    timestamp: int,
    nonce: int,
    counter_25: int,
    counter_2f: int,
    env_code: int = 65,
    ub_code: int = 8,
    page: str = "www.tiktok.com/",
    canvas_hash: str | int = "-1",
    webgl_hash: str | int = "0",
    component_version: str = "0",
    device_hash: str = "0",
    body: str | bytes = b"",
    query_hash: int | None = None,
    ua_hash: int | None = None,
    body_hash: int | None = None,
    vm_state_hash: int = VM_STATE_HASH,
    sdk_version: str = PAYLOAD_VERSION,
    scm_version: str = SCM_VERSION,
) -> bytes:
    """The plaintext payload for one request (2.1-2.5); see :func:`encode` for the arguments."""
    ts = _numeric("timestamp", timestamp)
    non = _numeric("nonce", nonce)
    c25 = _numeric("counter_25", counter_25)
    c2f = _numeric("counter_2f", counter_2f)
    env = _numeric("env_code", env_code, bits=16)
    ub = _numeric("ub_code", ub_code, bits=16)
    mix = str(gnarly532.mix(env_code, timestamp, nonce))
    qh = hash_state(business_query) if query_hash is None else query_hash
    uh = hash_state(user_agent) if ua_hash is None else ua_hash
    bh = hash_state(body) if body_hash is None else body_hash
    a = scramble
    values = [
        _CHECKSUM_PLACEHOLDER,  # 0x20, replaced below
        scramble("1", "B"),  # 0x21
        scramble("1", "B"),  # 0x22
        a("0"),  # 0x23
        a(mix),  # 0x24
        a(c25),  # 0x25
        a(env),  # 0x26
        a(ts),  # 0x27
        a(_text("webgl_hash", webgl_hash)),  # 0x28
        a("0"),  # 0x29
        a(_text("sdk_version", sdk_version)),  # 0x2A
        _u32("body_hash", bh),  # 0x2B
        a(_text("canvas_hash", canvas_hash)),  # 0x2C
        a("0"),  # 0x2D
        _u32("query_hash", qh),  # 0x2E
        a(c2f),  # 0x2F
        _u32("ua_hash", uh),  # 0x30
        a(_text("scm_version", scm_version)),  # 0x31
        a(_text("component_version", component_version)),  # 0x32
        a(_text("device_hash", device_hash)),  # 0x33
        a(non),  # 0x34
        a(_text("page", page)),  # 0x35
        a(ub),  # 0x36
        a("0"),  # 0x37
        _u32("vm_state_hash", vm_state_hash),  # 0x38
    ]
    values[0] = scramble(str(checksum(values)), "B")  # 2.4 step 3
    return _assemble(values)


def encode(
    business_query: str | bytes,
    user_agent: str | bytes,
    *,
    timestamp: int,
    nonce: int,
    counter_25: int,
    counter_2f: int,
    env_code: int = 65,
    ub_code: int = 8,
    page: str = "www.tiktok.com/",
    canvas_hash: str | int = "-1",
    webgl_hash: str | int = "0",
    component_version: str = "0",
    device_hash: str = "0",
    body: str | bytes = b"",
    key: bytes,
    query_hash: int | None = None,
    ua_hash: int | None = None,
    body_hash: int | None = None,
    vm_state_hash: int = VM_STATE_HASH,
    sdk_version: str = PAYLOAD_VERSION,
    scm_version: str = SCM_VERSION,
) -> str:
    """X-Dynosaur 5.3.2 for one request (section 2; inputs and their sources: 2.5 and 1.5).

    Args:
        business_query: the exact query bytes before ``&X-Dynosaur`` (no path, no ``?``); key 0x2E.
        user_agent: exactly the ``User-Agent`` header that is sent; key 0x30.
        timestamp: unix seconds, the Dynosaur's own reading (0x27, 0x24).
        nonce: a microsecond clock reading, uint32 (0x34, 0x24).
        counter_25, counter_2f: the two counters; equal in the harness, different in a browser.
        env_code, ub_code: 65 / 8 in a real Chrome (0x26, 0x36, 0x24).
        page: ``location.host + location.pathname``, ASCII (0x35).
        canvas_hash, webgl_hash, component_version, device_hash: identity texts (0x2C, 0x28, 0x32,
            0x33); the defaults are the ports' placeholders, which are bot tells.
        body: hashed into 0x2B. The ports always hash ``""`` (the default), even for a POST; whether
            the SDK hashes a POST body is unverified (2.5).
        key: 48 random bytes.
        query_hash, ua_hash, body_hash: pre-computed ``hash_state`` values that replace hashing
            ``business_query`` / ``user_agent`` / ``body`` (for captures whose inputs are not public).
        vm_state_hash, sdk_version, scm_version: the constants of 0x38, 0x2A, 0x31.
    """
    payload = build_payload(
        business_query,
        user_agent,
        timestamp=timestamp,
        nonce=nonce,
        counter_25=counter_25,
        counter_2f=counter_2f,
        env_code=env_code,
        ub_code=ub_code,
        page=page,
        canvas_hash=canvas_hash,
        webgl_hash=webgl_hash,
        component_version=component_version,
        device_hash=device_hash,
        body=body,
        query_hash=query_hash,
        ua_hash=ua_hash,
        body_hash=body_hash,
        vm_state_hash=vm_state_hash,
        sdk_version=sdk_version,
        scm_version=scm_version,
    )
    return gnarly.seal(payload, key)


@dataclass(frozen=True)
class Fields:
    """The 25 decoded records of one X-Dynosaur payload, in key order 0x20..0x38 (see module docstring)."""

    checksum: int
    flag_1a: str
    flag_1b: str
    const_0_23: str
    mix: int
    counter_25: int
    env_code: int
    timestamp: int
    webgl_hash: str
    const_0_29: str
    sdk_version: str
    body_hash: int
    canvas_hash: str
    const_0_2d: str
    query_hash: int
    counter_2f: int
    ua_hash: int
    scm_version: str
    component_version: str
    device_hash: str
    nonce: int
    page: str
    ub_code: int
    const_0_37: str
    vm_state_hash: int

    def by_key(self) -> dict[int, int | str]:
        """Values keyed by record key 0x20..0x38."""
        return {k: getattr(self, f.name) for k, f in zip(KEYS, dc_fields(self), strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ints and strings, plus the timestamp as ISO 8601 UTC."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in dc_fields(self)}
        try:
            iso = datetime.fromtimestamp(self.timestamp, UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            iso = ""
        out["timestamp_iso"] = iso
        return out


def _record_value(key: int, value: int | str) -> bytes:
    if key in RAW_KEYS:
        assert isinstance(value, int)
        return _u32(f"key 0x{key:02X}", value)
    return scramble(str(value), "B" if key in VARIANT_B_KEYS else "A")


def pack_fields(fields: Fields) -> bytes:
    """Serialise decoded fields exactly (the stored checksum included): the inverse of parsing."""
    return _assemble([_record_value(k, v) for k, v in fields.by_key().items()])


def compute_fields(business_query: str | bytes, user_agent: str | bytes, **kwargs: Any) -> Fields:
    """The :class:`Fields` that :func:`encode` would seal; takes :func:`build_payload`'s arguments."""
    return parse_payload(build_payload(business_query, user_agent, **kwargs))


def parse_payload(data: bytes) -> Fields:
    """Parse a plaintext payload (3.1, "Dynosaur").

    Requires exactly 25 records with keys 0x20..0x38 ascending, the payload consumed exactly, 4-byte
    values at 0x2B/0x2E/0x30/0x38, well-formed scrambled texts elsewhere (variant B for 0x20-0x22), and
    canonical decimals for the numeric texts.
    """
    data = bytes(data)
    n = len(data)
    values: list[int | str] = []
    pos = 0
    for key in KEYS:
        if pos + 3 > n:
            raise PayloadError(f"payload ends before record 0x{key:02X} (X-Dynosaur has 25 records)")
        if data[pos] != key:
            raise PayloadError(f"record {len(values) + 1} has key 0x{data[pos]:02X}, expected 0x{key:02X}")
        length = (data[pos + 1] << 8) | data[pos + 2]
        pos += 3
        if pos + length > n:
            raise PayloadError(f"record 0x{key:02X} claims {length} bytes, only {n - pos} left")
        value = data[pos : pos + length]
        pos += length
        if key in RAW_KEYS:
            if length != 4:
                raise PayloadError(f"record 0x{key:02X} is {length} bytes, expected a 4-byte hash")
            values.append(int.from_bytes(value, "big"))
            continue
        try:
            text = unscramble(value, "B" if key in VARIANT_B_KEYS else "A")
        except PayloadError as exc:
            raise PayloadError(f"record 0x{key:02X}: {exc}") from None
        if key in _NUMERIC_KEYS:
            if not _DECIMAL.fullmatch(text) or text == "-0":
                raise PayloadError(f"record 0x{key:02X} should be a decimal number, got {text!r}")
            values.append(int(text))
        else:
            values.append(text)
    if pos != n:
        raise PayloadError(f"{n - pos} trailing bytes after the 25 records")
    return Fields(*values)  # type: ignore[arg-type]


def decode(token: str) -> Fields:
    """Unseal an X-Dynosaur and parse its payload (3.1)."""
    return parse_payload(gnarly.unseal(token).payload)


def verify(
    fields: Fields,
    *,
    business_query: str | bytes | None = None,
    user_agent: str | bytes | None = None,
    query_hash: int | None = None,
    ua_hash: int | None = None,
    body_hash: int | None = EMPTY_HASH,
    now: float | None = None,
    tolerance: float = 300.0,
    gnarly: gnarly532.Fields | None = None,
    clock_slack: float = 5.0,
) -> dict[str, str]:
    """The X-Dynosaur checks of section 3.2; returns ``{check id: reason}`` for every failure.

    An empty dict means the token passes. Ids are record keys: ``0x20`` (checksum), ``0x21``..``0x37``
    constants, ``0x2A``/``0x31`` versions, ``0x38`` VM constant, ``0x24`` (mix), ``0x2E`` (query hash,
    against ``business_query`` or a pre-computed ``query_hash``; skipped when neither is given),
    ``0x30`` (UA hash, likewise), ``0x2B`` (``body_hash``, default hash(""), as GET and the ports;
    ``None`` skips), ``0x27`` (freshness, only with ``now``). With the request's decoded X-Gnarly
    (``gnarly``): ``0x26=G1``, ``0x36=G2`` and ``0x27~G6`` (timestamps within ``clock_slack``
    seconds). Deliberately *not* checked: 0x25 = 0x2F, counters = G12/G13, 0x34 = G8 (3.2).
    """
    bad: dict[str, str] = {}
    f = fields
    values = [_record_value(k, v) for k, v in f.by_key().items()]
    if f.checksum != (c := checksum(values)):
        bad["0x20"] = f"checksum is {f.checksum}, recomputed {c}"
    for key, name, want in (
        (0x21, "flag_1a", "1"),
        (0x22, "flag_1b", "1"),
        (0x23, "const_0_23", "0"),
        (0x29, "const_0_29", "0"),
        (0x2D, "const_0_2d", "0"),
        (0x37, "const_0_37", "0"),
        (0x2A, "sdk_version", PAYLOAD_VERSION),
        (0x31, "scm_version", SCM_VERSION),
    ):
        if (got := getattr(f, name)) != want:
            bad[f"0x{key:02X}"] = f"{name} is {got!r}, expected {want!r}"
    if f.vm_state_hash != VM_STATE_HASH:
        bad["0x38"] = f"vm_state_hash is 0x{f.vm_state_hash:08X}, expected 0x{VM_STATE_HASH:08X}"
    if f.mix != (m := gnarly532.mix(f.env_code, f.timestamp, f.nonce)):
        bad["0x24"] = f"mix is {f.mix}, (0x26 << 16) | fold(0x27, 0x34) = {m}"
    if query_hash is None and business_query is not None:
        query_hash = hash_state(business_query)
    if query_hash is not None and f.query_hash != query_hash:
        bad["0x2E"] = f"query hash is 0x{f.query_hash:08X}, the query hashes to 0x{query_hash:08X}"
    if ua_hash is None and user_agent is not None:
        ua_hash = hash_state(user_agent)
    if ua_hash is not None and f.ua_hash != ua_hash:
        bad["0x30"] = f"UA hash is 0x{f.ua_hash:08X}, the User-Agent hashes to 0x{ua_hash:08X}"
    if body_hash is not None and f.body_hash != body_hash:
        bad["0x2B"] = f"body hash is 0x{f.body_hash:08X}, expected 0x{body_hash:08X}"
    if now is not None and abs(now - f.timestamp) > tolerance:
        bad["0x27"] = f"timestamp {f.timestamp} is {now - f.timestamp:+.0f} s from now (tolerance {tolerance:g})"
    if gnarly is not None:
        if f.env_code != gnarly.env_code:
            bad["0x26=G1"] = f"env code {f.env_code} here, {gnarly.env_code} in X-Gnarly"
        if f.ub_code != gnarly.ub_code:
            bad["0x36=G2"] = f"ub code {f.ub_code} here, {gnarly.ub_code} in X-Gnarly"
        if abs(f.timestamp - gnarly.timestamp) > clock_slack:
            bad["0x27~G6"] = f"timestamp {f.timestamp} here, {gnarly.timestamp} in X-Gnarly"
    return bad


def bot_tells(fields: Fields) -> list[str]:
    """The optional bot-tell flags of 3.2: placeholder fingerprints and an off-site page."""
    tells = []
    if fields.canvas_hash == "-1":
        tells.append('0x2C canvas_hash is "-1" (no 2D canvas)')
    for key, name in ((0x28, "webgl_hash"), (0x32, "component_version"), (0x33, "device_hash")):
        if getattr(fields, name) == "0":
            tells.append(f'0x{key:02X} {name} is the placeholder "0"')
    if not fields.page.startswith("www.tiktok.com/"):
        tells.append(f"0x35 page {fields.page!r} is not on www.tiktok.com")
    return tells
