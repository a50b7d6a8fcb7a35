"""The OBS overlay (`GET /overlay/{unique_id}?token=...`, issue 12) in headless Chromium (Debian's
`/usr/bin/chromium` driven by playwright, never a browser download): with only a room token (no key) it opens
the room's SSE stream and shows the offline fake's chat lines, then scripted ones (`tests/fakes/frames.py`);
texts go in as text (markup in a comment stays text), the query options style it, `max` bounds the lines, the
page is transparent and asks nothing of any other origin.

Screenshots go to `.artifacts/` (`overlay.png`: the page alone, transparent; `overlay-on-scene.png`: the page
in a frame over a dark "scene", as OBS composites a browser source).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ServerThread
from tests.e2e.test_pages_chromium import ARGS, CHROMIUM
from tests.fakes import frames
from tests.fakes.tiktok import CHAT_TEXTS, FAKE_ROOM_ID, FAKE_USER, GIFT, FakeTikTok
from ttsign.config import Settings

KEY = "overlay-test-key-0123456789abcdef"
TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
XSS = "<img src=x onerror=\"document.title='pwned'\">"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS)
        yield chromium
        chromium.close()


def mint(srv: ServerThread, room: str) -> str:
    req = urllib.request.Request(
        srv.url + "/v1/tokens",
        data=json.dumps({"room": room, "ttl": 300}).encode(),
        headers={"X-Api-Key": KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.loads(resp.read())["token"])


def alpha_at(page: Any, png: bytes, points: list[tuple[int, int]]) -> list[int]:
    """The alpha of `png` at each point, read by Chromium itself (a canvas over a data: URL)."""
    src = "data:image/png;base64," + base64.b64encode(png).decode()
    return list(
        page.evaluate(
            """async ([src, points]) => {
                const img = new Image(); img.src = src; await img.decode();
                const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                return points.map(([x, y]) => g.getImageData(x, y, 1, 1).data[3]);
            }""",
            [src, points],
        )
    )


def push_scripted(fake: FakeTikTok) -> None:
    room = int(FAKE_ROOM_ID)
    chats = [frames.chat(XSS, room_id=room), frames.chat("gg everyone", room_id=room)]
    combo = frames.gift_combo(3, name="Lion", room_id=room)
    fake.pusher.push(FAKE_ROOM_ID, [frames.msg(chats[:1], room_id=room), frames.msg([chats[1], *combo], room_id=room)])


def test_the_overlay_shows_the_rooms_chat_in_chromium(fake: FakeTikTok, browser: Any) -> None:
    settings = Settings(
        log_json=True,
        log_level="warning",
        api_keys=KEY,
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=fake.ws_url,
        upstream_timeout_s=3.0,
        relay_grace_s=0.0,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with ServerThread(settings) as srv:
        token = mint(srv, FAKE_USER)
        query = f"token={token}&events=chat,gift,member&size=26&color=fefefe&name_color=ffb86c&bg=00000099&max=6"
        context = browser.new_context(viewport={"width": 520, "height": 420})
        page = context.new_page()
        elsewhere: list[str] = []

        def only_ttsign(route: Any) -> None:
            if route.request.url.startswith(srv.url + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_ttsign)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{srv.url}/overlay/{FAKE_USER}?{query}", timeout=TIMEOUT_MS)
        page.locator("#lines .line.chat").nth(1).wait_for(timeout=TIMEOUT_MS)  # locators: the CSP forbids eval
        lines = page.eval_on_selector_all("#lines .line", "els => els.map(e => [e.dataset.type, e.textContent])")
        assert [t for kind, t in lines if kind == "chat"] == [
            f"Viewer One{CHAT_TEXTS[0]}",
            f"Viewer Two{CHAT_TEXTS[1]}",
        ]
        assert [t for kind, t in lines if kind == "gift"] == [f"Giftersent {GIFT['name']}"]
        assert [kind for kind, _ in lines] == ["member", "chat", "chat", "gift"]  # like is not asked for
        assert page.evaluate("document.body.dataset.state") == "open"

        push_scripted(fake)
        page.locator("#lines .line.gift", has_text="Lion x3").wait_for(timeout=TIMEOUT_MS)
        lines = page.eval_on_selector_all("#lines .line", "els => els.map(e => [e.dataset.type, e.textContent])")
        assert len(lines) == 6  # max=6: the oldest went
        assert lines[-3:] == [
            ["chat", "Scripted Viewer" + XSS],  # markup stays text
            ["chat", "Scripted Viewergg everyone"],
            ["gift", "Scripted Viewersent Lion x3"],  # one line per combo, when it ends
        ]
        assert page.eval_on_selector_all("#lines img", "els => els.length") == 0 and page.title() == "ttsign overlay"
        style = page.evaluate(
            """() => { const n = document.querySelector('#lines .line.chat .name');
                       const l = document.querySelector('#lines .line.chat');
                       const s = getComputedStyle(l);
                       return [s.fontSize, s.color, getComputedStyle(n).color, s.backgroundColor,
                               getComputedStyle(document.body).backgroundColor,
                               getComputedStyle(document.documentElement).backgroundColor]; }"""
        )
        assert style == [
            "26px",
            "rgb(254, 254, 254)",
            "rgb(255, 184, 108)",
            "rgba(0, 0, 0, 0.6)",
            "rgba(0, 0, 0, 0)",
            "rgba(0, 0, 0, 0)",
        ]
        page.wait_for_timeout(300)  # the last line's entry animation
        shot = page.screenshot(omit_background=True, path=str(ARTIFACTS / "overlay.png"))
        box = page.eval_on_selector("#lines .line:last-child", "e => { const r = e.getBoundingClientRect(); "
                                    "return [Math.round(r.left + 6), Math.round(r.top + r.height / 2)]; }")  # fmt: skip
        corner, inside = alpha_at(page, shot, [(3, 3), (box[0], box[1])])
        assert corner == 0 and inside > 100  # transparent where there is no line, a line is drawn

        scene = context.new_page()
        scene.route("**/*", only_ttsign)
        scene.set_content(
            '<body style="margin:0;background:linear-gradient(135deg,#1f4037,#3a1c71)">'
            f'<iframe src="{srv.url}/overlay/{FAKE_USER}?{query}" '
            'style="border:0;width:520px;height:420px;background:transparent" allowtransparency></iframe></body>'
        )
        frame = scene.frame_locator("iframe")
        frame.locator('body[data-state="open"]').wait_for(state="attached", timeout=TIMEOUT_MS)
        push_scripted(fake)  # a new subscriber of an open room gets the events from now on
        frame.locator("#lines .line.gift", has_text="Lion x3").wait_for(timeout=TIMEOUT_MS)
        scene.wait_for_timeout(300)
        scene.screenshot(path=str(ARTIFACTS / "overlay-on-scene.png"))
        context.close()
        assert not elsewhere, elsewhere
        assert not errors, errors

        headers = urllib.request.urlopen(f"{srv.url}/overlay/{FAKE_USER}?token={token}", timeout=10).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp
