"""Optional signers for the LIVE socket URL (live-connect.md §2.2, §3.3), off by default.

Whether TikTok's direct socket wants a signature is disputed; `TTSIGN_WS_SIGNER` picks one of these (or
`auto`, `ttsign.tiktok.ws_modes`). Each signer takes the socket's route params and returns the params to
add to them; the clients put route params into the URL themselves, re-encoded and in their own order.

* **x-bogus** (`xbogus_ws_signer`): what the page's own socket path appends. Exact input, from three
  public sources that agree: cv-cat/TiktokApis as ported in cv-cat/catbus (`liveEvents`, `jsrun.ts`,
  `static/tiktok/signing/env/sign.js`, archived 2026-09-23: it runs the unmodified WebMssdk), an
  in-page Playwright signer's `signWsUrl` ("WS signing uses empty X-MS-PAYLOAD object, NOT the query
  string"), and the 2026-09-29 study of the live page in a Flutter player's notes (pure_live, D01.19:
  `main.bdcac0d4.js`, the IM chunk, `webmssdk/2.0.0.561`, host `webcast-ws.us.tiktok.com` through a
  proxy, `illegal secret key` when unsigned): the page calls `byted_acrawler.frontierSign({"X-MS-PAYLOAD":
  ""})` and appends the answer as `X-Bogus=<16 characters>`, last, after `did_rule=3`. So **no string of
  the query is signed**: not one query param, no msToken (the socket URL carries none), no body, and the
  UA only through the page's X-Bogus header bytes H1..H3 (xbogus.md §6). The token is the 16-character
  frontierSign form (xbogus.md §6): `frontier_stub("", n, header)`, an empty payload giving the stub of
  16 zero bytes, `n` the page's frontierSign call counter (1, 2, ... wrapping at 64), the preset's X-Bogus
  header. How sure: the shape and the call are sure (three sources, one of them running the genuine SDK);
  that an empty payload maps to the zero stub is likely (a Python port of Douyin's build of frontierSign
  maps "no stub, empty payload" to 32 zero hex digits; xbogus.md verified `""` gives 16 zero bytes, from 2 probes);
  whether TikTok *enforces* it is not measured by anyone in public: the study only saw that unsigned is
  refused from a US egress, while rust-srec and SafeSpeak connect unsigned.
* **x-gnarly** (`xgnarly_ws_signer`): nglmercer (2026-08-18) appended an X-Gnarly made by the page's
  `registerWsSigner()` over the raw socket query (`X-MS-Q`, empty `X-MS-STUB`); nglmercer observed the
  socket's check is not byte-exact. The token comes from `Signer.x_gnarly`: the same page state (nonce
  clock, locked counter) and entropy as every other X-Gnarly ttsign makes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from ttsign.algorithms.signature import frontier_stub
from ttsign.signing.signer import Signer, SignerOptions

FRONTIER_EMPTY_STUB = ""
"""The X-MS-STUB the socket's frontierSign ends up with: none given and an empty X-MS-PAYLOAD (16 zero bytes)."""


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


def xbogus_ws_signer(header: bytes, *, initialized: bool = True) -> Callable[[dict[str, str]], dict[str, str]]:
    """A `WsUrlSigner`: the page's socket X-Bogus, `frontierSign({"X-MS-PAYLOAD": ""})` (module docstring).

    The params are not an input (the page signs none of them). `header` is the page's X-Bogus header
    (`BrowserPreset.xbogus_header`); each call is the page's next frontierSign call (counter under a lock).
    """
    lock = threading.Lock()
    calls = 0

    def sign(params: dict[str, str]) -> dict[str, str]:
        nonlocal calls
        with lock:
            calls += 1
            n = calls
        return {"X-Bogus": frontier_stub(FRONTIER_EMPTY_STUB, n, header, initialized)}

    return sign
