"""The native provider: our own algorithms (`SigningService`), signing inline (a sign is well under 1 ms)."""

from __future__ import annotations

import logging
from typing import Any

from ttsign.providers.base import ProviderError, SignJob
from ttsign.signing.policy import PolicyError
from ttsign.signing.service import SigningResult, SigningService

_log = logging.getLogger("ttsign.providers")


class NativeProvider:
    name = "native"

    def __init__(self, service: SigningService) -> None:
        self.service = service

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def sign(self, job: SignJob) -> SigningResult:
        try:
            return self.service.sign(
                job.url, job.method, job.body, job.user_agent, job.ms_token, parsed=job.parsed, legacy=job.legacy
            )
        except PolicyError:
            raise  # the caller's URL, not the provider: the route answers 4xx
        except Exception as exc:  # any failure of ours is this provider's failure
            # The exception's text can hold the caller's inputs: it goes to the (redacted) log, not the answer.
            _log.exception("native provider failed")
            raise ProviderError("error", f"native signing failed: {type(exc).__name__}") from exc

    def info(self) -> dict[str, Any]:
        opts = self.service.signer.options
        return {"gnarly_version": opts.gnarly_version, "preset": opts.preset}
