"""Check 3, the player watch, end to end against the fake TikTok's live page and player script
(`tests/fakes/sdk_site.py`): unchanged socket facts are ok; each changed fact (socket host, path, query keys,
a signature on the socket, a cookie name) is one `player_change` event naming it, with the new facts' digest
as its fingerprint; a down TikTok fails; without a baseline nothing is fetched."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import sdk_site
from tests.fakes.tiktok import WS_PATH, FakeTikTok
from tests.monitor.watch_ctx import pin, watching
from ttsign.monitor import player_watch
from ttsign.monitor.facts import SocketFacts


async def test_unchanged_socket_facts_are_ok(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        result = await player_watch.check(ctx, base)
    assert result.name == "player" and result.outcome == "ok" and result.events == []
    seen = result.evidence["seen"]
    assert seen["hosts"] == [f"127.0.0.1:{fake.port}"] and seen["paths"] == [WS_PATH]
    assert seen["query_keys"] == list(sdk_site.PLAYER_QUERY)
    assert seen["cookie_names"] == ["msToken", "tt_chain_token", "tt_csrf_token", "ttwid"]
    assert seen["scripts"] == [f"{fake.base_url}/static/player/live-player.js"]


def _changes(fake: FakeTikTok) -> dict[str, tuple[dict[str, Any], set[str]]]:
    keys = [k for k in sdk_site.PLAYER_QUERY if k != "did_rule"] + ["device_id"]
    return {
        "host": ({"page_ws_url": "wss://webcast-ws.us.tiktok.com" + WS_PATH}, {"hosts"}),
        "path": ({"page_ws_url": fake.ws_url.replace(WS_PATH, "/webcast/im/push/v2/")}, {"paths"}),
        "query": ({"page_ws_query": keys}, {"query_keys"}),
        "signed": ({"page_ws_signed": ["X-Gnarly"]}, {"signed_keys", "ws_signer"}),
        "cookie": ({"page_cookies": ["odin_tt"]}, {"cookie_names"}),
    }


@pytest.mark.parametrize("change", ["host", "path", "query", "signed", "cookie"])
async def test_a_changed_socket_fact_is_a_player_change_event(fake: FakeTikTok, change: str) -> None:
    config, expected = _changes(fake)[change]
    async with watching(fake) as ctx:
        base = await pin(ctx)
        fake.configure(**config)
        result = await player_watch.check(ctx, base)
    assert result.outcome == "drift"
    [event] = result.events
    assert (event.kind, event.key, event.severity) == ("player_change", "player", "medium")
    changes = event.detail["changes"]
    assert set(changes) == expected
    now = SocketFacts.from_dict(result.evidence["seen"])
    assert event.fingerprint == now.digest == event.detail["new_digest"] != event.detail["old_digest"]
    assert event.title == f"The live player's socket facts changed: {', '.join(changes)}"
    if change == "host":
        assert changes["hosts"] == {"was": [f"127.0.0.1:{fake.port}"], "now": ["webcast-ws.us.tiktok.com"]}
    if change == "query":
        assert "did_rule" in changes["query_keys"]["was"] and "device_id" in changes["query_keys"]["now"]
    if change == "signed":
        assert changes["signed_keys"] == {"was": [], "now": ["X-Gnarly"]}
        assert changes["ws_signer"] == {"was": False, "now": True}
    if change == "cookie":
        assert "odin_tt" in changes["cookie_names"]["now"]


async def test_a_new_digest_per_change_so_alerts_renew(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        fake.configure(page_cookies=["odin_tt"])
        first = (await player_watch.check(ctx, base)).events[0]
        again = (await player_watch.check(ctx, base)).events[0]
        fake.configure(page_cookies=["odin_tt", "sid_guard"])
        other = (await player_watch.check(ctx, base)).events[0]
    assert first.fingerprint == again.fingerprint != other.fingerprint


async def test_down_fails_and_no_baseline_is_skipped_with_the_facts(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        unpinned = await player_watch.check(ctx)  # no TTSIGN_MONITOR_BASELINE: not configured, nothing fetched
        assert unpinned.outcome == "skipped" and "ttsign analyze baseline" in unpinned.evidence["reason"]
        assert fake.state()["requests"] == []
        fake.configure(down=500)
        down = await player_watch.check(ctx, await _never_read())
    assert down.outcome == "fail" and "HTTP 500" in down.evidence["error"]


async def _never_read() -> dict[str, Any]:
    return {"format": "ttsign-baseline", "version": 1, "socket": {"hosts": ["x"]}}
