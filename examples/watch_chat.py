"""Watch a TikTok LIVE chat with TikTokLive, signed by your own ttsign server.

    make serve                                  # in one terminal
    pip install TikTokLive==7.0.1
    python examples/watch_chat.py someone       # in another (SIGN_API_URL defaults to the local server)

Set SIGN_API_KEY if the server has TTSIGN_API_KEYS. For an offline demo against the fake TikTok in
`tests/fakes` (see the README), set TIKTOK_APP_URL and TIKTOK_WEBCAST_URL to the fake's addresses.

When something is unreachable or refuses (the sign server, TikTok, an offline or unknown user), the
script prints one line saying what and exits with status 1.
"""

from __future__ import annotations

import asyncio
import os
import sys

os.environ.setdefault("SIGN_API_URL", "http://127.0.0.1:8080")  # read when the client is built

import httpx
from TikTokLive import TikTokLiveClient
from TikTokLive.client.errors import SignAPIError, TikTokLiveError, UserNotFoundError, UserOfflineError
from TikTokLive.client.web.web_settings import WebDefaults
from TikTokLive.events import CommentEvent, ConnectEvent, DisconnectEvent, GiftEvent, LikeEvent

SIGN_API_URL = os.environ["SIGN_API_URL"]
# Only for a demo against the offline fake: where TikTokLive's own TikTok calls go.
WebDefaults.tiktok_app_url = os.environ.get("TIKTOK_APP_URL", WebDefaults.tiktok_app_url)
WebDefaults.tiktok_webcast_url = os.environ.get("TIKTOK_WEBCAST_URL", WebDefaults.tiktok_webcast_url)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (TikTokLive frames the sign server's message over several)."""
    text = " ".join(str(exc).replace("|", " ").replace("+", " ").split())
    return text.replace("- SIGN SERVER MESSAGE -", "").strip() or type(exc).__name__


def explain(exc: BaseException, unique_id: str) -> str:
    """What went wrong, in the words a user needs to fix it."""
    if isinstance(exc, SignAPIError):
        if exc.reason == SignAPIError.ErrorReason.CONNECT_ERROR:
            return f"cannot reach the sign server at {SIGN_API_URL} (is `make serve` running?)"
        status = exc.response.status_code if exc.response is not None else "no answer"
        return f"the sign server at {SIGN_API_URL} refused ({exc.reason.name}, HTTP {status}): {one_line(exc)}"
    if isinstance(exc, UserOfflineError):
        return f"@{unique_id} is not LIVE right now"
    if isinstance(exc, UserNotFoundError):
        return f"no TikTok user @{unique_id}"
    if isinstance(exc, TikTokLiveError):
        return f"TikTokLive: {one_line(exc)}"
    if isinstance(exc, httpx.TimeoutException):
        return f"TikTok ({WebDefaults.tiktok_app_url}) did not answer in time"
    if isinstance(exc, httpx.HTTPError | OSError):
        return f"cannot reach TikTok ({WebDefaults.tiktok_app_url}): {one_line(exc)}"
    return f"{type(exc).__name__}: {one_line(exc)}"


def main(unique_id: str) -> int:
    client = TikTokLiveClient(unique_id=unique_id)

    @client.on(ConnectEvent)
    async def on_connect(event: ConnectEvent) -> None:
        print(f"connected to @{event.unique_id} (room {client.room_id}) through {SIGN_API_URL}")

    @client.on(CommentEvent)
    async def on_comment(event: CommentEvent) -> None:
        print(f"{event.user.nickname}: {event.comment}")

    @client.on(GiftEvent)
    async def on_gift(event: GiftEvent) -> None:
        print(f"{event.user.nickname} sent {event.gift.name}")

    @client.on(LikeEvent)
    async def on_like(event: LikeEvent) -> None:
        print(f"{event.user.nickname} liked x{event.count}")

    @client.on(DisconnectEvent)
    async def on_disconnect(_: DisconnectEvent) -> None:
        print("disconnected")

    async def watch() -> None:
        events = await client.start()  # room lookup, then the socket ttsign points it at
        try:
            await events  # until the LIVE ends
        finally:
            await client.disconnect()  # (TikTokLive 7.0.1's client.run() prints a traceback on Ctrl-C)

    try:
        asyncio.run(watch())
    except KeyboardInterrupt:
        return 0
    except (TikTokLiveError, httpx.HTTPError, OSError) as exc:
        print(f"error: {explain(exc, unique_id.lstrip('@'))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tiktok"))
