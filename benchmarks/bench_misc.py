"""Small helpers on the signing path: x-tt-params, identity generation, browser presets."""

from __future__ import annotations

import random
from collections.abc import Callable

from ttsign.algorithms import identity, navigator, ttparams

_PRESET = navigator.get_preset("chrome-win")
# A ~600-byte legacy item_list query: the page's navigator parameters plus the business ones.
QUERY = (
    "aid=1988&app_language=en&app_name=tiktok_web&"
    + "&".join(f"{k}={v}" for k, v in navigator.query_params(_PRESET))
    + "&channel=tiktok_web&count=30&cursor=0&device_id=7437071234567890123&device_platform=web_pc"
    "&focus_state=true&from_page=user&history_len=3&is_fullscreen=false&is_page_visible=true"
    "&priority_region=&referer=&region=US&secUid=MS4wLjABAAAAv7iSuuXDJGDvJkmH"
    "&type=1&user_is_login=false&webcast_language=en&is_encryption=1"
)
_TOKEN = ttparams.encrypt(QUERY)
_RNG = random.Random(0)
_NOW_MS = 1_795_000_000_000
_FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:157.0) Gecko/20100101 Firefox/157.0"

CASES: list[tuple[str, Callable[[], object]]] = [
    (f"x-tt-params encrypt ({len(QUERY.encode())} B query)", lambda: ttparams.encrypt(QUERY)),
    (f"x-tt-params decrypt ({len(QUERY.encode())} B query)", lambda: ttparams.decrypt(_TOKEN)),
    ("device_id (random.Random)", lambda: identity.device_id(_RNG)),
    ("device_id, time-stamped (random.Random)", lambda: identity.device_id(_RNG, _NOW_MS // 1000)),
    ("verify_fp (random.Random)", lambda: identity.verify_fp(_NOW_MS, _RNG)),
    ("new_identity (random.Random)", lambda: identity.new_identity(_RNG, _NOW_MS)),
    ("preset_for_user_agent (unknown UA)", lambda: navigator.preset_for_user_agent(_FIREFOX_MAC)),
]
