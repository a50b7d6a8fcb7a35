"""Room tokens (`ttsign.relay.tokens`) and `POST /v1/tokens` (issue 12): a token opens its own room only, until it
expires; a forged, tampered, expired or foreign-secret token is refused; the route needs a key, checks its body
strictly, and the token it hands out opens the overlay and the SSE path of that room and no other.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import make_settings
from ttsign.relay.tokens import RoomTokens, TokenInvalid, room_key
from ttsign.server.app import create_app

KEY = "tokens-test-key-0123456789abcdef"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def signer(secret: str = "a-test-secret-0123456789", clock: Clock | None = None, max_ttl: int = 3600) -> RoomTokens:
    return RoomTokens.from_settings(make_settings(token_secret=secret, token_max_ttl_s=max_ttl), clock=clock or Clock())


def test_a_token_opens_its_room_until_it_expires():
    clock = Clock()
    tokens = signer(clock=clock)
    tok, exp = tokens.issue("@SomeStreamer", 60, "key:abc")
    assert exp == int(NOW) + 60 and tok.startswith("tt1.")
    claims = tokens.verify(tok, "somestreamer")
    assert (claims.room, claims.owner, claims.expires_at) == ("somestreamer", "key:abc", exp)
    assert tokens.verify(tok, "@SOMESTREAMER").room == "somestreamer"  # usernames are case-insensitive
    clock.t = NOW + 59.9
    tokens.verify(tok, "somestreamer")
    clock.t = NOW + 60
    with pytest.raises(TokenInvalid, match="expired"):
        tokens.verify(tok, "somestreamer")


def test_a_token_never_opens_another_room():
    tokens = signer()
    tok, _ = tokens.issue("room_a", 60, "key:abc")
    for other in ("room_b", "room_a2", "room", "room_a.", ""):
        with pytest.raises(TokenInvalid, match="another room"):
            tokens.verify(tok, other)


def _tamper(tok: str, **claims: Any) -> str:
    prefix, body, mac = tok.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{prefix}.{new}.{mac}"


def test_forged_tampered_and_foreign_tokens_are_refused():
    tokens = signer()
    tok, _ = tokens.issue("room_a", 60, "key:abc")
    forged = [
        _tamper(tok, r="room_b"),  # the room changed, the mac kept
        _tamper(tok, e=int(NOW) + 10**6),  # a later expiry
        _tamper(tok, o="key:someone-else"),
        signer(secret="another-server-secret-01234").issue("room_a", 60, "key:abc")[0],
        tok[:-1] + ("A" if tok[-1] != "A" else "B"),
        tok.replace("tt1.", "tt2.", 1),
        "tt1." + tok.split(".")[1],
        "",
        "x" * 2000,
        "tt1.%%%.%%%",
        "tt1.\u00e9.\u00e9",
    ]
    for bad in forged:
        with pytest.raises(TokenInvalid):
            tokens.verify(bad, "room_a")
    assert all(bad not in str(_error(tokens, bad)) for bad in forged if bad)  # a refusal never echoes the token


def _error(tokens: RoomTokens, tok: str) -> TokenInvalid:
    try:
        tokens.verify(tok, "room_a")
    except TokenInvalid as err:
        return err
    raise AssertionError("accepted")


def test_ttl_bounds_and_the_per_process_secret():
    tokens = signer(max_ttl=100)
    for ttl in (0, -1, 101):
        with pytest.raises(ValueError, match="TTSIGN_TOKEN_MAX_TTL"):
            tokens.issue("room_a", ttl, "key:abc")
    a, b = RoomTokens.from_settings(make_settings()), RoomTokens.from_settings(make_settings())
    assert a.per_process and b.per_process and not signer().per_process
    tok, _ = a.issue("room_a", 60, "ip:127.0.0.1")
    assert b.verify(tok, "room_a").owner == "ip:127.0.0.1"  # one secret for this whole process
    with pytest.raises(TokenInvalid):
        signer().verify(tok, "room_a")  # ... which no configured secret (another instance) shares
    assert room_key(" @Some.User ") == "some.user"


@pytest.fixture
def client() -> Any:
    app = create_app(make_settings(api_keys=KEY, token_secret="route-test-secret-0123456789", token_max_ttl_s=7200))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, body: Any, key: str | None = KEY, **kw: Any) -> Any:
    headers = {"X-Api-Key": key} if key else {}
    if isinstance(body, bytes | str):
        return client.post("/v1/tokens", content=body, headers={**headers, "Content-Type": "application/json"}, **kw)
    return client.post("/v1/tokens", json=body, headers=headers, **kw)


def test_the_route_issues_a_token_for_the_callers_room(client):
    got = post(client, {"room": "@Fake.User", "ttl": 600})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["room"] == "fake.user" and body["ttl"] == 600 and got.headers["cache-control"] == "no-store"
    assert body["overlay"] == f"/overlay/fake.user?token={body['token']}"
    assert body["events"] == f"/v1/rooms/fake.user/events?token={body['token']}"
    assert client.get(body["overlay"]).status_code == 200  # no key: the token opens the overlay
    assert client.get(f"/overlay/other.user?token={body['token']}").status_code == 401
    assert client.get("/overlay/fake.user").status_code == 401
    default = post(client, {"room": "fake.user"}).json()
    assert default["ttl"] == 3600 and default["expires_at"] - body["expires_at"] in range(2990, 3011)
    owner = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[1] + "==="))["o"]
    assert owner.startswith("key:") and KEY not in body["token"]  # the key's id, never the key


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"room": "fake.user", "ttl": 7201}, 422),
        ({"room": "fake.user", "ttl": 0}, 422),
        ({"room": "fake.user", "ttl": "60"}, 422),
        ({"room": "fake.user", "ttl": 6.5}, 422),
        ({"room": "fake.user", "ttl": True}, 422),
        ({"room": "not a/user", "ttl": 60}, 400),
        ({"room": "x" * 300}, 400),
        ({"ttl": 60}, 400),
        ({"room": 5}, 422),
        (b'{"room": "a", "room": "b"}', 400),
        (b"[1]", 400),
        (b"not json", 400),
    ],
)
def test_bad_bodies_are_clear_4xx(client, body, status):
    got = post(client, body)
    assert got.status_code == status, got.text
    assert got.json()["code"] == status and len(got.json()["message"]) >= 19


def test_the_route_needs_a_key(client):
    assert post(client, {"room": "fake.user"}, key=None).status_code == 401
    assert post(client, {"room": "fake.user"}, key="wrong-key-0123456789").status_code == 401
    minted = post(client, {"room": "fake.user"}).json()["token"]
    assert client.post("/v1/tokens", params={"token": minted}, json={"room": "fake.user"}).status_code == 401
