"""X-Gnarly 5.1.3-ZTCA, the public ``xgnarly.mjs`` encoder (protocol/tokens.md 1.2, 1.4, 1.7).

Vectors: tests/vectors/xgnarly.json (26, produced by the unmodified tiktok-signature@4.3.6 encoder).
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
from ttsign.algorithms.payloads import detect, gnarly513
from ttsign.vectors import check_vector

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "xgnarly.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"]
IDS = [v["id"] for v in VECTORS]
BY_ID = {v["id"]: v for v in VECTORS}


def _encode(v: dict[str, Any]) -> str:
    o = v["options"]
    total, intercepted = gnarly513.counters_from_mapping(v["counters"])
    return gnarly513.encode(
        v["queryString"],
        v["body"],
        v["userAgent"],
        timestamp_ms=o["timestampMs"],
        random_low16=int(o["randomLow16"], 16),
        random32=int(o["random32"], 16),
        key=bytes.fromhex(o["randomKey"]),
        total_requests=total,
        intercepted_requests=intercepted,
        ub_code=v["ubcode"],
        sdk_version=v["sdkVersion"],
    )


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_encodes_byte_for_byte(vector: dict[str, Any]) -> None:
    assert _encode(vector) == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_decodes_to_its_inputs(vector: dict[str, Any]) -> None:
    o = vector["options"]
    f = gnarly513.decode(vector["expected"])
    total, intercepted = gnarly513.counters_from_mapping(vector["counters"])
    assert f.query_md5 == hashlib.md5(vector["queryString"].encode()).hexdigest()
    assert f.body_md5 == hashlib.md5(vector["body"].encode()).hexdigest()
    assert f.user_agent_md5 == hashlib.md5(vector["userAgent"].encode()).hexdigest()
    assert f.timestamp == o["timestampMs"] // 1000
    assert f.ms_clock == o["timestampMs"] % 2**31
    assert (f.total_requests, f.intercepted_requests) == (total & 0xFFFF, intercepted & 0xFFFF)
    assert f.mix == (65 << 16) | int(o["randomLow16"], 16)
    assert f.random32 == int(o["random32"], 16)
    assert (f.env_code, f.ub_code, f.canvas, f.constant_11) == (65, vector["ubcode"], 3181061566, 1)
    assert (f.payload_version, f.sdk_version) == ("5.1.3-ZTCA", vector["sdkVersion"])
    assert f.record_order == gnarly513.ORDER
    assert {str(k): v for k, v in f.by_key().items()} == vector["derived"]["fields"]
    assert gnarly513.pack_fields(f).hex() == vector["derived"]["plaintextHex"]
    assert gnarly.unseal(vector["expected"]).key.hex() == o["randomKey"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_verifies_except_the_counter_overflow(vector: dict[str, Any]) -> None:
    """tokens.md 1.4 step 5: key 0 equals the XOR of the numeric fields, except when a counter sum
    exceeded 65535 (vector shared-08): the encoder XORs the untruncated sum."""
    f = gnarly513.decode(vector["expected"])
    problems = gnarly513.verify(
        f, query_string=vector["queryString"], body=vector["body"], user_agent=vector["userAgent"]
    )
    total, intercepted = gnarly513.counters_from_mapping(vector["counters"])
    assert set(problems) == ({"G0"} if max(total, intercepted) > 0xFFFF else set())


def test_the_overflow_vector_is_shared_08() -> None:
    assert [v["id"] for v in VECTORS if gnarly513.counters_from_mapping(v["counters"])[0] > 0xFFFF] == ["shared-08"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_checker_passes(vector: dict[str, Any]) -> None:
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


@pytest.mark.parametrize(
    ("mutate"),
    [
        lambda v: v.update(
            expected=v["expected"][:40] + ("A" if v["expected"][40] != "A" else "B") + v["expected"][41:]
        ),
        lambda v: v.update(queryString=v["queryString"] + "&"),
        lambda v: v.update(body="x"),
        lambda v: v.update(ubcode=5),
        lambda v: v["options"].update(timestampMs=v["options"]["timestampMs"] + 1000),
        lambda v: v["options"].update(randomLow16="0000"),
        lambda v: v["counters"].update(totalXHRRequests=1),
        lambda v: v.update(sdkVersion="1.0.0.369"),
    ],
    ids=["flip", "query", "body", "ubcode", "time", "low16", "counters", "sdk"],
)
def test_vector_checker_catches_a_corrupted_vector(mutate: Any) -> None:
    v = copy.deepcopy(BY_ID["shared-00"])
    mutate(v)
    outcome = check_vector(v)
    assert outcome.status == "failed" and outcome.detail


@pytest.mark.parametrize(
    ("vid", "length", "pad"), [("shared-00", 332, "=="), ("shared-21", 332, "="), ("shared-22", 332, "")]
)
def test_token_lengths_and_padding(vid: str, length: int, pad: str) -> None:
    """tokens.md 1.2/1.7: 198-byte plaintext -> 332 chars ending '=='; sdkVersion of 10/11 chars -> '=' / none."""
    token = BY_ID[vid]["expected"]
    assert len(token) == length
    assert token.endswith(pad) and not token.endswith(pad + "=")


def test_counters_from_mapping() -> None:
    assert gnarly513.counters_from_mapping(None) == (0, 0)
    assert gnarly513.counters_from_mapping({"totalXHRRequests": 5, "totalFetchRequests": 9}) == (14, 0)
    assert gnarly513.counters_from_mapping(
        {"totalXHRRequests": 1, "totalFetchRequests": 2, "interceptedXHRRequests": 3, "interceptedFetchRequests": 4}
    ) == (3, 7)


# --------------------------------------------------------------------------------------------------
# Round trips

_big_text = st.builds(lambda s: (s * (8192 // len(s) + 1))[:8192], st.text(min_size=1, max_size=16))
_texts = st.text(max_size=300) | st.just("") | _big_text


@settings(max_examples=120, deadline=None)
@given(
    query=_texts,
    body=_texts | st.binary(max_size=200),
    ua=_texts,
    ts_ms=st.integers(0, 4_102_444_800_000),
    low16=st.integers(0, 0xFFFF),
    r32=st.integers(0, 0xFFFFFFFF),
    total=st.integers(0, 0xFFFF),
    intercepted=st.integers(0, 0xFFFF),
    ub=st.integers(0, 0xFFFF),
    sdk=st.text(max_size=20),
    key=st.binary(min_size=48, max_size=48),
    order=st.permutations(range(16)) | st.none(),
)
def test_decode_encode_round_trip(
    query: str,
    body: str | bytes,
    ua: str,
    ts_ms: int,
    low16: int,
    r32: int,
    total: int,
    intercepted: int,
    ub: int,
    sdk: str,
    key: bytes,
    order: list[int] | None,
) -> None:
    kw: dict[str, Any] = {
        "timestamp_ms": ts_ms,
        "random_low16": low16,
        "random32": r32,
        "total_requests": total,
        "intercepted_requests": intercepted,
        "ub_code": ub,
        "sdk_version": sdk,
        "record_order": order,
    }
    token = gnarly513.encode(query, body, ua, key=key, **kw)
    f = gnarly513.decode(token)
    raw_body = body.encode() if isinstance(body, str) else body
    assert f.query_md5 == hashlib.md5(query.encode()).hexdigest()
    assert f.body_md5 == hashlib.md5(raw_body).hexdigest()
    assert f.user_agent_md5 == hashlib.md5(ua.encode()).hexdigest()
    assert (f.timestamp, f.ms_clock) == ((ts_ms // 1000) & 0xFFFFFFFF, ts_ms % 2**31)
    assert (f.total_requests, f.intercepted_requests, f.ub_code, f.sdk_version) == (total, intercepted, ub, sdk)
    assert (f.mix, f.random32) == ((65 << 16) | low16, r32)
    assert list(f.record_order) == list(order if order is not None else gnarly513.ORDER)
    assert gnarly513.verify(f, query_string=query, body=body, user_agent=ua) == {}
    assert gnarly513.compute_fields(query, body, ua, **kw) == f
    assert gnarly.seal(gnarly513.pack_fields(f), key) == token
    d = detect.describe(token)
    assert d["layout"] == "x-gnarly-5.1.3" and d["fields"] == f.to_dict()


def test_wide_values_keep_their_low_bytes() -> None:
    """tokens.md 1.2: a value too wide for its slot keeps its low bytes; key 0 folds the full value."""
    kw: dict[str, Any] = {"timestamp_ms": 1_000_000, "random_low16": 1, "random32": 2, "key": bytes(48)}
    f = gnarly513.decode(gnarly513.encode("q", "", "u", total_requests=70001, ub_code=0x1_0004, **kw))
    assert (f.total_requests, f.ub_code) == (70001 & 0xFFFF, 4)
    assert f.checksum == gnarly513.checksum({**f.by_key(), 12: 70001, 2: 0x1_0004}) & 0xFFFFFFFF


@pytest.mark.parametrize(
    ("name", "value"),
    [("timestamp_ms", -1), ("random_low16", 0x10000), ("random32", -1), ("total_requests", -1), ("ub_code", -2)],
)
def test_encoder_rejects_bad_inputs(name: str, value: int) -> None:
    kw: dict[str, Any] = {"timestamp_ms": 1, "random_low16": 1, "random32": 2, "key": bytes(48)}
    kw[name] = value
    with pytest.raises(ValueError, match=name):
        gnarly513.encode("q", "", "u", **kw)


def test_to_dict_is_json_friendly() -> None:
    f = gnarly513.decode(BY_ID["shared-00"]["expected"])
    d = json.loads(json.dumps(f.to_dict()))
    assert d["timestamp"] == 1765947065 and d["timestamp_iso"] == "2025-12-17T04:51:05Z"
    assert d["payload_version"] == "5.1.3-ZTCA" and d["record_order"][0] == 1


# --------------------------------------------------------------------------------------------------
# Parser and corrupted tokens


def _payload() -> bytes:
    return gnarly513.build_payload("q", "", "u", timestamp_ms=1, random_low16=1, random32=2)


def _records(payload: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 1
    while pos < len(payload):
        n = (payload[pos + 1] << 8) | payload[pos + 2]
        out.append((payload[pos], payload[pos + 3 : pos + 3 + n]))
        pos += 3 + n
    return out


def _tlv(records: list[tuple[int, bytes]]) -> bytes:
    return bytes([len(records)]) + b"".join(bytes([k, len(v) >> 8, len(v) & 0xFF]) + v for k, v in records)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "empty"),
        (b"\x10", "header"),
        (_payload()[:-3], "header"),
        (_payload()[:-1], "claims"),
        (_payload() + b"\x01", "trailing"),
        (_tlv([(16, b"\x00\x01"), *_records(_payload())[1:]]), "unexpected key 16"),
        (_tlv([*_records(_payload())[:-1], _records(_payload())[0]]), "twice"),
        (_tlv([(k, b"\x00" if k == 6 else v) for k, v in _records(_payload())]), "2 or 4"),
        (_tlv([(k, b"\xff\xfe" if k == 9 else v) for k, v in _records(_payload())]), "UTF-8"),
        (_tlv(_records(_payload())[:-1]), "count byte"),
    ],
)
def test_malformed_payloads_raise_payload_error(payload: bytes, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        gnarly513.parse_payload(payload)


def test_parser_accepts_any_order_and_two_or_four_byte_integers() -> None:
    records = _records(_payload())
    random.Random(5).shuffle(records)
    records = [(k, v[-2:] if k == 8 and v[:2] == b"\x00\x00" else v) for k, v in records]
    records = [(k, b"\x00\x00" + v if k == 11 else v) for k, v in records]
    f = gnarly513.parse_payload(_tlv(records))
    assert f.constant_11 == 1 and dict(f.widths)[11] == 4
    assert list(f.record_order) == [k for k, _ in records]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.binary(max_size=250).map(lambda b: b"\x10" + b))
def test_random_payloads_raise_only_payload_error(data: bytes) -> None:
    try:
        gnarly513.parse_payload(data)
    except PayloadError:
        pass


@pytest.mark.parametrize("vector", VECTORS[:6], ids=IDS[:6])
def test_every_flipped_character_is_caught(vector: dict[str, Any]) -> None:
    token = vector["expected"]
    alphabet = gnarly.ALPHABET
    rng = random.Random(vector["id"])
    for pos in range(len(token.rstrip("="))):
        bad = token[:pos] + alphabet[(alphabet.index(token[pos]) + rng.randrange(1, 64)) % 64] + token[pos + 1 :]
        try:
            f = gnarly513.decode(bad)
        except (EnvelopeError, PayloadError):
            continue
        problems = gnarly513.verify(
            f, query_string=vector["queryString"], body=vector["body"], user_agent=vector["userAgent"]
        )
        assert problems or f != gnarly513.decode(token), f"flip at {pos} went unnoticed"


def test_532_tokens_are_not_513() -> None:
    g = json.loads((VECTOR_FILE.parent / "gnarly532.json").read_text(encoding="utf-8"))["vectors"][0]["expected"][
        "x_gnarly"
    ]
    with pytest.raises(PayloadError, match="key 16"):
        gnarly513.decode(g)
