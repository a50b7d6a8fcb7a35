"""Build the provider chain from settings: `build_chain(settings, signing, events)`.

`TTSIGN_PROVIDERS` is the ordered, comma-separated list of providers (`native`, `browser`, `remote`; no
duplicates). `browser` and `remote` are imported only when selected (the browser needs the optional
extra `ttsign[browser]`). `TTSIGN_PROVIDER_FAULTS` wraps the named providers in injected faults (tests,
drills; `ttsign.providers.faults`). Every problem is a one-line `ValueError` naming the setting, so the
CLI can print it and exit before the server starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ttsign.providers.base import ChainEvents, Provider, ProviderError
from ttsign.providers.breaker import BreakerPolicy
from ttsign.providers.cache import StaleCache
from ttsign.providers.chain import ProviderChain
from ttsign.providers.faults import apply_faults, parse_faults
from ttsign.providers.native import NativeProvider
from ttsign.providers.shadow import Shadow

if TYPE_CHECKING:
    from ttsign.config import Settings
    from ttsign.signing.service import SigningService

KNOWN = ("native", "browser", "remote")
SETTING = "TTSIGN_PROVIDERS"
BROWSER_EXTRA = "pip install 'ttsign[browser]'"


def parse_providers(text: str) -> tuple[str, ...]:
    """The provider names of `TTSIGN_PROVIDERS`, in order; a one-line ValueError naming the setting."""
    names = tuple(part.strip().lower() for part in text.split(","))
    if not any(names):
        raise ValueError(f"{SETTING} is empty; name at least one provider of: {', '.join(KNOWN)}")
    seen: list[str] = []
    for name in names:
        if not name:
            raise ValueError(f"{SETTING}={text!r} has an empty entry; use e.g. native,browser")
        if name not in KNOWN:
            raise ValueError(f"{SETTING}: unknown provider {name!r}; known: {', '.join(KNOWN)}")
        if name in seen:
            raise ValueError(f"{SETTING}: provider {name!r} is named twice")
        seen.append(name)
    return tuple(seen)


def check_settings(settings: Settings) -> None:
    """Every provider setting checked without building anything (start-up checks): ValueError, one line."""
    names = parse_providers(settings.providers)
    parse_faults(settings.provider_faults, KNOWN)
    if "remote" in names and not settings.remote_url.strip():
        raise ValueError(
            f"{SETTING} selects remote but TTSIGN_REMOTE_URL is empty; set it to the other sign server's URL"
        )


def _browser(settings: Settings, signing: SigningService) -> Provider:
    # imported by name, only when selected: the module needs the optional extra (Playwright)
    try:
        module = importlib.import_module("ttsign.providers.browser")
    except ImportError as exc:
        raise ValueError(
            f"{SETTING} selects browser but it cannot be loaded ({exc}); install the extra: {BROWSER_EXTRA}"
        ) from None
    try:
        provider: Provider = module.BrowserProvider.from_settings(settings, signing.signer)
    except ProviderError as err:  # Playwright or Chromium missing: its one-line message says what to install
        raise ValueError(f"{SETTING} selects browser, which cannot run: {err.message}") from None
    return provider


def _remote(settings: Settings, signing: SigningService) -> Provider:
    module = importlib.import_module("ttsign.providers.remote")
    provider: Provider = module.RemoteProvider.from_settings(settings, signing.signer)
    return provider


def build_providers(settings: Settings, signing: SigningService) -> list[Provider]:
    """The providers `TTSIGN_PROVIDERS` names, in order, faults applied (not started)."""
    check_settings(settings)
    providers: list[Provider] = []
    for name in parse_providers(settings.providers):
        if name == "native":
            providers.append(NativeProvider(signing))
        elif name == "browser":
            providers.append(_browser(settings, signing))
        else:
            providers.append(_remote(settings, signing))
    hang_s = {"browser": settings.browser_timeout_s, "remote": settings.remote_timeout_s}
    return apply_faults(providers, parse_faults(settings.provider_faults, KNOWN), hang_s)


def deadlines(settings: Settings) -> dict[str, float]:
    """The chain's backstop per provider, beyond the provider's own timeout (native signs inline: none).
    The browser's own timeout may be spent once queued and once signing."""
    return {"browser": 2 * settings.browser_timeout_s + 1.0, "remote": settings.remote_timeout_s + 1.0}


def build_chain(settings: Settings, signing: SigningService, events: ChainEvents | None = None) -> ProviderChain:
    """The chain `TTSIGN_PROVIDERS` names (not started: the app's lifespan calls `start()` and `close()`):
    breakers from `TTSIGN_BREAKER_*`, the stale-if-error cache when `TTSIGN_CACHE_TTL` > 0, shadow
    comparison when `TTSIGN_SHADOW_RATE` > 0 (and there are two providers), `TTSIGN_VERIFY_NATIVE`."""
    providers = build_providers(settings, signing)
    backstops = deadlines(settings)
    cache = StaleCache(settings.cache_ttl_s, settings.cache_size) if settings.cache_ttl_s > 0 else None
    shadow = None
    if settings.shadow_rate > 0 and len(providers) > 1:
        shadow = Shadow(settings.shadow_rate, events, deadline_s=max(backstops.values()))
    return ProviderChain(
        providers,
        events=events,
        breaker=BreakerPolicy.from_settings(settings),
        cache=cache,
        shadow=shadow,
        verify_native=settings.verify_native,
        deadlines=backstops,
    )
