"""Identity generators and validators (protocol/tokens.md §3)."""

from __future__ import annotations

import dataclasses
import random
import re
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttsign.algorithms import identity
from ttsign.algorithms.identity import (
    ALPHABET62,
    Identity,
    device_id,
    id_created_s,
    is_device_id,
    is_verify_fp,
    new_identity,
    odin_id,
    verify_fp,
    verify_fp_time_ms,
    web_id_last_time,
)

NOW_MS = 1_795_000_000_123  # 2026-11-18
NOW_S = NOW_MS // 1000

# Real values from public captures (device_id with its WebIdLastTime, guest odinIds, s_v_web_ids).
REAL_IDS = [
    "7427171842932786693",
    "7427171704705188869",
    "7640910209871070740",
    "7658816607170971144",
    "7352732694193309214",
    "6965670367281858049",
]
REAL_DEVICE_AND_CREATED = [
    ("7352732694193309214", 1711941538),
    ("7313595501092587040", 1702829206),
    ("7310920380687025682", 1702206311),
]
REAL_VERIFY_FPS = [
    "verify_khr3jabg_V7ucdslq_Vrw9_4KPb_AJ1b_Ks706M8zIJTq",
    "verify_kqj9kjg8_h6I0T7wu_Rewg_4N6a_ANgb_RwrZSHwKIbIO",
    "verify_latio6ct_5FzXpKng_5ZAZ_4unS_AkTf_iCW6vWcdOHIQ",
    "verify_mh4yf0uq_rdjp1Xwt_OoTk_4Jrf_AS8H_sp31opbnJFre",
    "verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVA",
]


# ---------------------------------------------------------------- device_id / odinId


def test_device_id_untimed_shape() -> None:
    rng = random.Random(1)
    ids = [device_id(rng) for _ in range(2000)]
    assert all(len(i) == 19 and i[0] == "7" and i.isdigit() for i in ids)
    assert all(is_device_id(i) for i in ids)
    assert len(set(ids)) == len(ids)
    # the remaining 18 digits are spread out, not stuck on a pattern
    assert {i[1] for i in ids} == set("0123456789")
    assert {i[-1] for i in ids} == set("0123456789")


def test_device_id_timed_carries_time() -> None:
    rng = random.Random(2)
    ids = {device_id(rng, NOW_S) for _ in range(100)}
    assert len(ids) == 100
    for i in ids:
        assert is_device_id(i) and i.startswith("7")
        assert id_created_s(i) == NOW_S


def test_device_id_is_deterministic_per_seed() -> None:
    assert device_id(random.Random(5)) == device_id(random.Random(5))
    assert device_id(random.Random(5)) != device_id(random.Random(6))
    assert device_id(random.Random(5), NOW_S) == device_id(random.Random(5), NOW_S)


@pytest.mark.parametrize("now_s", [0, 232_830_643, 2**31, 10**12])
def test_device_id_rejects_times_without_a_19_digit_id(now_s: int) -> None:
    with pytest.raises(ValueError):
        device_id(random.Random(0), now_s)


def test_device_id_time_bounds() -> None:
    assert len(device_id(random.Random(0), 232_830_644)) == 19
    assert is_device_id(device_id(random.Random(0), 2**31 - 1))


def test_secrets_rng_works() -> None:
    rng = secrets.SystemRandom()
    assert is_device_id(device_id(rng))
    assert is_verify_fp(verify_fp(NOW_MS, rng))
    assert isinstance(new_identity(rng, NOW_MS), Identity)


def test_odin_id_shape() -> None:
    rng = random.Random(3)
    assert is_device_id(odin_id(rng)) and odin_id(rng).startswith("7")
    assert id_created_s(odin_id(rng, NOW_S)) == NOW_S


@pytest.mark.parametrize(("did", "created"), REAL_DEVICE_AND_CREATED)
def test_real_device_ids_carry_their_creation_time(did: str, created: int) -> None:
    # The shape our timed ids copy: id >> 32 is a few seconds before webIdCreatedTime.
    assert 0 <= created - id_created_s(did) <= 60


@pytest.mark.parametrize("value", REAL_IDS)
def test_real_ids_validate(value: str) -> None:
    assert is_device_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "736871234567890123",  # 18 digits
        "73687123456789012345",  # 20 digits: TikTokLive 7.0.1's off-pattern randrange(1e19, 1e20)
        "0368712345678901234",  # leading zero
        "9999999999999999999",  # over 2^63 - 1
        "736871234567890123a",
        " 7368712345678901234",
        "7368712345678901234\n",
        "７３６８７１２３４５６７８９０１２３４",  # full-width digits
        7368712345678901234,
        None,
    ],
)
def test_bad_ids_do_not_validate(value: object) -> None:
    assert not is_device_id(value)


def test_id_created_s_rejects_non_ids() -> None:
    with pytest.raises(ValueError):
        id_created_s("123")


# ---------------------------------------------------------------- WebIdLastTime


def test_web_id_last_time() -> None:
    assert web_id_last_time(1_795_000_000) == "1795000000"
    assert web_id_last_time(1_795_000_000.9) == "1795000000"
    with pytest.raises(ValueError):
        web_id_last_time(-1)


# ---------------------------------------------------------------- verifyFp


def test_verify_fp_layout() -> None:
    rng = random.Random(4)
    for _ in range(500):
        fp = verify_fp(NOW_MS, rng)
        assert is_verify_fp(fp)
        prefix, ts, body = fp[:7], fp[7:15], fp[16:]
        assert prefix == "verify_" and fp[15] == "_"
        assert int(ts, 36) == NOW_MS
        assert len(body) == 36
        assert [i for i, c in enumerate(body) if c == "_"] == [8, 13, 18, 23]
        assert body[14] == "4"
        assert ALPHABET62.index(body[19]) in (8, 9, 10, 11)


def test_verify_fp_timestamp_base36() -> None:
    fp = verify_fp(NOW_MS, random.Random(0))
    assert verify_fp_time_ms(fp) == NOW_MS
    assert fp.split("_")[1] == _base36_reference(NOW_MS)
    assert verify_fp(35, random.Random(0)).split("_")[1] == "z"
    assert verify_fp(36, random.Random(0)).split("_")[1] == "10"


def _base36_reference(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def test_verify_fp_uses_whole_alphabet() -> None:
    rng = random.Random(7)
    fps = [verify_fp(NOW_MS, rng) for _ in range(400)]
    free = [i for i in range(36) if i not in (8, 13, 14, 18, 19, 23)]
    chars = {fp[16 + i] for fp in fps for i in free}
    assert chars == set(ALPHABET62)
    assert {fp[16 + 19] for fp in fps} == set("89AB")


def test_verify_fp_rejects_bad_time() -> None:
    with pytest.raises(ValueError):
        verify_fp(0, random.Random(0))


@pytest.mark.parametrize("value", REAL_VERIFY_FPS)
def test_real_verify_fps_validate(value: str) -> None:
    assert is_verify_fp(value)
    assert 1_500_000_000_000 < verify_fp_time_ms(value) < 1_900_000_000_000


@pytest.mark.parametrize(
    "value",
    [
        "",
        "verify_",
        "verify_mn20yion_rviWJNYw_kgW3_5xku_BPId_ggvPSMEYwyVA",  # 5 where 4 must be
        "verify_mn20yion_rviWJNYw_kgW3_4xku_CPId_ggvPSMEYwyVA",  # C at body position 19
        "verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyV",  # body 35 chars
        "verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVAx",  # body 37 chars
        "verify_mn20yion_rviWJNYw-kgW3_4xku_BPId_ggvPSMEYwyVA",  # - instead of _
        "verify_MN20YION_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVA",  # upper-case base36
        "verify_0n20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVA",  # leading zero in the time
        "Verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVA",
        "verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwy+A",
        None,
    ],
)
def test_bad_verify_fps_do_not_validate(value: object) -> None:
    assert not is_verify_fp(value)


def test_verify_fp_time_rejects_non_fp() -> None:
    with pytest.raises(ValueError):
        verify_fp_time_ms("verify_x")


# ---------------------------------------------------------------- Identity


def test_new_identity_is_consistent() -> None:
    ident = new_identity(random.Random(11), NOW_MS)
    assert is_device_id(ident.device_id) and ident.device_id.startswith("7")
    assert is_device_id(ident.odin_id) and ident.odin_id != ident.device_id
    assert ident.web_id_last_time == str(NOW_S)
    assert 5 <= NOW_S - id_created_s(ident.device_id) <= 60
    assert abs(id_created_s(ident.odin_id) - id_created_s(ident.device_id)) <= 60
    assert is_verify_fp(ident.verify_fp) and verify_fp_time_ms(ident.verify_fp) == NOW_MS
    assert 1 << 24 <= ident.canvas_hash < (1 << 32) - 1
    assert 1 << 24 <= ident.webgl_hash < (1 << 32) - 1
    assert ident.canvas_hash != ident.webgl_hash
    assert re.fullmatch(r"[0-9a-f]{32}", ident.device_hash)
    assert ident.component_version == "2.0.0.1667"


def test_new_identity_is_frozen_and_reproducible() -> None:
    a = new_identity(random.Random(12), NOW_MS)
    assert a == new_identity(random.Random(12), NOW_MS)
    assert a != new_identity(random.Random(13), NOW_MS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.device_id = "7000000000000000000"  # type: ignore[misc]


def test_identities_differ() -> None:
    rng = random.Random(14)
    idents = [new_identity(rng, NOW_MS) for _ in range(50)]
    for field in ("device_id", "odin_id", "verify_fp", "canvas_hash", "webgl_hash", "device_hash"):
        assert len({getattr(i, field) for i in idents}) == 50, field


def test_identity_never_carries_server_issued_tokens() -> None:
    names = {f.name.lower() for f in dataclasses.fields(Identity)}
    assert not {n for n in names if "mstoken" in n or "ttwid" in n}
    assert not any("mstoken" in n.lower() or "ttwid" in n.lower() for n in identity.__all__)


@given(seed=st.integers(0, 2**64), now_ms=st.integers(1_600_000_000_000, 1_860_000_000_000))
def test_new_identity_any_seed_and_time(seed: int, now_ms: int) -> None:
    ident = new_identity(random.Random(seed), now_ms)
    assert is_device_id(ident.device_id) and ident.device_id[0] in "67"
    assert is_device_id(ident.odin_id)
    assert is_verify_fp(ident.verify_fp)
    assert verify_fp_time_ms(ident.verify_fp) == now_ms
    assert int(ident.web_id_last_time) == now_ms // 1000
