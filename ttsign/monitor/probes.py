"""Check 4, live probes (opt-in: `TTSIGN_MONITOR_LIVE_USER`, a user who is often LIVE): what a connect needs,
step by step, through the server's own upstream client (`services.upstream`, a `TikTokClient`).

1. **room**: the room lookup (`Rooms.lookup`: api-live, then SIGI_STATE);
2. **ttwid**: a fresh anonymous identity from TikTok's issuer (never pooled: the probe burns nothing a
   caller would get);
3. **socket**: the push socket's handshake with that ttwid, once per signing mode the server knows
   (`ws_modes.MODES`: none, x-bogus, x-gnarly), each upgrade closed as soon as it is answered;
4. **first_frame**: with a mode the socket accepted (the configured one when it did), `im_enter_room`
   and the first frame back.

Each failure is classified (`FAILURES`): `bot_wall` (an anti-bot shell or non-JSON answer), `empty_200`
(an empty 200 with `tt_orcas_res`), `http_403`, `handshake_msg` (a refusal naming something else, e.g. a
missing ttwid), `illegal_secret_key`, `device_blocked`, `timeout`; and `unreachable`, `rate_limited`,
`not_found`, `region_blocked`, `no_ttwid`, `closed`, `other`. A failed step is one `probe_failure` event
(key `probe`; its fingerprint is the step and class, so a new failure is a new alert) and the steps after
it are not run.

**Socket mode.** The configured mode is `TTSIGN_WS_SIGNER` (for `auto`, the mode auto tries first). When
the socket refuses it but accepts another, that is a `ws_mode_change` event (key `ws_mode`, fingerprint the
mode that works). With `auto` the server switches: the working mode goes first in auto's order and auto's
memory of modes per identity is cleared, so the next connect of every identity probes in the new order
(`ws_modes.AutoWsSigner`). With a fixed mode the event says which setting would work.

Outcomes: `ok`; `drift` (the socket needs another mode); `fail` (a step failed, with its event);
`skipped` (no live user configured, or no upstream client). A user who is not LIVE right now is a `fail`
whose evidence holds an `error` (the probe could not tell; open conditions stay open).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import websockets
from websockets.exceptions import InvalidStatus, WebSocketException

from ttsign.algorithms.navigator import get_preset
from ttsign.monitor.model import CheckResult, Event, Outcome
from ttsign.tiktok import proto
from ttsign.tiktok.identity_pool import IdentityUnavailable
from ttsign.tiktok.rooms import RoomError
from ttsign.tiktok.webcast import DIRECT_ROUTE_PARAMS
from ttsign.tiktok.ws_modes import (
    ACCEPTED,
    AUTO_ORDER,
    MODES,
    TIMEOUT,
    UNREACHABLE,
    AutoWsSigner,
    ProbeOutcome,
    WsModeMemory,
    probe_socket,
    probe_url,
)

NAME = "live_probe"
STEPS = ("room", "ttwid", "socket", "first_frame")
FAILURES = (
    "bot_wall",
    "empty_200",
    "http_403",
    "handshake_msg",
    "illegal_secret_key",
    "device_blocked",
    "timeout",
    "unreachable",
    "rate_limited",
    "not_found",
    "region_blocked",
    "no_ttwid",
    "closed",
    "other",
)
WsSigner = Callable[[dict[str, str]], dict[str, str]]


# -- classification ----------------------------------------------------------------------------
def classify_room(exc: RoomError) -> str:
    text = str(exc)
    if "tt_orcas_res" in text:
        return "empty_200"
    if "HTTP 403" in text:
        return "http_403"
    return {
        "bot_walled": "bot_wall",
        "timeout": "timeout",
        "rate_limited": "rate_limited",
        "not_found": "not_found",
        "region_blocked": "region_blocked",
        "upstream": "unreachable",
    }.get(exc.kind, "other")


def classify_ttwid(exc: IdentityUnavailable) -> str:
    text = str(exc)
    if "tt_orcas_res" in text:
        return "empty_200"
    if "HTTP 403" in text:
        return "http_403"
    return {"timeout": "timeout", "unreachable": "unreachable", "rate_limited": "rate_limited"}.get(
        exc.reason, "no_ttwid"
    )


def classify_socket(outcome: ProbeOutcome) -> str:
    """`ok` for an accepted upgrade, else one of `FAILURES`."""
    if outcome.kind == ACCEPTED:
        return "ok"
    if outcome.kind == TIMEOUT:
        return "timeout"
    if outcome.kind == UNREACHABLE:
        return "unreachable"
    text = outcome.message.lower()
    if "illegal secret key" in text:
        return "illegal_secret_key"
    if "device_blocked" in text:
        return "device_blocked"
    if outcome.status == 403:
        return "http_403"
    if outcome.status == 200:  # TikTok's refusal form: HTTP 200 with a handshake-msg
        return "handshake_msg"
    return "other"


# -- the socket's signing modes ----------------------------------------------------------------
def ws_signers(services: Any) -> tuple[dict[str, WsSigner | None], AutoWsSigner | None]:
    """Every mode's signer (the server's own auto signer's when it runs auto) and that auto signer."""
    direct = getattr(getattr(services, "upstream", None), "direct", None)
    current = getattr(direct, "ws_signer", None)
    if isinstance(current, AutoWsSigner):
        return dict(current.signers), current
    from ttsign.signing.factory import make_ws_signer

    built = make_ws_signer(services.settings.model_copy(update={"ws_signer": "auto"}))
    assert isinstance(built, AutoWsSigner)
    return dict(built.signers), None


def configured_mode(services: Any, auto: AutoWsSigner | None) -> str:
    return auto.order[0] if auto is not None else str(services.settings.ws_signer)


def switch_auto(auto: AutoWsSigner, mode: str) -> tuple[str, ...]:
    """Put `mode` first in auto's order and forget what auto remembered per identity; the old order."""
    old = auto.order
    auto.order = (mode, *(m for m in old if m != mode))
    auto.memory = WsModeMemory(max_entries=auto.memory.max_entries)
    return old


async def first_frame(
    url: str, room_id: str, *, cookies: Mapping[str, str], user_agent: str, timeout_s: float, proxy: str = ""
) -> str:
    """Open the socket, enter the room, return the first frame's payload type. Raises `ProbeFailed`."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "User-Agent": user_agent}
    try:
        async with asyncio.timeout(timeout_s):
            async with websockets.connect(
                url, additional_headers=headers, ping_interval=None, proxy=proxy or None, max_size=8 << 20
            ) as ws:
                enter = proto.encode_enter_room(int(room_id), enter_unique_id=random.getrandbits(31))
                await ws.send(proto.push_frame("im_enter_room", enter))
                while True:
                    raw = await ws.recv()
                    if isinstance(raw, bytes):
                        return proto.parse_push_frame(raw).payload_type
    except InvalidStatus as exc:
        resp = exc.response
        msg = resp.headers.get("handshake-msg") or f"HTTP {resp.status_code} instead of an upgrade"
        raise ProbeFailed(classify_socket(ProbeOutcome("refused", resp.status_code, msg)), msg) from None
    except TimeoutError:
        raise ProbeFailed("timeout", f"no frame within {timeout_s:g} s of im_enter_room") from None
    except (OSError, WebSocketException) as exc:
        raise ProbeFailed("closed", f"the socket closed before its first frame ({type(exc).__name__})") from None
    except proto.ProtoDecodeError:
        raise ProbeFailed("other", "the first frame is not a push frame") from None


class ProbeFailed(Exception):
    def __init__(self, cls: str, message: str) -> None:
        super().__init__(message)
        self.cls = cls
        self.message = message


# -- the check ---------------------------------------------------------------------------------
class _Steps:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, step: str, ok: bool, detail: str, started: float, cls: str = "ok", **extra: Any) -> None:
        row = {"step": step, "ok": ok, "class": cls, "detail": detail[:300]}
        row["ms"] = round((time.perf_counter() - started) * 1000, 1)
        row.update(extra)
        self.rows.append(row)


def _failure(user: str, step: str, cls: str, detail: str) -> Event:
    return Event(
        kind="probe_failure",
        key="probe",
        severity="medium",
        title=f"live probe (@{user}): {step} failed: {cls}",
        detail={"step": step, "class": cls, "message": detail[:300]},
        fingerprint=f"{step}:{cls}",
    )


async def check(services: Any) -> CheckResult:
    """The live probes (module docstring)."""
    settings = services.settings
    user = (getattr(settings, "monitor_live_user", "") or "").strip().lstrip("@")
    if not user:
        return CheckResult(NAME, "skipped", {"reason": "TTSIGN_MONITOR_LIVE_USER is not set (live probes are opt-in)"})
    client = getattr(services, "upstream", None)
    if client is None or not hasattr(client, "rooms"):
        return CheckResult(NAME, "skipped", {"reason": "no upstream TikTok client in this process"})
    steps = _Steps()
    evidence: dict[str, Any] = {"user": user, "steps": steps.rows}

    def failed(step: str, cls: str, detail: str) -> CheckResult:
        later = STEPS[STEPS.index(step) + 1 :]
        evidence["untested"] = ["ws_mode"] if step in ("room", "ttwid") else []
        evidence["not_run"] = list(later)
        return CheckResult(NAME, "fail", evidence, events=[_failure(user, step, cls, detail)])

    t = time.perf_counter()
    try:
        found = await client.rooms.lookup(user)
    except RoomError as exc:
        steps.add("room", False, str(exc), t, classify_room(exc))
        return failed("room", classify_room(exc), str(exc))
    if not found.room_id or not found.is_live:
        steps.add("room", True, f"@{found.unique_id} is not LIVE now", t)
        evidence["error"] = f"@{found.unique_id} is not LIVE now: the socket probes need a live room"
        evidence["untested"] = ["ws_mode", "probe"]
        return CheckResult(NAME, "fail", evidence)
    steps.add("room", True, f"room {found.room_id} via {found.source}", t)
    evidence["room_id"] = found.room_id

    t = time.perf_counter()
    try:
        cookies = dict(await client.issuer.issue())
    except IdentityUnavailable as exc:
        steps.add("ttwid", False, str(exc), t, classify_ttwid(exc))
        return failed("ttwid", classify_ttwid(exc), str(exc))
    ttwid = cookies.get("ttwid", "")
    if not ttwid:
        steps.add("ttwid", False, "TikTok answered without a ttwid", t, "no_ttwid")
        return failed("ttwid", "no_ttwid", "TikTok answered without a ttwid")
    steps.add("ttwid", True, f"anonymous ttwid issued ({len(ttwid)} chars)", t)
    socket_cookies = {"ttwid": ttwid}

    signers, auto = ws_signers(services)
    preset = auto.preset if auto is not None else get_preset(settings.browser_preset)
    timeout_s = settings.upstream_timeout_s
    route = {**DIRECT_ROUTE_PARAMS, "room_id": found.room_id}
    modes: dict[str, dict[str, Any]] = {}
    urls: dict[str, str] = {}
    for mode in MODES:
        signer = signers.get(mode)
        urls[mode] = probe_url(settings.ws_url, {**route, **(signer(dict(route)) if signer else {})}, preset)
        t = time.perf_counter()
        outcome = await probe_socket(
            urls[mode], cookies=socket_cookies, user_agent=preset.user_agent, timeout_s=timeout_s, proxy=settings.proxy
        )
        modes[mode] = {
            "class": classify_socket(outcome),
            "status": outcome.status,
            "message": outcome.message[:200],
            "ms": round((time.perf_counter() - t) * 1000, 1),
        }
    evidence["modes"] = modes
    accepted = [m for m in AUTO_ORDER if modes[m]["class"] == "ok"]
    configured = configured_mode(services, auto)
    evidence["configured"] = configured
    evidence["accepted"] = accepted
    if not accepted:
        classes = sorted({row["class"] for row in modes.values()})
        detail = "; ".join(f"{m}: {row['class']} ({row['message']})" for m, row in modes.items())
        steps.add("socket", False, detail, time.perf_counter(), classes[0] if len(classes) == 1 else "/".join(classes))
        evidence["untested"] = ["ws_mode"]
        return failed("socket", "/".join(classes), detail)
    use = configured if configured in accepted else accepted[0]
    steps.add("socket", True, f"accepted: {', '.join(accepted)}", time.perf_counter())
    events: list[Event] = []
    outcome_kind: Outcome = "ok"
    if configured not in accepted:
        outcome_kind = "drift"
        switched_from = switch_auto(auto, use) if auto is not None else None
        evidence["switched"] = switched_from is not None
        events.append(
            Event(
                kind="ws_mode_change",
                key="ws_mode",
                severity="high",
                title=(
                    f"TikTok's socket refuses {configured} ({modes[configured]['class']}) and accepts {use}: "
                    + ("auto switched to it" if switched_from else f"set TTSIGN_WS_SIGNER={use} (or auto)")
                ),
                detail={
                    "configured": configured,
                    "refused": modes[configured],
                    "works": use,
                    "accepted": accepted,
                    "switched": switched_from is not None,
                    "auto_order": list(auto.order) if auto is not None else None,
                },
                fingerprint=use,
            )
        )

    t = time.perf_counter()
    try:
        frame = await first_frame(
            urls[use],
            found.room_id,
            cookies=socket_cookies,
            user_agent=preset.user_agent,
            timeout_s=timeout_s,
            proxy=settings.proxy,
        )
    except ProbeFailed as exc:
        steps.add("first_frame", False, exc.message, t, exc.cls)
        result = failed("first_frame", exc.cls, exc.message)
        result.events[:0] = events
        evidence["untested"] = []
        return result
    steps.add("first_frame", True, f"{frame} (mode {use})", t)
    evidence["first_frame"] = frame
    return CheckResult(NAME, outcome_kind, evidence, events=events)
