"""The Signer: a full `/api/*` suffix (X-Dynosaur + X-Gnarly 5.3.2), webcast msToken-only, classic X-Bogus."""

from __future__ import annotations

from collections.abc import Callable

from ttsign.algorithms import signature, ttparams
from ttsign.signing.signer import Signer, SignerOptions

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
# A realistic ~600-byte /api/* query as the page sends it.
API = (
    "https://www.tiktok.com/api/post/item_list/?WebIdLastTime=1764000000&aid=1988&app_language=en"
    "&app_name=tiktok_web&browser_language=en-US&browser_name=Mozilla&browser_online=true"
    "&browser_platform=Win32&browser_version=5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36"
    "%20(KHTML,%20like%20Gecko)%20Chrome/156.0.0.0%20Safari/537.36&channel=tiktok_web&cookie_enabled=true"
    "&count=35&coverFormat=2&cursor=0&device_id=7576123456789012345&device_platform=web_pc&focus_state=true"
    "&from_page=user&history_len=3&is_fullscreen=false&is_page_visible=true&language=en&os=windows"
    "&priority_region=&referer=&region=US&screen_height=1080&screen_width=1920"
    "&secUid=MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPiM&tz_name=America/New_York"
    "&webcast_language=en"
)
WEBCAST = "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&room_id=7451234567890123456&cursor="
ROOM = "https://www.tiktok.com/@someone/live"

signer = Signer(SignerOptions())
signer513 = Signer(SignerOptions(gnarly_version="5.1.3"))


def _origin() -> object:
    s = signer.sign(API, "GET", b"", UA, None)
    signature.legacy_signature(API, UA, s.timestamp, "www.tiktok.com/")
    return ttparams.encrypt(s.signed_query.split("&X-Dynosaur=", 1)[0] + "&is_encryption=1")


CASES: list[tuple[str, Callable[[], object]]] = [
    ("sign /api/* full suffix (5.3.2, ~600 B query)", lambda: signer.sign(API, "GET", b"", UA, None)),
    ("sign /api/* 5.1.3 mode (X-Bogus + X-Gnarly)", lambda: signer513.sign(API, "GET", b"", UA, None)),
    ("sign webcast im/fetch (msToken only)", lambda: signer.sign(WEBCAST, "GET", b"", UA, None)),
    ("sign room URL (classic X-Bogus)", lambda: signer.sign(ROOM, "GET", b"", UA, None)),
    ("origin /signature payload (full + _signature + x-tt-params)", _origin),
]
