"""The X-Gnarly / X-Dynosaur envelope (protocol/gnarly-532.md section E, tokens.md 1.1-1.4) and detection.

Every vector token of the three files is re-sealed from its plaintext and key and unsealed back; a plain
reference implementation written straight from section E (lists, one block at a time) cross-checks the
lane-parallel keystream on inputs the vectors do not cover; corrupted tokens raise EnvelopeError only.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsign.algorithms import gnarly
from ttsign.algorithms.errors import EnvelopeError, PayloadError, TokenError
from ttsign.algorithms.payloads import detect, dynosaur532, gnarly513, gnarly532

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))["vectors"]


def _envelope_cases() -> list[Any]:
    """(token, plaintext, key, rounds, splice) for every vector of the three token files."""
    cases = []
    for v in _load("xgnarly.json"):
        d = v["derived"]
        cases.append(
            pytest.param(
                v["expected"],
                bytes.fromhex(d["plaintextHex"]),
                bytes.fromhex(v["options"]["randomKey"]),
                d["rounds"],
                d["insertPos"],
                id=f"xgnarly/{v['id']}",
            )
        )
    for name, field in (("gnarly532.json", "x_gnarly"), ("dynosaur.json", "x_dynosaur")):
        for v in _load(name):
            d = v["derived"]
            cases.append(
                pytest.param(
                    v["expected"][field],
                    bytes.fromhex(d["plaintext_hex"]),
                    struct.pack("<12I", *v["inputs"]["key_words"]),
                    d["rounds"],
                    d["splice_position"],
                    id=f"{name.removesuffix('.json')}/{v['id']}",
                )
            )
    return cases


ENVELOPE_CASES = _envelope_cases()


# --------------------------------------------------------------------------------------------------
# A plain reference, straight from section E: one block at a time, a list for the state.

_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ALT = "u09tbS3UvgDEe6r-ZVMXzLpsAohTn7mdINQlW412GqBjfYiyk8JORCF5/xKHwacP"


def _ref_rotl(v: int, n: int) -> int:
    return ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF


def _ref_quarter(x: list[int], a: int, b: int, c: int, d: int) -> None:
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF
    x[d] = _ref_rotl(x[d] ^ x[a], 16)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF
    x[b] = _ref_rotl(x[b] ^ x[c], 12)
    x[a] = (x[a] + x[b]) & 0xFFFFFFFF
    x[d] = _ref_rotl(x[d] ^ x[a], 8)
    x[c] = (x[c] + x[d]) & 0xFFFFFFFF
    x[b] = _ref_rotl(x[b] ^ x[c], 7)


def _ref_block(state: list[int], rounds: int) -> bytes:
    x = list(state)
    for r in range(rounds):
        if r % 2 == 0:
            quartets = [(0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15)]
        else:
            quartets = [(0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 12, 13), (3, 4, 13, 14)]
        for q in quartets:
            _ref_quarter(x, *q)
    return b"".join(((x[i] + state[i]) & 0xFFFFFFFF).to_bytes(4, "little") for i in range(16))


def _ref_keystream(key: bytes, n: int) -> bytes:
    w = [int.from_bytes(key[4 * i : 4 * i + 4], "little") for i in range(12)]
    rounds = 5 + sum(v & 15 for v in w) % 16
    out = b""
    k = 0
    while len(out) < n:
        state = [0x475602B6, 0x23D22697, 0xE6460233, 0x56870716, *w]
        state[12] = (w[8] + k) & 0xFFFFFFFF
        out += _ref_block(state, rounds)
        k += 1
    return out[:n]


def _ref_seal(payload: bytes, key: bytes, magic: int = 0x4B) -> str:
    c = bytes(p ^ s for p, s in zip(payload, _ref_keystream(key, len(payload)), strict=True))
    p = (sum(key) + sum(c)) % (len(c) + 1)
    raw = bytes([magic]) + c[:p] + key + c[p:]
    return base64.b64encode(raw).decode().translate(str.maketrans(_STD, _ALT))


def _key_with_rounds(rounds: int, fill: int = 0) -> bytes:
    key = bytearray([fill] * 48)
    for i in range(0, 48, 4):
        key[i] &= 0xF0
    key[0] |= (rounds - 5) % 16
    return bytes(key)


# --------------------------------------------------------------------------------------------------
# Vectors


@pytest.mark.parametrize(("token", "plaintext", "key", "rounds", "splice"), ENVELOPE_CASES)
def test_vector_seals_byte_for_byte(token: str, plaintext: bytes, key: bytes, rounds: int, splice: int) -> None:
    assert gnarly.seal(plaintext, key) == token
    assert _ref_seal(plaintext, key) == token  # the reference itself is right


@pytest.mark.parametrize(("token", "plaintext", "key", "rounds", "splice"), ENVELOPE_CASES)
def test_vector_unseals(token: str, plaintext: bytes, key: bytes, rounds: int, splice: int) -> None:
    u = gnarly.unseal(token)
    assert u.payload == plaintext
    assert u.key == key
    assert u.rounds == rounds == gnarly.rounds_for(key)
    assert u.splice == splice
    assert u.magic == 0x4B
    assert token.startswith("M")


def test_vectors_cover_the_edge_cases_section_4_claims() -> None:
    cases = [(p.values[3], p.values[4], len(p.values[1])) for p in ENVELOPE_CASES]
    rounds = {r for r, _, _ in cases}
    assert {5, 20} <= rounds
    assert any(s == 0 for _, s, _ in cases)  # key right after the magic byte
    assert any(s == n for _, s, n in cases)  # key after all ciphertext
    paddings = {p.values[0].count("=") for p in ENVELOPE_CASES}
    assert paddings == {0, 1, 2}


# --------------------------------------------------------------------------------------------------
# The keystream against the reference


def test_constants_and_alphabet_are_the_spec_ones() -> None:
    assert gnarly.CONSTANTS == (1196819126, 600974999, 3863347763, 1451689750)
    assert gnarly.ALPHABET == _ALT
    assert sorted(gnarly.ALPHABET) == sorted(_STD.replace("+", "-"))


@pytest.mark.parametrize("rounds", range(5, 21))
def test_every_round_count_matches_the_reference(rounds: int) -> None:
    key = _key_with_rounds(rounds, fill=0xA7)
    assert gnarly.rounds_for(key) == rounds
    for n in (1, 63, 64, 65, 193, 309, 1024, 1025, 2000):  # 1024 bytes = one full lane batch
        assert gnarly.keystream(key, n) == _ref_keystream(key, n), n


def test_keystream_block_is_the_reference_block() -> None:
    key = bytes(range(48))
    w = list(gnarly.key_words(key))
    for rounds in (5, 12, 20):
        state = [*gnarly.CONSTANTS, *w]
        assert gnarly.keystream_block(state, rounds) == _ref_block(state, rounds)


def test_diagonal_round_is_not_rfc8439() -> None:
    """With the textbook diagonal (2,7,8,13)(3,4,9,14) the block differs: the quirk is load-bearing."""
    state = [*gnarly.CONSTANTS, *range(1, 13)]
    x = list(state)
    _ref_quarter(x, 0, 4, 8, 12)
    _ref_quarter(x, 1, 5, 9, 13)
    _ref_quarter(x, 2, 6, 10, 14)
    _ref_quarter(x, 3, 7, 11, 15)
    for q in ((0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
        _ref_quarter(x, *q)
    textbook = b"".join(((x[i] + state[i]) & 0xFFFFFFFF).to_bytes(4, "little") for i in range(16))
    assert gnarly.keystream_block(state, 2) != textbook
    assert gnarly.keystream_block(state, 2) == _ref_block(state, 2)


def test_block_counter_wraps_mod_2_32() -> None:
    key = bytearray(_key_with_rounds(9))
    key[32:36] = b"\xff\xff\xff\xff"  # w8 = 0xFFFFFFFF: block 1 runs with counter 0
    key = bytes(key)
    assert gnarly.keystream(key, 200) == _ref_keystream(key, 200)


def test_rounds_formula() -> None:
    assert gnarly.rounds_for(bytes(48)) == 5
    assert gnarly.rounds_for(b"\x0f" + bytes(47)) == 20
    assert gnarly.rounds_for(b"\x10" + bytes(47)) == 5  # only the low nibble of each word counts
    assert gnarly.rounds_for(bytes([1, 0, 0, 0] * 12)) == 5 + 12 % 16


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=48, max_size=48), n=st.integers(0, 1500))
def test_keystream_matches_reference_for_random_keys(key: bytes, n: int) -> None:
    assert gnarly.keystream(key, n) == _ref_keystream(key, n)


# --------------------------------------------------------------------------------------------------
# Round trips and shape


@settings(max_examples=150, deadline=None)
@given(payload=st.binary(max_size=2500), key=st.binary(min_size=48, max_size=48), magic=st.integers(0, 255))
def test_seal_unseal_round_trip(payload: bytes, key: bytes, magic: int) -> None:
    token = gnarly.seal(payload, key, magic)
    assert token == _ref_seal(payload, key, magic)
    assert len(token) == 4 * -(-(1 + 48 + len(payload)) // 3)
    assert set(token) <= set(gnarly.ALPHABET + "=")
    u = gnarly.unseal(token, magic=magic)
    assert (u.payload, u.key, u.magic) == (payload, key, magic)
    assert u.splice == gnarly.splice_position(key, gnarly.crypt(payload, key))
    assert gnarly.unseal(token, magic=None).payload == payload


def test_crypt_is_an_involution() -> None:
    key = bytes(range(100, 148))
    data = bytes(range(256)) * 3
    assert gnarly.crypt(gnarly.crypt(data, key), key) == data
    assert gnarly.crypt(b"", key) == b""


def test_empty_payload_seals_to_the_key_alone() -> None:
    key = bytes(range(48))
    u = gnarly.unseal(gnarly.seal(b"", key))
    assert (u.payload, u.key, u.splice) == (b"", key, 0)


def test_key_words_round_trip() -> None:
    words = [0, 1, 0xFFFFFFFF, *range(1000, 1009)]
    assert list(gnarly.key_words(gnarly.key_from_words(words))) == words
    with pytest.raises(ValueError):
        gnarly.key_from_words(words[:11])
    with pytest.raises(ValueError):
        gnarly.key_from_words([1 << 32, *words[1:]])


@pytest.mark.parametrize(("key", "magic"), [(bytes(47), 0x4B), (bytes(49), 0x4B), (bytes(48), 256), (bytes(48), -1)])
def test_seal_rejects_bad_arguments(key: bytes, magic: int) -> None:
    with pytest.raises(ValueError):
        gnarly.seal(b"x", key, magic)


# --------------------------------------------------------------------------------------------------
# Corrupted tokens: EnvelopeError and nothing else

GOOD = ENVELOPE_CASES[0].values[0]


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "short"),
        ("M", "length"),
        ("MMM", "length"),
        (GOOD[:-1], "length"),
        (GOOD[:101], "length"),
        (GOOD[:64], "short"),  # valid base64, 48 raw bytes: below the 49-byte minimum
        (GOOD.replace("u", "+", 1), "alphabet"),  # '+' is standard base64 but not in the token alphabet
        (GOOD.replace("u", "_", 1), "alphabet"),
        (GOOD[:10] + " " + GOOD[11:], "alphabet"),
        (GOOD[:10] + "\n" + GOOD[11:], "alphabet"),
        (GOOD[:10] + "é" + GOOD[11:], "ASCII"),
        (GOOD[:10] + "=" + GOOD[11:], "padding"),
        (GOOD[:-4] + "====", "padding"),
        ("N" + GOOD[1:], "leading byte"),
        (GOOD.replace("=", "") + "A===", "length"),
    ],
    ids=lambda v: v if len(v) < 20 else None,
)
def test_malformed_tokens_raise_envelope_error(token: str, why: str) -> None:
    with pytest.raises(EnvelopeError):
        gnarly.unseal(token)


def test_non_canonical_base64_is_rejected() -> None:
    """Spare bits in the last character before '=' must be zero, else two texts would decode alike."""
    token = next(p.values[0] for p in ENVELOPE_CASES if p.values[0].endswith("=="))
    last = token[-3]
    idx = gnarly.ALPHABET.index(last)
    assert idx & 0x0F == 0
    bumped = token[:-3] + gnarly.ALPHABET[idx | 1] + "=="
    with pytest.raises(EnvelopeError, match="non-canonical"):
        gnarly.unseal(bumped)


def test_wrong_magic_byte() -> None:
    token = gnarly.seal(b"payload", bytes(range(48)), magic=0x4C)
    with pytest.raises(EnvelopeError, match="leading byte"):
        gnarly.unseal(token)
    assert gnarly.unseal(token, magic=0x4C).payload == b"payload"


@pytest.mark.parametrize("value", [None, 42, b"Mxxx", ["M"]])
def test_non_string_token(value: Any) -> None:
    with pytest.raises(EnvelopeError):
        gnarly.unseal(value)


def test_error_family() -> None:
    assert issubclass(EnvelopeError, TokenError)
    assert issubclass(EnvelopeError, ValueError)
    assert issubclass(PayloadError, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600) | st.text(alphabet=gnarly.ALPHABET + "=", min_size=60, max_size=600))
def test_random_strings_raise_only_envelope_error(token: str) -> None:
    try:
        gnarly.unseal(token)
    except EnvelopeError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=gnarly.ALPHABET, min_size=16, max_size=150).map(lambda s: "M" + s[: len(s) - len(s) % 4 - 1]))
def test_random_alphabet_strings_decode_or_raise_token_errors_only(token: str) -> None:
    """Valid-looking base64 starting with 'M': whatever comes out, only EnvelopeError/PayloadError escape."""
    for decoder in (detect.describe, gnarly532.decode, gnarly513.decode, dynosaur532.decode):
        try:
            decoder(token)
        except (EnvelopeError, PayloadError):
            pass


# --------------------------------------------------------------------------------------------------
# Detection (payloads/detect.py)


def test_describe_tells_the_three_kinds_apart() -> None:
    seen = set()
    for p in ENVELOPE_CASES:
        token = p.values[0]
        d = detect.describe(token)
        kind = p.id.split("/")[0]
        want = {
            "xgnarly": ("x-gnarly", "5.1.3-ZTCA", "x-gnarly-5.1.3"),
            "gnarly532": ("x-gnarly", "5.3.2", "x-gnarly-5.3.2"),
            "dynosaur": ("x-dynosaur", "5.3.2", "x-dynosaur-5.3.2"),
        }[kind]
        assert (d["type"], d["payload_version"], d["layout"]) == want, p.id
        assert d["envelope"]["rounds"] == p.values[3]
        assert d["envelope"]["splice"] == p.values[4]
        assert d["envelope"]["magic"] == 0x4B
        json.dumps(d)  # JSON-friendly all the way down
        seen.add(kind)
    assert seen == {"xgnarly", "gnarly532", "dynosaur"}


def _tlv(count: int, records: list[tuple[int, bytes]]) -> bytes:
    return bytes([count]) + b"".join(bytes([k, len(v) >> 8, len(v) & 0xFF]) + v for k, v in records)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "empty"),
        (b"\x07garbage", "unknown payload layout"),
        (_tlv(17, [(k, b"\x00\x01") for k in range(17)]), "17 records"),  # SDK 1.0.0.417's 17-field layout
        (_tlv(10, [(k, b"\x00\x01") for k in range(10)]), "10 records"),  # 5.1.0
        (b"\x20\x00\x06" + dynosaur532.scramble("17", "B"), "before record 0x21"),  # Dynosaur cut short
        (b"\x20\x00\x06" + bytes(6), "record 0x20"),
    ],
)
def test_describe_rejects_unknown_layouts(payload: bytes, match: str) -> None:
    token = gnarly.seal(payload, bytes(range(48)))
    with pytest.raises(PayloadError, match=match):
        detect.describe(token)


def test_describe_propagates_envelope_errors() -> None:
    with pytest.raises(EnvelopeError):
        detect.describe("not a token")
