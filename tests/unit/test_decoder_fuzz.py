"""Property-based fuzzing of every decoder ttsign runs on input it did not make (issue 7, Tests).

* Tokens (`/v1/decode`): `decode_token` and each token decoder, fed random text, random strings in the
  token alphabets, and mutations (substitute, insert, delete, truncate, cut, repeat) of valid tokens of
  every kind made by our own encoders, each fed to every decoder. Only `TokenError` may escape, and what
  `decode_token` returns must render as the route's JSON response.
* Protobuf (`im/fetch` results, push frames): random bytes, truncations and bit flips of valid
  encodings, gzip-wrapped garbage and corrupted gzip. Only `ProtoDecodeError` may escape; inflating is
  bounded.
* JSON bodies (`parse_json_object`, then `field`): random bytes and hostile JSON under any content type.
  Only `ApiError` with a 4xx may escape.

The per-decoder tests in test_xbogus.py, test_gnarly*.py, test_dynosaur.py, test_signature.py and
test_ttparams.py fuzz each decoder's own input space; this file adds the cross-decoder, mutation, proto
and JSON-body cases.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from ttsign.algorithms import gnarly, signature, ttparams, xbogus
from ttsign.algorithms.decode import decode_token
from ttsign.algorithms.errors import TokenError
from ttsign.algorithms.payloads import detect, dynosaur532, gnarly513, gnarly532
from ttsign.server.errors import ApiError
from ttsign.server.validation import field, parse_json_object
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.tiktok import proto

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


# ---- tokens ---------------------------------------------------------------------------------------------


def _valid_tokens() -> dict[str, str]:
    """One valid token of every kind `/v1/decode` reads, made by our encoders."""
    out: dict[str, str] = {}
    for version in ("5.3.2", "5.1.3"):
        signer = Signer(SignerOptions(gnarly_version=version, webcast_xbogus=True))
        signed = signer.sign("https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=a", "POST", b"{}", UA, None)
        out[f"x-gnarly-{version}"] = signed.tokens["X-Gnarly"]
        if "X-Dynosaur" in signed.tokens:
            out["x-dynosaur"] = signed.tokens["X-Dynosaur"]
    out["x-bogus"] = xbogus.encode("aid=1988&room_id=1", "", UA, 1_700_000_000)
    out["frontiersign-stub"] = signature.frontier_stub("d41d8cd98f00b204e9800998ecf8427e", 3)
    out["_signature"] = signature.legacy_signature(
        "https://www.tiktok.com/api/x/?a=1", UA, 1_700_000_000, "www.tiktok.com/"
    )
    out["x-tt-params"] = ttparams.encrypt("aid=1988&count=30&is_encryption=1")
    return out


VALID = _valid_tokens()
ALPHABETS = (
    xbogus.ALPHABET,
    gnarly.ALPHABET + "=",
    signature.SIGNATURE_ALPHABET + "_",
    signature.FRONTIER_ALPHABET,
    gnarly.STANDARD_ALPHABET + "=",
)
ODD_CHARS = "=-_.+/%~ \t\n\x00\x7f\u00e9\u2028\ud800\U0001f600"
DECODERS: dict[str, Callable[[str], Any]] = {
    "decode_token": decode_token,
    "xbogus.decode": xbogus.decode,
    "signature.decode_frontier_stub": signature.decode_frontier_stub,
    "signature.decode_legacy_signature": signature.decode_legacy_signature,
    "gnarly.unseal": gnarly.unseal,
    "detect.describe": detect.describe,
    "gnarly513.decode": gnarly513.decode,
    "gnarly532.decode": gnarly532.decode,
    "dynosaur532.decode": dynosaur532.decode,
    "ttparams.decrypt": ttparams.decrypt,
}


def test_every_kind_decodes_as_itself() -> None:
    """The seeds are valid: each decodes, and `decode_token` names its kind."""
    assert set(VALID) >= {"x-gnarly-5.3.2", "x-gnarly-5.1.3", "x-dynosaur", "x-bogus", "x-tt-params"}
    for kind, token in VALID.items():
        got = decode_token(token)["type"]
        assert got == kind.removesuffix("-5.3.2").removesuffix("-5.1.3"), (kind, got)


def _mutations(token: str) -> st.SearchStrategy[str]:
    n = len(token)
    pos = st.integers(0, n)
    char = st.sampled_from(ALPHABETS).flatmap(lambda a: st.sampled_from(a + ODD_CHARS))

    def substitute(edits: list[tuple[int, str]]) -> str:
        chars = list(token)
        for i, c in edits:
            chars[i % n] = c
        return "".join(chars)

    return st.one_of(
        st.lists(st.tuples(pos, char), min_size=1, max_size=6).map(substitute),
        st.builds(lambda i, c: token[:i] + c + token[i:], pos, char),
        st.builds(lambda i: token[:i] + token[i + 1 :], pos),
        st.builds(lambda i: token[:i], pos),
        st.builds(lambda i, j: token[: min(i, j)] + token[max(i, j) :], pos, pos),
        st.builds(lambda i: token + token[i:], pos),
        st.builds(lambda i: token[i:], pos),
        st.just(token.swapcase()),
    )


mutated_tokens = st.sampled_from(sorted(VALID.values())).flatmap(_mutations)
alphabet_text = st.sampled_from(ALPHABETS).flatmap(lambda a: st.text(alphabet=a, max_size=400))
prefixed_text = st.builds(
    lambda prefix, rest: prefix + rest, st.sampled_from(["DFSz", "M", "_02B4Z6wo", ""]), alphabet_text
)
sized_text = st.sampled_from([16, 28, 44, 64, 172, 276]).flatmap(
    lambda n: st.sampled_from(ALPHABETS).flatmap(lambda a: st.text(alphabet=a, min_size=n, max_size=n))
)
any_token = st.one_of(st.text(max_size=300), alphabet_text, prefixed_text, sized_text, mutated_tokens)


def _renders(result: Any) -> None:
    """What `/v1/decode` does with a result: a JSONResponse body (no NaN, no lone surrogate, no bytes)."""
    body = JSONResponse({"code": 200, "data": result}).body
    assert json.loads(body)["data"] == json.loads(json.dumps(result))


@pytest.mark.parametrize("name", list(DECODERS))
@FUZZ
@given(token=any_token)
def test_token_decoders_raise_only_token_error(name: str, token: str) -> None:
    try:
        result = DECODERS[name](token)
    except TokenError:
        return
    if name == "decode_token":
        assert isinstance(result, dict) and isinstance(result.get("type"), str)
        _renders(result)


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), data=st.data())
def test_mutated_tokens_through_decode_token(kind: str, data: st.DataObject) -> None:
    """Every mutation of every kind: a TokenError, or a decoded result that renders as JSON."""
    token = data.draw(_mutations(VALID[kind]))
    try:
        result = decode_token(token)
    except TokenError:
        return
    _renders(result)


# ---- protobuf --------------------------------------------------------------------------------------------


def _valid_frames() -> list[bytes]:
    user = proto.EventUser(id=7000000000000000001, nickname="Viewer One", unique_id="viewer_one")
    chat = proto.chat_message(msg_id=1, room_id=7451234567890123456, user=user, content="hello")
    gift = proto.gift_message(msg_id=2, room_id=7451234567890123456, user=user, gift_id=5655, gift_name="Rose")
    result = proto.encode_fetch_result(
        cursor="t-1",
        push_server="wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/",
        route_params={"room_id": "7451234567890123456", "imprp": "x"},
        internal_ext="internal_src:dim|wss_push_room_id:7451234567890123456",
        is_first=True,
        messages=[(proto.METHOD_CHAT, chat, 1), (proto.METHOD_GIFT, gift, 2)],
        now_ms=1_700_000_000_000,
    )
    return [
        result,
        proto.gzip_bytes(result),
        proto.push_frame("msg", result, log_id=9001, seq_id=1),
        proto.push_frame("msg", result, log_id=9002, compress=True),
        proto.push_frame("hb", proto.encode_heartbeat(7451234567890123456, 2)),
    ]


FRAMES = _valid_frames()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for i, bit in flips:
        out[i % len(out)] ^= 1 << bit
    return bytes(out)


mutated_frames = st.sampled_from(FRAMES).flatmap(
    lambda f: st.one_of(
        st.integers(0, len(f)).map(lambda i: f[:i]),
        st.lists(st.tuples(st.integers(0, len(f)), st.integers(0, 7)), min_size=1, max_size=8).map(
            lambda flips: _flip(f, flips)
        ),
        st.tuples(st.integers(0, len(f)), st.binary(min_size=1, max_size=8)).map(
            lambda t: f[: t[0]] + t[1] + f[t[0] :]
        ),
    )
)
gzip_garbage = st.one_of(
    st.binary(max_size=200).map(lambda b: proto.GZIP_MAGIC + b),
    st.binary(max_size=200).map(proto.gzip_bytes),
    st.binary(max_size=200).map(lambda b: gzip.compress(b)[: max(3, len(b) // 2)]),
)
any_bytes = st.one_of(st.binary(max_size=400), mutated_frames, gzip_garbage)


def _push_frame_all_the_way(data: bytes) -> None:
    """What the socket probe does with a frame: parse, unzip, parse the fetch result, decode its events."""
    frame = proto.parse_push_frame(data)
    _ = frame.data
    result = frame.fetch_result()
    json.dumps(proto.fetch_result_to_dict(result))


PROTO_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "decode_fetch_result": lambda d: json.dumps(proto.fetch_result_to_dict(proto.decode_fetch_result(d))),
    "parse_push_frame": _push_frame_all_the_way,
    "maybe_gunzip": proto.maybe_gunzip,
    "decode_event(chat)": lambda d: json.dumps(proto.decode_event(proto.METHOD_CHAT, d)),
    "decode_event(gift)": lambda d: json.dumps(proto.decode_event(proto.METHOD_GIFT, d)),
    "decode_event(like)": lambda d: json.dumps(proto.decode_event(proto.METHOD_LIKE, d)),
    "decode_event(member)": lambda d: json.dumps(proto.decode_event(proto.METHOD_MEMBER, d)),
}


@pytest.mark.parametrize("name", list(PROTO_DECODERS))
@FUZZ
@given(data=any_bytes)
def test_proto_decoders_raise_only_proto_decode_error(name: str, data: bytes) -> None:
    try:
        PROTO_DECODERS[name](data)
    except proto.ProtoDecodeError:
        pass


def test_corrupt_deflate_inside_gzip_is_a_proto_decode_error() -> None:
    """The gzip header is fine, the deflate stream is not: zlib's own error must not escape."""
    good = gzip.compress(b"a fetch result, compressed" * 20)
    with pytest.raises(proto.ProtoDecodeError):
        proto.decode_fetch_result(good[:10] + b"\xff" * 20 + good[30:])
    with pytest.raises(proto.ProtoDecodeError):
        proto.parse_push_frame(proto.push_frame("msg", proto.GZIP_MAGIC + b"\x00" * 20)).fetch_result()


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    """64 MiB of zeros in a 64 KiB gzip (a hostile im/fetch body): refused, memory stays small."""
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    tracemalloc.start()
    try:
        with pytest.raises(proto.ProtoDecodeError, match="larger than"):
            proto.decode_fetch_result(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * proto.MAX_INFLATED_BYTES, peak


def test_inflating_is_exact_up_to_the_cap() -> None:
    data = bytes(range(256)) * 1000
    assert proto.maybe_gunzip(proto.gzip_bytes(data)) == data
    assert proto.maybe_gunzip(proto.gzip_bytes(data) + proto.gzip_bytes(b"tail")) == data + b"tail"
    exact = bytes(proto.MAX_INFLATED_BYTES)
    assert proto.maybe_gunzip(proto.gzip_bytes(exact)) == exact
    with pytest.raises(proto.ProtoDecodeError):
        proto.maybe_gunzip(proto.gzip_bytes(exact + b"x"))


# ---- JSON bodies -------------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(["https://www.tiktok.com/api/x/?a=1", "GET", "", "\x00"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
NAMES = ["url", "room_url", "token", "user_agent", "userAgent", "ms_token", "method", "body", "payload", "type"]
HOSTILE_SNIPPETS = [
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"a\\u0000b"',
    "1" * 5000,
    "-" + "9" * 4400,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "[" * 3000 + "]" * 3000,
    '{"a":' * 2000 + "1" + "}" * 2000,
    '"' + "\\" * 3 + '"',
    "0." + "1" * 5000,
    "1" * 400 + "." + "1" * 400,
    "\ufeff{}",
]


def _document(doc: dict[str, Any], snippet: str, name: str) -> bytes:
    text = json.dumps(doc, allow_nan=True)
    patched = '{"' + name + '": ' + snippet + ("," + text[1:] if len(text) > 2 else "}")
    return patched.encode("utf-8", "surrogatepass")


json_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(NAMES), json_values, max_size=5).map(lambda d: json.dumps(d).encode()),
    st.builds(
        _document,
        st.dictionaries(st.sampled_from(NAMES), json_values, max_size=3),
        st.sampled_from(HOSTILE_SNIPPETS),
        st.sampled_from(NAMES),
    ),
    st.builds(lambda k: ('{"' + k + '": "a", "' + k + '": "b"}').encode(), st.sampled_from(NAMES)),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/json;charset=UTF-16",
            "application/vnd.api+json",
            "APPLICATION/JSON",
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ]
    ),
    st.text(max_size=60),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=json_bodies, content_type=content_types)
def test_json_bodies_raise_only_4xx_api_errors(raw: bytes, content_type: str) -> None:
    try:
        data = parse_json_object(raw, content_type)
        assert isinstance(data, dict)
        for name in NAMES:
            value = field(data, name)
            if value is not None:
                assert isinstance(value, str)
                value.encode("utf-8")  # what signing does with it: no lone surrogate may get this far
    except ApiError as err:
        assert 400 <= err.status < 500, (err.status, err.message)
        assert len(err.message) >= 1


def test_json_depth_bound_does_not_depend_on_the_recursion_limit() -> None:
    """A library raising sys.setrecursionlimit (mypy's API does) must not let a 10,000-deep body through."""
    import sys

    from ttsign.server.errors import ApiError
    from ttsign.server.validation import MAX_JSON_DEPTH, parse_json_object

    deep = b'{"url": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(ApiError) as exc:
            parse_json_object(deep, "application/json")
    finally:
        sys.setrecursionlimit(old)
    assert exc.value.status == 400 and "deeply" in exc.value.message
    ok = b'{"url": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    assert parse_json_object(ok, "application/json")["url"]
