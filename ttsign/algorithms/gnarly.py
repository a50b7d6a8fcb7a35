"""The envelope shared by X-Gnarly and X-Dynosaur: a ChaCha-variant stream cipher, a key splice, base64.

Spec: ``protocol/gnarly-532.md`` section E (and ``protocol/tokens.md`` 1.1, 1.3, 1.4). In short:

* **Key** ``K``: 48 bytes, read as twelve little-endian uint32 words ``w0..w11``.
* **Rounds** ``R = 5 + (sum(wi & 15) mod 16)``, so 5..20 *single* rounds.
* **State**: four constants, then ``w0..w11``; state word 12 (``w8``) is the block counter.
* **Block**: R single rounds alternating column / diagonal, starting with a column round. The diagonal
  quartets are (0,5,10,15) (1,6,11,12) **(2,7,12,13) (3,4,13,14)**: *not* RFC 8439, on purpose. Then
  the input state is added word by word and the 16 words are serialised little-endian.
* **Encrypt**: ``C = P XOR keystream``; block *k* uses counter ``w8 + k``.
* **Splice**: ``p = (sum(K) + sum(C)) mod (len(C) + 1)``; raw = ``magic || C[:p] || K || C[p:]``.
* **Text**: standard base64 (with ``=`` padding) with the alphabet substituted position by position.

Unsealing uses the closed form of the splice position: the byte sum of ``raw[1:]`` does not depend on
where ``K`` sits, so ``p = sum(raw[1:]) mod (len(raw) - 48)``; no search is needed.

Performance: the keystream is computed for all blocks of a token at once, "SIMD within a register":
each of the 16 state words is one Python int holding one 64-bit lane per block (the value in the low
32 bits, the high 32 bits as headroom for unmasked additions). The quarter-rounds are unrolled over
local variables, so one pass of Python bytecode runs the rounds of 4-5 blocks.

Every malformed token makes :func:`unseal` raise :class:`EnvelopeError` (a ``ValueError``) and nothing
else. Bad *arguments* to :func:`seal` (a key that is not 48 bytes, a magic byte outside 0..255) raise
``ValueError``.
"""

# ruff: noqa: E702  (the unrolled rounds put one add/xor/rotate step per line, section E)
from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ttsign.algorithms.errors import EnvelopeError

__all__ = [
    "ALPHABET",
    "CONSTANTS",
    "KEY_SIZE",
    "MAGIC",
    "STANDARD_ALPHABET",
    "Unsealed",
    "crypt",
    "key_from_words",
    "key_words",
    "keystream",
    "keystream_block",
    "rounds_for",
    "seal",
    "splice_position",
    "unseal",
]

MAGIC = 0x4B
"""Leading byte of every X-Gnarly and of every X-Dynosaur seen from SDK 2.0.0.561 (section E, 2.1)."""

KEY_SIZE = 48
"""Key length in bytes: twelve little-endian uint32 words (section E, "Key")."""

CONSTANTS = (0x475602B6, 0x23D22697, 0xE6460233, 0x56870716)
"""State words 0-3 (section E, "State"); not ChaCha's "expand 32-byte k"."""

ALPHABET = "u09tbS3UvgDEe6r-ZVMXzLpsAohTn7mdINQlW412GqBjfYiyk8JORCF5/xKHwacP"
"""The token alphabet: position i replaces position i of the standard base64 alphabet (section E)."""

STANDARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

_M32 = 0xFFFFFFFF
_KEY_STRUCT = struct.Struct("<12I")
_BLOCK_STRUCT = struct.Struct("<16I")
_ENCODE_TABLE = bytes.maketrans(STANDARD_ALPHABET.encode(), ALPHABET.encode())
# Decoding: alphabet -> standard, '=' -> '=', everything else -> '!' which b64decode(validate=True) rejects.
_decode_table = bytearray(b"!" * 256)
for _alt, _std in zip(ALPHABET.encode(), STANDARD_ALPHABET.encode(), strict=True):
    _decode_table[_alt] = _std
_decode_table[ord("=")] = ord("=")
_DECODE_TABLE = bytes(_decode_table)
del _alt, _std, _decode_table

_BATCH = 16
"""Blocks computed per SWAR pass; bounds the lane ints at 1024 bits for very long payloads."""


@dataclass(frozen=True)
class Unsealed:
    """An opened envelope: the plaintext payload and how it was sealed."""

    payload: bytes
    key: bytes
    rounds: int
    splice: int
    magic: int

    @property
    def key_words(self) -> tuple[int, ...]:
        """The key as twelve uint32 words (the form the vectors use)."""
        return key_words(self.key)


def key_words(key: bytes) -> tuple[int, ...]:
    """The 48-byte key as twelve little-endian uint32 words ``w0..w11`` (section E, "Key")."""
    if len(key) != KEY_SIZE:
        raise ValueError(f"the key must be {KEY_SIZE} bytes, got {len(key)}")
    return _KEY_STRUCT.unpack(key)


def key_from_words(words: Sequence[int]) -> bytes:
    """The inverse of :func:`key_words`: twelve uint32 words serialised little-endian."""
    if len(words) != 12:
        raise ValueError(f"a key has 12 words, got {len(words)}")
    try:
        return _KEY_STRUCT.pack(*words)
    except struct.error as exc:
        raise ValueError(f"key words must be uint32: {exc}") from None


def rounds_for(key: bytes) -> int:
    """``R = 5 + (sum(wi & 15) mod 16)``: the number of *single* rounds, 5..20 (section E, "Rounds").

    ``wi & 15`` is the low nibble of byte ``4i`` of the key, since the words are little-endian.
    """
    if len(key) != KEY_SIZE:
        raise ValueError(f"the key must be {KEY_SIZE} bytes, got {len(key)}")
    return 5 + sum(b & 15 for b in key[::4]) % 16


def keystream_block(state: Sequence[int], rounds: int) -> bytes:
    """One 64-byte keystream block from a 16-word input state: the plain, one-block reference form.

    Section E, "Block function": ``rounds`` single rounds alternating column and diagonal rounds
    (column first), then the input state is added word by word and serialised little-endian.
    :func:`keystream` computes the same bytes for many blocks at once.
    """
    if len(state) != 16:
        raise ValueError(f"the state has 16 words, got {len(state)}")
    x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15 = (v & _M32 for v in state)
    M = _M32
    for r in range(rounds):
        if r & 1 == 0:
            # Column round: (0,4,8,12) (1,5,9,13) (2,6,10,14) (3,7,11,15).
            x0, x4, x8, x12 = _qr(x0, x4, x8, x12)
            x1, x5, x9, x13 = _qr(x1, x5, x9, x13)
            x2, x6, x10, x14 = _qr(x2, x6, x10, x14)
            x3, x7, x11, x15 = _qr(x3, x7, x11, x15)
        else:
            # Diagonal round with the non-standard last two quartets; they run in this order, so
            # lanes 12 and 13 are updated twice within the round.
            x0, x5, x10, x15 = _qr(x0, x5, x10, x15)
            x1, x6, x11, x12 = _qr(x1, x6, x11, x12)
            x2, x7, x12, x13 = _qr(x2, x7, x12, x13)
            x3, x4, x13, x14 = _qr(x3, x4, x13, x14)
    s = state
    return _BLOCK_STRUCT.pack(
        (x0 + s[0]) & M, (x1 + s[1]) & M, (x2 + s[2]) & M, (x3 + s[3]) & M,
        (x4 + s[4]) & M, (x5 + s[5]) & M, (x6 + s[6]) & M, (x7 + s[7]) & M,
        (x8 + s[8]) & M, (x9 + s[9]) & M, (x10 + s[10]) & M, (x11 + s[11]) & M,
        (x12 + s[12]) & M, (x13 + s[13]) & M, (x14 + s[14]) & M, (x15 + s[15]) & M,
    )  # fmt: skip


def _qr(a: int, b: int, c: int, d: int) -> tuple[int, int, int, int]:
    """The standard ChaCha quarter-round, mod 2**32, rotations 16, 12, 8, 7 (section E)."""
    M = _M32
    a = (a + b) & M
    d ^= a
    d = ((d << 16) & M) | (d >> 16)
    c = (c + d) & M
    b ^= c
    b = ((b << 12) & M) | (b >> 20)
    a = (a + b) & M
    d ^= a
    d = ((d << 8) & M) | (d >> 24)
    c = (c + d) & M
    b ^= c
    b = ((b << 7) & M) | (b >> 25)
    return a, b, c, d


def _keystream_lanes(w: Sequence[int], rounds: int, first: int, nblocks: int) -> bytes:
    """Keystream blocks ``first .. first+nblocks-1`` for key words ``w``, computed side by side.

    Each local ``xN`` holds state word N of every block, one 64-bit lane per block (block k in bits
    64k..64k+31). Additions are left unmasked: they only grow the headroom bits of a lane (at most 41
    additions of a clean 32-bit value in 20 rounds, far below 2**32). Every value is masked with ``LM``
    before it is shifted right in a rotation, and every rotation result is masked, so no bit ever
    crosses into the next lane. Rotation: ``((t << r) | (t >> (32 - r))) & LM`` on a clean ``t``.
    """
    rep = 0
    for k in range(nblocks):
        rep |= 1 << (64 * k)
    LM = _M32 * rep
    s0, s1, s2, s3 = (c * rep for c in CONSTANTS)
    s4, s5, s6, s7, s8, s9, s10, s11, _, s13, s14, s15 = (v * rep for v in w)
    s12 = 0
    for k in range(nblocks):  # state word 12 = w8 + block index (mod 2**32), section E "Encrypt"
        s12 |= ((w[8] + first + k) & _M32) << (64 * k)
    x0, x1, x2, x3, x4, x5, x6, x7 = s0, s1, s2, s3, s4, s5, s6, s7
    x8, x9, x10, x11, x12, x13, x14, x15 = s8, s9, s10, s11, s12, s13, s14, s15
    # fmt: off
    for _ in range(rounds >> 1):
        # Column round: (0,4,8,12) (1,5,9,13) (2,6,10,14) (3,7,11,15).
        x0 += x4; t = (x12 ^ x0) & LM; x12 = ((t << 16) | (t >> 16)) & LM
        x8 += x12; t = (x4 ^ x8) & LM; x4 = ((t << 12) | (t >> 20)) & LM
        x0 += x4; t = (x12 ^ x0) & LM; x12 = ((t << 8) | (t >> 24)) & LM
        x8 += x12; t = (x4 ^ x8) & LM; x4 = ((t << 7) | (t >> 25)) & LM
        x1 += x5; t = (x13 ^ x1) & LM; x13 = ((t << 16) | (t >> 16)) & LM
        x9 += x13; t = (x5 ^ x9) & LM; x5 = ((t << 12) | (t >> 20)) & LM
        x1 += x5; t = (x13 ^ x1) & LM; x13 = ((t << 8) | (t >> 24)) & LM
        x9 += x13; t = (x5 ^ x9) & LM; x5 = ((t << 7) | (t >> 25)) & LM
        x2 += x6; t = (x14 ^ x2) & LM; x14 = ((t << 16) | (t >> 16)) & LM
        x10 += x14; t = (x6 ^ x10) & LM; x6 = ((t << 12) | (t >> 20)) & LM
        x2 += x6; t = (x14 ^ x2) & LM; x14 = ((t << 8) | (t >> 24)) & LM
        x10 += x14; t = (x6 ^ x10) & LM; x6 = ((t << 7) | (t >> 25)) & LM
        x3 += x7; t = (x15 ^ x3) & LM; x15 = ((t << 16) | (t >> 16)) & LM
        x11 += x15; t = (x7 ^ x11) & LM; x7 = ((t << 12) | (t >> 20)) & LM
        x3 += x7; t = (x15 ^ x3) & LM; x15 = ((t << 8) | (t >> 24)) & LM
        x11 += x15; t = (x7 ^ x11) & LM; x7 = ((t << 7) | (t >> 25)) & LM
        # Diagonal round: (0,5,10,15) (1,6,11,12) (2,7,12,13) (3,4,13,14), in this order.
        x0 += x5; t = (x15 ^ x0) & LM; x15 = ((t << 16) | (t >> 16)) & LM
        x10 += x15; t = (x5 ^ x10) & LM; x5 = ((t << 12) | (t >> 20)) & LM
        x0 += x5; t = (x15 ^ x0) & LM; x15 = ((t << 8) | (t >> 24)) & LM
        x10 += x15; t = (x5 ^ x10) & LM; x5 = ((t << 7) | (t >> 25)) & LM
        x1 += x6; t = (x12 ^ x1) & LM; x12 = ((t << 16) | (t >> 16)) & LM
        x11 += x12; t = (x6 ^ x11) & LM; x6 = ((t << 12) | (t >> 20)) & LM
        x1 += x6; t = (x12 ^ x1) & LM; x12 = ((t << 8) | (t >> 24)) & LM
        x11 += x12; t = (x6 ^ x11) & LM; x6 = ((t << 7) | (t >> 25)) & LM
        x2 += x7; t = (x13 ^ x2) & LM; x13 = ((t << 16) | (t >> 16)) & LM
        x12 += x13; t = (x7 ^ x12) & LM; x7 = ((t << 12) | (t >> 20)) & LM
        x2 += x7; t = (x13 ^ x2) & LM; x13 = ((t << 8) | (t >> 24)) & LM
        x12 += x13; t = (x7 ^ x12) & LM; x7 = ((t << 7) | (t >> 25)) & LM
        x3 += x4; t = (x14 ^ x3) & LM; x14 = ((t << 16) | (t >> 16)) & LM
        x13 += x14; t = (x4 ^ x13) & LM; x4 = ((t << 12) | (t >> 20)) & LM
        x3 += x4; t = (x14 ^ x3) & LM; x14 = ((t << 8) | (t >> 24)) & LM
        x13 += x14; t = (x4 ^ x13) & LM; x4 = ((t << 7) | (t >> 25)) & LM
    if rounds & 1:
        # An odd R ends right after a column round (section E).
        x0 += x4; t = (x12 ^ x0) & LM; x12 = ((t << 16) | (t >> 16)) & LM
        x8 += x12; t = (x4 ^ x8) & LM; x4 = ((t << 12) | (t >> 20)) & LM
        x0 += x4; t = (x12 ^ x0) & LM; x12 = ((t << 8) | (t >> 24)) & LM
        x8 += x12; t = (x4 ^ x8) & LM; x4 = ((t << 7) | (t >> 25)) & LM
        x1 += x5; t = (x13 ^ x1) & LM; x13 = ((t << 16) | (t >> 16)) & LM
        x9 += x13; t = (x5 ^ x9) & LM; x5 = ((t << 12) | (t >> 20)) & LM
        x1 += x5; t = (x13 ^ x1) & LM; x13 = ((t << 8) | (t >> 24)) & LM
        x9 += x13; t = (x5 ^ x9) & LM; x5 = ((t << 7) | (t >> 25)) & LM
        x2 += x6; t = (x14 ^ x2) & LM; x14 = ((t << 16) | (t >> 16)) & LM
        x10 += x14; t = (x6 ^ x10) & LM; x6 = ((t << 12) | (t >> 20)) & LM
        x2 += x6; t = (x14 ^ x2) & LM; x14 = ((t << 8) | (t >> 24)) & LM
        x10 += x14; t = (x6 ^ x10) & LM; x6 = ((t << 7) | (t >> 25)) & LM
        x3 += x7; t = (x15 ^ x3) & LM; x15 = ((t << 16) | (t >> 16)) & LM
        x11 += x15; t = (x7 ^ x11) & LM; x7 = ((t << 12) | (t >> 20)) & LM
        x3 += x7; t = (x15 ^ x3) & LM; x15 = ((t << 8) | (t >> 24)) & LM
        x11 += x15; t = (x7 ^ x11) & LM; x7 = ((t << 7) | (t >> 25)) & LM
    # fmt: on
    # Feed-forward, then pair words (2j, 2j+1) so each 64-bit lane holds 8 keystream bytes of its block.
    n8 = 8 * nblocks
    pairs = (
        (((x0 + s0) & LM) | (((x1 + s1) & LM) << 32)).to_bytes(n8, "little"),
        (((x2 + s2) & LM) | (((x3 + s3) & LM) << 32)).to_bytes(n8, "little"),
        (((x4 + s4) & LM) | (((x5 + s5) & LM) << 32)).to_bytes(n8, "little"),
        (((x6 + s6) & LM) | (((x7 + s7) & LM) << 32)).to_bytes(n8, "little"),
        (((x8 + s8) & LM) | (((x9 + s9) & LM) << 32)).to_bytes(n8, "little"),
        (((x10 + s10) & LM) | (((x11 + s11) & LM) << 32)).to_bytes(n8, "little"),
        (((x12 + s12) & LM) | (((x13 + s13) & LM) << 32)).to_bytes(n8, "little"),
        (((x14 + s14) & LM) | (((x15 + s15) & LM) << 32)).to_bytes(n8, "little"),
    )
    p0, p1, p2, p3, p4, p5, p6, p7 = pairs
    out: list[bytes] = []
    for i in range(0, n8, 8):
        j = i + 8
        out += (p0[i:j], p1[i:j], p2[i:j], p3[i:j], p4[i:j], p5[i:j], p6[i:j], p7[i:j])
    return b"".join(out)


def keystream(key: bytes, length: int) -> bytes:
    """The first ``length`` keystream bytes for ``key`` (section E, "Encrypt").

    Equal to ``keystream_block`` over states with word 12 = ``w8 + k`` for k = 0, 1, ..., concatenated
    and truncated.
    """
    if length < 0:
        raise ValueError("length must be >= 0")
    w = key_words(key)
    rounds = 5 + sum(v & 15 for v in w) % 16
    nblocks = (length + 63) >> 6
    if nblocks <= _BATCH:
        ks = _keystream_lanes(w, rounds, 0, nblocks) if nblocks else b""
    else:
        ks = b"".join(
            _keystream_lanes(w, rounds, first, min(_BATCH, nblocks - first)) for first in range(0, nblocks, _BATCH)
        )
    return ks[:length]


def crypt(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the keystream of ``key``: encrypts and decrypts (section E, "Encrypt")."""
    n = len(data)
    if n == 0:
        key_words(key)  # still validate the key
        return b""
    ks = keystream(key, n)
    return (int.from_bytes(data, "little") ^ int.from_bytes(ks, "little")).to_bytes(n, "little")


def splice_position(key: bytes, ciphertext: bytes) -> int:
    """``p = (sum(K) + sum(C)) mod (len(C) + 1)``: where the key goes in the raw token (section E)."""
    return (sum(key) + sum(ciphertext)) % (len(ciphertext) + 1)


def seal(payload: bytes, key: bytes, magic: int = MAGIC) -> str:
    """Encrypt ``payload`` under the 48-byte ``key`` and return the token text (section E).

    ``magic`` is the leading raw byte: 0x4B for every X-Gnarly and for X-Dynosaur of SDK 2.0.0.561.
    """
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise ValueError(f"the key must be {KEY_SIZE} bytes, got {len(key)}")
    if not 0 <= magic <= 255:
        raise ValueError(f"the magic byte must be 0..255, got {magic}")
    c = crypt(bytes(payload), key)
    p = (sum(key) + sum(c)) % (len(c) + 1)
    raw = b"".join((bytes((magic,)), c[:p], key, c[p:]))
    return base64.b64encode(raw).translate(_ENCODE_TABLE).decode("ascii")


def unseal(token: str, *, magic: int | None = MAGIC) -> Unsealed:
    """Open a token: map the alphabet back, base64-decode, find the key, decrypt (section E, "Unseal").

    ``magic`` is the leading byte to require (default 0x4B, the only one this build emits; section 2.1);
    ``None`` accepts any. Raises :class:`EnvelopeError` for: a non-string, a character outside the
    alphabet and ``=``, a bad base64 length or padding, non-canonical base64 (nonzero spare bits), a
    raw token shorter than 49 bytes, or the wrong leading byte.
    """
    if not isinstance(token, str):
        raise EnvelopeError(f"a token is a string, got {type(token).__name__}")
    try:
        text = token.encode("ascii")
    except UnicodeEncodeError:
        raise EnvelopeError("the token has a non-ASCII character") from None
    if len(text) % 4:
        raise EnvelopeError(f"bad base64 length {len(text)} (not a multiple of 4)")
    std = text.translate(_DECODE_TABLE)
    try:
        raw = base64.b64decode(std, validate=True)
    except (binascii.Error, ValueError):
        bad = sorted({chr(c) for c in text if chr(c) not in ALPHABET and c != 0x3D})
        if bad:
            raise EnvelopeError(f"characters outside the token alphabet: {''.join(bad)!r}") from None
        raise EnvelopeError("bad base64 padding") from None
    if base64.b64encode(raw) != std:
        raise EnvelopeError("non-canonical base64 (padding or spare bits)")
    if len(raw) < 1 + KEY_SIZE:
        raise EnvelopeError(f"raw token is {len(raw)} bytes, shorter than the 49-byte minimum")
    if magic is not None and raw[0] != magic:
        raise EnvelopeError(f"leading byte is 0x{raw[0]:02X}, expected 0x{magic:02X}")
    body = raw[1:]
    n = len(body) - KEY_SIZE  # ciphertext length
    # Closed form (section E, "Unseal" step 2): sum(body) = sum(K) + sum(C) whatever the position.
    p = sum(body) % (n + 1)
    key = body[p : p + KEY_SIZE]
    ciphertext = body[:p] + body[p + KEY_SIZE :]
    return Unsealed(
        payload=crypt(ciphertext, key),
        key=key,
        rounds=rounds_for(key),
        splice=p,
        magic=raw[0],
    )
