"""Build the signing objects a server (or a library user) configures from `Settings`.

`make_signer` gives the one `Signer` a process signs with; `make_ws_signer` the optional socket-URL hook
(`TTSIGN_WS_SIGNER`, off by default). The app factory, the CLI and tests all build them here.
"""

from __future__ import annotations

from collections.abc import Callable

from ttsign.algorithms.navigator import get_preset
from ttsign.config import Settings
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.signing.ws import xgnarly_ws_signer

WsSigner = Callable[[dict[str, str]], dict[str, str]]
"""A socket-URL signer: route params in, params to add out (`ttsign.tiktok.webcast.WsUrlSigner`)."""


def signer_options(settings: Settings) -> SignerOptions:
    """The Signer's knobs as the settings give them."""
    return SignerOptions(
        gnarly_version=settings.gnarly_version,
        env_code=settings.env_code,
        ub_code=settings.ub_code,
        webcast_xbogus=settings.webcast_xbogus,
        preset=settings.browser_preset,
    )


def make_signer(settings: Settings) -> Signer:
    """The process's Signer (one page identity, fresh entropy)."""
    return Signer(signer_options(settings))


def make_ws_signer(settings: Settings) -> WsSigner | None:
    """The socket-URL signer `TTSIGN_WS_SIGNER` asks for, or None (the default, `none`)."""
    if settings.ws_signer == "x-gnarly":
        ua = get_preset(settings.browser_preset).user_agent
        return xgnarly_ws_signer(ua, env_code=settings.env_code, ub_code=settings.ub_code)
    return None
