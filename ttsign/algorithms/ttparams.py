"""The legacy `x-tt-params` header: AES-128-CBC over the query string (protocol/tokens.md §4).

The plaintext's UTF-8 bytes are PKCS#7-padded and encrypted with AES-128-CBC, key = IV = the ASCII
string ``webapp1.0+202106`` (the web bundle's ``webapp1.0+20210628`` cut to 16 characters), and the
ciphertext is written in standard base64 (``+``, ``/``, ``=`` padding).

tiktok.com no longer reads this header (retired in 2023). It is computed because the origin API
returns it. Since key and IV are fixed and public, the same plaintext always gives the same token,
and anyone can read it back with :func:`decrypt`: it is obfuscation, not protection.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ttsign.algorithms.errors import TTParamsError

__all__ = ["IV", "KEY", "decrypt", "encrypt"]

KEY = b"webapp1.0+202106"
"""The AES-128 key: ``webapp1.0+20210628`` truncated to 16 bytes."""
IV = KEY
"""The CBC IV, equal to the key."""

_BLOCK = 16
# Cipher objects are stateless descriptions; each call takes a fresh encryptor/decryptor context.
_CIPHER = Cipher(algorithms.AES(KEY), modes.CBC(IV))


def encrypt(plaintext: str) -> str:
    """Encrypt a query string into an ``x-tt-params`` value.

    The plaintext is used exactly as given (callers historically appended ``&is_encryption=1``
    themselves). Raises ``UnicodeEncodeError`` (a ``ValueError``) for a string holding lone
    surrogates, which have no UTF-8 form.
    """
    data = plaintext.encode("utf-8")
    pad = _BLOCK - len(data) % _BLOCK
    enc = _CIPHER.encryptor()
    ct = enc.update(data + bytes((pad,)) * pad) + enc.finalize()
    return base64.b64encode(ct).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt an ``x-tt-params`` value back to its query string.

    Raises :class:`TTParamsError` (and nothing else) when the value is not a string, not strict
    standard base64, not a whole number of 16-byte blocks, badly padded, or not UTF-8 inside.
    """
    if not isinstance(token, str):
        raise TTParamsError(f"x-tt-params must be a str, not {type(token).__name__}")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise TTParamsError("x-tt-params holds non-ASCII characters") from None
    try:
        ct = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TTParamsError(f"x-tt-params is not standard base64: {exc}") from None
    if not ct or len(ct) % _BLOCK:
        raise TTParamsError(f"x-tt-params ciphertext is {len(ct)} bytes, not a positive multiple of 16")
    dec = _CIPHER.decryptor()
    padded = dec.update(ct) + dec.finalize()
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes((pad,)) * pad:
        raise TTParamsError("x-tt-params has bad PKCS#7 padding (wrong key, or corrupted)")
    try:
        return padded[:-pad].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TTParamsError(f"x-tt-params plaintext is not UTF-8: {exc.reason}") from None
