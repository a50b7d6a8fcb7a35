"""X-Dynosaur 5.3.2 (webmssdk 2.0.0.561): protocol/gnarly-532.md sections 2, 3 and 5.

Vectors: tests/vectors/dynosaur.json (3 genuine-SDK tokens, 1 real-Chrome capture given pre-hashed,
2 port goldens, 4 port-generated).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsign.algorithms import gnarly
from ttsign.algorithms.errors import EnvelopeError, PayloadError
from ttsign.algorithms.payloads import detect, dynosaur532, gnarly532
from ttsign.vectors import check_vector

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "dynosaur.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"]
IDS = [v["id"] for v in VECTORS]
BY_ID = {v["id"]: v for v in VECTORS}
MAC_CHROME_139 = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36"
)
ENV_FIELDS = ("page", "canvas_hash", "webgl_hash", "component_version", "device_hash")


def _encode_inputs(i: dict[str, Any]) -> str:
    kw: dict[str, Any] = {k: i[k] for k in ("timestamp", "nonce", "counter_25", "counter_2f", "env_code", "ub_code")}
    kw.update({k: i[k] for k in (*ENV_FIELDS, "vm_state_hash", "sdk_version", "scm_version")})
    key = gnarly.key_from_words(i["key_words"])
    if "query_hash" in i:  # the browser capture: its query and UA are not public
        return dynosaur532.encode(
            "", "", query_hash=i["query_hash"], ua_hash=i["ua_hash"], body_hash=i["body_hash"], key=key, **kw
        )
    return dynosaur532.encode(i["business_query"], i["user_agent"], body=i["body_hash_input"], key=key, **kw)


def _hashes(i: dict[str, Any]) -> tuple[int, int, int]:
    if "query_hash" in i:
        return i["query_hash"], i["ua_hash"], i["body_hash"]
    return (
        dynosaur532.hash_state(i["business_query"]),
        dynosaur532.hash_state(i["user_agent"]),
        dynosaur532.hash_state(i["body_hash_input"]),
    )


# --------------------------------------------------------------------------------------------------
# Vectors


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_encodes_byte_for_byte(vector: dict[str, Any]) -> None:
    assert _encode_inputs(vector["inputs"]) == vector["expected"]["x_dynosaur"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_decodes_to_its_inputs(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    f = dynosaur532.decode(vector["expected"]["x_dynosaur"])
    for name in ("timestamp", "nonce", "counter_25", "counter_2f", "env_code", "ub_code", *ENV_FIELDS, "vm_state_hash"):
        assert getattr(f, name) == i[name], name
    assert (f.query_hash, f.ua_hash, f.body_hash) == _hashes(i)
    assert (f.sdk_version, f.scm_version) == ("5.3.2", "2.0.0.561")
    assert (f.flag_1a, f.flag_1b, f.const_0_23, f.const_0_29, f.const_0_2d, f.const_0_37) == (
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
    )
    assert f.mix == (i["env_code"] << 16) | gnarly532.fold(i["timestamp"], i["nonce"])
    assert dynosaur532.pack_fields(f).hex() == vector["derived"]["plaintext_hex"]
    for key, rec in vector["derived"]["fields"].items():  # the informational per-field texts agree too
        value = f.by_key()[int(key, 16)]
        assert (rec["u32"] if "u32" in rec else rec["text"]) == (value if "u32" in rec else str(value))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_verifies(vector: dict[str, Any]) -> None:
    q, u, b = _hashes(vector["inputs"])
    f = dynosaur532.decode(vector["expected"]["x_dynosaur"])
    assert dynosaur532.verify(f, query_hash=q, ua_hash=u, body_hash=b) == {}


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_checker_passes(vector: dict[str, Any]) -> None:
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


@pytest.mark.parametrize(
    ("vid", "name", "change"),
    [
        ("gen-07", "x_dynosaur", "flip"),
        ("gen-07", "nonce", 1),
        ("gen-07", "counter_2f", 1),
        ("gen-07", "business_query", "&"),
        ("gen-07", "page", "x"),
        ("browser-capture", "query_hash", 1),
        ("browser-capture", "device_hash", "0"),
        ("f2-escaped", "query_pairs", "pairs"),
    ],
)
def test_vector_checker_catches_a_corrupted_vector(vid: str, name: str, change: Any) -> None:
    v = copy.deepcopy(BY_ID[vid])
    if change == "flip":
        tok = v["expected"][name]
        v["expected"][name] = tok[:60] + ("A" if tok[60] != "A" else "B") + tok[61:]
    elif change == "pairs":
        v["inputs"][name][0][1] += "!"
    else:
        v["inputs"][name] += change
    outcome = check_vector(v)
    assert outcome.status == "failed" and outcome.detail


def test_browser_capture_checksum_is_118() -> None:
    """Section 2.4: the capture's checksum recomputes exactly."""
    f = dynosaur532.decode(BY_ID["browser-capture"]["expected"]["x_dynosaur"])
    assert f.checksum == 118
    values = [
        bytes.fromhex(BY_ID["browser-capture"]["derived"]["fields"][f"0x{k:02x}"]["hex"]) for k in dynosaur532.KEYS
    ]
    assert dynosaur532.checksum(values) == 118
    assert f.counter_25 == 16 and f.counter_2f == 146
    assert dynosaur532.bot_tells(f) == []


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_ascending_keys_and_token_shape(vector: dict[str, Any]) -> None:
    payload = gnarly.unseal(vector["expected"]["x_dynosaur"]).payload
    keys, pos = [], 0
    while pos < len(payload):
        keys.append(payload[pos])
        pos += 3 + ((payload[pos + 1] << 8) | payload[pos + 2])
    assert keys == list(range(0x20, 0x39))
    assert 243 <= len(payload) <= 309


# --------------------------------------------------------------------------------------------------
# Scrambler (2.2) and hash (2.3)


def _ref_scramble(text: str, variant: str) -> bytes:
    x, add, pre, rot, padd = {"A": (103, 1, None, 2, 1), "B": (102, 0, 165, 1, 0)}[variant]
    n = len(text)
    size = max(n + 2, 6)
    out = []
    for i in range(n):
        v = ord(text[i]) ^ (x + i)
        v = (v + add + (i & 170)) % 256
        if pre is not None:
            v ^= pre
        v = ((v << rot) | (v >> (8 - rot))) & 0xFF
        out.append(((v ^ 187) + padd) % 256)
    out += [(221 + i) % 256 for i in range(n, size - 2)]
    return bytes([*out, 0, n])


@pytest.mark.parametrize(
    ("text", "variant", "hexed"),
    [
        ("17", "B", "5e50dfe00002"),
        ("118", "B", "5e5c54e00003"),
        ("1", "B", "5ededfe00001"),
        ("0", "A", "dbdedfe00001"),
        ("5.3.2", "A", "f7a7cfa7d30005"),
        ("-1", "A", "97d3dfe00002"),
        ("2.0.0.561", "A", "e3a7cba7cbb7d7d7270009"),
        ("www.tiktok.com/@chainzone_led", "A", "003c40a73ca4a0d0a02c13cc30342fbff000d8e4e4a8f0f83819597179001d"),
    ],
)
def test_scrambler_known_values(text: str, variant: str, hexed: str) -> None:
    assert dynosaur532.scramble(text, variant).hex() == hexed  # type: ignore[arg-type]
    assert dynosaur532.unscramble(bytes.fromhex(hexed), variant) == text  # type: ignore[arg-type]


def test_one_character_texts_have_0xde_at_byte_1() -> None:
    for c in "0123456789-abc":
        out = dynosaur532.scramble(c, "A")
        assert len(out) == 6 and out[1] == 0xDE and out[4:] == b"\x00\x01"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=255), max_size=253), variant=st.sampled_from(["A", "B"]))
def test_scrambler_matches_reference_and_inverts(text: str, variant: str) -> None:
    out = dynosaur532.scramble(text, variant)  # type: ignore[arg-type]
    assert out == _ref_scramble(text, variant)
    assert len(out) == max(len(text) + 2, 6) and out[-2] == 0 and out[-1] == len(text)
    assert dynosaur532.unscramble(out, variant) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (b"\x00\x00\x00\x00\x00", "at least 6"),
        (bytes.fromhex("dbdedfe00005"), "says its text"),
        (bytes.fromhex("dbdedfe00101"), "not 0"),
        (bytes.fromhex("dbdedf000001"), "padding"),
        (bytes.fromhex("dbdedfe0000001"), "says its text"),
    ],
)
def test_malformed_scrambled_values(value: bytes, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        dynosaur532.unscramble(value, "A")


@pytest.mark.parametrize("text", ["\u0100", "x" * 254])
def test_scrambler_limits(text: str) -> None:
    with pytest.raises(ValueError):
        dynosaur532.scramble(text, "A")


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ("", 0x811C9DC4),
        ("aid=1988&count=10", 0x52B0CB44),
        (MAC_CHROME_139, 0x8F015CA0),
        ("aid=6383", 1835302635),
    ],
)
def test_hash_state_pinned_values(data: str, value: int) -> None:
    assert dynosaur532.hash_state(data) == value
    assert dynosaur532.hash_state(data.encode()) == value


def _ref_hash(data: bytes) -> int:
    h = 2166136260
    for b in data:
        s = ((h ^ b) * 16777619) % 2**32
        h = (s + ((s * 32) % 2**32)) % 2**32  # the ports' spelling of s * 33
    return h


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_hash_state_matches_reference(data: bytes) -> None:
    assert dynosaur532.hash_state(data) == _ref_hash(data)


# --------------------------------------------------------------------------------------------------
# Round trips

_big_text = st.builds(lambda s: (s * (8192 // len(s) + 1))[:8192], st.text(min_size=1, max_size=16))
_texts = st.text(max_size=300) | st.just("") | _big_text
_ascii = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=60)
_u32 = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=150, deadline=None)
@given(
    query=_texts,
    ua=_texts,
    body=st.binary(max_size=100) | st.just(b""),
    ts=_u32,
    nonce=_u32,
    c25=_u32,
    c2f=_u32,
    env=st.integers(0, 0xFFFF),
    ub=st.integers(0, 0xFFFF),
    page=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=253),
    canvas=_ascii,
    webgl=_ascii,
    component=_ascii,
    device=_ascii,
    key=st.binary(min_size=48, max_size=48),
)
def test_decode_encode_round_trip(
    query: str,
    ua: str,
    body: bytes,
    ts: int,
    nonce: int,
    c25: int,
    c2f: int,
    env: int,
    ub: int,
    page: str,
    canvas: str,
    webgl: str,
    component: str,
    device: str,
    key: bytes,
) -> None:
    kw: dict[str, Any] = {
        "timestamp": ts,
        "nonce": nonce,
        "counter_25": c25,
        "counter_2f": c2f,
        "env_code": env,
        "ub_code": ub,
        "page": page,
        "canvas_hash": canvas,
        "webgl_hash": webgl,
        "component_version": component,
        "device_hash": device,
        "body": body,
    }
    token = dynosaur532.encode(query, ua, key=key, **kw)
    f = dynosaur532.decode(token)
    assert (f.timestamp, f.nonce, f.counter_25, f.counter_2f, f.env_code, f.ub_code) == (ts, nonce, c25, c2f, env, ub)
    assert (f.page, f.canvas_hash, f.webgl_hash, f.component_version, f.device_hash) == (
        page,
        canvas,
        webgl,
        component,
        device,
    )
    assert f.query_hash == dynosaur532.hash_state(query) and f.ua_hash == dynosaur532.hash_state(ua)
    assert f.body_hash == dynosaur532.hash_state(body)
    body_hash = dynosaur532.hash_state(body)
    assert dynosaur532.verify(f, business_query=query, user_agent=ua, body_hash=body_hash) == {}
    assert dynosaur532.compute_fields(query, ua, **kw) == f
    assert gnarly.seal(dynosaur532.pack_fields(f), key) == token
    d = detect.describe(token)
    assert d["type"] == "x-dynosaur" and d["fields"] == f.to_dict()


def test_pre_hashed_inputs_replace_hashing() -> None:
    kw: dict[str, Any] = {"timestamp": 1, "nonce": 2, "counter_25": 3, "counter_2f": 4, "key": bytes(48)}
    plain = dynosaur532.encode("aid=1", "UA", body=b"{}", **kw)
    hashed = dynosaur532.encode(
        "ignored",
        "ignored",
        query_hash=dynosaur532.hash_state("aid=1"),
        ua_hash=dynosaur532.hash_state("UA"),
        body_hash=dynosaur532.hash_state(b"{}"),
        **kw,
    )
    assert plain == hashed


def test_body_defaults_to_the_empty_hash_like_the_ports() -> None:
    f = dynosaur532.compute_fields("q", "u", timestamp=1, nonce=2, counter_25=1, counter_2f=1)
    assert f.body_hash == dynosaur532.EMPTY_HASH == 0x811C9DC4


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page", "www.tiktok.com/é"),
        ("page", "x" * 254),
        ("device_hash", "\x80"),
        ("timestamp", -1),
        ("nonce", 1 << 32),
        ("counter_25", -1),
        ("env_code", 1 << 16),
        ("ub_code", True),
        ("query_hash", 1 << 32),
        ("vm_state_hash", -1),
    ],
)
def test_encoder_rejects_bad_inputs(name: str, value: Any) -> None:
    kw: dict[str, Any] = {"timestamp": 1, "nonce": 2, "counter_25": 3, "counter_2f": 4, "key": bytes(48)}
    kw[name] = value
    with pytest.raises(ValueError, match=name):
        dynosaur532.encode("q", "u", **kw)


def test_int_identity_values_are_accepted_as_text() -> None:
    kw: dict[str, Any] = {"timestamp": 1, "nonce": 2, "counter_25": 3, "counter_2f": 4, "key": bytes(48)}
    assert dynosaur532.encode("q", "u", canvas_hash=1135188161, **kw) == dynosaur532.encode(
        "q", "u", canvas_hash="1135188161", **kw
    )


def test_to_dict_is_json_friendly() -> None:
    f = dynosaur532.decode(BY_ID["browser-capture"]["expected"]["x_dynosaur"])
    d = json.loads(json.dumps(f.to_dict()))
    assert d["page"] == "www.tiktok.com/@chainzone_led"
    assert d["timestamp"] == 1788862017 and d["timestamp_iso"] == "2026-09-08T10:06:57Z"
    assert d["query_hash"] == 0xF9287303 and d["checksum"] == 118


# --------------------------------------------------------------------------------------------------
# Parser: malformed payloads raise PayloadError


def _good_values() -> list[bytes]:
    payload = dynosaur532.build_payload("q", "u", timestamp=1, nonce=2, counter_25=3, counter_2f=4)
    out, pos = [], 0
    while pos < len(payload):
        n = (payload[pos + 1] << 8) | payload[pos + 2]
        out.append(payload[pos + 3 : pos + 3 + n])
        pos += 3 + n
    return out


def _assemble(values: list[bytes], keys: list[int] | None = None) -> bytes:
    keys = list(dynosaur532.KEYS) if keys is None else keys
    return b"".join(bytes([k, len(v) >> 8, len(v) & 0xFF]) + v for k, v in zip(keys, values, strict=True))


def _with(key: int, value: bytes) -> bytes:
    values = _good_values()
    values[key - 0x20] = value
    return _assemble(values)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "ends before record 0x20"),
        (_assemble(_good_values())[:-1], "claims"),
        (_assemble(_good_values()[:-1], list(dynosaur532.KEYS[:-1])), "before record 0x38"),
        (_assemble(_good_values()) + b"\x00", "trailing"),
        (_assemble(_good_values(), [0x20, 0x22, 0x21, *range(0x23, 0x39)]), "key 0x22, expected 0x21"),
        (_with(0x2E, b"\x00\x00\x01"), "4-byte hash"),
        (_with(0x38, b"\x00" * 5), "4-byte hash"),
        (_with(0x27, dynosaur532.scramble("01788856077")), "decimal"),
        (_with(0x25, dynosaur532.scramble("1x")), "decimal"),
        (_with(0x34, dynosaur532.scramble("-0")), "decimal"),
        (_with(0x20, dynosaur532.scramble("17", "A")), "0x20"),  # variant A where B belongs
        (_with(0x35, b"\x01\x02\x03"), "record 0x35"),
    ],
)
def test_malformed_payloads_raise_payload_error(payload: bytes, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        dynosaur532.parse_payload(payload)


def test_negative_decimals_parse() -> None:
    """JS ``|`` yields signed int32; a negative numeric text is well-formed (the verifier judges it)."""
    f = dynosaur532.parse_payload(_with(0x34, dynosaur532.scramble("-5")))
    assert f.nonce == -5
    assert "0x24" in dynosaur532.verify(f)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.binary(max_size=300).map(lambda b: b"\x20\x00\x06" + b))
def test_random_payloads_raise_only_payload_error(data: bytes) -> None:
    try:
        dynosaur532.parse_payload(data)
    except PayloadError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_payload_bytes_never_escape_as_other_errors(data: st.DataObject) -> None:
    payload = bytearray(_assemble(_good_values()))
    for _ in range(data.draw(st.integers(1, 4))):
        payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    try:
        f = dynosaur532.parse_payload(bytes(payload))
    except PayloadError:
        return
    dynosaur532.verify(f, business_query="q", user_agent="u")  # must not raise either
    dynosaur532.bot_tells(f)


# --------------------------------------------------------------------------------------------------
# Verifier (3.2) and fault injection (section 5)


def _base() -> tuple[dynosaur532.Fields, dict[str, Any]]:
    i = BY_ID["gen-07"]["inputs"]
    return dynosaur532.decode(BY_ID["gen-07"]["expected"]["x_dynosaur"]), {
        "business_query": i["business_query"],
        "user_agent": i["user_agent"],
    }


def _changed(f: dynosaur532.Fields, **changes: Any) -> dynosaur532.Fields:
    return dynosaur532.Fields(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, **changes})


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        # The checksum folds byte 1 of each value only (2.4): for a one-character text that is the pad
        # byte 0xDE, for "5.3.x" and "2.0.0.x" it is the ".", so those changes leave 0x20 intact.
        ({"flag_1a": "0"}, {"0x21"}),
        ({"const_0_29": "1"}, {"0x29"}),
        ({"sdk_version": "5.3.3"}, {"0x2A"}),
        ({"scm_version": "2.0.0.562"}, {"0x31"}),
        ({"scm_version": "20.0.561"}, {"0x31", "0x20"}),
        ({"vm_state_hash": 0}, {"0x38", "0x20"}),
        ({"mix": 1}, {"0x24", "0x20"}),
        ({"nonce": 7}, {"0x24", "0x20"}),
        ({"body_hash": 0}, {"0x2B", "0x20"}),
        ({"body_hash": 0x811C9D3B}, {"0x2B"}),  # byte 1 (0x1C) kept
        ({"checksum": 3}, {"0x20"}),
        ({"counter_2f": 99}, {"0x20"}),  # counters are free (3.2): only the checksum notices
    ],
)
def test_each_check_fires_on_its_field(changes: dict[str, Any], failing: set[str]) -> None:
    f, kw = _base()
    assert set(dynosaur532.verify(_changed(f, **changes), **kw)) == failing


def test_fault_query_altered_only_0x2e() -> None:
    f, kw = _base()
    assert set(dynosaur532.verify(f, **{**kw, "business_query": kw["business_query"] + "x"})) == {"0x2E"}


def test_fault_user_agent_altered_only_0x30() -> None:
    f, kw = _base()
    assert set(dynosaur532.verify(f, **{**kw, "user_agent": kw["user_agent"] + " "})) == {"0x30"}


def test_freshness_and_cross_checks_with_the_gnarly() -> None:
    f, kw = _base()
    assert dynosaur532.verify(f, now=f.timestamp + 100, **kw) == {}
    assert set(dynosaur532.verify(f, now=f.timestamp + 1000, **kw)) == {"0x27"}
    g = gnarly532.compute_fields(
        "s", b"", "u", timestamp=f.timestamp + 1, nonce=1, nonce2=2, sequence=9, env_code=f.env_code, ub_code=f.ub_code
    )
    assert dynosaur532.verify(f, gnarly=g, **kw) == {}  # counters and nonces may differ (3.2)
    other = gnarly532.compute_fields(
        "s", b"", "u", timestamp=f.timestamp + 10, nonce=1, nonce2=2, sequence=1, env_code=129, ub_code=14
    )
    assert set(dynosaur532.verify(f, gnarly=other, **kw)) == {"0x26=G1", "0x36=G2", "0x27~G6"}


def test_bot_tells() -> None:
    f, _ = _base()
    tells = dynosaur532.bot_tells(f)
    assert len(tells) == 4 and any("0x2C" in t for t in tells)
    assert any("0x35" in t for t in dynosaur532.bot_tells(_changed(f, page="example.com/")))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_fault_every_flipped_character_is_caught(vector: dict[str, Any]) -> None:
    """Section 5: one token character flipped -> a parse or a check failure, at every position."""
    q, u, b = _hashes(vector["inputs"])
    token = vector["expected"]["x_dynosaur"]
    alphabet = gnarly.ALPHABET
    rng = random.Random(vector["id"])
    for pos in range(len(token.rstrip("="))):
        bad = token[:pos] + alphabet[(alphabet.index(token[pos]) + rng.randrange(1, 64)) % 64] + token[pos + 1 :]
        try:
            f = dynosaur532.decode(bad)
        except (EnvelopeError, PayloadError):
            continue
        assert dynosaur532.verify(f, query_hash=q, ua_hash=u, body_hash=b), f"flip at {pos} went unnoticed"


@pytest.mark.parametrize("cut", [1, 4, 8, 200])
def test_truncated_tokens_raise(cut: int) -> None:
    with pytest.raises((EnvelopeError, PayloadError)):
        dynosaur532.decode(BY_ID["sdk-0"]["expected"]["x_dynosaur"][:-cut])


def test_gnarly_tokens_are_not_dynosaur() -> None:
    g = json.loads((VECTOR_FILE.parent / "gnarly532.json").read_text(encoding="utf-8"))["vectors"][0]["expected"][
        "x_gnarly"
    ]
    with pytest.raises(PayloadError, match="key 0x10, expected 0x20"):
        dynosaur532.decode(g)
