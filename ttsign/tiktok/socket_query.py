"""The push socket's query as TikTok's player builds it (live-connect.md §2.2): the player's own params
for a browser, and their serialization. Shared by the socket client (`socket.py`) and the signing-mode
probes (`ws_modes.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from ttsign.algorithms.navigator import BrowserPreset


def player_params(preset: BrowserPreset) -> dict[str, str]:
    """The player's own socket params for `preset` (live-connect.md §2.2), in its order; `room_id` goes
    before `history_comment_count`."""
    return {
        "screen_width": str(preset.screen_width),
        "screen_height": str(preset.screen_height),
        "browser_language": preset.browser_language,
        "browser_platform": preset.browser_platform,
        "browser_name": preset.browser_name,
        "browser_version": preset.browser_version,
        "browser_online": "true",
        "tz_name": preset.tz_name,
        "webcast_language": "en",
        "app_language": "en",
        "history_comment_count": "6",
        "last_rtt": "0",
    }


def with_query(ws_url: str, params: Mapping[str, str]) -> str:
    """`ws_url` with `params` as the player serializes them, then the deliberate second `version_code`."""
    query = "&".join(f"{k}={quote(v, safe='()/:;,')}" for k, v in params.items())
    return f"{ws_url.split('?', 1)[0]}?{query}&version_code=270000"
