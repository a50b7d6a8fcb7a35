"""Build the signing objects a server (or a library user) configures from `Settings`.

`make_signer` gives the one `Signer` a process signs with; `make_ws_signer` the optional socket-URL hook
(`TTSIGN_WS_SIGNER`: none, x-bogus, x-gnarly or auto; off by default). The app factory, the CLI and tests
all build them here.
"""

from __future__ import annotations

from collections.abc import Callable

from ttsign.algorithms.navigator import get_preset
from ttsign.config import Settings
from ttsign.signing import accel
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.signing.ws import xbogus_ws_signer, xgnarly_ws_signer
from ttsign.tiktok.ws_modes import AutoWsSigner

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
        accel=settings.accel,
    )


def make_signer(settings: Settings) -> Signer:
    """The process's Signer (one page identity, fresh entropy); `TTSIGN_ACCEL` also becomes the process-wide
    choice (`accel.configure`: URL parsing, signers made without an explicit `accel`). `on` without the compiled
    module raises `accel.AccelUnavailable`."""
    accel.configure(settings.accel)
    return Signer(signer_options(settings))


def make_ws_signer(settings: Settings) -> WsSigner | None:
    """The socket-URL signer `TTSIGN_WS_SIGNER` asks for, or None (the default, `none`).

    `x-bogus` and `x-gnarly` sign every direct connect one way (`ttsign.signing.ws` says what each signs);
    `auto` is an `AutoWsSigner` that probes the socket per identity (`ttsign.tiktok.ws_modes`).
    """
    preset = get_preset(settings.browser_preset)
    signers: dict[str, WsSigner | None] = {
        "none": None,
        "x-bogus": xbogus_ws_signer(preset.xbogus_header),
        "x-gnarly": xgnarly_ws_signer(preset.user_agent, env_code=settings.env_code, ub_code=settings.ub_code),
    }
    if settings.ws_signer == "auto":
        return AutoWsSigner(signers, preset=preset, timeout_s=settings.upstream_timeout_s, proxy=settings.proxy)
    return signers.get(settings.ws_signer)
