"""Random inputs through both paths (issue 13): URLs, bodies, User-Agents, clocks, nonces, keys and record
orders, each compiled function against its pure-Python reference, and whole signers against each other."""

from __future__ import annotations

import itertools
import random
from types import ModuleType

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.accel import paths
from ttsign.algorithms import signature, xbogus
from ttsign.algorithms.payloads import dynosaur532, gnarly532
from ttsign.signing import accel
from ttsign.signing.policy import PolicyError, parse_url
from ttsign.signing.policy import wire_safe as policy_wire_safe
from ttsign.signing.signer import Signer, SignerOptions

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
keys = st.binary(min_size=48, max_size=48)
texts = st.text(max_size=300)
bodies = st.one_of(st.binary(max_size=300), st.text(max_size=100))
ascii_texts = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)
uas = st.one_of(
    st.sampled_from(
        ["", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/156.0.0.0 Safari/537.36"]
    ),
    st.text(max_size=200),
)

# URL parts a client (or an attacker) may send: escapes, dot segments, quotes, token params, non-ASCII.
_hosts = st.sampled_from(
    [
        "www.tiktok.com",
        "webcast.tiktok.com",
        "WWW.TikTok.com",
        "m.tiktok.com:8443",
        "www.tiktok.com:443",
        "www.tiktok.com:0443",
        "127.0.0.1",
        "[::1]",
        "xn--tiktok-4ya.com",
        "www.tiktok.com.",
        "a_b.tiktok.com",
        "user@www.tiktok.com",
        "www.tik%74ok.com",
        "1.2.3",
        "0x7f.1",
    ]
)
_path_chars = st.sampled_from([*list("abc/-_.~!$&'()*+,;=:@%20|^`{}[] \\日%2e%E6%97%A5"), "/..", "/.", "%2E", "%zz"])
_paths = st.lists(_path_chars, max_size=12).map(lambda cs: "/" + "".join(cs))
_names = st.sampled_from(["a", "aid", "msToken", "X-Bogus", "X-Gnarly", "X-Dynosaur", "_signature", "X-Tts-Oec-Bsid",
                          "X-Tts-Oec-%42sid", "device_id", "browser_platform", "", "q"])  # fmt: skip
_value_parts = st.sampled_from([*list("az09 '\"<>`{}|^%#=&+/?日\t"), "%20", "%E6%97%A5", "%E4", "%C0%80", "%zz"])
_values = st.lists(_value_parts, max_size=6).map("".join)
_segments = st.tuples(_names, st.sampled_from(["=", ""]), _values).map("".join)
_queries = st.lists(_segments, max_size=8).map("&".join)
urls = st.builds(
    lambda scheme, host, path, q, frag: f"{scheme}://{host}{path}{q}{frag}",
    st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    _hosts,
    _paths,
    st.one_of(st.just(""), _queries.map(lambda q: "?" + q)),
    st.sampled_from(["", "#frag", "#a?b"]),
)


def _parse_both(url: str) -> tuple[object, object]:
    out: list[object] = []
    for module in (None, accel.load()):
        accel._process = module
        try:
            out.append(parse_url(url))
        except PolicyError as exc:
            out.append(f"PolicyError: {exc}")
    return out[0], out[1]


@FAST
@given(urls)
@example(url="https://www.tiktok.com/api/x/?X-Tts-Oec-%42sid= &msToken=")  # the hooked URL ends in a space
def test_urls_read_the_same_on_both_paths(compiled: ModuleType, process_path: None, url: str) -> None:
    pure, fast = _parse_both(url)
    assert fast == pure


@FAST
@given(st.text(max_size=120).map(lambda t: "https://h/p?" + t), st.text(max_size=20))
def test_the_sdk_hook_is_the_same_on_both_paths(compiled: ModuleType, url: str, token: str) -> None:
    try:
        ref: object = xbogus.hook_signed_query(url, token)
    except ValueError as exc:
        ref = str(exc)
    try:
        got: object = tuple(compiled.hook_signed_query(url, token))
    except ValueError as exc:
        got = str(exc)
    assert got == ref


@FAST
@given(texts, uas, u32, u32, u32, u32, u16, u16, keys, ascii_texts, ascii_texts, ascii_texts, st.booleans())
def test_x_dynosaur_is_the_same_on_both_paths(
    compiled: ModuleType,
    query: str,
    ua: str,
    ts: int,
    nonce: int,
    c25: int,
    c2f: int,
    env: int,
    ub: int,
    key: bytes,
    page: str,
    canvas: str,
    device: str,
    hashed: bool,
) -> None:
    extra = {"query_hash": nonce ^ c25, "ua_hash": ts ^ c2f, "body_hash": env} if hashed else {}
    ref, got = paths.dynosaur(
        compiled, query, ua, key=key, timestamp=ts, nonce=nonce, counter_25=c25, counter_2f=c2f, env_code=env,
        ub_code=ub, page=page, canvas_hash=canvas, device_hash=device, body=query[:7], **extra,
    )  # fmt: skip
    assert got == ref


@FAST
@given(texts, bodies, uas, u32, u32, u32, st.integers(1, 0xFFFF), u16, u16, keys, st.permutations(gnarly532.KEYS))
def test_x_gnarly_532_is_the_same_on_both_paths(
    compiled: ModuleType,
    sealed: str,
    body: bytes | str,
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
    ref, got = paths.gnarly_532(
        compiled, sealed, body, ua, key=key, timestamp=ts, nonce=nonce, nonce2=nonce2, sequence=seq, env_code=env,
        ub_code=ub, record_order=order,
    )  # fmt: skip
    assert got == ref


@FAST
@given(
    texts, bodies, uas, st.integers(0, 1 << 53), u16, u32, keys, u32, u32, u32, u32, st.permutations(range(16)),
    st.text(max_size=12),
)  # fmt: skip
def test_x_gnarly_513_is_the_same_on_both_paths(
    compiled: ModuleType,
    query: str,
    body: bytes | str,
    ua: str,
    ts_ms: int,
    low16: int,
    r32: int,
    key: bytes,
    total: int,
    intercepted: int,
    ub: int,
    env: int,
    order: list[int],
    sdk: str,
) -> None:
    ref, got = paths.gnarly_513(
        compiled, query, body, ua, key=key, timestamp_ms=ts_ms, random_low16=low16, random32=r32,
        total_requests=total, intercepted_requests=intercepted, ub_code=ub, env_code=env, sdk_version=sdk,
        record_order=order,
    )  # fmt: skip
    assert got == ref


@FAST
@given(texts, bodies, uas, u32, st.binary(min_size=4, max_size=4), u32)
def test_x_bogus_is_the_same_on_both_paths(
    compiled: ModuleType, query: str, body: bytes | str, ua: str, ts: int, header: bytes, canvas: int
) -> None:
    ref, got = paths.x_bogus(compiled, query, body, ua, ts, header, canvas)
    assert got == ref


@FAST
@given(urls, uas, u32, st.text(max_size=40), u32, st.integers(0, (1 << 24) - 1), st.text(max_size=8), ascii_texts)
def test_legacy_signature_is_the_same_on_both_paths(
    compiled: ModuleType, url: str, ua: str, ts: int, page: str, canvas: int, env_mask: int, webid: str, uuid: str
) -> None:
    ref, got = paths.legacy(compiled, url, ua, ts, page, canvas=canvas, env_mask=env_mask, tt_webid=webid, uuid=uuid)
    assert got == ref
    assert compiled.signature_query(url, webid, uuid) == signature.signature_query(url, webid, uuid)


@FAST
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_hash_state_is_the_same_on_both_paths(compiled: ModuleType, data: str | bytes) -> None:
    assert compiled.hash_state(data) == dynosaur532.hash_state(data)


def _signer(mode: str, seed: int, clock: float, version: str, webcast_xbogus: bool) -> Signer:
    ticks = itertools.count()
    return Signer(
        SignerOptions(accel=mode, gnarly_version=version, webcast_xbogus=webcast_xbogus),
        clock=lambda: clock,
        mono_clock=lambda: 1000.0 + next(ticks) * 0.000731,
        rng=random.Random(seed),
    )


_sign_urls = st.one_of(
    urls,
    st.builds(
        lambda base, q: base + q,
        st.sampled_from(
            [
                "https://www.tiktok.com/api/post/item_list/?",
                "https://webcast.tiktok.com/webcast/im/fetch/?",
                "https://webcast.tiktok.com/webcast/room/enter/?",
                "https://www.tiktok.com/@someone/live?",
            ]
        ),
        _queries,
    ),
)


@SLOW
@given(
    _sign_urls, st.sampled_from(["GET", "POST"]), bodies, st.one_of(st.none(), uas), st.one_of(st.none(), texts),
    st.integers(0, 2**31), st.floats(3e8, 2.1e9), st.sampled_from(["5.3.2", "5.1.3"]), st.booleans(),
)  # fmt: skip
def test_whole_signers_agree_byte_for_byte(
    compiled: ModuleType,
    process_path: None,
    url: str,
    method: str,
    body: bytes | str,
    ua: str | None,
    token: str | None,
    seed: int,
    clock: float,
    version: str,
    webcast_xbogus: bool,
) -> None:
    """Same seed, clocks and inputs: the compiled signer's answer equals the pure one, field for field."""
    answers: list[object] = []
    for mode in ("off", "on"):
        accel._process = accel.select(mode)
        signer = _signer(mode, seed, clock, version, webcast_xbogus)
        assert signer.accel_path == ("python" if mode == "off" else "compiled")
        try:
            answers.append(signer.sign(url, method, body, ua, token))
            answers.append(signer.sign(url, method, body, ua, token))  # the page's counter and clocks move on
        except (PolicyError, ValueError) as exc:
            answers.append(f"{type(exc).__name__}: {exc}")
    half = len(answers) // 2
    assert answers[half:] == answers[:half]


def test_a_system_random_signer_reads_one_key_per_token_on_the_compiled_path(compiled: ModuleType) -> None:
    """Production entropy (SystemRandom): every token gets its own fresh key and record order."""
    signer = Signer(SignerOptions(accel="on"))
    a = signer.sign("https://www.tiktok.com/api/x/?a=1")
    b = signer.sign("https://www.tiktok.com/api/x/?a=1")
    ka = dynosaur532.gnarly.unseal(a.tokens["X-Dynosaur"]).key
    kb = dynosaur532.gnarly.unseal(b.tokens["X-Dynosaur"]).key
    ga = dynosaur532.gnarly.unseal(a.tokens["X-Gnarly"]).key
    assert len({ka, kb, ga}) == 3
    orders = {gnarly532.decode(signer.sign("https://www.tiktok.com/api/x/").tokens["X-Gnarly"]).record_order
              for _ in range(8)}  # fmt: skip
    assert len(orders) > 1


@FAST
@given(urls, st.text(max_size=20))
def test_the_url_shortcut_is_what_the_whatwg_serializer_gives(process_path: None, url: str, token: str) -> None:
    """`url_with` skips re-serialising a wire-safe tail (the signer's tokens and msToken): same URL as ada's."""
    import ada_url

    try:
        parsed = parse_url(url)
    except PolicyError:
        return
    signed = (parsed.query + "&" if parsed.query else "") + f"X-Dynosaur=Mab-/=&msToken={token}&X-Bogus=1"
    got = parsed.url_with(signed)
    wire = parsed.query if parsed.wire_query is None else parsed.wire_query
    sent = wire + signed[len(parsed.query) :] if parsed.query else (wire + "&" + signed if wire else signed)
    assert got == ada_url.URL(f"{parsed.base}?{sent}").href
    if policy_wire_safe(token):
        assert parsed.url_with(signed, tail_safe=True) == got
