"""The signing service: one call that answers for every product a route returns.

A route parses its input, calls `SigningService.sign` once, and shapes the answer. The service signs
through the `Signer` and, when asked (`legacy=True`, the origin API), also computes the two retired
products the origin API still returns: the legacy `_signature` and `x-tt-params` (tokens.md §6; TikTok
no longer checks either). Latencies go to an optional `observe(label, seconds)` hook, so the server can
record metrics without this layer importing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ttsign.algorithms import signature, ttparams
from ttsign.algorithms.decode import decode_token
from ttsign.algorithms.navigator import navigator_dict
from ttsign.signing.policy import ParsedURL
from ttsign.signing.signer import SignedRequest, Signer

LEGACY_PAGE = "www.tiktok.com/"
"""The page the legacy `_signature` is made on (the origin API's)."""
LEGACY_LABEL = "legacy+x-tt-params"
"""The `observe` label of the legacy products' time."""

Observer = Callable[[str, float], None]
"""`observe(label, seconds)`: `label` is the Signer's product (`full`, `webcast`, `classic`) or `LEGACY_LABEL`."""


@dataclass(frozen=True, slots=True)
class SigningResult:
    """Everything the signing routes return: the signed request and, when asked, the legacy products."""

    request: SignedRequest
    legacy_signature: str = ""
    """The legacy `_signature` over the caller's URL ("" unless `legacy=True`)."""
    tt_params: str = ""
    """`x-tt-params`: the business query with `&is_encryption=1`, encrypted ("" unless `legacy=True`)."""

    @property
    def tokens(self) -> dict[str, str]:
        return self.request.tokens

    @property
    def navigator(self) -> dict[str, str | int | float]:
        """The origin API's `navigator` object (six keys) for the preset the request was signed as."""
        return navigator_dict(self.request.navigator)


def tt_params_for(signed: SignedRequest) -> str:
    """`x-tt-params` for a signed request: its signed query before any X-Dynosaur, plus `is_encryption=1`."""
    query = signed.signed_query.split("&X-Dynosaur=", 1)[0]
    return ttparams.encrypt(f"{query}&is_encryption=1" if query else "is_encryption=1")


def _legacy_signature(fast: Any, url: str, user_agent: str, timestamp: int) -> str:
    """The legacy `_signature` on `LEGACY_PAGE`: compiled when the signer's fast path is on, else the reference."""
    if fast is not None:
        try:
            canvas = signature.DEFAULT_SIGNATURE_CANVAS
            return str(fast.legacy_signature(url, user_agent, timestamp, LEGACY_PAGE, canvas, 1, "", ""))
        except UnicodeEncodeError:  # a lone surrogate: the reference reads UTF-16 code units as JavaScript does
            pass
    return signature.legacy_signature(url, user_agent, timestamp, LEGACY_PAGE)


class SigningService:
    """Signs for the routes (and library users) through one `Signer`. Thread-safe as the Signer is."""

    def __init__(self, signer: Signer, *, observe: Observer | None = None) -> None:
        self.signer = signer
        self._observe = observe

    def sign(
        self,
        url: str,
        method: str = "GET",
        body: str | bytes = b"",
        user_agent: str | None = None,
        ms_token: str | None = None,
        *,
        parsed: ParsedURL | None = None,
        legacy: bool = False,
    ) -> SigningResult:
        """Sign `url` (the caller's text; `parsed`, when given, is it already parsed by `policy.parse_url`).

        With `legacy`, the result also carries the legacy `_signature` (over `url` as given) and
        `x-tt-params`. Raises `policy.PolicyError` for a URL that cannot be signed.
        """
        observe = self._observe
        started = time.perf_counter()
        signed = self.signer.sign(parsed if parsed is not None else url, method, body, user_agent, ms_token)
        if not legacy:
            if observe is not None:
                observe(signed.product.value, time.perf_counter() - started)
            return SigningResult(signed)
        t_signed = time.perf_counter()
        legacy_sig = _legacy_signature(self.signer.accel, url, signed.user_agent, signed.timestamp)
        tt_params = tt_params_for(signed)
        if observe is not None:
            observe(signed.product.value, t_signed - started)
            observe(LEGACY_LABEL, time.perf_counter() - t_signed)
        return SigningResult(signed, legacy_sig, tt_params)

    def decode(self, token: str) -> dict[str, Any]:
        """Open any token (`algorithms.decode.decode_token`); raises `TokenError` (a ValueError)."""
        return decode_token(token)
