"""Watch a TikTok LIVE chat with TikTokLive, signed by your own ttsign server.

    make serve                                  # in one terminal
    pip install TikTokLive==7.0.1
    python examples/watch_chat.py someone       # in another (SIGN_API_URL defaults to the local server)

Set SIGN_API_KEY if the server has TTSIGN_API_KEYS.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("SIGN_API_URL", "http://127.0.0.1:8080")  # read when the client is built

from TikTokLive import TikTokLiveClient
from TikTokLive.events import CommentEvent, ConnectEvent, DisconnectEvent, GiftEvent, LikeEvent


def main(unique_id: str) -> None:
    client = TikTokLiveClient(unique_id=unique_id)

    @client.on(ConnectEvent)
    async def on_connect(event: ConnectEvent) -> None:
        print(f"connected to @{event.unique_id} (room {client.room_id}) through {os.environ['SIGN_API_URL']}")

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

    client.run()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tiktok")
