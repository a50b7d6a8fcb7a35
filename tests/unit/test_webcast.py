"""ttsign.tiktok.webcast (direct / relay / auto connect strategies) and the connect + room routes.

Everything runs against the offline TikTok on 127.0.0.1: the strategies with a real `Upstream` and a real
`TtwidIssuer`, the routes through `create_app(Settings(...))` with every upstream base pointed at the fake.
The synthesized result is checked field by field against live-connect.md §3.1.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fakes.tiktok import (
    FAKE_ROOM_ID,
    FAKE_USER,
    HISTORY_CHAT_TEXT,
    OFFLINE_ROOM_ID,
    OFFLINE_USER,
    FakeTikTok,
)
from tests.unit.conftest import closed_port_base
from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.tiktok import proto
from ttsign.tiktok.http import Upstream, simple_cookie_safe
from ttsign.tiktok.identity_pool import IdentityPool, TtwidIssuer
from ttsign.tiktok.webcast import (
    AutoStrategy,
    ConnectError,
    ConnectRequest,
    ConnectResult,
    DirectStrategy,
    RelayStrategy,
)

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
NOW = 1_795_000_000.25
IM_FETCH = "/webcast/im/fetch/"

# live-connect.md §3.1, table row 7: the socket params the synthesized result must carry.
SECTION_3_1_ROUTE_PARAMS = {
    "ws_direct": "1",
    "heartbeat_duration": "10000",
    "app_name": "tiktok_web",
    "version_code": "180800",
    "update_version_code": "2.0.0",
    "compress": "gzip",
    "device_platform": "web",
    "cookie_enabled": "true",
    "sup_ws_ds_opt": "1",
    "aid": "1988",
    "live_id": "12",
    "did_rule": "3",
    "identity": "audience",
    "client_enter": "1",
    "resp_content_type": "protobuf",
}


def make_pool(up: Upstream, fake: FakeTikTok, *, via_live: bool = False, **kw: Any) -> IdentityPool:
    """A pool over the real issuer; `via_live` makes register 404 so identities come from /live (with msToken)."""
    ttwid_url = fake.base_url + "/404/" if via_live else fake.ttwid_url
    iss = TtwidIssuer(up, ttwid_url=ttwid_url, www=fake.base_url, user_agent=UA)
    return IdentityPool(iss.issue, **kw)


def req(room_id: str = FAKE_ROOM_ID) -> ConnectRequest:
    return ConnectRequest(room_id, UA)


def im_fetch_requests(fake: FakeTikTok) -> list[dict[str, Any]]:
    return [r for r in fake.state()["requests"] if r["path"] == IM_FETCH]


# ---- DirectStrategy ------------------------------------------------------------------------------


async def test_direct_result_matches_section_3_1(upstream: Upstream, fake: FakeTikTok) -> None:
    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url, clock=lambda: NOW)
    result = await direct.connect(req())
    assert result.strategy == "direct" and result.room_id == FAKE_ROOM_ID
    r = proto.decode_fetch_result(result.body)
    assert r.is_first is True
    assert r.cursor  # both clients reject an empty cursor
    assert r.push_server == fake.ws_url and "?" not in r.push_server
    route = dict(r.route_params)
    assert route == {**SECTION_3_1_ROUTE_PARAMS, "room_id": FAKE_ROOM_ID}
    assert r.heartbeat_duration == 10000
    assert r.need_ack is False
    assert r.fetch_type == 1 and r.fetch_interval == 1000
    assert r.now == int(NOW * 1000)
    assert r.internal_ext == "" and list(r.messages) == []
    assert im_fetch_requests(fake) == []  # direct never calls im/fetch


async def test_direct_strips_a_query_from_the_ws_url(upstream: Upstream, fake: FakeTikTok) -> None:
    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url + "?room_id=1&cursor=x")
    r = proto.decode_fetch_result((await direct.connect(req())).body)
    assert r.push_server == fake.ws_url


async def test_direct_cookies_ttwid_first(upstream: Upstream, fake: FakeTikTok) -> None:
    direct = DirectStrategy(make_pool(upstream, fake, via_live=True), ws_url=fake.ws_url)
    result = await direct.connect(req())
    names = [k for k, _ in result.cookies]
    assert names[0] == "ttwid" and fake.ttwid_is_issued(result.cookies[0][1])
    assert "msToken" not in names
    header = result.set_tt_cookie().split("; ")
    assert header[0] == "ttwid=" + result.cookies[0][1]
    assert [c.split("=", 1)[0] for c in header] == names


async def test_direct_ws_signer_adds_route_params(upstream: Upstream, fake: FakeTikTok) -> None:
    seen: list[dict[str, str]] = []

    def signer(route: dict[str, str]) -> dict[str, str]:
        seen.append(dict(route))
        route.clear()  # the signer gets a copy; mangling it must not matter
        return {"X-Gnarly": "MsignedByTheHook", "extra": "1"}

    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url, ws_signer=signer)
    r = proto.decode_fetch_result((await direct.connect(req())).body)
    assert seen == [{**SECTION_3_1_ROUTE_PARAMS, "room_id": FAKE_ROOM_ID}]  # it signs the full query
    assert dict(r.route_params) == {
        **SECTION_3_1_ROUTE_PARAMS,
        "room_id": FAKE_ROOM_ID,
        "X-Gnarly": "MsignedByTheHook",
        "extra": "1",
    }


async def test_direct_reuses_the_pooled_identity(upstream: Upstream, fake: FakeTikTok) -> None:
    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url)
    a = await direct.connect(req())
    b = await direct.connect(req(OFFLINE_ROOM_ID))
    assert a.cookies[0] == b.cookies[0]
    assert len(fake.state()["issued"]["ttwid"]) == 1
    assert proto.decode_fetch_result(b.body).route_params["room_id"] == OFFLINE_ROOM_ID


async def test_direct_upstream_down(upstream: Upstream, fake: FakeTikTok) -> None:
    fake.configure(down=503)
    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url)
    with pytest.raises(ConnectError) as exc:
        await direct.connect(req())
    assert exc.value.kind == "upstream_down"


async def test_direct_upstream_unreachable(upstream: Upstream) -> None:
    dead = closed_port_base()
    iss = TtwidIssuer(upstream, ttwid_url=dead + "/ttwid/", www=dead, user_agent=UA)
    direct = DirectStrategy(IdentityPool(iss.issue), ws_url="ws://127.0.0.1:1/x/")
    with pytest.raises(ConnectError) as exc:
        await direct.connect(req())
    assert exc.value.kind == "upstream_down"


async def test_direct_no_cookies_is_identity_error(upstream: Upstream, fake: FakeTikTok) -> None:
    fake.configure(no_cookies=True)
    direct = DirectStrategy(make_pool(upstream, fake), ws_url=fake.ws_url)
    with pytest.raises(ConnectError) as exc:
        await direct.connect(req())
    assert exc.value.kind == "identity"


async def test_direct_pace_limit_is_identity_error_with_retry_after(upstream: Upstream, fake: FakeTikTok) -> None:
    direct = DirectStrategy(make_pool(upstream, fake, connects_per_hour=1, max_identities=1), ws_url=fake.ws_url)
    await direct.connect(req())
    with pytest.raises(ConnectError) as exc:
        await direct.connect(req())
    assert exc.value.kind == "identity" and exc.value.retry_after_s > 3000


# ---- RelayStrategy -------------------------------------------------------------------------------


def assert_no_webcast_signatures(entry: dict[str, Any]) -> None:
    names = {k.lower() for k in entry["query"]} | set(entry["headers"])
    assert not names & {"x-gnarly", "x-dynosaur", "x-bogus"}, names


async def test_relay_returns_the_real_result_unsigned(upstream: Upstream, fake: FakeTikTok) -> None:
    relay = RelayStrategy(make_pool(upstream, fake), upstream, webcast_url=fake.webcast_url)
    result = await relay.connect(req())
    assert result.strategy == "relay" and result.room_id == FAKE_ROOM_ID
    r = proto.decode_fetch_result(result.body)
    # what the fake's im/fetch answers (not our synthesized result): its own push_server and route params
    assert r.is_first and r.push_server == fake.ws_url
    assert set(r.route_params) == {"wrss", "imprp"}
    assert r.internal_ext.startswith("internal_src:dim|")
    events = proto.fetch_result_to_dict(r)["messages"]
    assert [e.get("text") for e in events] == [HISTORY_CHAT_TEXT]

    (sent,) = im_fetch_requests(fake)
    assert sent["status"] == 200
    assert_no_webcast_signatures(sent)
    assert sent["query"]["room_id"] == FAKE_ROOM_ID
    assert sent["query"]["msToken"] == ""  # the identity (from register) has none: sent empty, not invented
    assert sent["query"]["browser_version"] == UA.removeprefix("Mozilla/")
    assert sent["headers"]["user-agent"] == UA
    assert fake.ttwid_is_issued(sent["cookies"]["ttwid"])
    assert result.cookies[0][0] == "ttwid" and "msToken" not in dict(result.cookies)


async def test_relay_passes_a_real_mstoken_and_keeps_the_rotated_one(upstream: Upstream, fake: FakeTikTok) -> None:
    pool = make_pool(upstream, fake, via_live=True)
    relay = RelayStrategy(pool, upstream, webcast_url=fake.webcast_url)
    ident = await pool.acquire(count_connect=False)
    first_token = ident.ms_token
    assert first_token and fake.ms_token_is_issued(first_token)
    result = await relay.connect(req())
    (sent,) = im_fetch_requests(fake)
    assert sent["query"]["msToken"] == first_token
    assert_no_webcast_signatures(sent)
    # only this identity's cookies, msToken passed once (as the query param), nothing from the session jar
    assert sent["cookies"] == {k: v for k, v in ident.cookies.items() if k != "msToken"}
    assert proto.decode_fetch_result(result.body).is_first
    assert ident.ms_token != first_token and fake.ms_token_is_issued(ident.ms_token or "")


async def test_relay_fetch_empty_is_empty(upstream: Upstream, fake: FakeTikTok) -> None:
    fake.configure(fetch_empty=True)
    relay = RelayStrategy(make_pool(upstream, fake), upstream, webcast_url=fake.webcast_url)
    with pytest.raises(ConnectError) as exc:
        await relay.connect(req())
    assert exc.value.kind == "empty"


async def test_relay_forged_mstoken_hits_the_orcas_gate(upstream: Upstream, fake: FakeTikTok) -> None:
    async def issue() -> dict[str, str]:
        return {"ttwid": fake.issue_ttwid(), "msToken": "forged" * 20}

    relay = RelayStrategy(IdentityPool(issue), upstream, webcast_url=fake.webcast_url)
    with pytest.raises(ConnectError) as exc:
        await relay.connect(req())
    assert exc.value.kind == "empty" and "tt_orcas_res" in str(exc.value)


async def test_relay_upstream_down(upstream: Upstream, fake: FakeTikTok) -> None:
    pool = make_pool(upstream, fake)
    await pool.acquire(count_connect=False)  # a cached identity; then TikTok goes down
    fake.configure(down=503)
    relay = RelayStrategy(pool, upstream, webcast_url=fake.webcast_url)
    with pytest.raises(ConnectError) as exc:
        await relay.connect(req())
    assert exc.value.kind == "upstream_down" and "503" in str(exc.value)


async def test_relay_unreachable_webcast(upstream: Upstream, fake: FakeTikTok) -> None:
    relay = RelayStrategy(make_pool(upstream, fake), upstream, webcast_url=closed_port_base() + "/webcast")
    with pytest.raises(ConnectError) as exc:
        await relay.connect(req())
    assert exc.value.kind == "upstream_down"


# ---- AutoStrategy --------------------------------------------------------------------------------


def make_auto(up: Upstream, fake: FakeTikTok, **pool_kw: Any) -> AutoStrategy:
    pool = make_pool(up, fake, **pool_kw)
    return AutoStrategy(RelayStrategy(pool, up, webcast_url=fake.webcast_url), DirectStrategy(pool, ws_url=fake.ws_url))


async def test_auto_prefers_relay(upstream: Upstream, fake: FakeTikTok) -> None:
    result = await make_auto(upstream, fake).connect(req())
    assert result.strategy == "relay"
    assert set(proto.decode_fetch_result(result.body).route_params) == {"wrss", "imprp"}


async def test_auto_falls_back_to_direct_on_empty(upstream: Upstream, fake: FakeTikTok) -> None:
    fake.configure(fetch_empty=True)
    result = await make_auto(upstream, fake).connect(req())
    assert result.strategy == "direct"
    r = proto.decode_fetch_result(result.body)
    assert r.is_first and r.route_params["ws_direct"] == "1" and r.push_server == fake.ws_url
    assert len(im_fetch_requests(fake)) == 1  # relay was tried once first
    assert result.cookies[0][0] == "ttwid"


async def test_auto_does_not_fall_back_when_no_identity_is_free(upstream: Upstream, fake: FakeTikTok) -> None:
    auto = make_auto(upstream, fake, connects_per_hour=1, max_identities=1)
    await auto.connect(req())
    with pytest.raises(ConnectError) as exc:
        await auto.connect(req())
    assert exc.value.kind == "identity"


async def test_auto_upstream_down(upstream: Upstream, fake: FakeTikTok) -> None:
    fake.configure(down=503)
    with pytest.raises(ConnectError) as exc:
        await make_auto(upstream, fake).connect(req())
    assert exc.value.kind == "upstream_down"
    assert [r["path"] for r in fake.state()["requests"]] == ["/ttwid/union/register/", "/live"]  # one acquisition


async def test_auto_fallback_keeps_the_identity_and_counts_one_connect(upstream: Upstream, fake: FakeTikTok) -> None:
    """Before: relay acquired (1 connect), then direct acquired again (a 2nd connect against the pace)."""
    fake.configure(fetch_empty=True)
    auto = make_auto(upstream, fake)
    result = await auto.connect(req())
    assert result.strategy == "direct"
    (ident,) = auto.relay.pool._items
    assert len(ident.connects) == 1
    assert len(fake.state()["issued"]["ttwid"]) == 1


@pytest.fixture
def hanging_base() -> Iterator[str]:
    """`http://127.0.0.1:PORT` that accepts TCP connections (kernel backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


async def test_auto_answers_direct_before_the_deadline_when_im_fetch_hangs(
    upstream: Upstream, fake: FakeTikTok, hanging_base: str
) -> None:
    """The HTTP timeout here is 5 s; the caller's deadline (0.4 s) is what ends relay, with time left for direct."""
    pool = make_pool(upstream, fake)
    await pool.acquire(count_connect=False)
    auto = AutoStrategy(
        RelayStrategy(pool, upstream, webcast_url=hanging_base + "/webcast"), DirectStrategy(pool, ws_url=fake.ws_url)
    )
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    result = await auto.connect(ConnectRequest(FAKE_ROOM_ID, UA, deadline=loop.time() + 0.4))
    took = time.monotonic() - started
    assert result.strategy == "direct"
    assert 0.2 < took < 0.4, took  # relay got the time up to the deadline less the reserve, then direct answered


@pytest.mark.parametrize("ua", ["Mozilla/5.0 é", "Mozilla/5.0 \u2603", "\u00dcn\u00efcode"])
async def test_relay_refuses_a_non_ascii_user_agent_before_calling_tiktok(
    upstream: Upstream, fake: FakeTikTok, ua: str
) -> None:
    """Before: curl could not encode the header and the UnicodeEncodeError became a 500."""
    relay = RelayStrategy(make_pool(upstream, fake), upstream, webcast_url=fake.webcast_url)
    with pytest.raises(ConnectError) as exc:
        await relay.connect(ConnectRequest(FAKE_ROOM_ID, ua))
    assert exc.value.kind == "bad_input" and "user_agent" in str(exc.value)
    assert im_fetch_requests(fake) == []


async def test_auto_does_not_fall_back_on_a_non_ascii_user_agent(upstream: Upstream, fake: FakeTikTok) -> None:
    with pytest.raises(ConnectError) as exc:
        await make_auto(upstream, fake).connect(ConnectRequest(FAKE_ROOM_ID, "Mozilla/5.0 é"))
    assert exc.value.kind == "bad_input"


async def test_relay_timeout_and_unreachable_kinds(upstream: Upstream, fake: FakeTikTok, hanging_base: str) -> None:
    pool = make_pool(upstream, fake)
    short = Upstream(timeout_s=0.3)
    try:
        relay = RelayStrategy(pool, short, webcast_url=hanging_base + "/webcast")
        with pytest.raises(ConnectError) as exc:
            await relay.connect(req())
        assert exc.value.kind == "timeout" and "127.0.0.1" not in str(exc.value)
    finally:
        await short.close()
    dead = closed_port_base()
    relay = RelayStrategy(pool, upstream, webcast_url=dead + "/webcast")
    with pytest.raises(ConnectError) as exc:
        await relay.connect(req())
    assert exc.value.kind == "upstream_down" and dead.rsplit(":", 1)[1] not in str(exc.value)


# ---- ConnectResult / cookie safety ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("1%7CYdZI9EZUHs1u%7C1795609615%7C27a08f55", True),
        ("1|raw|pipes", True),
        ("AJ9wzyKLzXUj+uBrx2UGNA==", True),
        ("", True),
        ('has"quote', False),
        ("has space", False),
        ("semi;colon", False),
        ("back\\slash", False),
    ],
)
def test_simple_cookie_safe(value: str, safe: bool) -> None:
    assert simple_cookie_safe(value) is safe


def test_set_tt_cookie_keeps_order_and_drops_unparseable_values() -> None:
    result = ConnectResult(b"x", [("ttwid", "1%7Cabc"), ("bad", 'a "b'), ("tt_chain_token", "c==")], "1", "direct")
    assert result.set_tt_cookie() == "ttwid=1%7Cabc; tt_chain_token=c=="


# ---- the routes: /webcast/fetch, /webcast/rooms/{id}/connect, anchors, /v1/rooms ----------------


def _app(fake: FakeTikTok, **extra: Any) -> TestClient:
    settings = Settings(
        tiktok_www=fake.base_url,
        ttwid_url=fake.ttwid_url,
        webcast_url=fake.webcast_url,
        ws_url=fake.ws_url,
        log_json=True,
        log_level="warning",
        **extra,
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def app_client(fake: FakeTikTok) -> Iterator[TestClient]:
    with _app(fake) as client:
        yield client


CONNECT = [("/webcast/fetch", {"room_id": FAKE_ROOM_ID}), (f"/webcast/rooms/{FAKE_ROOM_ID}/connect", {})]
CONNECT_IDS = ["fetch", "rooms-connect"]


def assert_json_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == status and len(body["message"]) >= 19
    return body


@pytest.mark.parametrize(("path", "params"), CONNECT, ids=CONNECT_IDS)
def test_route_connect_ok(app_client: TestClient, fake: FakeTikTok, path: str, params: dict[str, str]) -> None:
    r = app_client.get(path, params={**params, "client": "ttlive-python", "user_agent": UA, "platform": "web"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-protobuf")
    cookie = r.headers["X-Set-TT-Cookie"]
    assert cookie.startswith("ttwid=")
    assert fake.ttwid_is_issued(cookie.split(";")[0].removeprefix("ttwid="))
    assert r.headers["X-Room-Id"] == FAKE_ROOM_ID
    assert r.headers.get("X-Request-Id")
    result = proto.decode_fetch_result(r.content)
    assert result.is_first and result.push_server == fake.ws_url
    assert result.route_params["room_id"] == FAKE_ROOM_ID and result.route_params["ws_direct"] == "1"


@pytest.mark.parametrize(
    "url",
    [
        "/webcast/fetch",
        "/webcast/fetch?room_id=",
        "/webcast/fetch?room_id=abc",
        "/webcast/fetch?room_id=-1",
        "/webcast/fetch?room_id=1e9",
        f"/webcast/fetch?room_id={'9' * 26}",
        "/webcast/rooms/12ab/connect",
        "/webcast/rooms/%20123/connect",
    ],
)
def test_route_connect_bad_room_id_is_400(app_client: TestClient, fake: FakeTikTok, url: str) -> None:
    assert_json_error(app_client.get(url), 400)
    assert fake.state()["requests"] == []  # rejected before any TikTok call


@pytest.mark.parametrize(("path", "params"), CONNECT, ids=CONNECT_IDS)
def test_route_connect_platform_mobile_is_400(
    app_client: TestClient, fake: FakeTikTok, path: str, params: dict[str, str]
) -> None:
    body = assert_json_error(app_client.get(path, params={**params, "platform": "mobile"}), 400)
    assert "mobile" in body["message"]
    assert fake.state()["requests"] == []


@pytest.mark.parametrize(("path", "params"), CONNECT, ids=CONNECT_IDS)
def test_route_connect_fake_down_is_502(
    app_client: TestClient, fake: FakeTikTok, path: str, params: dict[str, str]
) -> None:
    fake.configure(down=503)
    body = assert_json_error(app_client.get(path, params=params), 502)
    assert "TikTok" in body["message"]


def test_route_connect_no_cookies_is_503_with_retry_after(app_client: TestClient, fake: FakeTikTok) -> None:
    fake.configure(no_cookies=True)
    r = app_client.get(CONNECT[0][0], params=CONNECT[0][1])
    assert_json_error(r, 503)
    assert int(r.headers["Retry-After"]) >= 1


def test_route_anchor_room_id_live(app_client: TestClient) -> None:
    r = app_client.get(f"/webcast/anchors/{FAKE_USER}/room_id")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200 and body["ok"] is True
    assert body["room_id"] == FAKE_ROOM_ID and body["is_live"] is True


def test_route_anchor_room_id_offline(app_client: TestClient) -> None:
    body = app_client.get(f"/webcast/anchors/{OFFLINE_USER}/room_id").json()
    assert body["code"] == 200 and body["room_id"] == OFFLINE_ROOM_ID and body["is_live"] is False


def test_route_anchor_room_id_unknown(app_client: TestClient) -> None:
    r = app_client.get("/webcast/anchors/nosuchuser/room_id")
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == 404 and body["ok"] is False and not body["room_id"]
    assert len(body["message"]) >= 19


def test_route_v1_room_live(app_client: TestClient) -> None:
    r = app_client.get(f"/v1/rooms/{FAKE_USER}")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["room_id"] == FAKE_ROOM_ID and data["is_live"] is True and data["unique_id"] == FAKE_USER
    assert data["title"] == "Fake Streamer is live" and data["viewer_count"] == 123


def test_route_v1_room_offline(app_client: TestClient) -> None:
    data = app_client.get(f"/v1/rooms/{OFFLINE_USER}").json()["data"]
    assert data["room_id"] == OFFLINE_ROOM_ID and data["is_live"] is False


def test_route_v1_room_unknown(app_client: TestClient) -> None:
    body = assert_json_error(app_client.get("/v1/rooms/nosuchuser"), 404)
    assert body["reason"] == "not_found"


def test_route_v1_room_bad_input(app_client: TestClient, fake: FakeTikTok) -> None:
    body = assert_json_error(app_client.get("/v1/rooms/bad!name"), 400)
    assert body["reason"] == "bad_input"
    assert fake.state()["requests"] == []


@pytest.mark.parametrize(("strategy", "empty", "expected"), [("auto", False, "relay"), ("auto", True, "direct")])
def test_route_connect_strategy_from_settings(fake: FakeTikTok, strategy: str, empty: bool, expected: str) -> None:
    fake.configure(fetch_empty=empty)
    with _app(fake, connect_strategy=strategy) as client:
        r = client.get("/webcast/fetch", params={"room_id": FAKE_ROOM_ID})
    assert r.status_code == 200, r.text
    assert r.headers["X-Connect-Strategy"] == expected and r.headers["X-Set-TT-Cookie"].startswith("ttwid=")
    assert len(im_fetch_requests(fake)) == 1


def test_route_relay_only_empty_fetch_is_502_never_an_empty_200(fake: FakeTikTok) -> None:
    fake.configure(fetch_empty=True)
    with _app(fake, connect_strategy="relay") as client:
        r = client.get(f"/webcast/rooms/{FAKE_ROOM_ID}/connect")
    body = assert_json_error(r, 502)
    assert "empty" in body["message"]
