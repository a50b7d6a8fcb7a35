"""The one error family every decoder raises for malformed or corrupted tokens."""


class TokenError(ValueError):
    """A token could not be decoded: wrong alphabet, length, magic byte, checksum or layout."""


class XBogusError(TokenError):
    """A malformed X-Bogus (or frontierSign stub) token."""


class SignatureError(TokenError):
    """A malformed legacy `_signature`."""


class EnvelopeError(TokenError):
    """A malformed X-Gnarly / X-Dynosaur envelope (alphabet, base64, magic byte, length)."""


class PayloadError(TokenError):
    """An envelope that opened but whose payload does not parse (records, keys, widths, checksums)."""


class TTParamsError(TokenError):
    """An x-tt-params value that does not decrypt (base64, block size, padding, UTF-8)."""
