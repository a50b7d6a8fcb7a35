"""Vector checker for kind ``x-tt-params`` (vectors/xttparams.json, protocol/tokens.md §4)."""

from __future__ import annotations

from typing import Any

from ttsign.algorithms import ttparams
from ttsign.vectors import register


def _field(vector: dict[str, Any], name: str) -> str:
    value = vector.get(name)
    if not isinstance(value, str):
        raise AssertionError(f"vector field {name!r} missing or not a string: {value!r}")
    return value


@register("x-tt-params")
def check_ttparams(vector: dict[str, Any]) -> None:
    """encrypt(plaintext) must equal `expected`, and decrypt(expected) must give back `plaintext`.

    When the vector states `plaintextUtf8Length`, the plaintext's UTF-8 length must match it too
    (it catches a vector file whose non-ASCII text was mangled in transit).
    """
    plaintext = _field(vector, "plaintext")
    expected = _field(vector, "expected")
    length = vector.get("plaintextUtf8Length")
    if length is not None and len(plaintext.encode("utf-8")) != length:
        raise AssertionError(f"plaintext is {len(plaintext.encode('utf-8'))} UTF-8 bytes, vector says {length}")
    got = ttparams.encrypt(plaintext)
    if got != expected:
        raise AssertionError(f"encrypt: got {got!r}, expected {expected!r}")
    back = ttparams.decrypt(expected)
    if back != plaintext:
        raise AssertionError(f"decrypt: got {back!r}, expected {plaintext!r}")
