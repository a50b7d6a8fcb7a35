"""The relay feature's hook: builds the hub onto `services.relay` (closed by the app's lifespan)."""

from __future__ import annotations

from typing import Any

from ttsign.relay.hub import RelayHub


def install(services: Any) -> list[Any]:
    """Build the relay hub onto `services` (ttsign.server.deps.Services); return it as a companion (`start` /
    `close`: the lifespan closes every room on shutdown). No upstream client: no relay (`services.relay` None)."""
    if services.upstream is None:
        return []
    from ttsign.server.metrics import RelayMetrics

    services.relay = RelayHub(services.settings, services.upstream, observer=RelayMetrics())
    return [services.relay]
