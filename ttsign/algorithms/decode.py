"""Recognise a token (X-Bogus, frontierSign stub, X-Gnarly, X-Dynosaur, x-tt-params) and decode it."""

from __future__ import annotations

from typing import Any

from ttsign.algorithms import signature, ttparams, xbogus
from ttsign.algorithms.errors import TokenError
from ttsign.algorithms.payloads import detect


def decode_token(token: str) -> dict[str, Any]:
    """Decode any supported token to JSON-friendly fields.

    Raises `TokenError` (a ValueError) with a message saying what the token is not.
    """
    token = token.strip()
    if not token:
        raise TokenError("empty token")
    if len(token) == 28 and token.startswith("DFSz"):
        return {"type": "x-bogus", "fields": xbogus.decode(token).to_dict()}
    if len(token) == 16:
        return {"type": "frontiersign-stub", "fields": signature.decode_frontier_stub(token).to_dict()}
    if token.startswith("_02B4Z6wo"):
        return {"type": "_signature", "fields": signature.decode_legacy_signature(token).to_dict()}
    if token.startswith("M"):
        return detect.describe(token)
    try:
        return {"type": "x-tt-params", "fields": {"plaintext": ttparams.decrypt(token)}}
    except TokenError:
        pass
    raise TokenError(
        "not a recognised token: X-Bogus is 28 chars starting 'DFSz', X-Gnarly/X-Dynosaur start with 'M', "
        "x-tt-params is base64 AES"
    )
