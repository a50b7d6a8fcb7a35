"""An optional signer for the LIVE socket URL (live-connect.md §2.2, §3.3), off by default.

nglmercer (2026-08-18) appended an X-Gnarly made by the page's `registerWsSigner()` over the raw socket
query; rust-srec and SafeSpeak (2026-09) connect with no signature. Whether TikTok enforces it is
unverified, so this exists as a switch (`TTSIGN_WS_SIGNER=x-gnarly`) for the day it does. The clients
re-encode route params, and nglmercer observed the socket's check is not byte-exact.

The token comes from `Signer.x_gnarly`: the same page state (nonce clock, locked counter) and the same
entropy as every other X-Gnarly ttsign makes, not a second copy of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from ttsign.signing.signer import Signer, SignerOptions


def xgnarly_ws_signer(
    user_agent: str,
    *,
    env_code: int = 65,
    ub_code: int = 8,
    clock: Callable[[], float] = time.time,
    mono_clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> Callable[[dict[str, str]], dict[str, str]]:
    """A `WsUrlSigner`: X-Gnarly 5.3.2 over the params joined as `k=v&...` (raw, as X-MS-Q carries them).

    The socket signer is a page of its own (its own counter and nonce clock); `clock`, `mono_clock` and
    `rng` are injected as for `Signer`.
    """
    signer = Signer(SignerOptions(env_code=env_code, ub_code=ub_code), clock=clock, mono_clock=mono_clock, rng=rng)

    def sign(params: dict[str, str]) -> dict[str, str]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return {"X-Gnarly": signer.x_gnarly(query, b"", user_agent)}

    return sign
