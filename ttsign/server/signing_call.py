"""The one way a route signs: build a `SignJob`, ask the provider chain, map its failures to HTTP.

Every signing answer carries `X-Ttsign-Provider` (the provider that signed; `provider_headers`).
All providers failing is a 503 JSON naming each provider and why; a forced provider that is not
configured is a 400.
"""

from __future__ import annotations

from starlette.requests import Request

from ttsign.providers.base import ProviderAnswer, SignJob
from ttsign.providers.chain import AllProvidersFailed, UnknownProvider
from ttsign.server.deps import services
from ttsign.server.errors import ApiError
from ttsign.signing.policy import PolicyError

PROVIDER_HEADER = "X-Ttsign-Provider"


async def sign(request: Request, job: SignJob) -> ProviderAnswer:
    try:
        return await services(request).providers.sign(job)
    except UnknownProvider as exc:
        raise ApiError(400, str(exc)) from None
    except PolicyError as exc:
        raise ApiError(400, f"cannot sign this URL: {exc}") from None
    except AllProvidersFailed as exc:
        raise ApiError(
            503,
            str(exc),
            headers={"Retry-After": "5"},
            extra={"providers": [{"name": n, "kind": k, "message": m} for n, k, m in exc.failures]},
        ) from None


def provider_headers(answer: ProviderAnswer) -> dict[str, str]:
    """`X-Ttsign-Provider`, plus `X-Ttsign-Cached: <age seconds>` for a stale-if-error answer."""
    headers = {PROVIDER_HEADER: answer.provider}
    if answer.cached:
        headers["X-Ttsign-Cached"] = f"{answer.age_s:.1f}"
    return headers
