"""An offline double of TikTok: everything ttsign and the two client libraries touch, on 127.0.0.1.

One aiohttp app serves, on one port (shapes from ``shared/protocol/live-connect.md`` §2, §4, §5):

==========================================================  ===========================================
``POST /ttwid/union/register/``, ``POST /ttwid/check/``     JSON + ``Set-Cookie`` ttwid, tt_csrf_token,
                                                            tt_chain_token (``aid`` 1988 is refused)
``GET /live`` (also ``/`` and ``/explore``)                 HTML + the same cookies + an msToken
``GET /@{uid}/live``                                        HTML with ``SIGI_STATE``
                                                            (``{"LiveRoom":null}`` for unknown users)
``GET /api-live/user/room/``                                §4 JSON; 19881007 ``user_not_found``;
                                                            10011 without ``sourceType=54``
``GET /webcast/room/info/``, ``/webcast/room/info_by_user/``  room JSON, ``status`` 2 (live) or 4
``GET /webcast/room/check_alive/``                          ``{"data":[{"alive",...}]}``
``GET /webcast/gift/list/``                                 a small gift list
``GET /webcast/im/fetch/``                                  X-Gnarly/X-Dynosaur -> 403; a forged msToken
                                                            -> empty 200 + ``tt_orcas_res: 1``; else a
                                                            real-shaped ``ProtoMessageFetchResult``
``GET /webcast/im/ws_proxy/ws_reuse_supplement/``           the push socket (below)
``GET /__state``, ``POST /__reset``, ``GET|POST /__config``   inspection and behaviour switches
==========================================================  ===========================================

The push socket refuses an upgrade without a ``ttwid`` cookie the way TikTok does: HTTP 200 (not
101) with ``handshake-status: 417`` and ``handshake-msg``. Accepted sockets get
``Handshake-Options: ping-interval=N; ...``. On ``im_enter_room`` the fake answers
``im_enter_room_resp`` and then ``msg`` frames (log ids 9001, 9002, ...; ``need_ack`` and
``internal_ext`` set; gzip + ``compress_type=gzip`` header when the query says ``compress=gzip``)
carrying a member join, two chats, a gift and a like. ``hb`` is answered with ``hb``. Every incoming
``payload_type``, each ack's ``log_id`` and payload, each heartbeat and enter-room is recorded.

Tokens are real in the sense that matters: ttwid and msToken values carry an HMAC under a secret of
this fake instance, so a token the fake issued verifies and a made-up one does not (reset does not
forget them, just as TikTok does not).

Use it from tests with :class:`FakeTikTok` (background thread or the running event loop), or run it
alone: ``python -m tests.fakes.tiktok --port 8999``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import WSMsgType, web

from tests.fakes import sdk_site
from tests.fakes.background import BackgroundServer
from tests.fakes.frames import RoomPusher
from ttsign.algorithms import signature
from ttsign.algorithms.payloads import gnarly532
from ttsign.tiktok import proto

__all__ = [
    "CHAT_TEXTS",
    "DEFAULT_USERS",
    "FAKE_ROOM_ID",
    "FAKE_USER",
    "GIFT",
    "LIKE_COUNT",
    "LIKE_TOTAL",
    "MSG_LOG_IDS",
    "OFFLINE_ROOM_ID",
    "OFFLINE_USER",
    "VIEWERS",
    "WS_PATH",
    "FakeConfig",
    "FakeTikTok",
    "FakeUser",
    "create_app",
    "main",
]

WS_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
"""Path of the push socket; ``FakeTikTok.ws_url`` is ``ws://host:port`` + this."""

FAKE_USER = "fakeuser"
FAKE_ROOM_ID = "7451234567890123456"
OFFLINE_USER = "offlineuser"
OFFLINE_ROOM_ID = "7451234567890123457"

MSG_LOG_IDS = (9001, 9002, 9003, 9004)
"""Log ids of the ``msg`` frames sent after ``im_enter_room``, in order."""
CHAT_TEXTS = ("hello from the fake", "second fake comment")
"""Contents of the two ``WebcastChatMessage`` events pushed on the socket."""
HISTORY_CHAT_TEXT = "history comment from im/fetch"
"""Content of the history chat inside an ``im/fetch`` result."""
GIFT = {"id": 5655, "name": "Rose", "diamond_count": 1}
"""The gift of the pushed ``WebcastGiftMessage`` (also first in ``/webcast/gift/list/``)."""
LIKE_COUNT = 5
LIKE_TOTAL = 105

VIEWERS = (
    proto.EventUser(id=7000000000000000001, nickname="Viewer One", unique_id="viewer_one"),
    proto.EventUser(id=7000000000000000002, nickname="Viewer Two", unique_id="viewer_two"),
    proto.EventUser(id=7000000000000000003, nickname="Gifter", unique_id="gifter"),
)
"""The users behind the pushed events: chat 1 and the join, chat 2 and the like, the gift."""


@dataclass(frozen=True)
class FakeUser:
    """A TikTok account known to the fake. ``status`` 2 = live, 4 = offline."""

    unique_id: str
    user_id: str
    room_id: str
    nickname: str
    status: int = 2

    @property
    def sec_uid(self) -> str:
        """A stable, real-looking ``secUid``."""
        return "MS4wLjABAAAA" + hashlib.sha256(self.unique_id.encode()).hexdigest()[:52]


DEFAULT_USERS: tuple[FakeUser, ...] = (
    FakeUser(FAKE_USER, "6812345678901234567", FAKE_ROOM_ID, "Fake Streamer", status=2),
    FakeUser(OFFLINE_USER, "6812345678901234568", OFFLINE_ROOM_ID, "Offline Streamer", status=4),
)


@dataclass
class FakeConfig:
    """Behaviour switches (``POST /__config`` or :meth:`FakeTikTok.configure`).

    * ``down``: non-zero -> every TikTok route, the socket included, answers this HTTP status.
    * ``ws_refuse``: non-empty -> every socket upgrade is refused (HTTP 200, ``handshake-status:
      ws_refuse_status``, ``handshake-msg: ws_refuse``), e.g. ``"DEVICE_BLOCKED"``.
    * ``strict_ttwid``: also refuse sockets whose ttwid the fake did not issue.
    * ``fetch_empty``: ``im/fetch`` answers an empty 200 to everyone (the headless-guest gate).
    * ``offline_users`` / ``unknown_users``: unique ids to treat as offline / nonexistent.
    * ``no_cookies``: ``/live`` and the ttwid endpoints answer without ``Set-Cookie``.
    * ``sigi_shell``: ``/@{uid}/live`` answers an anti-bot shell without ``SIGI_STATE``.
    * ``ping_interval``: seconds announced in ``Handshake-Options``.
    * ``cookie_domain``: ``Domain`` attribute of the fake's cookies (real TikTok: ``.tiktok.com``);
      empty = host-only, so cookie jars keep them for 127.0.0.1.
    * ``close_reason``: non-empty -> after the ``msg`` frames, send a ``close`` frame with this
      ``close_reason`` header and close the socket (TikTok's server-side close).
    * ``ws_requires``: the socket signature an upgrade must carry, ``none`` (default), ``x-bogus``
      (the page's 16-character frontierSign X-Bogus, ``ttsign.signing.ws``) or ``x-gnarly`` (an X-Gnarly
      5.3.2 over the query before it, fresh); otherwise refused like TikTok, ``illegal secret key``.
    * ``page_*``: the live page's SDK script and socket facts (``tests.fakes.sdk_site``).
    """

    down: int = 0
    ws_refuse: str = ""
    ws_refuse_status: int = 415
    strict_ttwid: bool = False
    fetch_empty: bool = False
    offline_users: list[str] = field(default_factory=list)
    unknown_users: list[str] = field(default_factory=list)
    no_cookies: bool = False
    sigi_shell: bool = False
    ping_interval: int = 10
    cookie_domain: str = ""
    close_reason: str = ""
    ws_requires: str = "none"
    page_sdk_name: str = sdk_site.DEFAULT_SDK_NAME
    page_sdk_script: str = ""
    page_ws_url: str = ""
    page_ws_query: list[str] = field(default_factory=list)
    page_ws_signed: list[str] = field(default_factory=list)
    page_cookies: list[str] = field(default_factory=list)

    def update(self, **kw: Any) -> None:
        """Set the named fields; unknown names or wrong types raise ``ValueError``."""
        known = {f.name: f for f in fields(self)}
        for key, value in kw.items():
            if key not in known:
                raise ValueError(f"unknown fake config key {key!r}; known: {sorted(known)}")
            current = getattr(self, key)
            if isinstance(current, bool):
                ok = isinstance(value, bool)
            elif isinstance(current, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(current, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"bad value for {key!r}: {value!r}")
            if key == "ws_requires" and value not in WS_SIGNATURES:
                raise ValueError(f"bad value for 'ws_requires': {value!r}; known: {', '.join(WS_SIGNATURES)}")
            setattr(self, key, list(value) if isinstance(value, list) else value)


WS_SIGNATURES = ("none", "x-bogus", "x-gnarly")
"""What ``FakeConfig.ws_requires`` can ask of a socket upgrade."""


def _raw_pairs(raw_query: str) -> list[tuple[str, str, str]]:
    """``(raw segment, name, value)`` per ``&`` segment, percent-decoded (``+`` stays ``+``, as in tokens)."""
    out = []
    for seg in raw_query.split("&"):
        name, _, value = seg.partition("=")
        out.append((seg, unquote(name), unquote(value)))
    return out


def ws_signature_problem(required: str, raw_query: str, *, now: float | None = None) -> str:
    """Why a socket query lacks the signature ``required`` (``""`` when it carries a valid one).

    ``x-bogus``: an ``X-Bogus`` that is a well-formed frontierSign token over the page's empty payload (it
    re-encodes to itself from its own fields). ``x-gnarly``: an ``X-Gnarly`` 5.3.2 whose sealed query is
    the query before it, byte for byte or percent-decoded (the real check is not byte-exact, nglmercer),
    at most 5 minutes old. Nothing else is an input; the UA is not checked (the clients use their own).
    """
    if required == "none":
        return ""
    pairs = _raw_pairs(raw_query)
    name = {"x-bogus": "X-Bogus", "x-gnarly": "X-Gnarly"}[required]
    at = next((i for i, (_, k, _v) in enumerate(pairs) if k == name), None)
    if at is None:
        return f"no {name} in the socket query"
    token = pairs[at][2]
    if required == "x-bogus":
        try:
            f = signature.decode_frontier_stub(token)
        except ValueError as exc:
            return f"X-Bogus is not a frontierSign token: {exc}"
        again = signature.frontier_stub("", f.call_index, b"\x40" + f.header, f.initialized)
        return "" if again == token else "X-Bogus is not over the page's empty socket payload"
    try:
        fields_ = gnarly532.decode(token)
    except ValueError as exc:
        return f"X-Gnarly does not decode: {exc}"
    before = pairs[:at]
    candidates = ("&".join(seg for seg, _, _ in before), "&".join(f"{k}={v}" for _, k, v in before))
    stamp = time.time() if now is None else now
    results = [gnarly532.verify(fields_, sealed_query=c, body=None, now=stamp) for c in candidates]
    if any(not r for r in results):
        return ""
    return "X-Gnarly does not verify for this query: " + "; ".join(f"{k}: {v}" for k, v in results[-1].items())


def _empty_state() -> dict[str, Any]:
    return {
        "requests": [],
        "sockets": [],
        "payload_types": [],
        "acks": [],
        "issued": {"ttwid": [], "msToken": []},
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Fake:
    """State, tokens and handlers of one fake instance (the aiohttp app's brain)."""

    def __init__(self, users: tuple[FakeUser, ...] = DEFAULT_USERS) -> None:
        self.users = {u.unique_id: u for u in users}
        self.secret = secrets.token_bytes(32)
        self.config = FakeConfig()
        self.lock = threading.Lock()
        self.data = _empty_state()
        self.base_url = ""
        self.socket_seq = 0
        self.pusher = RoomPusher()  # scripted frames to a room's open sockets (tests/fakes/frames.py)

    # ---- tokens -------------------------------------------------------------------------------

    def _mac(self, kind: bytes, body: bytes) -> bytes:
        return hmac.new(self.secret, kind + b"\0" + body, hashlib.sha256).digest()

    def issue_ttwid(self) -> str:
        """A new ttwid, raw (not URL-encoded): ``1|<43 base64url>|<unix>|<64 hex>``."""
        ident = _b64url(secrets.token_bytes(32))
        body = f"1|{ident}|{int(time.time())}"
        value = f"{body}|{self._mac(b'ttwid', body.encode()).hex()}"
        with self.lock:
            self.data["issued"]["ttwid"].append(value)
        return value

    def ttwid_is_issued(self, value: str) -> bool:
        """Whether ``value`` (raw or URL-encoded) is a ttwid this fake issued."""
        raw = unquote(value)
        body, _, sig = raw.rpartition("|")
        return bool(body) and hmac.compare_digest(sig, self._mac(b"ttwid", body.encode()).hex())

    def issue_ms_token(self) -> str:
        """A new msToken: 128 URL-safe base64 characters (96 bytes, the last 32 an HMAC)."""
        nonce = secrets.token_bytes(64)
        value = _b64url(nonce + self._mac(b"msToken", nonce))
        with self.lock:
            self.data["issued"]["msToken"].append(value)
        return value

    def ms_token_is_issued(self, value: str) -> bool:
        """Whether ``value`` is an msToken this fake issued."""
        try:
            raw = _b64url_decode(value)
        except ValueError:
            return False
        nonce, mac = raw[:-32], raw[-32:]
        return len(raw) == 96 and hmac.compare_digest(mac, self._mac(b"msToken", nonce))

    # ---- helpers ------------------------------------------------------------------------------

    def user(self, unique_id: str) -> FakeUser | None:
        """The user, or None when unknown (or configured unknown)."""
        if unique_id in self.config.unknown_users:
            return None
        return self.users.get(unique_id)

    def status(self, user: FakeUser) -> int:
        """The user's live status (2 live, 4 offline), honouring ``offline_users``."""
        return 4 if user.unique_id in self.config.offline_users else user.status

    def room(self, room_id: str) -> FakeUser | None:
        """The (known, not configured-unknown) user owning ``room_id``."""
        for u in self.users.values():
            if u.room_id == room_id:
                return self.user(u.unique_id)
        return None

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}"]
        if self.config.cookie_domain:
            parts.append(f"Domain={self.config.cookie_domain}")
        parts.append("HttpOnly")
        return "; ".join(parts)

    def set_identity_cookies(self, resp: web.StreamResponse) -> None:
        """Set ttwid, tt_csrf_token and tt_chain_token, as TikTok's HTML pages do."""
        if self.config.no_cookies:
            return
        ttwid = quote(self.issue_ttwid(), safe="")
        resp.headers.add("Set-Cookie", self._cookie("ttwid", ttwid, 31536000))
        resp.headers.add("Set-Cookie", self._cookie("tt_csrf_token", secrets.token_urlsafe(24), 86400))
        chain = base64.b64encode(secrets.token_bytes(16)).decode()
        resp.headers.add("Set-Cookie", self._cookie("tt_chain_token", chain, 15552000))

    def set_ms_token(self, resp: web.StreamResponse) -> None:
        """Rotate the msToken: ``x-ms-token`` header and ``Set-Cookie: msToken`` (same value)."""
        if self.config.no_cookies:
            return
        token = self.issue_ms_token()
        resp.headers["x-ms-token"] = token
        resp.headers.add("Set-Cookie", self._cookie("msToken", token, 864000))

    def record(self, key: str, item: dict[str, Any]) -> None:
        """Append ``item`` to the recording ``key`` (thread-safe)."""
        with self.lock:
            self.data[key].append(item)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the recordings plus the config, safe to read from any thread."""
        with self.lock:
            out = copy.deepcopy(self.data)
            out["config"] = asdict(self.config)
        out["users"] = [
            {**asdict(u), "status": self.status(u), "known": self.user(u.unique_id) is not None}
            for u in self.users.values()
        ]
        return out

    def reset(self) -> None:
        """Forget recordings and restore the default config (issued tokens stay valid)."""
        with self.lock:
            self.data = _empty_state()
            self.config = FakeConfig()
            self.socket_seq = 0

    # ---- middleware ---------------------------------------------------------------------------

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record every request; answer ``config.down`` for TikTok routes when set."""
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "raw_query": request.query_string,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "cookies": dict(request.cookies),
            "time": time.time(),
        }
        control = request.path.startswith("/__")
        if not control:
            self.record("requests", entry)
        if self.config.down and not control:
            entry["status"] = self.config.down
            return web.json_response(
                {"status_code": self.config.down, "message": "the fake TikTok is down (configured)"},
                status=self.config.down,
            )
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            entry["status"] = exc.status
            raise
        entry["status"] = resp.status
        return resp

    # ---- identity -----------------------------------------------------------------------------

    async def ttwid_register(self, request: web.Request) -> web.Response:
        """``POST /ttwid/union/register/`` (and ``/ttwid/check/``): a ttwid for a JSON body."""
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return web.json_response({"status_code": 1, "message": "invalid json body"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"status_code": 1, "message": "invalid json body"}, status=400)
        aid = body.get("aid")
        if str(aid) == "1988":
            return web.json_response({"status_code": 1, "message": "invalid aid", "data": None})
        resp = web.json_response(
            {
                "status_code": 0,
                "message": "success",
                "data": {
                    "app_id": aid or 1768,
                    "web_id": str(7_000_000_000_000_000_000 + secrets.randbelow(10**18)),
                },
            }
        )
        self.set_identity_cookies(resp)
        return resp

    async def live_page(self, request: web.Request) -> web.Response:
        """``GET /live`` (also ``/`` and ``/explore``): an HTML page that sets identity cookies."""
        html = sdk_site.page_html(self.config)
        resp = web.Response(text=html, content_type="text/html")
        self.set_identity_cookies(resp)
        self.set_ms_token(resp)
        sdk_site.set_page_cookies(resp, self.config)
        return resp

    # ---- rooms --------------------------------------------------------------------------------

    def _user_json(self, u: FakeUser) -> dict[str, Any]:
        avatar = f"{self.base_url}/avatar/{u.unique_id}.jpeg"
        return {
            "id": u.user_id,
            "uniqueId": u.unique_id,
            "nickname": u.nickname,
            "roomId": u.room_id,
            "status": self.status(u),
            "secUid": u.sec_uid,
            "avatarLarger": avatar,
            "avatarThumb": avatar,
            "signature": "",
            "verified": False,
        }

    def _live_room_json(self, u: FakeUser) -> dict[str, Any]:
        stream = json.dumps({"data": {"origin": {"main": {"flv": f"{self.base_url}/stream/{u.room_id}.flv"}}}})
        return {
            "title": f"{u.nickname} is live",
            "coverUrl": f"{self.base_url}/cover/{u.room_id}.jpeg",
            "startTime": 1764000000,
            "status": self.status(u),
            "liveRoomStats": {"userCount": 123, "enterCount": 456},
            "streamData": {"pull_data": {"stream_data": stream, "options": {"qualities": [{"sdk_key": "origin"}]}}},
            "hevcStreamData": {"pull_data": {"stream_data": stream, "options": {"qualities": []}}},
        }

    async def user_live_page(self, request: web.Request) -> web.Response:
        """``GET /@{uid}/live``: HTML with the ``SIGI_STATE`` script (``LiveRoom`` null if unknown)."""
        uid = request.match_info["uid"]
        if self.config.sigi_shell:
            shell = "<html><head><script>/* verify */</script></head><body>Please wait...</body></html>"
            return web.Response(text=shell, content_type="text/html")
        u = self.user(uid)
        live_room: dict[str, Any] | None = None
        if u is not None:
            live_room = {
                "loadingState": {"getRecommendLive": 1, "getUserInfo": 1},
                "liveRoomStatus": 0,
                "liveRoomUserInfo": {"user": self._user_json(u), "liveRoom": self._live_room_json(u)},
            }
        sigi = {"AppContext": {"appContext": {"language": "en", "region": "US"}}, "LiveRoom": live_room}
        html = (
            "<!DOCTYPE html><html><head><title>TikTok LIVE</title></head><body>"
            f'<script id="SIGI_STATE" type="application/json">{json.dumps(sigi)}</script>'
            "</body></html>"
        )
        resp = web.Response(text=html, content_type="text/html")
        self.set_identity_cookies(resp)
        self.set_ms_token(resp)
        return resp

    async def api_live_user_room(self, request: web.Request) -> web.Response:
        """``GET /api-live/user/room/``: the §4 JSON shape."""
        extra = {"now": int(time.time() * 1000)}
        if request.query.get("sourceType") != "54":
            body: dict[str, Any] = {
                "data": {},
                "extra": extra,
                "message": "params_error",
                "statusCode": 10011,
            }
        else:
            u = self.user(request.query.get("uniqueId", ""))
            if u is None:
                body = {"data": None, "extra": extra, "message": "user_not_found", "statusCode": 19881007}
            else:
                body = {
                    "data": {"user": self._user_json(u), "liveRoom": self._live_room_json(u)},
                    "extra": extra,
                    "message": "",
                    "statusCode": 0,
                }
        resp = web.json_response(body)
        self.set_ms_token(resp)
        return resp

    def _room_info(self, u: FakeUser | None) -> dict[str, Any]:
        extra = {"now": int(time.time() * 1000)}
        if u is None:
            return {"data": {"message": "room does not exist"}, "extra": extra, "status_code": 30003}
        return {
            "data": {
                "id": int(u.room_id),
                "id_str": u.room_id,
                "status": self.status(u),
                "title": f"{u.nickname} is live",
                "user_count": 123,
                "create_time": 1764000000,
                "owner": {
                    "id": int(u.user_id),
                    "id_str": u.user_id,
                    "display_id": u.unique_id,
                    "nickname": u.nickname,
                    "sec_uid": u.sec_uid,
                },
                "stats": {"total_user": 456, "like_count": LIKE_TOTAL},
            },
            "extra": extra,
            "status_code": 0,
        }

    async def room_info(self, request: web.Request) -> web.Response:
        """``GET /webcast/room/info/?room_id=``."""
        return web.json_response(self._room_info(self.room(request.query.get("room_id", ""))))

    async def room_info_by_user(self, request: web.Request) -> web.Response:
        """``GET /webcast/room/info_by_user/?unique_id=``."""
        return web.json_response(self._room_info(self.user(request.query.get("unique_id", ""))))

    async def check_alive(self, request: web.Request) -> web.Response:
        """``GET /webcast/room/check_alive/?room_ids=a,b``."""
        items = []
        for rid in filter(None, request.query.get("room_ids", "").split(",")):
            u = self.room(rid)
            items.append(
                {
                    "alive": u is not None and self.status(u) == 2,
                    "room_id": int(rid) if rid.isdigit() else 0,
                    "room_id_str": rid,
                }
            )
        return web.json_response({"data": items, "extra": {"now": int(time.time() * 1000)}, "status_code": 0})

    async def gift_list(self, request: web.Request) -> web.Response:
        """``GET /webcast/gift/list/``."""
        gifts = [
            {**GIFT, "combo": True, "type": 1, "describe": "sent Rose"},
            {
                "id": 5269,
                "name": "TikTok",
                "diamond_count": 1,
                "combo": True,
                "type": 1,
                "describe": "sent TikTok",
            },
        ]
        for g in gifts:
            g["image"] = {"url_list": [f"{self.base_url}/gift/{g['id']}.webp"]}
        return web.json_response({"data": {"gifts": gifts}, "extra": {}, "status_code": 0})

    # ---- im/fetch -----------------------------------------------------------------------------

    async def im_fetch(self, request: web.Request) -> web.StreamResponse:
        """``GET /webcast/im/fetch/``: what TikTok's first-page fetch answers (Strategy B)."""
        lowered_query = {k.lower() for k in request.query}
        lowered_headers = {k.lower() for k in request.headers}
        for name in ("x-gnarly", "x-dynosaur"):
            if name in lowered_query or name in lowered_headers:
                resp = web.Response(status=403, body=b"")
                self.set_ms_token(resp)
                return resp
        token = request.query.get("msToken") or request.cookies.get("msToken") or ""
        if token and not self.ms_token_is_issued(token):
            return web.Response(status=200, body=b"", headers={"tt_orcas_res": "1"})
        if self.config.fetch_empty:
            return web.Response(status=200, body=b"")
        room_id = request.query.get("room_id", "")
        if not room_id.isdigit():
            return web.json_response({"status_code": 10011, "message": "room_id is required"}, status=400)
        now = int(time.time() * 1000)
        history = proto.chat_message(
            msg_id=now * 1000 + 1, room_id=int(room_id), user=VIEWERS[0], content=HISTORY_CHAT_TEXT
        )
        body = proto.encode_fetch_result(
            cursor=f"t-{now}_r-1_d-1_u-1_h-1",
            push_server=self.base_url.replace("http", "ws", 1) + WS_PATH,
            route_params={
                "wrss": _b64url(secrets.token_bytes(24)),
                "imprp": _b64url(secrets.token_bytes(12)),
            },
            internal_ext=f"internal_src:dim|wss_push_room_id:{room_id}|fetch_time:{now}|seq:1|wss_info:0-{now}-0-0",
            is_first=True,
            need_ack=False,
            now_ms=now,
            fetch_type=0,
            messages=[proto.base_message(proto.METHOD_CHAT, history, now * 1000 + 1, is_history=True)],
        )
        resp = web.Response(status=200, body=body, content_type="application/protobuf")
        self.set_ms_token(resp)
        return resp

    # ---- the push socket ----------------------------------------------------------------------

    def _refuse(self, rec: dict[str, Any], status: int, msg: str) -> web.Response:
        rec["accepted"] = False
        rec["refused"] = {"handshake_status": status, "handshake_msg": msg}
        return web.Response(status=200, body=b"", headers={"handshake-status": str(status), "handshake-msg": msg})

    async def push_socket(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket at :data:`WS_PATH`."""
        with self.lock:
            self.socket_seq += 1
            sid = self.socket_seq
        rec: dict[str, Any] = {
            "id": sid,
            "raw_query": request.query_string,
            "query": dict(request.query),
            "cookie_header": request.headers.get("Cookie", ""),
            "cookies": dict(request.cookies),
            "user_agent": request.headers.get("User-Agent", ""),
            "origin": request.headers.get("Origin", ""),
            "subprotocols": request.headers.get("Sec-WebSocket-Protocol", ""),
            "accepted": False,
            "refused": None,
            "ttwid_issued": False,
            "payload_types": [],
            "frames_in": [],
            "acks": [],
            "heartbeats": [],
            "enter_room": [],
            "sent": [],
            "closed": False,
        }
        self.record("sockets", rec)
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            rec["refused"] = {"handshake_status": 400, "handshake_msg": "not a websocket upgrade"}
            return web.Response(status=400, text="not a websocket upgrade")
        if self.config.ws_refuse:
            return self._refuse(rec, self.config.ws_refuse_status, self.config.ws_refuse)
        ttwid = request.cookies.get("ttwid", "")
        rec["ttwid_issued"] = bool(ttwid) and self.ttwid_is_issued(ttwid)
        if not ttwid:
            return self._refuse(rec, 417, "illegal request: ttwid cookie missing")
        if self.config.strict_ttwid and not rec["ttwid_issued"]:
            return self._refuse(rec, 417, "illegal request: ttwid not valid")
        problem = ws_signature_problem(self.config.ws_requires, request.query_string)
        rec["signature"] = {"required": self.config.ws_requires, "problem": problem}
        if problem:
            return self._refuse(rec, 417, "illegal secret key")
        ws.headers["Handshake-Options"] = f"ping-interval={self.config.ping_interval}; ping-timeout=30"
        await ws.prepare(request)
        rec["accepted"] = True
        compress = request.query.get("compress") == "gzip"
        room_q = request.query.get("room_id", "")
        entered = False
        self.pusher.opened(room_q, ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    with self.lock:
                        rec["frames_in"].append({"text": msg.data[:200]})
                    continue
                if msg.type != WSMsgType.BINARY:
                    continue
                try:
                    frame = proto.parse_push_frame(msg.data)
                except proto.ProtoDecodeError:
                    with self.lock:
                        rec["frames_in"].append({"undecodable": len(msg.data)})
                    continue
                pt = frame.payload_type
                with self.lock:
                    rec["payload_types"].append(pt)
                    self.data["payload_types"].append(pt)
                    rec["frames_in"].append(
                        {
                            "payload_type": pt,
                            "log_id": frame.log_id,
                            "seq_id": frame.seq_id,
                            "payload_encoding": frame.payload_encoding,
                            "size": len(frame.payload),
                        }
                    )
                if pt == "hb":
                    self._on_heartbeat(rec, frame)
                    await self._send(ws, rec, "hb", b"")
                elif pt == "ack":
                    ack = {
                        "socket": sid,
                        "log_id": frame.log_id,
                        "payload": frame.payload.decode("utf-8", "replace"),
                    }
                    with self.lock:
                        rec["acks"].append(ack)
                        self.data["acks"].append(ack)
                elif pt == "im_enter_room":
                    room_id = self._on_enter(rec, frame, room_q)
                    resp_body = proto.encode_fetch_result(
                        cursor=f"t-{int(time.time() * 1000)}_r-1_d-1_u-1_h-1", internal_ext="", fetch_type=0
                    )
                    await self._send(ws, rec, "im_enter_room_resp", resp_body)
                    if not entered:
                        entered = True
                        await self._push_events(ws, rec, room_id, compress)
                        if self.config.close_reason:
                            await self._send(ws, rec, "close", b"", headers={"close_reason": self.config.close_reason})
                            await ws.close()
        finally:
            self.pusher.closed(room_q, ws)
            with self.lock:
                rec["closed"] = True
                rec["close_code"] = ws.close_code
        return ws

    def _on_heartbeat(self, rec: dict[str, Any], frame: proto.ParsedPushFrame) -> None:
        try:
            hb = proto.HeartBeatMessage.FromString(frame.payload)
            item = {"room_id": str(hb.room_id), "seq_id": hb.send_packet_seq_id}  # type: ignore[attr-defined]
        except Exception:  # a malformed heartbeat is recorded, not fatal
            item = {"undecodable": len(frame.payload)}
        with self.lock:
            rec["heartbeats"].append(item)

    def _on_enter(self, rec: dict[str, Any], frame: proto.ParsedPushFrame, room_q: str) -> int:
        try:
            m: Any = proto.WebcastImEnterRoomMessage.FromString(frame.payload)
            item: dict[str, Any] = {
                "room_id": str(m.room_id),
                "live_id": m.live_id,
                "identity": m.identity,
                "cursor": m.cursor,
                "enter_unique_id": str(m.enter_unique_id),
                "filter_welcome_msg": m.filter_welcome_msg,
            }
            room_id = m.room_id
        except Exception:  # recorded, then fall back to the query's room id
            item = {"undecodable": len(frame.payload)}
            room_id = 0
        with self.lock:
            rec["enter_room"].append(item)
        if not room_id and room_q.isdigit():
            room_id = int(room_q)
        return room_id

    async def _send(
        self,
        ws: web.WebSocketResponse,
        rec: dict[str, Any],
        payload_type: str,
        payload: bytes,
        *,
        log_id: int = 0,
        seq_id: int = 0,
        compress: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = proto.push_frame(payload_type, payload, log_id=log_id, seq_id=seq_id, headers=headers, compress=compress)
        await ws.send_bytes(data)
        with self.lock:
            rec["sent"].append({"payload_type": payload_type, "log_id": log_id, "compressed": compress})

    async def _push_events(self, ws: web.WebSocketResponse, rec: dict[str, Any], room_id: int, compress: bool) -> None:
        """The ``msg`` frames: join + chat, chat, gift, like (log ids :data:`MSG_LOG_IDS`)."""
        base = int(time.time() * 1000) * 1000
        one, two, gifter = VIEWERS
        rid = room_id
        batches: list[list[tuple[str, int, bytes]]] = [
            [
                (
                    proto.METHOD_MEMBER,
                    base + 1,
                    proto.member_message(msg_id=base + 1, room_id=rid, user=one, member_count=124),
                ),
                (
                    proto.METHOD_CHAT,
                    base + 2,
                    proto.chat_message(msg_id=base + 2, room_id=rid, user=one, content=CHAT_TEXTS[0]),
                ),
            ],
            [
                (
                    proto.METHOD_CHAT,
                    base + 3,
                    proto.chat_message(msg_id=base + 3, room_id=rid, user=two, content=CHAT_TEXTS[1]),
                )
            ],
            [
                (
                    proto.METHOD_GIFT,
                    base + 4,
                    proto.gift_message(
                        msg_id=base + 4,
                        room_id=rid,
                        user=gifter,
                        gift_id=int(GIFT["id"]),
                        gift_name=str(GIFT["name"]),
                        diamond_count=int(GIFT["diamond_count"]),
                        group_id=base,
                    ),
                )
            ],
            [
                (
                    proto.METHOD_LIKE,
                    base + 5,
                    proto.like_message(msg_id=base + 5, room_id=rid, user=two, count=LIKE_COUNT, total=LIKE_TOTAL),
                )
            ],
        ]
        for seq, (log_id, batch) in enumerate(zip(MSG_LOG_IDS, batches, strict=True), start=1):
            now = int(time.time() * 1000)
            cursor = f"t-{now}_r-{seq}_d-1_u-1_h-1"
            result = proto.encode_fetch_result(
                cursor=cursor,
                internal_ext=f"internal_src:pushserver|wss_push_room_id:{room_id}|wss_push_log_id:{log_id}|fetch_time:{now}|seq:{seq}",
                need_ack=True,
                now_ms=now,
                fetch_type=0,
                messages=[proto.base_message(method, payload, msg_id) for method, msg_id, payload in batch],
            )  # fmt: skip
            await self._send(
                ws,
                rec,
                "msg",
                result,
                log_id=log_id,
                seq_id=seq,
                compress=compress,
                headers={"im-cursor": cursor},
            )

    # ---- control ------------------------------------------------------------------------------

    async def get_state(self, request: web.Request) -> web.Response:
        """``GET /__state``: all recordings and the config."""
        return web.json_response(self.snapshot())

    async def post_reset(self, request: web.Request) -> web.Response:
        """``POST /__reset``."""
        self.reset()
        return web.json_response({"ok": True})

    async def config_route(self, request: web.Request) -> web.Response:
        """``GET /__config`` reads, ``POST /__config`` (JSON object) updates the switches."""
        if request.method == "POST":
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                with self.lock:
                    self.config.update(**body)
            except (ValueError, json.JSONDecodeError) as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
        with self.lock:
            return web.json_response(asdict(self.config))


def create_app(fake: _Fake | None = None) -> web.Application:
    """The aiohttp application; ``app["fake"]`` is its state holder."""
    fake = fake or _Fake()
    app = web.Application(middlewares=[fake.middleware])
    app["fake"] = fake
    r = app.router
    for path in ("/ttwid/union/register/", "/ttwid/check/"):
        r.add_post(path, fake.ttwid_register)
    for path in ("/", "/live", "/explore"):
        r.add_get(path, fake.live_page)
    r.add_get("/@{uid}/live", fake.user_live_page)
    for path in ("/api-live/user/room/", "/api-live/user/room"):
        r.add_get(path, fake.api_live_user_room)
    r.add_get("/webcast/room/info/", fake.room_info)
    r.add_get("/webcast/room/info_by_user/", fake.room_info_by_user)
    r.add_get("/webcast/room/check_alive/", fake.check_alive)
    r.add_get("/webcast/gift/list/", fake.gift_list)
    r.add_get("/webcast/im/fetch/", fake.im_fetch)
    r.add_get(WS_PATH, fake.push_socket)
    r.add_get(WS_PATH.rstrip("/"), fake.push_socket)
    r.add_get(sdk_site.ROUTE, sdk_site.script_handler(fake))
    r.add_get("/__state", fake.get_state)
    r.add_post("/__reset", fake.post_reset)
    r.add_get("/__config", fake.config_route)
    r.add_post("/__config", fake.config_route)
    r.add_post("/__rooms/{room_id}/push", fake.pusher.route)
    return app


class FakeTikTok(BackgroundServer):
    """Run the fake on a free port of 127.0.0.1, from sync or async tests.

    Sync: ``fake = FakeTikTok().start()`` (own event loop in a daemon thread) ... ``fake.stop()``,
    or ``with FakeTikTok() as fake:``. Async, in the running loop: ``await fake.start_async()`` /
    ``await fake.stop_async()`` or ``async with FakeTikTok() as fake:``.
    """

    thread_name = "fake-tiktok"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, users: tuple[FakeUser, ...] = DEFAULT_USERS):
        super().__init__()
        self.host = host
        self.requested_port = port
        self.port = 0
        self._fake = _Fake(users)
        self._runner: web.AppRunner | None = None

    # ---- URLs ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: stands for ``https://www.tiktok.com``."""
        return f"http://{self.host}:{self.port}"

    @property
    def webcast_url(self) -> str:
        """``base_url + "/webcast"``: stands for ``https://webcast.tiktok.com/webcast``."""
        return self.base_url + "/webcast"

    @property
    def ttwid_url(self) -> str:
        """The ttwid issuer, standing for ``https://ttwid.bytedance.com/ttwid/union/register/``."""
        return self.base_url + "/ttwid/union/register/"

    @property
    def ws_url(self) -> str:
        """The push socket, no query: stands for ``wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/...``."""
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    # ---- lifecycle ----------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        self.port = sock.getsockname()[1]
        self._fake.base_url = self.base_url
        return sock

    async def start_async(self) -> FakeTikTok:
        """Serve from the running event loop."""
        sock = self._bind()
        self._runner = web.AppRunner(create_app(self._fake), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, shutdown_timeout=0.5).start()
        return self

    async def stop_async(self) -> None:
        """Stop serving (closes open sockets)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- inspection and control ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The recordings (same JSON as ``GET /__state``), as a deep copy."""
        return self._fake.snapshot()

    def reset(self) -> None:
        """Forget recordings, restore the default config (as ``POST /__reset``)."""
        self._fake.reset()

    def configure(self, **kw: Any) -> dict[str, Any]:
        """Change behaviour switches (see :class:`FakeConfig`); returns the whole config."""
        with self._fake.lock:
            self._fake.config.update(**kw)
            return asdict(self._fake.config)

    def issue_ttwid(self) -> str:
        """A real (fake-issued) ttwid, URL-encoded as it travels in a Cookie header."""
        return quote(self._fake.issue_ttwid(), safe="")

    def issue_ms_token(self) -> str:
        """A real (fake-issued) msToken."""
        return self._fake.issue_ms_token()

    def ttwid_is_issued(self, value: str) -> bool:
        """Whether ``value`` (raw or URL-encoded) was issued by this fake."""
        return self._fake.ttwid_is_issued(value)

    def ms_token_is_issued(self, value: str) -> bool:
        """Whether ``value`` is an msToken issued by this fake."""
        return self._fake.ms_token_is_issued(value)

    @property
    def pusher(self) -> RoomPusher:
        """A room's open sockets: count them, push scripted frames to them (tests/fakes/frames.py)."""
        return self._fake.pusher

    @property
    def users(self) -> dict[str, FakeUser]:
        """The fake's accounts by unique id."""
        return dict(self._fake.users)


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.tiktok [--host H] [--port N]``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.tiktok", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port (printed)")
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = await FakeTikTok(args.host, args.port).start_async()
        print(f"fake tiktok listening on {fake.base_url} (ws: {fake.ws_url})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop_async()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
