"""ttsign: a self-hosted TikTok web signing server (X-Bogus, X-Gnarly, X-Dynosaur in pure Python).

Also a library::

    from ttsign import Signer, SignedRequest, decode, verify

`Signer().sign(url, method, body, user_agent, ms_token)` returns a `SignedRequest`; `decode(token)`
opens any token (X-Bogus, X-Gnarly, X-Dynosaur, x-tt-params, `_signature`); `verify(url, user_agent)`
checks a signed URL's tokens against the request (a `VerifyResult`). The names load on first use, so
`import ttsign` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ttsign.algorithms.decode import decode_token as decode
    from ttsign.signing.service import SigningResult, SigningService
    from ttsign.signing.signer import SignedRequest, Signer, SignerOptions
    from ttsign.signing.verify import TokenCheck, VerifyResult, verify

_EXPORTS = {
    "Signer": ("ttsign.signing.signer", "Signer"),
    "SignerOptions": ("ttsign.signing.signer", "SignerOptions"),
    "SignedRequest": ("ttsign.signing.signer", "SignedRequest"),
    "SigningService": ("ttsign.signing.service", "SigningService"),
    "SigningResult": ("ttsign.signing.service", "SigningResult"),
    "decode": ("ttsign.algorithms.decode", "decode_token"),
    "verify": ("ttsign.signing.verify", "verify"),
    "VerifyResult": ("ttsign.signing.verify", "VerifyResult"),
    "TokenCheck": ("ttsign.signing.verify", "TokenCheck"),
}
__all__ = [
    "SignedRequest",
    "Signer",
    "SignerOptions",
    "SigningResult",
    "SigningService",
    "TokenCheck",
    "VerifyResult",
    "__version__",
    "decode",
    "verify",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ttsign' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
