"""X-Gnarly / X-Dynosaur: envelope seal/unseal and the three payload encoders, on a realistic /api query.

Targets (DESIGN.md section 7): X-Gnarly or X-Dynosaur encode <= 200 us in CPython. The envelope's cost
depends on the round count R = 5..20 drawn from the key, so the envelope and encoders are measured with
a typical key (R = 12) and the worst case (R = 20).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ttsign.algorithms import gnarly
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.algorithms.query import serialize_pairs

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
PAIRS = [
    ("aid", "1988"),
    ("app_language", "en"),
    ("app_name", "tiktok_web"),
    ("browser_language", "en-US"),
    ("browser_name", "Mozilla"),
    ("browser_platform", "Win32"),
    ("browser_version", UA.removeprefix("Mozilla/")),
    ("channel", "tiktok_web"),
    ("device_id", "7551234567890123456"),
    ("device_platform", "web_pc"),
    ("from_page", "user"),
    ("is_page_visible", "true"),
    ("language", "en"),
    ("os", "windows"),
    ("priority_region", ""),
    ("referer", ""),
    ("region", "US"),
    ("root_referer", "https://www.tiktok.com/"),
    ("screen_height", "1080"),
    ("screen_width", "1920"),
    ("tz_name", "America/New_York"),
    ("webcast_language", "en"),
    ("count", "35"),
    ("cursor", "0"),
    ("secUid", "MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBlB8NJzR"),
]
QUERY = serialize_pairs(PAIRS)
MS_TOKEN = "x" * 128
TS = 1789000243
NONCE = 52_032_174


def key_with_rounds(rounds: int, seed: int = 7) -> bytes:
    """A fixed pseudo-random key whose round count is ``rounds`` (adjusts the low nibble of byte 0)."""
    key = bytearray(random.Random(seed).randbytes(48))
    key[0] &= 0xF0
    need = (rounds - 5 - sum(b & 15 for b in key[::4])) % 16
    key[0] |= need
    assert gnarly.rounds_for(bytes(key)) == rounds
    return bytes(key)


KEY_TYPICAL = key_with_rounds(12)
KEY_WORST = key_with_rounds(20)
ORDER = list(gnarly532.KEYS)
random.Random(3).shuffle(ORDER)


def _dynosaur(key: bytes) -> str:
    return dynosaur532.encode(
        QUERY, UA, timestamp=TS, nonce=NONCE, counter_25=3, counter_2f=41, page="www.tiktok.com/@scout2015",
        canvas_hash="1135188161", webgl_hash="3207760156", component_version="2.0.0.1667",
        device_hash="cb27884205bbb114417866dbabe926ca", key=key,
    )  # fmt: skip


DYNOSAUR = _dynosaur(KEY_TYPICAL)
SEALED = gnarly532.sealed_string(QUERY, DYNOSAUR, MS_TOKEN)


def _gnarly532(key: bytes) -> str:
    return gnarly532.encode(
        SEALED, b"", UA, timestamp=TS, nonce=NONCE + 700, nonce2=~(NONCE + 900) & 0xFFFFFFFF, sequence=3,
        key=key, record_order=ORDER,
    )  # fmt: skip


def _gnarly513(key: bytes) -> str:
    return gnarly513.encode(
        f"{QUERY}&msToken={MS_TOKEN}", b"", UA, timestamp_ms=TS * 1000 + 123, random_low16=0x5D92,
        random32=0x44AE7327, key=key, total_requests=103, intercepted_requests=16, ub_code=8,
        sdk_version="2.0.0.485",
    )  # fmt: skip


def _suffix(key: bytes) -> str:
    """The whole 5.3.2 suffix of gnarly-532.md section 0: D, then S, then G."""
    d = _dynosaur(key)
    s = gnarly532.sealed_string(QUERY, d, MS_TOKEN)
    g = gnarly532.encode(s, b"", UA, timestamp=TS, nonce=NONCE, nonce2=~NONCE & 0xFFFFFFFF, sequence=3, key=key)
    return f"{s}&X-Bogus=1&X-Gnarly={g}"


PAYLOAD_532 = gnarly532.build_payload(SEALED, b"", UA, timestamp=TS, nonce=NONCE, nonce2=1, sequence=3)
TOKEN_532 = _gnarly532(KEY_TYPICAL)

CASES: list[tuple[str, Callable[[], object]]] = [
    (f"gnarly.seal 193 B (R=12, query {len(QUERY)} B)", lambda: gnarly.seal(PAYLOAD_532, KEY_TYPICAL)),
    ("gnarly.seal 193 B (R=20)", lambda: gnarly.seal(PAYLOAD_532, KEY_WORST)),
    ("gnarly.unseal X-Gnarly (R=12)", lambda: gnarly.unseal(TOKEN_532)),
    ("X-Gnarly 5.3.2 encode (R=12)", lambda: _gnarly532(KEY_TYPICAL)),
    ("X-Gnarly 5.3.2 encode (R=20)", lambda: _gnarly532(KEY_WORST)),
    ("X-Gnarly 5.3.2 decode", lambda: gnarly532.decode(TOKEN_532)),
    ("X-Dynosaur 5.3.2 encode (R=12)", lambda: _dynosaur(KEY_TYPICAL)),
    ("X-Dynosaur 5.3.2 encode (R=20)", lambda: _dynosaur(KEY_WORST)),
    ("X-Dynosaur 5.3.2 decode", lambda: dynosaur532.decode(DYNOSAUR)),
    ("X-Gnarly 5.1.3 encode (R=12)", lambda: _gnarly513(KEY_TYPICAL)),
    ("5.3.2 suffix: X-Dynosaur + X-Gnarly (R=12)", lambda: _suffix(KEY_TYPICAL)),
    ("5.3.2 suffix: X-Dynosaur + X-Gnarly (R=20)", lambda: _suffix(KEY_WORST)),
    ("dynosaur532.hash_state(query)", lambda: dynosaur532.hash_state(QUERY)),
]
