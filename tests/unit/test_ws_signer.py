"""The optional socket-URL signer: an X-Gnarly over the route params, carried in route_params."""

from __future__ import annotations

import hashlib

from starlette.testclient import TestClient

from tests.fakes.tiktok import FAKE_ROOM_ID, FakeTikTok
from ttsign.algorithms.payloads import gnarly532
from ttsign.config import Settings
from ttsign.server.app import create_app
from ttsign.signing.ws import xgnarly_ws_signer
from ttsign.tiktok import proto
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


def test_signer_binds_the_query():
    params = {"aid": "1988", "room_id": "1", "ws_direct": "1"}
    token = xgnarly_ws_signer(UA)(params)["X-Gnarly"]
    fields = gnarly532.decode(token)
    assert fields.sealed_query_md5 == hashlib.md5(b"aid=1988&room_id=1&ws_direct=1").hexdigest()
    assert gnarly532.verify(fields, sealed_query="aid=1988&room_id=1&ws_direct=1", user_agent=UA) == {}


def _connect_route_params(**settings: str) -> dict[str, str]:
    with FakeTikTok() as fake:
        s = Settings(
            log_level="warning",
            tiktok_www=fake.base_url,
            ttwid_url=fake.ttwid_url,
            webcast_url=fake.webcast_url,
            ws_url=fake.ws_url,
            **settings,
        )
        with TestClient(create_app(s)) as c:
            r = c.get(f"/webcast/rooms/{FAKE_ROOM_ID}/connect")
            assert r.status_code == 200, r.text
            return dict(proto.decode_fetch_result(r.content).route_params)


def test_off_by_default_and_on_by_setting():
    assert "X-Gnarly" not in _connect_route_params()
    signed = _connect_route_params(ws_signer="x-gnarly")
    token = signed.pop("X-Gnarly")
    # protobuf maps do not keep order: rebuild the query in the order the strategy signs it
    order = [*DIRECT_ROUTE_PARAMS, "room_id"]
    assert set(order) == set(signed)
    query = "&".join(f"{k}={signed[k]}" for k in order)
    assert gnarly532.decode(token).sealed_query_md5 == hashlib.md5(query.encode()).hexdigest()
