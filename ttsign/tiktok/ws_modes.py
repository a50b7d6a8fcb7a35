"""Socket signing modes and `TTSIGN_WS_SIGNER=auto`: find, per identity, what TikTok's socket accepts.

The modes (`ttsign.signing.ws` says exactly what each one signs): `none` (no signature), `x-bogus` (the
page's own socket X-Bogus, `frontierSign({"X-MS-PAYLOAD": ""})`) and `x-gnarly` (registerWsSigner's
X-Gnarly over the route params).

`AutoWsSigner` probes: before a direct connect answers, it opens the socket itself with the identity's
cookies, the route params signed by one mode, and the player's other params (`probe_url`), and closes it
as soon as the upgrade is answered. The first mode accepted is remembered for that identity (its ttwid),
so the next connect with it goes straight to that mode without a probe. The order is the evidence's:

1. `x-bogus`: what the page sends (cv-cat/TiktokApis 2026-09-23; the 2026-09-29 study that saw
   `illegal secret key` for a ttwid alone; the 2026-09-18 refusal of a URL whose page X-Bogus had been
   stripped, as issue 10 reports it: that thread itself is not in the public index). A socket that
   checks nothing accepts it too, and the token binds no query, so the clients' re-encoding cannot
   break it.
2. `none`: rust-srec (2026-09-13, with a live test) and SafeSpeak connect unsigned.
3. `x-gnarly`: nglmercer (2026-08-18), the oldest report; its token binds a query the clients rebuild.

Bounded: at most one probe per mode per connect, each within the caller's deadline. A handshake refusal
that names the signature (`illegal secret key`, ...) or that ttsign cannot place moves on to the next
mode; one that names the identity or device (`DEVICE_BLOCKED`, a missing ttwid) stops (another signing
mode would not help), as does a socket that cannot be reached or does not answer in time. Remembered
modes expire with the identity: they are keyed by its ttwid and creation time, dropped when the identity
is burned, and the memory is a bounded LRU. `forget` and `remember` let a live probe feed evidence in.

Caveats: the probe runs from ttsign's egress (through `TTSIGN_PROXY` when set) while the client connects
from its own; each probe is a socket connect TikTok sees on that identity, not counted against its pace.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import websockets
from websockets.exceptions import InvalidStatus, WebSocketException

from ttsign.algorithms.navigator import BrowserPreset
from ttsign.tiktok.identity_pool import AnonIdentity
from ttsign.tiktok.socket_query import player_params, with_query

MODES = ("none", "x-bogus", "x-gnarly")
AUTO_ORDER = ("x-bogus", "none", "x-gnarly")
"""The order `auto` tries the modes in (module docstring)."""

WsUrlSigner = Callable[[dict[str, str]], dict[str, str]]

ACCEPTED, SIGNATURE, IDENTITY, REFUSED, UNREACHABLE, TIMEOUT = (
    "accepted",
    "signature",
    "identity",
    "refused",
    "unreachable",
    "timeout",
)
SIGNATURE_HINTS = ("secret key", "signature", "sign", "bogus", "gnarly")
"""handshake-msg words that blame the signature (connector #184: `illegal secret key`)."""
IDENTITY_HINTS = ("device_blocked", "device", "ttwid", "cookie", "illegal app_id")
"""handshake-msg words that blame the identity, device or client (connector #187, #329; the fake's ttwid checks)."""
PROBE_RESERVE_S = 0.05
"""Of the caller's time, what a probe leaves for building the answer."""


def classify(status: int, message: str) -> str:
    """One kind for a socket answer: `accepted` (101), `signature`, `identity`, `refused` (other refusals).

    `status` 0 (no answer at all) is `unreachable`. TikTok refuses with HTTP 200 (not 101) and a
    `handshake-msg` (live-connect.md §2.2); the words in it say whose fault it is.
    """
    if status == 101:
        return ACCEPTED
    if status == 0:
        return UNREACHABLE
    text = message.lower()
    if any(h in text for h in SIGNATURE_HINTS):
        return SIGNATURE
    if any(h in text for h in IDENTITY_HINTS):
        return IDENTITY
    return REFUSED


@dataclass(frozen=True)
class ProbeOutcome:
    kind: str
    status: int = 0
    message: str = ""


PLAYER_PARAMS = (
    "screen_width",
    "screen_height",
    "browser_language",
    "browser_platform",
    "browser_name",
    "browser_version",
    "browser_online",
    "tz_name",
    "webcast_language",
    "app_language",
    "history_comment_count",
    "last_rtt",
)


def probe_url(ws_url: str, route: Mapping[str, str], preset: BrowserPreset) -> str:
    """The socket URL a probe opens: the route params first, in the order given (as TikTokLive puts them),
    then the player's own params for `preset` that the route lacks, then the second `version_code`."""
    player = player_params(preset)
    params = dict(route)
    for k in PLAYER_PARAMS:
        params.setdefault(k, player[k])
    return with_query(ws_url, params)


Probe = Callable[..., Awaitable[ProbeOutcome]]


async def probe_socket(
    url: str, *, cookies: Mapping[str, str], user_agent: str, timeout_s: float, proxy: str | None = None
) -> ProbeOutcome:
    """Open the socket, read the upgrade's answer, close at once (nothing is sent)."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "User-Agent": user_agent}
    try:
        async with asyncio.timeout(timeout_s):
            ws = await websockets.connect(
                url, additional_headers=headers, ping_interval=None, proxy=proxy or None, open_timeout=None
            )
            await ws.close()
    except InvalidStatus as exc:
        resp = exc.response
        msg = resp.headers.get("handshake-msg") or f"HTTP {resp.status_code} instead of an upgrade"
        return ProbeOutcome(classify(resp.status_code, msg), resp.status_code, msg)
    except TimeoutError:
        return ProbeOutcome(TIMEOUT, 0, "the socket did not answer the upgrade in time")
    except (OSError, WebSocketException) as exc:
        return ProbeOutcome(UNREACHABLE, 0, f"could not open the socket ({type(exc).__name__})")
    return ProbeOutcome(ACCEPTED, 101, "")


class SocketModeError(Exception):
    """No mode could be settled; `kind` is a connect error kind (`socket_refused`, `upstream_down`, `timeout`)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class WsModeMemory:
    """Per identity, the mode its socket accepted: keyed by ttwid, valid for that identity only."""

    def __init__(self, *, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def recall(self, ident: AnonIdentity) -> str | None:
        entry = self._items.get(ident.ttwid)
        if entry is None:
            return None
        created, mode = entry
        if ident.burned or created != ident.created:
            del self._items[ident.ttwid]
            return None
        self._items.move_to_end(ident.ttwid)
        return mode

    def remember(self, ident: AnonIdentity, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown socket signing mode {mode!r}; known: {', '.join(MODES)}")
        self._items[ident.ttwid] = (ident.created, mode)
        self._items.move_to_end(ident.ttwid)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def forget(self, ident: AnonIdentity) -> None:
        self._items.pop(ident.ttwid, None)

    def __len__(self) -> int:
        return len(self._items)


class AutoWsSigner:
    """`TTSIGN_WS_SIGNER=auto` (module docstring). Called plainly, it signs with the first mode (no probe)."""

    def __init__(
        self,
        signers: Mapping[str, WsUrlSigner | None],
        *,
        preset: BrowserPreset,
        order: tuple[str, ...] = AUTO_ORDER,
        timeout_s: float = 10.0,
        proxy: str = "",
        probe: Probe = probe_socket,
        memory: WsModeMemory | None = None,
    ) -> None:
        unknown = [m for m in order if m not in MODES]
        if unknown or not order:
            raise ValueError(f"auto order must name modes from {MODES}, got {order}")
        self.signers = dict(signers)
        self.preset = preset
        self.order = order
        self.timeout_s = timeout_s
        self.proxy = proxy
        self.probe = probe
        self.memory = memory or WsModeMemory()
        self.probes = 0
        """Socket probes made so far (all connects)."""

    def params(self, mode: str, route: dict[str, str]) -> dict[str, str]:
        """What `mode` adds to `route` (a fresh signature each call)."""
        signer = self.signers.get(mode)
        return {} if signer is None else signer(dict(route))

    def __call__(self, route: dict[str, str]) -> dict[str, str]:
        return self.params(self.order[0], route)

    async def choose(
        self, ident: AnonIdentity, route: dict[str, str], *, ws_url: str, deadline: float | None = None
    ) -> dict[str, str]:
        """The params to add for this identity: its remembered mode, else the first mode a probe finds accepted."""
        known = self.memory.recall(ident)
        if known is not None:
            return self.params(known, route)
        loop = asyncio.get_running_loop()
        cookies = dict(ident.cookie_pairs())
        refusals: list[str] = []
        for mode in self.order:
            left = self.timeout_s if deadline is None else min(self.timeout_s, deadline - loop.time() - PROBE_RESERVE_S)
            if left <= 0:
                raise SocketModeError(TIMEOUT, "no time left to try TikTok's socket (connect deadline)")
            url = probe_url(ws_url, {**route, **self.params(mode, route)}, self.preset)
            self.probes += 1
            outcome = await self.probe(
                url, cookies=cookies, user_agent=self.preset.user_agent, timeout_s=left, proxy=self.proxy
            )
            if outcome.kind == ACCEPTED:
                self.memory.remember(ident, mode)
                return self.params(mode, route)  # a fresh token for the client, not the probe's
            if outcome.kind == UNREACHABLE:
                raise SocketModeError("upstream_down", f"TikTok's push socket could not be reached: {outcome.message}")
            if outcome.kind == TIMEOUT:
                raise SocketModeError(TIMEOUT, f"TikTok's push socket did not answer in time ({mode} probe)")
            refusals.append(f"{mode}: {_short(outcome.message)}")
            if outcome.kind == IDENTITY:
                raise SocketModeError(
                    "socket_refused",
                    f"TikTok's socket refused this identity ({refusals[-1]}); another signing mode would not help",
                )
        raise SocketModeError("socket_refused", "TikTok's socket refused every signing mode: " + "; ".join(refusals))


def _short(message: str, limit: int = 120) -> str:
    """A handshake-msg as it may appear in an answer: printable ASCII, bounded."""
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in message)
    return text[:limit] or "no handshake-msg"
