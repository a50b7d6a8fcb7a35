"""X-Gnarly 5.3.2 (webmssdk 2.0.0.561): protocol/gnarly-532.md sections 0, 1, 3 and 5.

Vectors: tests/vectors/gnarly532.json (3 genuine-SDK tokens, 2 port goldens, 4 port-generated).
"""

from __future__ import annotations

import copy
import hashlib
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

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "gnarly532.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"]
IDS = [v["id"] for v in VECTORS]
BY_ID = {v["id"]: v for v in VECTORS}


def _encode_inputs(i: dict[str, Any]) -> str:
    return gnarly532.encode(
        i["sealed_query"],
        bytes.fromhex(i["body_hex"]),
        i["user_agent"],
        timestamp=i["timestamp"],
        nonce=i["nonce"],
        nonce2=i["nonce2"],
        sequence=i["sequence"],
        env_code=i["env_code"],
        ub_code=i["ub_code"],
        key=gnarly.key_from_words(i["key_words"]),
        record_order=i["record_order"],
        sdk_version=i["sdk_version"],
        scm_version=i["scm_version"],
    )


# --------------------------------------------------------------------------------------------------
# Vectors


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_encodes_byte_for_byte(vector: dict[str, Any]) -> None:
    assert _encode_inputs(vector["inputs"]) == vector["expected"]["x_gnarly"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_decodes_to_its_inputs(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    f = gnarly532.decode(vector["expected"]["x_gnarly"])
    assert f.env_code == i["env_code"] and f.ub_code == i["ub_code"]
    assert f.sealed_query_md5 == hashlib.md5(i["sealed_query"].encode()).hexdigest()
    assert f.body_md5 == hashlib.md5(bytes.fromhex(i["body_hex"])).hexdigest()
    assert f.user_agent_md5 == hashlib.md5(i["user_agent"].encode()).hexdigest()
    assert (f.timestamp, f.nonce, f.nonce2) == (i["timestamp"], i["nonce"], i["nonce2"])
    assert f.sequence == f.sequence_13 == i["sequence"]
    assert (f.sdk_version, f.scm_version, f.constant_11) == ("5.3.2", "2.0.0.561", 1)
    assert f.mix == (i["env_code"] << 16) | gnarly532.fold(i["timestamp"], i["nonce"])
    assert list(f.record_order) == i["record_order"]
    assert dict(f.widths) == gnarly532.DEFAULT_WIDTHS
    assert gnarly532.pack_fields(f).hex() == vector["derived"]["plaintext_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_verifies(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    f = gnarly532.decode(vector["expected"]["x_gnarly"])
    assert (
        gnarly532.verify(
            f, sealed_query=i["sealed_query"], body=bytes.fromhex(i["body_hex"]), user_agent=i["user_agent"]
        )
        == {}
    )


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_checker_passes(vector: dict[str, Any]) -> None:
    assert check_vector(vector).status == "passed", check_vector(vector).detail


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("expected", "x_gnarly"), None),  # one character flipped
        (("inputs", "timestamp"), 1),
        (("inputs", "nonce2"), 1),
        (("inputs", "sequence"), 1),
        (("inputs", "record_order"), "swap"),
        (("inputs", "sealed_query"), "x"),
        (("inputs", "user_agent"), " "),
    ],
)
def test_vector_checker_catches_a_corrupted_vector(path: tuple[str, str], value: Any) -> None:
    v = copy.deepcopy(BY_ID["gen-07"])
    box, name = v[path[0]], path[1]
    if value is None:
        tok = box[name]
        box[name] = tok[:50] + ("A" if tok[50] != "A" else "B") + tok[51:]
    elif value == "swap":
        box[name][0], box[name][1] = box[name][1], box[name][0]
    elif isinstance(value, str):
        box[name] += value
    else:
        box[name] += value
    outcome = check_vector(v)
    assert outcome.status == "failed"
    assert outcome.detail


def test_vector_checker_checks_query_pairs() -> None:
    v = copy.deepcopy(BY_ID["f2-escaped"])
    v["inputs"]["query_pairs"][0][1] += "'"
    outcome = check_vector(v)
    assert outcome.status == "failed" and "query_pairs" in outcome.detail


def test_genuine_sdk_record_orders_are_the_spec_ones() -> None:
    """Section 1.4: the three real-SDK orders, each a full permutation of {0-6, 8-16}."""
    orders = [
        list(gnarly532.decode(BY_ID[k]["expected"]["x_gnarly"]).record_order) for k in ("sdk-0", "sdk-2", "sdk-4")
    ]
    assert orders == [
        [0, 12, 1, 11, 15, 3, 6, 4, 5, 2, 8, 10, 9, 14, 16, 13],
        [6, 13, 8, 5, 9, 15, 10, 2, 12, 3, 16, 4, 11, 1, 0, 14],
        [9, 2, 0, 10, 6, 16, 12, 13, 3, 1, 5, 4, 11, 14, 15, 8],
    ]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_shape_193_bytes_324_chars_one_pad(vector: dict[str, Any]) -> None:
    token = vector["expected"]["x_gnarly"]
    assert len(gnarly.unseal(token).payload) == 193
    assert len(token) == 324 and token.endswith("=") and not token.endswith("==")


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_checksum_b_is_the_xor_of_the_string_prefixes(vector: dict[str, Any]) -> None:
    """Section 1.3's identity: B = prefix(md5 S) ^ prefix(md5 B) ^ prefix(md5 UA) ^ "5.3." ^ "2.0."."""
    f = gnarly532.decode(vector["expected"]["x_gnarly"])
    prefix = [int(s[:4].encode().hex(), 16) for s in (f.sealed_query_md5, f.body_md5, f.user_agent_md5)]
    assert f.checksum_b == prefix[0] ^ prefix[1] ^ prefix[2] ^ 0x352E332E ^ 0x322E302E


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_sealed_query_is_q_dynosaur_mstoken(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    assert gnarly532.sealed_string(i["business_query"], i["x_dynosaur"], i["ms_token"]) == i["sealed_query"]


def test_sealed_string_with_empty_parts() -> None:
    assert gnarly532.sealed_string("aid=1988", "D", "") == "aid=1988&X-Dynosaur=D&msToken="
    assert gnarly532.sealed_string("", "D", "T") == "X-Dynosaur=D&msToken=T"


# --------------------------------------------------------------------------------------------------
# Round trips

_big_text = st.builds(lambda s: (s * (8192 // len(s) + 1))[:8192], st.text(min_size=1, max_size=16))
_texts = st.text(max_size=300) | st.just("") | _big_text
_bodies = st.binary(max_size=300) | st.builds(lambda b: (b * 8192)[:8192], st.binary(min_size=1, max_size=8))
_u32 = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=150, deadline=None)
@given(
    sealed=_texts,
    body=_bodies,
    ua=_texts,
    ts=_u32,
    nonce=_u32,
    nonce2=_u32,
    seq=st.integers(1, 0xFFFF),
    env=st.integers(0, 0xFFFF),
    ub=st.integers(0, 0xFFFF),
    key=st.binary(min_size=48, max_size=48),
    order=st.permutations(gnarly532.KEYS),
)
def test_decode_encode_round_trip(
    sealed: str,
    body: bytes,
    ua: str,
    ts: int,
    nonce: int,
    nonce2: int,
    seq: int,
    env: int,
    ub: int,
    key: bytes,
    order: list[int],
) -> None:
    token = gnarly532.encode(
        sealed,
        body,
        ua,
        timestamp=ts,
        nonce=nonce,
        nonce2=nonce2,
        sequence=seq,
        env_code=env,
        ub_code=ub,
        key=key,
        record_order=order,
    )
    assert len(token) == 324
    f = gnarly532.decode(token)
    assert f.sealed_query_md5 == hashlib.md5(sealed.encode()).hexdigest()
    assert f.body_md5 == hashlib.md5(body).hexdigest()
    assert f.user_agent_md5 == hashlib.md5(ua.encode()).hexdigest()
    assert (f.timestamp, f.nonce, f.nonce2, f.sequence, f.sequence_13) == (ts, nonce, nonce2, seq, seq)
    assert (f.env_code, f.ub_code) == (env, ub)
    assert list(f.record_order) == list(order)
    assert gnarly.unseal(token).key == key
    assert gnarly532.verify(f, sealed_query=sealed, body=body, user_agent=ua, env_codes=None, ub_codes=None) == {}
    assert (
        gnarly532.compute_fields(
            sealed,
            body,
            ua,
            timestamp=ts,
            nonce=nonce,
            nonce2=nonce2,
            sequence=seq,
            env_code=env,
            ub_code=ub,
            record_order=order,
        )
        == f
    )
    assert gnarly.seal(gnarly532.pack_fields(f), key) == token
    d = detect.describe(token)
    assert d["layout"] == "x-gnarly-5.3.2" and d["fields"] == f.to_dict()


def test_str_body_is_hashed_as_utf8() -> None:
    kw: dict[str, Any] = {"timestamp": 1, "nonce": 2, "nonce2": 3, "sequence": 1, "key": bytes(48)}
    assert gnarly532.encode("q", "é", "ua", **kw) == gnarly532.encode("q", "é".encode(), "ua", **kw)


def _small_inputs(key: int) -> tuple[str, dict[str, Any]]:
    """Inputs whose field ``key`` fits 2 bytes; for checksum A (about 1 token in 65,536) by steering."""
    sealed = "aid=1988&X-Dynosaur=x&msToken="
    kw: dict[str, Any] = {"timestamp": 0x1234, "nonce": 0x5678, "nonce2": 0x9ABC, "sequence": 3, "env_code": 0}
    if key == 16:
        a = gnarly532.compute_fields(sealed, b"", "UA", **{**kw, "nonce2": 0}).checksum_a
        kw["nonce2"] = a ^ 0x1234  # A is linear in nonce2 (section 1.3): steer it to 0x1234
    return sealed, kw


@pytest.mark.parametrize("key", [6, 8, 14, 15, 16])
def test_two_byte_integers_in_four_byte_slots_parse_and_verify(key: int) -> None:
    """Section 1.2: a verifier reads the stored length and accepts 2 or 4 bytes for any integer key."""
    sealed, kw = _small_inputs(key)
    ua = "UA"
    f0 = gnarly532.compute_fields(sealed, b"", ua, **kw)
    assert f0.by_key()[key] <= 0xFFFF
    payload = gnarly532.build_payload(sealed, b"", ua, widths={key: 2}, **kw)
    assert len(payload) == 191
    f = gnarly532.parse_payload(payload)
    assert f.width(key) == 2
    assert f.by_key() == f0.by_key()
    assert gnarly532.verify(f, sealed_query=sealed, body=b"", user_agent=ua, env_codes=None, ub_codes=None) == {}
    assert gnarly532.pack_fields(f) == payload


@settings(max_examples=200, deadline=None)
@given(sealed=st.text(max_size=50), body=st.binary(max_size=20), ua=st.text(max_size=50))
def test_checksum_b_never_fits_two_bytes(sealed: str, body: bytes, ua: str) -> None:
    """B's top byte is an XOR of three hex digits and 0x35 ^ 0x32, so B >= 0x30000000: unlike A,
    checksum B can never be a 4-byte-slot value below 2**16 (section 1.2 suggests either could)."""
    f = gnarly532.compute_fields(sealed, body, ua, timestamp=1, nonce=2, nonce2=3, sequence=1)
    assert f.checksum_b >= 0x30000000


def test_key_0_parses_at_two_bytes() -> None:
    f = gnarly532.parse_payload(_replace(0, b"\x12\x34"))
    assert (f.checksum_b, f.width(0)) == (0x1234, 2)


def test_two_byte_slots_read_four_byte_values() -> None:
    f = gnarly532.parse_payload(
        gnarly532.build_payload("s", b"", "u", timestamp=1, nonce=2, nonce2=3, sequence=7, widths={12: 4, 1: 4})
    )
    assert f.sequence == 7 and f.width(12) == 4 and f.width(1) == 4


def test_values_that_do_not_fit_their_slot_are_refused() -> None:
    with pytest.raises(ValueError):
        gnarly532.build_payload("s", b"", "u", timestamp=70000, nonce=2, nonce2=3, sequence=1, widths={6: 2})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sequence", 0),
        ("sequence", 65536),
        ("timestamp", 1 << 32),
        ("nonce", -1),
        ("env_code", 1 << 16),
        ("ub_code", -1),
        ("nonce2", True),
    ],
)
def test_encoder_rejects_out_of_range_inputs(name: str, value: int) -> None:
    kw: dict[str, Any] = {"timestamp": 1, "nonce": 2, "nonce2": 3, "sequence": 1, "key": bytes(48)}
    kw[name] = value
    with pytest.raises(ValueError, match=name):
        gnarly532.encode("s", b"", "u", **kw)


@pytest.mark.parametrize(
    "order",
    [[], list(range(16)), [*gnarly532.KEYS[:-1], 0], [*gnarly532.KEYS, 7], list(range(17))],
    ids=["empty", "has-7", "dup", "17", "0-16"],
)
def test_encoder_rejects_bad_record_orders(order: list[int]) -> None:
    with pytest.raises(ValueError, match="record_order"):
        gnarly532.encode("s", b"", "u", timestamp=1, nonce=2, nonce2=3, sequence=1, key=bytes(48), record_order=order)


@pytest.mark.parametrize("widths", [{3: 2}, {7: 4}, {6: 3}, {1: 8}])
def test_encoder_rejects_bad_widths(widths: dict[int, int]) -> None:
    with pytest.raises(ValueError, match="widths"):
        gnarly532.build_payload("s", b"", "u", timestamp=1, nonce=2, nonce2=3, sequence=1, widths=widths)


def test_to_dict_is_json_friendly() -> None:
    f = gnarly532.decode(BY_ID["sdk-0"]["expected"]["x_gnarly"])
    d = json.loads(json.dumps(f.to_dict()))
    assert d["timestamp"] == 1788856077
    assert d["timestamp_iso"] == "2026-09-08T08:27:57Z"
    assert d["record_order"][:3] == [0, 12, 1]
    assert d["widths"]["12"] == 2
    assert d["sealed_query_md5"] == "a068c897f4e8ff92c789819d67de3208"


# --------------------------------------------------------------------------------------------------
# Parser: malformed payloads raise PayloadError


def _good_payload() -> bytes:
    return gnarly532.build_payload("s", b"", "u", timestamp=1, nonce=2, nonce2=3, sequence=1)


def _records(payload: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 1
    while pos < len(payload):
        n = (payload[pos + 1] << 8) | payload[pos + 2]
        out.append((payload[pos], payload[pos + 3 : pos + 3 + n]))
        pos += 3 + n
    return out


def _tlv(records: list[tuple[int, bytes]], count: int | None = None) -> bytes:
    n = len(records) if count is None else count
    return bytes([n]) + b"".join(bytes([k, len(v) >> 8, len(v) & 0xFF]) + v for k, v in records)


def _replace(key: int, value: bytes) -> bytes:
    return _tlv([(k, value if k == key else v) for k, v in _records(_good_payload())])


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "empty"),
        (b"\x11" + _good_payload()[1:], "count byte"),
        (_good_payload()[:-1], "claims"),
        (_good_payload()[:100], "claims|ends"),
        (_good_payload() + b"\x00", "trailing"),
        (_tlv([(7, b"\x00\x00\x00\x01"), *_records(_good_payload())[1:]]), "unexpected key 7"),
        (_tlv([*_records(_good_payload())[:-1], _records(_good_payload())[0]]), "twice"),
        (_replace(6, b"\x00\x00\x01"), "2 or 4"),
        (_replace(14, b"\x00" * 8), "2 or 4"),
        (_replace(3, b"\xff" * 32), "ASCII"),
        (_tlv(_records(_good_payload()), count=15), "count byte"),
    ],
)
def test_malformed_payloads_raise_payload_error(payload: bytes, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        gnarly532.parse_payload(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.binary(max_size=200).map(lambda b: b"\x10" + b))
def test_random_payloads_raise_only_payload_error(data: bytes) -> None:
    try:
        gnarly532.parse_payload(data)
    except PayloadError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_payload_bytes_never_escape_as_other_errors(data: st.DataObject) -> None:
    payload = bytearray(_good_payload())
    for _ in range(data.draw(st.integers(1, 4))):
        payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    try:
        f = gnarly532.parse_payload(bytes(payload))
    except PayloadError:
        return
    gnarly532.verify(f, sealed_query="s", body=b"", user_agent="u")  # must not raise either


# --------------------------------------------------------------------------------------------------
# Verifier (section 3.2) and fault injection (section 5)


def _fields_with(**changes: Any) -> gnarly532.Fields:
    v = BY_ID["gen-07"]
    f = gnarly532.decode(v["expected"]["x_gnarly"])
    return gnarly532.Fields(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, **changes})


def _verify_gen07(f: gnarly532.Fields, **kw: Any) -> dict[str, str]:
    i = BY_ID["gen-07"]["inputs"]
    args: dict[str, Any] = {"sealed_query": i["sealed_query"], "body": b"", "user_agent": i["user_agent"]}
    args.update(kw)
    return gnarly532.verify(f, **args)


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"sdk_version": "5.3.1"}, {"G9"}),  # same 4-byte prefix "5.3."
        ({"scm_version": "2.0.0.562"}, {"G10"}),  # the changed byte is past the 4-byte prefix
        ({"scm_version": "3.0.0.561"}, {"G10", "G16", "G0"}),
        ({"constant_11": 2}, {"G11", "G16"}),
        ({"sequence": 0, "sequence_13": 0}, {"G12", "G13"}),  # XORing the same change twice cancels
        ({"sequence_13": 9}, {"G16"}),
        ({"nonce": 12345}, {"G14", "G16"}),  # B is unaffected: section 1.3's identity
        ({"mix": 1}, {"G14", "G16"}),
        ({"checksum_a": 1}, {"G16"}),  # B is checked against the recomputed A
        ({"checksum_b": 1}, {"G0"}),
        ({"env_code": 64}, {"G1", "G14", "G16"}),
    ],
)
def test_each_check_fires_on_its_field(changes: dict[str, Any], failing: set[str]) -> None:
    assert set(_verify_gen07(_fields_with(**changes))) == failing


def test_freshness_check() -> None:
    f = _fields_with()
    assert _verify_gen07(f, now=f.timestamp + 299) == {}
    assert set(_verify_gen07(f, now=f.timestamp + 301)) == {"G6"}
    assert set(_verify_gen07(f, now=f.timestamp - 10, tolerance=5)) == {"G6"}


def test_env_and_ub_sets() -> None:
    harness = gnarly532.decode(BY_ID["sdk-0"]["expected"]["x_gnarly"])  # 129 / 14
    i = BY_ID["sdk-0"]["inputs"]
    kw: dict[str, Any] = {"sealed_query": i["sealed_query"], "body": b"", "user_agent": i["user_agent"]}
    assert gnarly532.verify(harness, **kw) == {}
    strict = gnarly532.verify(harness, env_codes={65}, ub_codes={8}, **kw)
    assert set(strict) == {"G1", "G2"}
    assert set(
        gnarly532.verify(harness, env_codes=gnarly532.BROWSER_ENV_CODES, ub_codes=gnarly532.BROWSER_UB_CODES, **kw)
    ) == {"G1"}


def _split_wire(wire: str) -> tuple[str, str, str, str]:
    """Section 3.1: G after X-Gnarly=, D after X-Dynosaur=, S before &X-Bogus=, Q before &X-Dynosaur=."""
    g = d = ""
    for seg in wire.split("&"):
        if seg.startswith("X-Gnarly="):
            g = seg[len("X-Gnarly=") :]
        elif seg.startswith("X-Dynosaur="):
            d = seg[len("X-Dynosaur=") :]
    return g, d, wire.split("&X-Bogus=")[0], wire.split("&X-Dynosaur=")[0]


def _server(wire: str, body: bytes, ua: str) -> set[str]:
    """What a verifying server reports for a received request: every failing check of both tokens."""
    g_tok, d_tok, s, q = _split_wire(wire)
    try:
        g = gnarly532.decode(g_tok)
        d = dynosaur532.decode(d_tok)
    except (EnvelopeError, PayloadError):
        return {"parse"}
    bad = set(gnarly532.verify(g, sealed_query=s, body=body, user_agent=ua))
    bad |= set(dynosaur532.verify(d, business_query=q, user_agent=ua, gnarly=g, clock_slack=1))
    return bad


@pytest.fixture(scope="module")
def request_532() -> dict[str, Any]:
    """One whole signed request built the section 0 way (a POST, so the body check is live)."""
    i = BY_ID["gen-01"]["inputs"]
    q, ua, body, token = i["business_query"], i["user_agent"], b'{"cursor":0}', "m" * 40
    d = dynosaur532.encode(
        q, ua, timestamp=1789000243, nonce=4134291357, counter_25=1, counter_2f=1, key=bytes(range(48))
    )
    s = gnarly532.sealed_string(q, d, token)
    g = gnarly532.encode(
        s, body, ua, timestamp=1789000243, nonce=4134295118, nonce2=160659752, sequence=1, key=bytes(range(1, 49))
    )
    return {
        "q": q,
        "ua": ua,
        "body": body,
        "token": token,
        "d": d,
        "s": s,
        "g": g,
        "wire": f"{s}&X-Bogus=1&X-Gnarly={g}",
    }


def test_untouched_request_passes(request_532: dict[str, Any]) -> None:
    r = request_532
    assert _server(r["wire"], r["body"], r["ua"]) == set()


def test_fault_query_plus_one_char(request_532: dict[str, Any]) -> None:
    """Section 5: query +1 char -> only G3 for X-Gnarly (and 0x2E for the X-Dynosaur over Q)."""
    r = request_532
    assert set(
        gnarly532.verify(gnarly532.decode(r["g"]), sealed_query="x" + r["s"], body=r["body"], user_agent=r["ua"])
    ) == {"G3"}
    assert _server("x" + r["wire"], r["body"], r["ua"]) == {"G3", "0x2E"}


def test_fault_mstoken_plus_one_char(request_532: dict[str, Any]) -> None:
    r = request_532
    wire = r["wire"].replace(f"&msToken={r['token']}&", f"&msToken={r['token']}x&")
    assert _server(wire, r["body"], r["ua"]) == {"G3"}


def test_fault_altered_dynosaur(request_532: dict[str, Any]) -> None:
    """Another valid X-Dynosaur for the same query: only the seal (G3) notices."""
    r = request_532
    other = dynosaur532.encode(
        r["q"], r["ua"], timestamp=1789000243, nonce=4134291357, counter_25=1, counter_2f=1, key=bytes(range(2, 50))
    )
    assert other != r["d"]
    assert _server(r["wire"].replace(r["d"], other), r["body"], r["ua"]) == {"G3"}


def test_fault_body_plus_one_byte(request_532: dict[str, Any]) -> None:
    r = request_532
    assert _server(r["wire"], r["body"] + b" ", r["ua"]) == {"G4"}


def test_fault_user_agent_plus_one_char(request_532: dict[str, Any]) -> None:
    r = request_532
    g = gnarly532.decode(r["g"])
    assert set(gnarly532.verify(g, sealed_query=r["s"], body=r["body"], user_agent=r["ua"] + " ")) == {"G5"}
    assert _server(r["wire"], r["body"], r["ua"] + " ") == {"G5", "0x30"}


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_fault_every_flipped_character_is_caught(vector: dict[str, Any]) -> None:
    """Section 5: one token character flipped -> a parse or a check failure, at every position."""
    i = vector["inputs"]
    token = vector["expected"]["x_gnarly"]
    alphabet = gnarly.ALPHABET
    rng = random.Random(vector["id"])
    for pos in range(len(token) - 1):  # the last character is '='
        bad = token[:pos] + alphabet[(alphabet.index(token[pos]) + rng.randrange(1, 64)) % 64] + token[pos + 1 :]
        try:
            f = gnarly532.decode(bad)
        except (EnvelopeError, PayloadError):
            continue
        problems = gnarly532.verify(
            f,
            sealed_query=i["sealed_query"],
            body=bytes.fromhex(i["body_hex"]),
            user_agent=i["user_agent"],
            env_codes=None,
            ub_codes=None,
        )
        assert problems, f"flip at {pos} went unnoticed"


@pytest.mark.parametrize("cut", [1, 4, 8, 100, 323])
def test_truncated_tokens_raise(cut: int) -> None:
    with pytest.raises((EnvelopeError, PayloadError)):
        gnarly532.decode(BY_ID["sdk-0"]["expected"]["x_gnarly"][:-cut])


def test_dynosaur_and_513_tokens_are_not_532() -> None:
    d = json.loads((VECTOR_FILE.parent / "dynosaur.json").read_text(encoding="utf-8"))["vectors"][0]["expected"][
        "x_dynosaur"
    ]
    x = json.loads((VECTOR_FILE.parent / "xgnarly.json").read_text(encoding="utf-8"))["vectors"][0]["expected"]
    with pytest.raises(PayloadError, match="count byte"):
        gnarly532.decode(d)
    with pytest.raises(PayloadError, match="key"):
        gnarly532.decode(x)
