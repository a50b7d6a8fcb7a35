"""What every signing provider shares: the job, the answer, the error, and the provider protocol.

A route parses and checks its input, builds one `SignJob` and hands it to the chain
(`ttsign.providers.chain.ProviderChain.sign`), which returns a `ProviderAnswer` naming the provider that
signed. A provider raises `ProviderError` (never anything else) when it cannot sign; `kind` says why, and
is what `/metrics`, `/health` and the chain's 503 report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ttsign.signing.policy import ParsedURL, Product, choose_product
from ttsign.signing.service import SigningResult
from ttsign.signing.signer import SignedRequest, Signer

FailureKind = Literal[
    "error", "timeout", "verify", "overloaded", "unavailable", "crashed", "breaker_open", "bad_answer"
]
"""Why a provider did not sign: it raised (`error`), took too long (`timeout`), answered tokens that fail our
own verification (`verify`), its queue was full (`overloaded`), it is not started or not installed
(`unavailable`), its browser died (`crashed`), its breaker is open (`breaker_open`), or a remote answered
something that is not a signing answer (`bad_answer`)."""

TOKEN_NAMES = ("X-Dynosaur", "msToken", "X-Bogus", "X-Gnarly")


class ProviderError(Exception):
    """A provider could not sign. `kind` is one of `FailureKind`; the message says what happened in one line
    and never holds a session cookie, an msToken or a key."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class SignJob:
    """One signing call, already validated by the route."""

    url: str
    """The caller's URL text (the legacy `_signature` is made over it)."""
    parsed: ParsedURL
    """`url` parsed by `policy.parse_url` (the route's `check_url` did it)."""
    method: str = "GET"
    body: bytes = b""
    user_agent: str | None = None
    ms_token: str | None = None
    legacy: bool = False
    """Also compute the origin API's retired products (`_signature`, `x-tt-params`)."""
    provider: str | None = None
    """Force one provider by name (`POST /v1/sign {provider}`): no fallback, no cache."""

    def cache_key(self) -> tuple[str, str, str, str, bool]:
        """What makes two jobs "identical" for the stale-if-error cache: URL, method, body hash, UA, legacy."""

        return (
            self.url,
            self.method.upper(),
            hashlib.sha256(self.body).hexdigest(),
            self.user_agent or "",
            self.legacy,
        )


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """A signing result and where it came from."""

    result: SigningResult
    provider: str
    """The provider that signed (`native`, `browser`, `remote`)."""
    cached: bool = False
    """Served from the stale-if-error cache because every provider failed."""
    age_s: float = 0.0
    """For a cached answer: seconds since it was signed."""
    failures: tuple[tuple[str, str, str], ...] = ()
    """Providers tried before the one that signed: (name, kind, message)."""
    browser_ua: bool = False
    """The user agent is the signing browser's own: the caller must send exactly it."""
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """A way of signing. `sign` is a coroutine; CPU-bound providers may run inline (native does)."""

    name: str

    async def start(self) -> None:
        """Get ready (launch a browser, open a client). Raises `ProviderError('unavailable', ...)`."""

    async def close(self) -> None:
        """Release everything (no orphaned processes). Safe to call twice."""

    async def sign(self, job: SignJob) -> SigningResult:
        """Sign one job or raise `ProviderError`."""

    def info(self) -> dict[str, Any]:
        """JSON-safe facts for `GET /v1/providers` (e.g. the browser's SDK version and sha256)."""


def signed_from_url(
    signer: Signer,
    job: SignJob,
    signed_url: str,
    user_agent: str,
    headers: dict[str, str] | None = None,
    *,
    warnings: tuple[str, ...] = (),
) -> SignedRequest:
    """Our `SignedRequest` for a URL signed elsewhere (a browser page, another server).

    Tokens are read from the signed URL's query (the last occurrence of each name wins, as a server reads
    it); the navigator is the one `signer.preset_for(user_agent)` derives from the UA; the product is the
    one our policy chooses for the URL; `signed_query` is the signed URL's query as sent; `timestamp` is 0
    (unknown; `verify` reads it from the tokens).
    """
    query = urlsplit(signed_url).query
    tokens: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name in TOKEN_NAMES:
            tokens[name] = value
    product: Product = choose_product(job.parsed.host, job.parsed.path, job.method.upper())
    return SignedRequest(
        url=signed_url,
        method=job.method.upper(),
        body=job.body,
        user_agent=user_agent,
        product=product,
        tokens=tokens,
        headers=dict(headers or {}),
        navigator=signer.preset_for(user_agent),
        signed_query=query,
        warnings=warnings,
        timestamp=0,
    )


class ChainEvents(Protocol):
    """What the chain reports as it works; the server turns it into `/metrics` (`server.metrics`).

    Every method must be cheap and must not raise. `NullEvents` does nothing (library use, tests)."""

    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        """One provider call: `outcome` is `ok` or `failed`; `kind` is "" or a `FailureKind`."""

    def breaker(self, provider: str, state: str) -> None:
        """A breaker changed state: `closed`, `open` or `half_open`."""

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        """One shadow comparison: `outcome` is `agree`, `disagree` or `failed`; `fields` the differing ones."""

    def cache(self, outcome: str) -> None:
        """Stale-if-error cache: `hit` (served), `miss` (nothing fresh), `stored`."""


class NullEvents:
    def call(self, provider: str, outcome: str, kind: str, seconds: float) -> None:
        return None

    def breaker(self, provider: str, state: str) -> None:
        return None

    def shadow(self, provider: str, other: str, outcome: str, fields: tuple[str, ...]) -> None:
        return None

    def cache(self, outcome: str) -> None:
        return None
