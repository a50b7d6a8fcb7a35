"""X-Gnarly payload version 5.3.2, as emitted by webmssdk 2.0.0.561 (protocol/gnarly-532.md section 1).

Layout (1.1): a count byte (16), then 16 records ``key (1) || length (2, big-endian) || value``, keys
0-6 and 8-16 (no key 7), in any order (1.4). Integers are unsigned big-endian, 2 or 4 bytes; strings are
ASCII. With the standard widths the payload is 193 bytes and the token 324 characters.

Fields (1.2), named after the vector inputs:

====  =====================  ==========================================================================
key   attribute              value
====  =====================  ==========================================================================
0     ``checksum_b``         checksum B (1.3)
1     ``env_code``           environment code (Chrome 65, Node harness 129)
2     ``ub_code``            user-behaviour code (Chrome 8)
3     ``sealed_query_md5``   md5 hex of the sealed string ``Q&X-Dynosaur=D&msToken=T`` (section 0)
4     ``body_md5``           md5 hex of the raw body
5     ``user_agent_md5``     md5 hex of the User-Agent
6     ``timestamp``          unix seconds
8     ``nonce``              a microsecond clock, uint32
9     ``sdk_version``        ``"5.3.2"`` (the payload version)
10    ``scm_version``        ``"2.0.0.561"`` (the SDK build)
11    ``constant_11``        1
12    ``sequence``           the SDK's signing counter
13    ``sequence_13``        the same counter again
14    ``mix``                ``(env << 16) | fold(timestamp, nonce)``
15    ``nonce2``             NOT of another microsecond-clock reading
16    ``checksum_a``         checksum A (1.3)
====  =====================  ==========================================================================

The encoder writes the fixed widths of 1.2 (2 bytes for keys 1, 2, 11, 12, 13; 4 for the rest) unless
told otherwise; the parser reads every integer at its stored width and accepts 2 or 4 (1.2, "Width
rule"). Record order is an input (1.4); the parser records the order it saw and never relies on it.

Errors: :func:`parse_payload` and :func:`decode` raise :class:`PayloadError` (or
:class:`EnvelopeError` from the envelope), both ``ValueError``; bad encoder arguments raise
``ValueError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads.records import pack_counted, parse_counted

__all__ = [
    "BROWSER_ENV_CODES",
    "BROWSER_UB_CODES",
    "DEFAULT_WIDTHS",
    "EMPTY_MD5",
    "INT_KEYS",
    "KEYS",
    "PAYLOAD_VERSION",
    "PERMISSIVE_ENV_CODES",
    "PERMISSIVE_UB_CODES",
    "SCM_VERSION",
    "STRING_KEYS",
    "Fields",
    "build_payload",
    "checksums",
    "compute_fields",
    "decode",
    "encode",
    "fold",
    "mix",
    "pack_fields",
    "parse_payload",
    "sealed_string",
    "verify",
]

PAYLOAD_VERSION = "5.3.2"
SCM_VERSION = "2.0.0.561"
COUNT = 16
KEYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16)
"""Every key of the layout, ascending (key 7 is absent, 1.1); also the ports' record order."""
STRING_KEYS = frozenset({3, 4, 5, 9, 10})
INT_KEYS = frozenset(KEYS) - STRING_KEYS
DEFAULT_WIDTHS: Mapping[int, int] = {0: 4, 1: 2, 2: 2, 6: 4, 8: 4, 11: 2, 12: 2, 13: 2, 14: 4, 15: 4, 16: 4}
"""The fixed widths the SDK and the ports emit (1.2, "Width rule")."""
EMPTY_MD5 = hashlib.md5(b"").hexdigest()

PERMISSIVE_ENV_CODES = frozenset({1, 65, 129})
PERMISSIVE_UB_CODES = frozenset({0, 4, 8, 12, 14})
"""Every env / ub code reported anywhere (3.3); the default accepted sets of :func:`verify`."""
BROWSER_ENV_CODES = frozenset({65})
BROWSER_UB_CODES = frozenset({8, 0, 14})
"""What a real Chrome sends (3.2); a strict verifier may require exactly 65 / 8."""

_M32 = 0xFFFFFFFF
_ATTR: dict[int, str] = {
    0: "checksum_b",
    1: "env_code",
    2: "ub_code",
    3: "sealed_query_md5",
    4: "body_md5",
    5: "user_agent_md5",
    6: "timestamp",
    8: "nonce",
    9: "sdk_version",
    10: "scm_version",
    11: "constant_11",
    12: "sequence",
    13: "sequence_13",
    14: "mix",
    15: "nonce2",
    16: "checksum_a",
}
_KEYSET = frozenset(KEYS)
_DEFAULT_WIDTH_PAIRS = tuple(sorted(DEFAULT_WIDTHS.items()))


@dataclass(frozen=True)
class Fields:
    """The decoded records of one 5.3.2 payload, by meaning; see the module docstring for keys."""

    checksum_b: int
    env_code: int
    ub_code: int
    sealed_query_md5: str
    body_md5: str
    user_agent_md5: str
    timestamp: int
    nonce: int
    sdk_version: str
    scm_version: str
    constant_11: int
    sequence: int
    sequence_13: int
    mix: int
    nonce2: int
    checksum_a: int
    record_order: tuple[int, ...] = KEYS
    """The keys in the order the records appear."""
    widths: tuple[tuple[int, int], ...] = field(default=_DEFAULT_WIDTH_PAIRS)
    """``(key, byte width)`` for every integer key, ascending by key."""

    def by_key(self) -> dict[int, int | str]:
        """Values keyed by record key (0-6, 8-16)."""
        return {k: getattr(self, a) for k, a in _ATTR.items()}

    def width(self, key: int) -> int:
        """The stored width of integer key ``key``."""
        return dict(self.widths)[key]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ints and strings, plus the timestamp as ISO 8601 UTC."""
        out: dict[str, Any] = {a: getattr(self, a) for a in _ATTR.values()}
        out["timestamp_iso"] = _iso(self.timestamp)
        out["record_order"] = list(self.record_order)
        out["widths"] = {str(k): w for k, w in self.widths}
        return out


def _iso(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return ""


def fold(timestamp: int, nonce: int) -> int:
    """``(ts >> 16 XOR nonce >> 16 XOR ts XOR nonce) AND 0xFFFF`` (1.2, key 14)."""
    return ((timestamp >> 16) ^ (nonce >> 16) ^ timestamp ^ nonce) & 0xFFFF


def mix(env_code: int, timestamp: int, nonce: int) -> int:
    """Key 14: ``(env << 16) OR fold(ts, nonce)`` (1.2)."""
    return (env_code << 16) | fold(timestamp, nonce)


def _prefix(s: str) -> int:
    """A string's first 4 UTF-8 bytes as a big-endian number (1.3, "mode prefix")."""
    return int.from_bytes(s.encode("utf-8")[:4], "big")


def checksums(values: Mapping[int, int | str]) -> tuple[int, int]:
    """``(A, B)``, the values of keys 16 and 0, from the other fields keyed by record key (1.3).

    The covered list is one value per key 0..15; keys 0 and 7 contribute 0. A folds strings as their
    4-byte prefix, B counts strings as 0 and is then XORed with A. Both start from all-ones.
    """
    x_int = 0
    x_prefix = 0
    for k in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15):
        v = values[k]
        if isinstance(v, str):
            x_prefix ^= _prefix(v)
        else:
            v &= _M32
            x_int ^= v
            x_prefix ^= v
    a = _M32 ^ x_prefix
    return a, _M32 ^ x_int ^ a


def sealed_string(business_query: str, x_dynosaur: str, ms_token: str = "") -> str:
    """``S = Q&X-Dynosaur=D&msToken=T``: what key 3 hashes (section 0, steps 1-2).

    The tokens go in raw; ``&msToken=`` is present even when ``T`` is empty. With an empty business
    query ``S`` starts at ``X-Dynosaur=``, the query as a browser would send it (section 0 calls this
    reading natural but unverified).
    """
    tail = f"X-Dynosaur={x_dynosaur}&msToken={ms_token}"
    return f"{business_query}&{tail}" if business_query else tail


def _md5(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _check_uint(name: str, value: int, bits: int, low: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 1 << bits:
        raise ValueError(f"{name} must be an integer in {low}..{(1 << bits) - 1}, got {value!r}")


def _order(record_order: Iterable[int] | None) -> tuple[int, ...]:
    if record_order is None:
        return KEYS
    order = tuple(record_order)
    if len(order) != COUNT or set(order) != _KEYSET:
        raise ValueError(f"record_order must be a permutation of {list(KEYS)}, got {list(order)}")
    return order


def _widths(widths: Mapping[int, int] | None) -> dict[int, int]:
    out = dict(DEFAULT_WIDTHS)
    if widths:
        for k, w in widths.items():
            if k not in INT_KEYS or w not in (2, 4):
                raise ValueError(f"widths: key {k} cannot be {w} bytes (integer keys take 2 or 4)")
            out[k] = w
    return out


def _pack(values: Mapping[int, int | str], order: Iterable[int], widths: Mapping[int, int]) -> bytes:
    return pack_counted(values, order, widths, string_keys=STRING_KEYS, encoding="ascii", truncate=False)


def build_payload(
    sealed_query: str | bytes,
    body: bytes | str,
    user_agent: str,
    *,
    timestamp: int,
    nonce: int,
    nonce2: int,
    sequence: int,
    env_code: int = 65,
    ub_code: int = 8,
    record_order: Iterable[int] | None = None,
    sdk_version: str = PAYLOAD_VERSION,
    scm_version: str = SCM_VERSION,
    widths: Mapping[int, int] | None = None,
) -> bytes:
    """The plaintext payload for one request (1.1-1.3); see :func:`encode` for the arguments."""
    _check_uint("timestamp", timestamp, 32)
    _check_uint("nonce", nonce, 32)
    _check_uint("nonce2", nonce2, 32)
    _check_uint("sequence", sequence, 16, low=1)  # 1..65535 (1.2, "Width rule")
    _check_uint("env_code", env_code, 16)
    _check_uint("ub_code", ub_code, 16)
    values: dict[int, int | str] = {
        1: env_code,
        2: ub_code,
        3: _md5(sealed_query),
        4: _md5(body),
        5: _md5(user_agent),
        6: timestamp,
        8: nonce,
        9: sdk_version,
        10: scm_version,
        11: 1,
        12: sequence,
        13: sequence,
        14: mix(env_code, timestamp, nonce),
        15: nonce2,
    }
    values[16], values[0] = checksums(values)
    return _pack(values, _order(record_order), _widths(widths))


def compute_fields(
    sealed_query: str | bytes,
    body: bytes | str,
    user_agent: str,
    *,
    timestamp: int,
    nonce: int,
    nonce2: int,
    sequence: int,
    env_code: int = 65,
    ub_code: int = 8,
    record_order: Iterable[int] | None = None,
    sdk_version: str = PAYLOAD_VERSION,
    scm_version: str = SCM_VERSION,
    widths: Mapping[int, int] | None = None,
) -> Fields:
    """The :class:`Fields` that :func:`encode` would seal for these inputs."""
    return parse_payload(
        build_payload(
            sealed_query,
            body,
            user_agent,
            timestamp=timestamp,
            nonce=nonce,
            nonce2=nonce2,
            sequence=sequence,
            env_code=env_code,
            ub_code=ub_code,
            record_order=record_order,
            sdk_version=sdk_version,
            scm_version=scm_version,
            widths=widths,
        )
    )


def pack_fields(fields: Fields) -> bytes:
    """Serialise decoded fields exactly, in their record order and widths: the inverse of parsing."""
    widths = dict(fields.widths)
    return _pack(fields.by_key(), _order(fields.record_order), _widths(widths))


def parse_payload(data: bytes) -> Fields:
    """Parse a plaintext payload by key, never by position (3.1, "Gnarly").

    Requires: count byte 16; 16 records with unique keys, exactly {0-6, 8-16}; integer values of 2 or 4
    bytes; ASCII strings; the payload consumed exactly. Any order is accepted.
    """
    rec = parse_counted(
        data,
        count=COUNT,
        keys=_KEYSET,
        string_keys=STRING_KEYS,
        encoding="ascii",
        label="X-Gnarly 5.3.2",
        keys_text="0-6 and 8-16",
    )
    values, widths, order = rec.values, rec.widths, rec.order
    return Fields(
        **{a: values[k] for k, a in _ATTR.items()},  # type: ignore[arg-type]
        record_order=tuple(order),
        widths=tuple(sorted(widths.items())),
    )


def encode(
    sealed_query: str | bytes,
    body: bytes | str,
    user_agent: str,
    *,
    timestamp: int,
    nonce: int,
    nonce2: int,
    sequence: int,
    env_code: int = 65,
    ub_code: int = 8,
    key: bytes,
    record_order: Iterable[int] | None = None,
    sdk_version: str = PAYLOAD_VERSION,
    scm_version: str = SCM_VERSION,
    widths: Mapping[int, int] | None = None,
) -> str:
    """X-Gnarly 5.3.2 for one request (section 1; inputs and their sources: 1.5).

    Args:
        sealed_query: the sealed string ``S`` (section 0; :func:`sealed_string` builds it). A ``str``
            is hashed as UTF-8.
        body: the raw request body (``b""`` for GET); a ``str`` is hashed as UTF-8.
        user_agent: exactly the ``User-Agent`` header that is sent.
        timestamp: unix seconds (key 6).
        nonce: a microsecond clock reading, uint32 (key 8).
        nonce2: NOT of another reading, uint32 (key 15).
        sequence: the signing counter, 1..65535 (keys 12 and 13).
        env_code, ub_code: environment / user-behaviour codes; a real Chrome sends 65 / 8.
        key: 48 random bytes (a CSPRNG in production).
        record_order: a permutation of :data:`KEYS`; ``None`` is ascending, as the ports emit. The
            genuine SDK's order is random per token, so a signer should shuffle (1.4).
        sdk_version, scm_version: keys 9 and 10.
        widths: byte widths (2 or 4) overriding :data:`DEFAULT_WIDTHS` for chosen integer keys.
    """
    payload = build_payload(
        sealed_query,
        body,
        user_agent,
        timestamp=timestamp,
        nonce=nonce,
        nonce2=nonce2,
        sequence=sequence,
        env_code=env_code,
        ub_code=ub_code,
        record_order=record_order,
        sdk_version=sdk_version,
        scm_version=scm_version,
        widths=widths,
    )
    return gnarly.seal(payload, key)


def decode(token: str) -> Fields:
    """Unseal an X-Gnarly and parse its 5.3.2 payload (3.1)."""
    return parse_payload(gnarly.unseal(token).payload)


def verify(
    fields: Fields,
    *,
    sealed_query: str | bytes | None = None,
    body: bytes | str | None = b"",
    user_agent: str | None = None,
    now: float | None = None,
    tolerance: float = 300.0,
    env_codes: Collection[int] | None = PERMISSIVE_ENV_CODES,
    ub_codes: Collection[int] | None = PERMISSIVE_UB_CODES,
) -> dict[str, str]:
    """The X-Gnarly checks of section 3.2; returns ``{check id: reason}`` for every failure.

    An empty dict means the token passes. Check ids are the key numbers: ``G3`` (md5 of the sealed
    string), ``G4`` (body), ``G5`` (User-Agent), ``G9``/``G10`` (versions), ``G11`` (= 1), ``G12``/``G13``
    (1..65535), ``G14`` (env and clock fold), ``G16``/``G0`` (checksums A/B), ``G6`` (freshness, only
    when ``now`` is given), ``G1``/``G2`` (env / ub in the accepted sets; ``None`` accepts any).
    Checks whose input is ``None`` (``sealed_query``, ``body``, ``user_agent``) are skipped. Widths are
    checked by the parser (2 or 4 bytes).
    """
    bad: dict[str, str] = {}
    f = fields
    if sealed_query is not None and f.sealed_query_md5 != (h := _md5(sealed_query)):
        bad["G3"] = f"md5 of the sealed query is {h}, the token has {f.sealed_query_md5}"
    if body is not None and f.body_md5 != (h := _md5(body)):
        bad["G4"] = f"md5 of the body is {h}, the token has {f.body_md5}"
    if user_agent is not None and f.user_agent_md5 != (h := _md5(user_agent)):
        bad["G5"] = f"md5 of the User-Agent is {h}, the token has {f.user_agent_md5}"
    if f.sdk_version != PAYLOAD_VERSION:
        bad["G9"] = f"payload version {f.sdk_version!r}, expected {PAYLOAD_VERSION!r}"
    if f.scm_version != SCM_VERSION:
        bad["G10"] = f"SDK build {f.scm_version!r}, expected {SCM_VERSION!r}"
    if f.constant_11 != 1:
        bad["G11"] = f"key 11 is {f.constant_11}, expected 1"
    if not 1 <= f.sequence <= 0xFFFF:
        bad["G12"] = f"sequence {f.sequence} outside 1..65535"
    if not 1 <= f.sequence_13 <= 0xFFFF:
        bad["G13"] = f"sequence {f.sequence_13} outside 1..65535"
    expect_fold = fold(f.timestamp, f.nonce)
    if f.mix >> 16 != f.env_code or f.mix & 0xFFFF != expect_fold:
        bad["G14"] = f"mix 0x{f.mix:08X} != (env {f.env_code} << 16) | fold 0x{expect_fold:04X} of timestamp and nonce"
    a, b = checksums(f.by_key())
    if f.checksum_a != a:
        bad["G16"] = f"checksum A is 0x{f.checksum_a:08X}, recomputed 0x{a:08X}"
    if f.checksum_b != b:
        bad["G0"] = f"checksum B is 0x{f.checksum_b:08X}, recomputed 0x{b:08X}"
    if now is not None and abs(now - f.timestamp) > tolerance:
        bad["G6"] = f"timestamp {f.timestamp} is {now - f.timestamp:+.0f} s from now (tolerance {tolerance:g})"
    if env_codes is not None and f.env_code not in env_codes:
        bad["G1"] = f"env code {f.env_code} not in {sorted(env_codes)}"
    if ub_codes is not None and f.ub_code not in ub_codes:
        bad["G2"] = f"ub code {f.ub_code} not in {sorted(ub_codes)}"
    return bad
