"""Legacy ``_signature`` (§7) and the frontierSign stub token (§6): vectors, oracles, round trips, errors.

Spec: protocol/xbogus.md. Vectors: tests/vectors/xbogus.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ttsign.algorithms import signature
from ttsign.algorithms.errors import SignatureError, XBogusError
from ttsign.vectors import check_vector

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "xbogus.json"
ALL_VECTORS: list[dict[str, Any]] = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"]
SIG_VECTORS = [v for v in ALL_VECTORS if v["kind"] == "_signature"]
FS_VECTORS = [v for v in ALL_VECTORS if v["kind"] == "frontiersign_stub"]
SIG_IDS = [v["id"] for v in SIG_VECTORS]
FS_IDS = [v["id"] for v in FS_VECTORS]

E1 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."  # §7
FS_ALPHABET = "Dkdpgh4ZKsQB80/Mfvw36XI1R25+WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe"  # §6
STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
PAGE = "http://www.tiktok.com/@user/live"


# --------------------------------------------------------------------------------------------------
# A literal transcription of §7 with JavaScript int32 semantics (>>, >>>, <<, |, ^ on i32), used as an
# oracle: the module shortcuts these (it works on uint32 and relies on e5 keeping bits 29..0 only).


def _i32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _sar(x: int, k: int) -> int:  # JS x >> k
    return _i32(x) >> k


def _shr(x: int, k: int) -> int:  # JS x >>> k
    return (x & 0xFFFFFFFF) >> k


def _shl(x: int, k: int) -> int:  # JS x << k
    return _i32(_i32(x) << (k & 31))


def _or(a: int, b: int) -> int:
    return _i32(_i32(a) | _i32(b))


def _xor(a: int, b: int) -> int:
    return _i32(_i32(a) ^ _i32(b))


def _units(s: str) -> list[int]:
    raw = s.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def _hx(h: int, s: str) -> int:
    for c in _units(s):
        h = ((h ^ c) * 65599) % 2**32
    return h


def _ha(h: int, s: str) -> int:
    for c in _units(s):
        h = (h * 65599 + c) % 2**32
    return h


def _e1(v: int) -> str:
    return E1[v & 63]


def _e5(x: int) -> str:
    x = _i32(x)
    return _e1(_sar(x, 24)) + _e1(_sar(x, 18)) + _e1(_sar(x, 12)) + _e1(_sar(x, 6)) + _e1(x)


def _ref_query(url: str) -> str:
    query = url.split("?", 1)[1] if "?" in url else ""
    obj: dict[str, str] = {}
    if query != "":
        for part in query.split("&"):
            kv = part.split("=")
            obj[kv[0]] = kv[1] if len(kv) >= 2 else "undefined"
    keys = sorted(obj, key=_units)  # JS default sort: UTF-16 code units
    path = re.sub(r"^[a-z]+://[^/?#]*", "", url).split("?")[0]
    return "".join(f"{k}={obj[k]}&" for k in keys) + f"pathname={path}&tt_webid=&uuid="


def _ref_signature(url: str, ua: str, ts: int, page: str, canvas: int, mask: int) -> str:
    protocol = page.split("//", 1)[0]  # e.g. "http:"
    a = _hx(_hx(0, str(ts)), page[len(protocol) + 2 :]) % 65521
    x = _shr(ts ^ (a * 65521), 0)
    big = int("10" + "00000001" + "0000" + format(x, "032b"), 2)
    n = _i32(big % 2**32)
    hi = big // 2**32
    h3 = _hx(0, str(big))
    u = _hx(h3, ua) % 65521
    q = _hx(h3, _ref_query(url)) % 65521
    p4 = _or(_shl(u, 16), q)
    p3 = _xor(_i32(canvas), n)
    p5 = _xor(_or(_shl(mask, 8), _shl(2, 4)), n)
    s = (
        "_02B4Z6wo00f01"
        + _e5(_sar(n, 2))
        + _e5(_or(_shl(n, 28), _shr(hi, 4)))
        + _e5(_or(_shl(hi, 26), _shr(p3, 6)))
        + _e1(p3 & 63)
        + _e5(_sar(p4, 2))
        + _e5(_or(_shl(p4, 28), _shr(p5, 4)))
        + _e5(a)
    )
    return s + format(_ha(0, s), "x")[-2:]


# --------------------------------------------------------------------------------------------------
# _signature vectors


def test_vector_file_has_all_cases() -> None:
    assert len(SIG_VECTORS) == 8
    assert len(FS_VECTORS) == 2
    assert sum(len(v["calls"]) for v in FS_VECTORS) == 6


@pytest.mark.parametrize("vector", SIG_VECTORS, ids=SIG_IDS)
def test_signature_vector(vector: dict[str, Any]) -> None:
    token = signature.legacy_signature(
        vector["url"],
        vector["user_agent"],
        vector["timestamp_s"],
        vector["page_url"],
        canvas=vector["canvas"],
        env_mask=vector["env_flags"],
    )
    assert token == vector["expected_signature"]


@pytest.mark.parametrize("vector", SIG_VECTORS, ids=SIG_IDS)
def test_signature_vector_reference_agrees(vector: dict[str, Any]) -> None:
    token = _ref_signature(
        vector["url"],
        vector["user_agent"],
        vector["timestamp_s"],
        vector["page_url"],
        vector["canvas"],
        vector["env_flags"],
    )
    assert token == vector["expected_signature"]


@pytest.mark.parametrize("vector", SIG_VECTORS, ids=SIG_IDS)
def test_signature_vector_decode(vector: dict[str, Any]) -> None:
    token, ts, page = vector["expected_signature"], vector["timestamp_s"], vector["page_url"]
    for fields in (signature.decode_legacy_signature(token, ts, page), signature.decode_legacy_signature(token)):
        assert fields.timestamp == ts
        assert fields.canvas == vector["canvas"]
        assert fields.env_mask == vector["env_flags"]
        assert fields.flags == 15  # "f": 1|2|4|8
    assert signature.verify_legacy_signature(token, vector["url"], vector["user_agent"], page) == []


@pytest.mark.parametrize("vector", SIG_VECTORS, ids=SIG_IDS)
def test_signature_vector_checker_passes(vector: dict[str, Any]) -> None:
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


def test_signature_checker_reports_a_wrong_vector() -> None:
    outcome = check_vector(dict(SIG_VECTORS[0], env_flags=9))
    assert outcome.status == "failed"
    assert "_signature: got" in outcome.detail
    outcome = check_vector(dict(SIG_VECTORS[0], page_url="http://127.0.0.1/@user/live"))
    assert outcome.status == "failed"


# --------------------------------------------------------------------------------------------------
# _signature query string Q (§7 step 4)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.tiktok.com/api/nq/", "pathname=/api/nq/&tt_webid=&uuid="),
        ("https://www.tiktok.com/api/nq/?", "pathname=/api/nq/&tt_webid=&uuid="),
        ("https://h/api/x/?b=2&a=1&a=3&c", "a=3&b=2&c=undefined&pathname=/api/x/&tt_webid=&uuid="),
        ("https://h/p?k=v=w", "k=v&pathname=/p&tt_webid=&uuid="),
        ("https://h/p?z=%E4%B8%AD", "z=%E4%B8%AD&pathname=/p&tt_webid=&uuid="),
        ("https://h/p?a=1#frag", "a=1#frag&pathname=/p&tt_webid=&uuid="),
        ("/api/rel?b=1", "b=1&pathname=/api/rel&tt_webid=&uuid="),
        # JS sorts by UTF-16 code units: U+1F600 (D83D DE00) sorts before U+FF01; checked with node
        ("https://h/p?\uff01=1&😀=2&中=3&a=4&B=5", "B=5&a=4&中=3&😀=2&\uff01=1&pathname=/p&tt_webid=&uuid="),
    ],
)
def test_signature_query(url: str, expected: str) -> None:
    assert signature.signature_query(url) == expected


def test_signature_query_ids() -> None:
    assert signature.signature_query("https://h/p?a=1", "w", "u") == "a=1&pathname=/p&tt_webid=w&uuid=u"
    a = signature.legacy_signature("https://h/p?a=1", CHROME_UA, 1700000000, PAGE, tt_webid="w")
    b = signature.legacy_signature("https://h/p?a=1", CHROME_UA, 1700000000, PAGE)
    assert a != b
    assert signature.verify_legacy_signature(a, "https://h/p?a=1", CHROME_UA, PAGE, tt_webid="w") == []


# --------------------------------------------------------------------------------------------------
# _signature round trips against the int32 oracle (hypothesis)

U32 = st.integers(min_value=0, max_value=2**32 - 1)
KEY = st.text(alphabet=st.characters(blacklist_characters="&=?"), max_size=8)
SEGMENT = st.one_of(KEY, st.builds(lambda k, v: f"{k}={v}", KEY, st.text(max_size=12)))
URLS = st.builds(
    lambda path, segs, q: "https://www.tiktok.com/" + path + ("?" + "&".join(segs) if q else ""),
    st.text(alphabet="abcxyz/_-.", max_size=20),
    st.lists(SEGMENT, max_size=6),
    st.booleans(),
)
PAGES = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(["http://", "https://", "file://"]),
    st.text(max_size=40),
)


@settings(max_examples=200, deadline=None)
@given(
    url=URLS,
    ua=st.one_of(st.just(CHROME_UA), st.text(max_size=150)),
    ts=U32,
    page=PAGES,
    canvas=U32,
    mask=st.integers(min_value=0, max_value=2047),
)
@example(url="https://h/p", ua="", ts=0, page="http://", canvas=0, mask=0)
@example(url="https://h/p?😀=é", ua="Ñ😀", ts=2**32 - 1, page=PAGE, canvas=2**32 - 1, mask=2047)
@example(url="https://h/p?a=1", ua="x", ts=2**31, page=PAGE, canvas=2**31, mask=1545)
def test_signature_round_trip(url: str, ua: str, ts: int, page: str, canvas: int, mask: int) -> None:
    token = signature.legacy_signature(url, ua, ts, page, canvas=canvas, env_mask=mask)
    assert token == _ref_signature(url, ua, ts, page, canvas, mask)
    assert len(token) == 47
    fields = signature.decode_legacy_signature(token, ts, page)
    assert (fields.timestamp, fields.canvas, fields.env_mask) == (ts, canvas, mask)
    assert signature.decode_legacy_signature(token) == fields
    assert signature.verify_legacy_signature(token, url, ua, page) == []


def test_signature_verify_detects_changes() -> None:
    url = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
    token = signature.legacy_signature(url, CHROME_UA, 1700000000, PAGE)
    assert signature.verify_legacy_signature(token, url, CHROME_UA, PAGE) == []
    assert signature.verify_legacy_signature(token, url + "&x=1", CHROME_UA, PAGE) == ["url"]
    assert signature.verify_legacy_signature(token, url, CHROME_UA + " x", PAGE) == ["user_agent"]
    assert signature.verify_legacy_signature(token, url, CHROME_UA, "http://www.tiktok.com/@other/live") == ["page"]


def test_signature_decode_checks_given_time_and_page() -> None:
    token = signature.legacy_signature("https://h/p?a=1", CHROME_UA, 1700000000, PAGE)
    assert signature.decode_legacy_signature(token, 1700000000, PAGE).timestamp == 1700000000
    with pytest.raises(SignatureError, match="made at"):
        signature.decode_legacy_signature(token, 1700000001, PAGE)
    with pytest.raises(SignatureError, match="page"):
        signature.decode_legacy_signature(token, 1700000000, "http://www.tiktok.com/@other/live")


def test_signature_input_validation() -> None:
    for kwargs in ({"canvas": -1}, {"canvas": 2**32}, {"env_mask": -1}, {"env_mask": 1 << 24}):
        with pytest.raises(ValueError):
            signature.legacy_signature("https://h/p", CHROME_UA, 1, PAGE, **kwargs)
    with pytest.raises(ValueError):
        signature.legacy_signature("https://h/p", CHROME_UA, 2**32, PAGE)


# --------------------------------------------------------------------------------------------------
# Corrupted _signature tokens: SignatureError and nothing else

SIG = SIG_VECTORS[0]["expected_signature"]


def _with_checksum(body45: str) -> str:
    return body45 + format(_ha(0, body45), "x")[-2:]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "47 characters"),
        (SIG[:-1], "47 characters"),
        (SIG + "0", "47 characters"),
        ("X" + SIG[1:], "starts with"),
        (SIG[:9] + "0F0" + SIG[12:], "base-32"),
        (SIG[:12] + "02" + SIG[14:], "version"),
        (SIG[:20] + "_" + SIG[21:], "alphabet"),
        (SIG[:20] + "é" + SIG[21:], "alphabet"),
        (SIG[:-2] + ("00" if SIG[-2:] != "00" else "01"), "checksum"),
        (SIG[:30] + ("A" if SIG[30] != "A" else "B") + SIG[31:], "checksum"),
        # re-checksummed tampering of the constant bits (P2's low 28 bits are hi >>> 4 = 513)
        (_with_checksum(SIG[:19] + "....." + SIG[24:45]), "constant bits"),
        # a = 65535 is out of range for a value taken mod 65521
        (_with_checksum(SIG[:40] + "AAP.."), "out of range"),
    ],
)
def test_corrupted_signature(token: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        signature.decode_legacy_signature(token)


@pytest.mark.parametrize("value", [None, b"_02B4Z6wo", 47])
def test_non_str_signature(value: Any) -> None:
    with pytest.raises(SignatureError):
        signature.decode_legacy_signature(value)


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet=E1, min_size=31, max_size=31).map(lambda body: _with_checksum("_02B4Z6wo00f01" + body)),
    )
)
def test_random_signatures_only_raise_signature_error(token: str) -> None:
    try:
        fields = signature.decode_legacy_signature(token)
    except SignatureError:
        return
    assert 0 <= fields.timestamp < 2**32 and fields.a < 65521


# --------------------------------------------------------------------------------------------------
# frontierSign stub (§6)


@pytest.mark.parametrize("vector", FS_VECTORS, ids=FS_IDS)
def test_frontier_vector(vector: dict[str, Any]) -> None:
    header = bytes.fromhex(vector["env_bytes_hex"])
    init = vector["env"]["sdk_init_called"]
    for call in vector["calls"]:
        token = signature.frontier_stub(call["x_ms_stub"], call["call_index"], header, init)
        assert token == call["expected_token"], call
        fields = signature.decode_frontier_stub(call["expected_token"])
        assert fields.initialized is init
        assert fields.call_index == call["call_index"]
        assert fields.header == header[1:]
        assert fields.stub_tail == hashlib.md5(bytes.fromhex(call["x_ms_stub"])).digest()[14:16]


@pytest.mark.parametrize("vector", FS_VECTORS, ids=FS_IDS)
def test_frontier_vector_checker_passes(vector: dict[str, Any]) -> None:
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


def test_frontier_checker_reports_a_wrong_vector() -> None:
    vector = json.loads(json.dumps(FS_VECTORS[0]))
    vector["calls"][2]["x_ms_stub"] = vector["calls"][1]["x_ms_stub"]
    outcome = check_vector(vector)
    assert outcome.status == "failed"
    assert "call 3" in outcome.detail


def _ref_frontier(stub: bytes, n: int, header: bytes, init: bool) -> str:
    s = hashlib.md5(stub).digest()
    b = [0x40 | (0x20 if init else 0), 0x7F, 0x82 ^ (n & 0x3F), header[1] ^ 0x8E, header[2] ^ 0x59]
    b += [header[3] ^ 0xAA, 0xE0, 0xA7, s[14] ^ 0xD9, s[15] ^ 0xD9, 0x24]
    check = 0x11
    for x in b[1:11]:
        check ^= x
    b.append(check)
    return _fs_token(bytes(b))


def _fs_token(raw: bytes) -> str:
    table = dict(zip(STD_ALPHABET, FS_ALPHABET, strict=True))
    return "".join(table[c] for c in base64.b64encode(raw).decode())


@settings(max_examples=200)
@given(
    stub=st.binary(min_size=16, max_size=16),
    n=st.integers(min_value=0, max_value=10_000),
    header=st.binary(min_size=4, max_size=4),
    init=st.booleans(),
    upper=st.booleans(),
)
def test_frontier_round_trip(stub: bytes, n: int, header: bytes, init: bool, upper: bool) -> None:
    hex_stub = stub.hex().upper() if upper else stub.hex()
    token = signature.frontier_stub(hex_stub, n, header, init)
    assert token == _ref_frontier(stub, n, header, init)
    fields = signature.decode_frontier_stub(token)
    assert fields.initialized is init
    assert fields.call_index == n % 64
    assert fields.header == header[1:]
    assert fields.stub_tail == hashlib.md5(stub).digest()[14:16]
    json.dumps(fields.to_dict())


def test_frontier_counter_wraps_and_stub_edge_cases() -> None:
    stub = "e97531dbacbc8aed35ab5eca564f88f8"
    assert signature.frontier_stub(stub, 65) == signature.frontier_stub(stub, 1)
    assert signature.frontier_stub(stub, 2) != signature.frontier_stub(stub, 1)
    assert signature.frontier_stub("", 1) == signature.frontier_stub("00" * 16, 1)  # §6: "" = 16 zero bytes
    for bad in ("x", "abc", "g" * 32, stub + "00"):
        with pytest.raises(ValueError):
            signature.frontier_stub(bad, 1)
    with pytest.raises(ValueError):
        signature.frontier_stub(stub, 1, b"\x40\x00")
    with pytest.raises(ValueError):
        signature.frontier_stub(stub, -1)


GOOD_FS = FS_VECTORS[0]["calls"][0]["expected_token"]


def _fs_raw(token: str) -> bytes:
    table = dict(zip(FS_ALPHABET, STD_ALPHABET, strict=True))
    return base64.b64decode("".join(table[c] for c in token))


def _fs_fix(raw: bytes) -> bytes:
    check = 0x11
    for x in raw[1:11]:
        check ^= x
    return raw[:11] + bytes([check])


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "16 characters"),
        (GOOD_FS[:-1], "16 characters"),
        (GOOD_FS + "D", "16 characters"),
        (GOOD_FS[:-1] + "-", "alphabet"),  # X-Bogus's character, not frontierSign's
        (GOOD_FS[:-1] + "=", "alphabet"),
        (_fs_token(_fs_fix(b"\x00" + _fs_raw(GOOD_FS)[1:])), "constant"),
        (_fs_token(_fs_fix(_fs_raw(GOOD_FS)[:6] + b"\x00" + _fs_raw(GOOD_FS)[7:])), "constant"),
        (_fs_token(_fs_fix(_fs_raw(GOOD_FS)[:2] + b"\x02" + _fs_raw(GOOD_FS)[3:])), "counter"),
        (_fs_token(_fs_raw(GOOD_FS)[:11] + bytes([_fs_raw(GOOD_FS)[11] ^ 1])), "checksum"),
    ],
)
def test_corrupted_frontier(token: str, message: str) -> None:
    with pytest.raises(XBogusError, match=message):
        signature.decode_frontier_stub(token)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=20), st.text(alphabet=FS_ALPHABET, min_size=16, max_size=16)))
def test_random_frontier_tokens_only_raise_xbogus_error(token: str) -> None:
    try:
        fields = signature.decode_frontier_stub(token)
    except XBogusError:
        return
    assert 0 <= fields.call_index < 64
