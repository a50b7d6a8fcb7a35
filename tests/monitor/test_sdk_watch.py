"""Check 2, the SDK build watch, end to end against the fake TikTok's live page (`tests/fakes/sdk_site.py`):
the same build is ok; a changed SDK file is one `sdk_build` event with old -> new versions, hashes and what
differs; TikTok's own npm builds are told apart; a page without an SDK, a down TikTok or a bad baseline file
is a failure; a script on a host that is not TikTok's is never fetched."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from tests.fakes import sdk_site
from tests.fakes.hostile import HostileProxy
from tests.fakes.tiktok import FakeTikTok
from tests.monitor.watch_ctx import pin, watching
from tests.providers.sdk_files import SHA256, sdk_file
from ttsign.config import Settings
from ttsign.monitor import baseline as bl
from ttsign.monitor import pages, sdk_watch
from ttsign.tiktok.http import Upstream


async def test_the_same_build_is_ok_and_seen(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        result = await sdk_watch.check(ctx, base)
    assert result.name == "sdk_build" and result.outcome == "ok" and result.events == []
    seen = result.evidence["seen"]
    assert seen["version"] == "1.0.0.368, 5.1.3-ZTCA"
    assert seen["sha256"] == hashlib.sha256(sdk_site.stand_in_sdk().encode()).hexdigest()
    assert seen["url"] == f"{fake.base_url}/static/sdk/webmssdk_1.0.0.368.js"
    assert seen["signed_paths"] == ["/api/*", "/webcast/*", "/api-live/*"]  # the page's init
    assert ctx.monitor.sdk_seen == seen and ctx.monitor.sdk_pinned == result.evidence["pinned"]
    assert result.duration_s < 2


async def test_a_changed_file_is_an_sdk_build_event_saying_what_differs(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        new_script = sdk_site.stand_in_sdk(scm="1.0.0.400", paths=("/api/*", "/tiktok/v1/*"))
        fake.configure(page_sdk_name="webmssdk_1.0.0.400.js", page_sdk_script=new_script)
        result = await sdk_watch.check(ctx, base.to_dict())  # the dict form works as well
    assert result.outcome == "drift"
    [event] = result.events
    new_sha = hashlib.sha256(new_script.encode()).hexdigest()
    assert (event.kind, event.key, event.severity, event.fingerprint) == ("sdk_build", "sdk_build", "high", new_sha)
    assert event.title == "TikTok's SDK build changed: 1.0.0.368, 5.1.3-ZTCA -> 1.0.0.400, 5.1.3-ZTCA"
    assert event.detail["old"]["version"] == "1.0.0.368, 5.1.3-ZTCA"
    assert event.detail["new"]["version"] == "1.0.0.400, 5.1.3-ZTCA"
    assert event.detail["old"]["sha256"] == base.scripts[0].sha256 != new_sha
    differs = event.detail["differs"]
    assert differs["versions"]["added"] == ["1.0.0.400"] and differs["versions"]["removed"] == ["1.0.0.368"]
    assert differs["scripts"] == {"added": ["webmssdk_1.0.0.400.js"], "removed": ["webmssdk_1.0.0.368.js"]}
    assert differs["signed_paths"]["added"] == ["/tiktok/v1/*"]
    assert ctx.monitor.sdk_seen["version"] == "1.0.0.400, 5.1.3-ZTCA"
    assert ctx.monitor.sdk_pinned["version"] == "1.0.0.368, 5.1.3-ZTCA"


async def test_same_versions_new_bytes_is_still_a_new_build(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        fake.configure(page_sdk_script=sdk_site.stand_in_sdk() + "/* rebuilt */\n")
        result = await sdk_watch.check(ctx, base)
    [event] = result.events
    assert "new hash" in event.title and "1.0.0.368, 5.1.3-ZTCA" in event.title
    assert set(event.detail["differs"]) == {"sha256", "size"}


async def test_tiktoks_npm_builds_told_apart(fake: FakeTikTok) -> None:
    fake.configure(page_sdk_script=sdk_file("webmssdk_1.0.0.368.js").read_text())
    async with watching(fake) as ctx:
        base = await pin(ctx)
        assert (await sdk_watch.check(ctx, base)).outcome == "ok"
        fake.configure(
            page_sdk_name="webmssdk_2.0.0.485.js", page_sdk_script=sdk_file("webmssdk_2.0.0.485.js").read_text()
        )
        result = await sdk_watch.check(ctx, base)
    [event] = result.events
    assert event.title == "TikTok's SDK build changed: 1.0.0.368, 5.1.3-ZTCA -> 2.0.0.485, 5.1.3-ZTCA"
    assert event.detail["old"]["sha256"] == SHA256["webmssdk_1.0.0.368.js"]
    assert event.detail["new"]["sha256"] == SHA256["webmssdk_2.0.0.485.js"] == event.fingerprint


async def test_a_page_without_an_sdk_script_fails(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        fake.configure(page_sdk_name="app.js")  # not an SDK script name
        result = await sdk_watch.check(ctx, base)
    assert result.outcome == "fail" and result.events == []
    assert "loaded no SDK script" in result.evidence["error"]


async def test_tiktok_down_fails_in_one_line(fake: FakeTikTok) -> None:
    async with watching(fake) as ctx:
        base = await pin(ctx)
        fake.configure(down=503)
        result = await sdk_watch.check(ctx, base)
    assert result.outcome == "fail" and result.evidence == {"error": "TikTok's live page answered HTTP 503"}


async def test_the_cycles_call_reads_the_configured_baseline(fake: FakeTikTok, tmp_path: Path) -> None:
    async with watching(fake) as ctx:
        fake.reset()
        unset = await sdk_watch.check(ctx)  # check(services): no TTSIGN_MONITOR_BASELINE, nothing fetched
        assert unset.outcome == "skipped" and "ttsign analyze baseline" in unset.evidence["reason"]
        assert fake.state()["requests"] == []
        path = tmp_path / "baseline.json"
        bl.dump(await pin(ctx), path)
    async with watching(fake, TTSIGN_MONITOR_BASELINE=str(path)) as ctx:
        assert (await sdk_watch.check(ctx)).outcome == "ok"
        fake.configure(page_sdk_script=sdk_site.stand_in_sdk(scm="1.0.0.401"))
        assert (await sdk_watch.check(ctx)).outcome == "drift"
        path.write_text("{broken")
        broken = await sdk_watch.check(ctx)
    assert broken.outcome == "fail" and "is not JSON" in broken.evidence["error"]


async def test_a_script_on_a_foreign_host_is_never_fetched(fake: FakeTikTok) -> None:
    async with FakeTikTok() as other, watching(fake) as ctx:
        base = await pin(ctx)
        foreign = f"{other.base_url}/static/sdk/webmssdk_1.0.0.368.js"  # 127.0.0.1, another port: not TikTok
        fake.configure(page_sdk_name=foreign)
        result = await sdk_watch.check(ctx, base)
        hits = [r["path"] for r in other.state()["requests"]]
    assert hits == []
    assert result.outcome == "fail"
    assert result.evidence["skipped"] == [{"url": foreign, "why": "not a TikTok host"}]


async def test_a_hanging_script_ends_at_the_page_budget(proxy: HostileProxy, fake: FakeTikTok) -> None:
    proxy.add("/static/sdk/*", "hang")  # TikTok answers the page, then never the script
    settings = Settings(TTSIGN_TIKTOK_WWW=proxy.base_url, TTSIGN_UPSTREAM_TIMEOUT=10)
    http = Upstream.from_settings(settings)
    try:
        started = time.perf_counter()
        read = await pages.read_page(http, settings.tiktok_www, others=False, budget_s=0.5)
        took = time.perf_counter() - started
    finally:
        await http.close()
    assert took < 2.0, took  # the budget, not the 10 s upstream timeout
    assert read.scripts == {}
    assert read.skipped == [{"url": read.parts.sdk_srcs[0], "why": "not read within the 0.5 s budget"}]
