"""Drives the unmodified TikTokLive 6.6.5 (this environment's pin) through ttsign; one JSON line per outcome.

Run by tests/e2e/test_old_clients.py with `.venvs/tiktoklive66/bin/python`, never imported by the main suite.
Usage: drive.py connect <sign_url> <fake_base> <fake_webcast> [api_key]
       drive.py sign <sign_url> <api_key or ""> <url_to_sign>...   (one line per URL)
The sign host is set the one way the README shows for 6.6: `WebDefaults.tiktok_sign_url = <sign_url>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from TikTokLive import TikTokLiveClient
from TikTokLive.client.web.web_settings import WebDefaults
from TikTokLive.events import CommentEvent, ConnectEvent

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"


def emit(**item: object) -> None:
    print(json.dumps(item), flush=True)


async def connect(user: str, timeout: float) -> None:
    client = TikTokLiveClient(unique_id="@" + user)
    comments: list[str] = []
    done = asyncio.Event()

    @client.on(ConnectEvent)
    async def _connected(event: ConnectEvent) -> None:
        emit(event="connect", room_id=str(event.room_id))

    @client.on(CommentEvent)
    async def _comment(event: CommentEvent) -> None:
        comments.append(event.comment)
        emit(event="comment", text=event.comment)
        if len(comments) >= 2:
            done.set()

    try:
        task = await client.start(fetch_live_check=True)
        waiter = asyncio.ensure_future(done.wait())
        finished, _ = await asyncio.wait({waiter, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in finished:
            task.result()
        waiter.cancel()
        await asyncio.sleep(0.3)  # let the acks of the last frames go out
        emit(done=True, ok=len(comments) >= 2, comments=comments)
        if not task.done():
            await client.disconnect()
            task.cancel()
    except Exception as exc:  # the client's own error, reported by name
        emit(done=True, ok=False, name=type(exc).__name__, message=str(exc)[:2000])
    finally:
        with contextlib.suppress(AttributeError):  # 6.6.5's close() trips over its unset curl_cffi session
            await client.web.close()


async def sign(urls: list[str]) -> None:
    client = TikTokLiveClient(unique_id="@someone")
    for url in urls:
        try:
            answer = await client.web.signer.webcast_sign(
                url=url, method="GET", sign_url_type="fetch", payload="", user_agent=UA
            )
            emit(url=url, ok=True, answer=answer)
        except Exception as exc:
            emit(url=url, ok=False, name=type(exc).__name__, message=str(exc)[:2000])
    emit(done=True)
    with contextlib.suppress(AttributeError):
        await client.web.close()


def main(argv: list[str]) -> None:
    mode, sign_url = argv[0], argv[1]
    WebDefaults.tiktok_sign_url = sign_url  # the README's one-line set-up for 6.6.x
    if mode == "connect":
        WebDefaults.tiktok_app_url, WebDefaults.tiktok_webcast_url = argv[2], argv[3]
        WebDefaults.tiktok_sign_api_key = argv[4] if len(argv) > 4 else None
        asyncio.run(connect("fakeuser", timeout=15))  # the fake's live user
    else:
        WebDefaults.tiktok_sign_api_key = argv[2] or None
        asyncio.run(sign(argv[3:]))


if __name__ == "__main__":
    main(sys.argv[1:])
