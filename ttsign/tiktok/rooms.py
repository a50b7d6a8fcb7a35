"""Room id, live status and room info from a username, with no signing (live-connect.md §4).

Order: `api-live/user/room` (unsigned JSON, needs `sourceType=54`), then the `SIGI_STATE` JSON in
`/@user/live`. Room info comes from `webcast/room/info`, liveness from `webcast/room/check_alive`.

A caller's own session (`ttsign.tiktok.session.CallerSession`), when a route passes one, is sent as cookies
on that lookup's calls only (an age-restricted or region-gated room answers a logged-in viewer); nothing
here caches an answer, so no other caller ever sees what a session's lookup returned.

The one rule for ids, used by every route and the CLI: a username is 1-24 of `A-Z a-z 0-9 _ .` (not only
dots), optionally after one `@` or inside a tiktok.com profile URL; a room id is 1-25 ASCII digits. Both
are matched whole (`fullmatch`): no surrounding space, no trailing newline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ttsign.tiktok.failures import RATE_LIMITED, TIMEOUT, describe, kind_of, retry_after_of
from ttsign.tiktok.http import Upstream, UpstreamError, UpstreamResponse
from ttsign.tiktok.session import CallerSession

MAX_UNIQUE_ID = 24  # TikTok's own limit for a username
# Anchored so the patterns also read right as OpenAPI (JSON Schema) patterns; always used with fullmatch,
# since `$` alone also matches before a trailing newline. `[0-9]`, not `\d`: ASCII digits only.
UNIQUE_ID = re.compile(rf"^(?=[.]*[A-Za-z0-9_])[A-Za-z0-9._]{{1,{MAX_UNIQUE_ID}}}$")
ROOM_ID = re.compile(r"^[0-9]{1,25}$")
SIGI = re.compile(r'<script id="SIGI_STATE" type="application/json">(.*?)</script>', re.S)
USER_NOT_FOUND = 19881007
STATUS_OFFLINE = 4  # room/info `status`: 2 while live, 4 once the LIVE ended
BASE_PARAMS = {
    "aid": "1988",
    "app_name": "tiktok_web",
    "app_language": "en",
    "browser_language": "en-US",
    "device_platform": "web_pc",
    "user_is_login": "false",
}


class RoomError(Exception):
    """`kind`: not_found, region_blocked, bot_walled, bad_input, upstream, timeout, rate_limited.

    The routes map kinds to statuses; `retry_after_s` is TikTok's own wait on `rate_limited`.
    """

    def __init__(self, kind: str, message: str, *, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s


def _upstream(exc: UpstreamError, what: str) -> RoomError:
    kind = {TIMEOUT: "timeout", RATE_LIMITED: "rate_limited"}.get(kind_of(exc), "upstream")
    return RoomError(kind, describe(exc, what), retry_after_s=retry_after_of(exc) or 0.0)


def _rate_limited(resp: UpstreamResponse, what: str) -> RoomError:
    return RoomError(
        "rate_limited", f"TikTok {what} is rate limiting us (HTTP 429)", retry_after_s=retry_after_of(resp) or 0.0
    )


@dataclass
class RoomLookup:
    unique_id: str
    room_id: str
    is_live: bool
    source: str
    user: dict[str, Any] = field(default_factory=dict)
    room: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        room = self.room or {}
        stream = room.get("streamData") or room.get("stream_url") or None
        return {
            "unique_id": self.unique_id,
            "room_id": self.room_id,
            "is_live": self.is_live,
            "source": self.source,
            "nickname": self.user.get("nickname"),
            "user_id": str(self.user.get("id", "")) or None,
            "title": room.get("title"),
            "viewer_count": _viewers(room),
            "start_time": room.get("startTime") or room.get("create_time"),
            "stream_urls": stream,
        }


def _viewers(room: dict[str, Any]) -> int | None:
    for key in ("user_count", "userCount", "viewerCount"):
        if isinstance(room.get(key), int):
            return int(room[key])
    stats = room.get("liveRoomStats") or {}
    return stats.get("userCount") if isinstance(stats.get("userCount"), int) else None


def normalize_unique_id(raw: str) -> str:
    """The bare username from `name`, `@name` or a tiktok.com profile URL; RoomError(bad_input) otherwise."""
    uid = raw.removeprefix("@")
    if "tiktok.com/@" in uid:
        uid = uid.split("tiktok.com/@", 1)[1].split("/", 1)[0].split("?", 1)[0]
    if not UNIQUE_ID.fullmatch(uid):
        raise RoomError(
            "bad_input",
            f"unique_id is not a TikTok username: 1-{MAX_UNIQUE_ID} letters, digits, '.' or '_', optionally after '@'",
        )
    return uid


def check_room_id(raw: str) -> str:
    """A TikTok LIVE room id (ASCII digits, whole string); RoomError(bad_input) otherwise."""
    if not ROOM_ID.fullmatch(raw):
        raise RoomError("bad_input", "room_id must be the numeric id of a TikTok LIVE room (1-25 digits)")
    return raw


def _json(resp: UpstreamResponse, what: str) -> Any:
    if resp.status == 429:
        raise _rate_limited(resp, what)
    if resp.status >= 500:
        raise RoomError("upstream", f"TikTok {what} answered HTTP {resp.status}")
    if not resp.body.strip():
        hint = " (tt_orcas_res gate)" if resp.headers.get("tt_orcas_res") else ""
        raise RoomError("bot_walled", f"TikTok {what} answered an empty body{hint}")
    try:
        return json.loads(resp.body)
    except ValueError:
        raise RoomError("bot_walled", f"TikTok {what} did not answer JSON (HTTP {resp.status}; a bot wall?)") from None


class Rooms:
    def __init__(self, upstream: Upstream, *, www: str, webcast: str, user_agent: str) -> None:
        self.upstream = upstream
        self.www = www.rstrip("/")
        self.webcast = webcast.rstrip("/")
        self.headers = {"User-Agent": user_agent}

    async def lookup(self, unique_id: str, session: CallerSession | None = None) -> RoomLookup:
        """Room id and live status: api-live first, SIGI_STATE second. Raises RoomError.

        `session`: the caller's own login cookies, sent on these calls only.
        """
        uid = normalize_unique_id(unique_id)
        jar = session.cookies if session is not None else None
        try:
            return await self._api_live(uid, jar)
        except RoomError as exc:
            if exc.kind == "not_found":
                raise
            first = exc
        except UpstreamError as exc:
            first = _upstream(exc, "api-live/user/room")
        try:
            return await self._sigi(uid, jar)
        except UpstreamError as exc:
            second = _upstream(exc, f"/@{uid}/live")
        except RoomError as exc:
            if exc.kind in ("not_found", "region_blocked"):
                raise
            second = exc
        limited = [e for e in (first, second) if e.kind == "rate_limited"]
        kind = "rate_limited" if limited else second.kind
        wait = max((e.retry_after_s for e in limited), default=0.0)
        raise RoomError(kind, f"api-live: {first}; SIGI_STATE: {second}", retry_after_s=wait)

    async def _api_live(self, uid: str, jar: dict[str, str] | None = None) -> RoomLookup:
        resp = await self.upstream.get(
            f"{self.www}/api-live/user/room/",
            params={**BASE_PARAMS, "uniqueId": uid, "sourceType": "54", **_login(jar)},
            headers=self.headers,
            cookies=jar,
        )
        data = _json(resp, "api-live/user/room")
        if not isinstance(data, dict):
            raise RoomError("bot_walled", "api-live answered JSON that is not an object")
        if data.get("statusCode") == USER_NOT_FOUND or data.get("message") == "user_not_found":
            raise RoomError("not_found", f"TikTok user '{uid}' does not exist")
        if data.get("statusCode") not in (0, None):  # TikTok's own message is not echoed: it is upstream text
            raise RoomError("upstream", f"api-live answered statusCode {_code(data.get('statusCode'))}")
        return _from_user_info(uid, data.get("data") or {}, "api-live")

    async def _sigi(self, uid: str, jar: dict[str, str] | None = None) -> RoomLookup:
        resp = await self.upstream.get(f"{self.www}/@{uid}/live", headers=self.headers, cookies=jar)
        if resp.status == 429:
            raise _rate_limited(resp, f"/@{uid}/live")
        if resp.status >= 500:
            raise RoomError("upstream", f"/@{uid}/live answered HTTP {resp.status}")
        m = SIGI.search(resp.text)
        if not m:
            raise RoomError(
                "bot_walled", f"/@{uid}/live has no SIGI_STATE (HTTP {resp.status}, {len(resp.body)} bytes)"
            )
        try:
            state = json.loads(m.group(1))
        except ValueError:
            raise RoomError("bot_walled", "SIGI_STATE is not valid JSON") from None
        live = state.get("LiveRoom") if isinstance(state, dict) else None
        if not live:
            raise RoomError("not_found", f"TikTok user '{uid}' does not exist")
        if not isinstance(live, dict):
            raise RoomError("bot_walled", "SIGI_STATE has a LiveRoom that is not an object")
        status = live.get("liveRoomStatus")
        if isinstance(status, int) and status < 0:
            kind = "region_blocked" if status == -6 else "bot_walled"
            raise RoomError(kind, f"TikTok refused the live page for '{uid}' (liveRoomStatus {status})")
        return _from_user_info(uid, live.get("liveRoomUserInfo") or {}, "sigi_state")

    async def _get(
        self, what: str, url: str, params: dict[str, str], jar: dict[str, str] | None = None
    ) -> UpstreamResponse:
        try:
            return await self.upstream.get(url, params={**params, **_login(jar)}, headers=self.headers, cookies=jar)
        except UpstreamError as exc:
            raise _upstream(exc, what) from None

    async def room_info(self, room_id: str, session: CallerSession | None = None) -> dict[str, Any]:
        room_id = check_room_id(room_id)
        jar = session.cookies if session is not None else None
        url = f"{self.webcast}/room/info/"
        resp = await self._get("room/info", url, {**BASE_PARAMS, "room_id": room_id}, jar)
        data = _json(resp, "room/info")
        if not isinstance(data, dict):
            raise RoomError("bot_walled", "room/info answered JSON that is not an object")
        if data.get("status_code") not in (0, None):
            raise RoomError("not_found", f"room/info for {room_id}: status_code {_code(data.get('status_code'))}")
        info = data.get("data") or {}
        return info if isinstance(info, dict) else {}

    async def check_alive(self, room_id: str) -> bool | None:
        room_id = check_room_id(room_id)
        url = f"{self.webcast}/room/check_alive/"
        resp = await self._get("room/check_alive", url, {**BASE_PARAMS, "room_ids": room_id})
        data = _json(resp, "room/check_alive")
        items = data.get("data") if isinstance(data, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return bool(items[0].get("alive"))
        return None


def _login(jar: dict[str, str] | None) -> dict[str, str]:
    """The web player's `user_is_login` for a request that carries a caller's session."""
    return {"user_is_login": "true"} if jar else {}


def _code(value: Any) -> str:
    """An upstream status code for a message: an integer as is, anything else not quoted."""
    return str(value) if isinstance(value, int) else "(not a number)"


def _from_user_info(uid: str, info: Any, source: str) -> RoomLookup:
    if not isinstance(info, dict):
        raise RoomError("bot_walled", f"{source} answered user info that is not an object")
    user = info.get("user") or {}
    room = info.get("liveRoom") or {}
    if not isinstance(user, dict) or not isinstance(room, dict):
        raise RoomError("bot_walled", f"{source} answered a user or room that is not an object")
    room_id = str(user.get("roomId") or "")
    status = room.get("status", user.get("status"))
    if not room_id or room_id == "0":
        return RoomLookup(uid, "", False, source, user, room)
    if not ROOM_ID.fullmatch(room_id):
        raise RoomError("bot_walled", f"{source} answered a room id that is not numeric")
    return RoomLookup(uid, room_id, status != STATUS_OFFLINE, source, user, room)
