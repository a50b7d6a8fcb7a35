"""An optional signer for the LIVE socket URL (live-connect.md §2.2, §3.3), off by default.

nglmercer (2026-08-18) appended an X-Gnarly made by the page's `registerWsSigner()` over the raw socket
query; rust-srec and SafeSpeak (2026-09) connect with no signature. Whether TikTok enforces it is
unverified, so this exists as a switch (`TTSIGN_WS_SIGNER=x-gnarly`) for the day it does. The clients
re-encode route params, and nglmercer observed the socket's check is not byte-exact.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

from ttsign.algorithms.payloads import gnarly532


def xgnarly_ws_signer(
    user_agent: str, *, env_code: int = 65, ub_code: int = 8
) -> Callable[[dict[str, str]], dict[str, str]]:
    """A `WsUrlSigner`: X-Gnarly 5.3.2 over the params joined as `k=v&...` (raw, as X-MS-Q carries them)."""
    start = time.monotonic() - 30
    seq = [0]

    def sign(params: dict[str, str]) -> dict[str, str]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        seq[0] = seq[0] % 65535 + 1
        micros = int((time.monotonic() - start) * 1_000_000) & 0xFFFFFFFF
        order = list(gnarly532.KEYS)
        random.SystemRandom().shuffle(order)
        token = gnarly532.encode(
            query,
            b"",
            user_agent,
            timestamp=int(time.time()),
            nonce=micros,
            nonce2=~micros & 0xFFFFFFFF,
            sequence=seq[0],
            env_code=env_code,
            ub_code=ub_code,
            key=os.urandom(48),
            record_order=order,
        )
        return {"X-Gnarly": token}

    return sign
