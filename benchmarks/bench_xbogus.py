"""X-Bogus (encode cold/warm, decode, verify, hook rules), the legacy _signature, the frontierSign stub."""

from __future__ import annotations

from collections.abc import Callable

from ttsign.algorithms import signature, xbogus

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
# A realistic /api/post/item_list/ query as the page sends it (navigator params, ids, msToken): 600 B.
_PARAMS = (
    "WebIdLastTime=1715000000&aid=1988&app_language=en&app_name=tiktok_web&browser_language=en-US"
    "&browser_name=Mozilla&browser_online=true&browser_platform=Win32&channel=tiktok_web&cookie_enabled=true"
    "&device_id=7368712345678901234&device_platform=web_pc&focus_state=true&from_page=user"
    "&history_len=3&is_fullscreen=false&is_page_visible=true&language=en&os=windows&priority_region="
    "&referer=&region=US&screen_height=1080&screen_width=1920"
    "&count=35&cursor=0&secUid=MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPiM&msToken="
)
QUERY = (
    _PARAMS
    + "Gx7Qp2kL9vW3zR8tY1uI5oP0aS4dF6gH2jK8lZ3xC7vB1nM9qW5eR2tY6uI0oP4aS8dF3gH7jK1lZ5xC9vB"[: 600 - len(_PARAMS)]
)
assert len(QUERY.encode()) == 600
BODY = "room_id=7368700000000000001&type=1&content=hello%20world"
TS = 1_795_000_000
PROFILE = xbogus.XBogusProfile()
TOKEN = xbogus.encode(QUERY, "", UA, TS, PROFILE)
URL = "https://www.tiktok.com/api/post/item_list/?" + QUERY
PAGE = "https://www.tiktok.com/@tiktok/live"
STUB = "e97531dbacbc8aed35ab5eca564f88f8"
DATA_URL = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAADAAAAAQCAYAAAB49lye" * 40


def _cold_ua() -> str:
    xbogus._ua_tail_int.cache_clear()  # a new UA on a known profile: the RC4 key schedule stays cached
    return xbogus.encode(QUERY, "", UA, TS, PROFILE)


def _cold_all() -> str:
    xbogus.clear_caches()
    return xbogus.encode(QUERY, "", UA, TS, PROFILE)


CASES: list[tuple[str, Callable[[], object]]] = [
    ("X-Bogus encode, 600 B query, GET (warm UA cache)", lambda: xbogus.encode(QUERY, "", UA, TS, PROFILE)),
    ("X-Bogus encode, 600 B query, 57 B body (warm)", lambda: xbogus.encode(QUERY, BODY, UA, TS, PROFILE)),
    ("X-Bogus encode, 600 B query (cold UA digest)", _cold_ua),
    ("X-Bogus encode, 600 B query (cold UA + RC4 KSA)", _cold_all),
    ("X-Bogus decode", lambda: xbogus.decode(TOKEN)),
    ("X-Bogus verify (600 B query)", lambda: xbogus.verify(TOKEN, QUERY, "", UA)),
    ("X-Bogus hook_signed_query (600 B URL)", lambda: xbogus.hook_signed_query(URL, "tok")),
    ("legacy _signature (600 B query URL)", lambda: signature.legacy_signature(URL, UA, TS, PAGE)),
    ("frontierSign stub", lambda: signature.frontier_stub(STUB, 1)),
    (f"canvas_hash ({len(DATA_URL)} chars)", lambda: xbogus.canvas_hash(DATA_URL)),
]
