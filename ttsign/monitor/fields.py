"""The layout of a signed request's tokens, and a field-by-field comparison of two layouts. Pure: no I/O.

A *layout* is what two correct signers of the same request must agree on (and what a new SDK build
changes), read from the tokens with our decoders (`ttsign.algorithms.decode.decode_token`):

* `order`: the token names in the order they stand in the query (`X-Bogus(stub)` for the 5.3.2 page's
  literal `X-Bogus=1`), e.g. `["X-Dynosaur", "msToken", "X-Bogus(stub)", "X-Gnarly"]`;
* per signing token (`X-Dynosaur`, `X-Bogus`, `X-Gnarly`), a flat table of features:
  `type` and `layout` (which decoder read it: `x-gnarly-5.3.2` ...), `payload_version`, `fields` (the
  decoded field set), `widths` (each integer record's byte width), every `*version` field
  (`sdk_version`, `scm_version`, `component_version`...), the env and ub codes (`env_code`, `ub_code`;
  X-Bogus's environment `header`), the payload's constants and flags (`const_*`, `constant_*`, `flag_*`),
  the `page`, and lengths: `length` (the token's characters, for X-Bogus) or `payload_length` (a sealed
  token's payload bytes, net of the decimal text whose digit count varies per identity) and the envelope's
  `magic`.

Left out, because they differ between any two tokens or belong to one signer's identity or UA: timestamps,
nonces, counters, checksums, the random key and record order, hashes of the query/body/UA, canvas, WebGL
and device hashes. A token our decoders cannot read has the feature `decode` ("undecodable: ...").

`compare(a, b)` names each difference `order`, `tokens` or `<token>.<feature>` (e.g. `X-Gnarly.sdk_version`)
with (a's value, b's value); for `fields` and `tokens` the values are (only in a, only in b). Layouts are
JSON-safe (`Layout.to_dict` / `Layout.from_dict`), so a baseline file can hold them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ttsign.algorithms.decode import decode_token

__all__ = [
    "SIGNING_TOKENS",
    "TOKEN_NAMES",
    "Layout",
    "compare",
    "compare_tokens",
    "describe",
    "layout_of",
    "query_tokens",
    "token_layout",
]

TOKEN_NAMES = ("X-Dynosaur", "msToken", "X-Bogus", "X-Gnarly")
"""The query parameters a signer appends (any order; `order` records the one seen)."""
SIGNING_TOKENS = ("X-Dynosaur", "X-Bogus", "X-Gnarly")
STUB = "1"
"""The 5.3.2 page's fixed `X-Bogus=1`."""
VALUE_FIELDS = ("env_code", "ub_code", "page", "widths")
"""Decoded fields compared as values, besides every `*version` and every `VALUE_PREFIXES` field."""
VALUE_PREFIXES = ("const_", "constant_", "flag_")
VARIABLE_TEXT = ("webgl_hash", "canvas_hash")
"""X-Dynosaur fields written as decimal text: their digit count varies per identity, so `payload_length`
leaves them out."""


def query_tokens(url_or_query: str) -> list[tuple[str, str]]:
    """The signer's tokens (name, raw value) in the order they stand in `url_or_query` (a URL or its query).
    A name given twice is listed twice (an input URL that kept an old token)."""
    query = urlsplit(url_or_query).query if "://" in url_or_query else url_or_query.lstrip("?")
    out = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if sep and name in TOKEN_NAMES:
            out.append((name, value))
    return out


def _order_name(name: str, value: str) -> str:
    return f"{name}(stub)" if name == "X-Bogus" and value == STUB else name


def token_layout(token: str) -> dict[str, Any]:
    """The compared features of one signing token (see the module docstring)."""
    if token == STUB:
        return {"type": "x-bogus-stub"}
    try:
        decoded = decode_token(token)
    except ValueError as exc:
        return {"decode": f"undecodable: {str(exc)[:80]}"}
    fields: dict[str, Any] = decoded.get("fields") or {}
    out: dict[str, Any] = {
        "type": decoded.get("type"),
        "layout": decoded.get("layout") or decoded.get("type"),
        "payload_version": decoded.get("payload_version") or "",
        "fields": sorted(fields),
    }
    for key, value in fields.items():
        if key in VALUE_FIELDS or key.endswith("version") or key.startswith(VALUE_PREFIXES):
            out[key] = value
    if decoded.get("type") == "x-bogus":
        out["header"] = fields.get("header")  # the environment bytes H0..H3 (xbogus.md 2.7)
    envelope = decoded.get("envelope")
    if isinstance(envelope, dict) and isinstance(envelope.get("payload_length"), int):
        variable = sum(len(str(fields[k])) for k in VARIABLE_TEXT if k in fields)
        out["payload_length"] = envelope["payload_length"] - variable
        out["magic"] = envelope.get("magic")
    else:
        out["length"] = len(token)
    return out


@dataclass(frozen=True)
class Layout:
    """The layout of one signed request: its tokens' order and each signing token's features."""

    order: tuple[str, ...] = ()
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    ms_token: str = "absent"
    """`absent`, `empty` or `present` (msToken is TikTok's, never the signer's: its value is not compared)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": list(self.order),
            "ms_token": self.ms_token,
            "tokens": {k: dict(v) for k, v in self.tokens.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        tokens = data.get("tokens") or {}
        return cls(
            order=tuple(str(x) for x in data.get("order") or ()),
            tokens={str(k): dict(v) for k, v in tokens.items()},
            ms_token=str(data.get("ms_token", "absent")),
        )


def layout_of(signed: str | dict[str, str]) -> Layout:
    """The layout of a signed URL (or its query), or of a token dict (`SignedRequest.tokens`, whose insertion
    order is taken as the query order)."""
    pairs = list(signed.items()) if isinstance(signed, dict) else query_tokens(signed)
    order = tuple(_order_name(name, value) for name, value in pairs)
    tokens: dict[str, dict[str, Any]] = {}
    ms_token = "absent"
    for name, value in pairs:  # the last occurrence wins, as a server reads it
        if name == "msToken":
            ms_token = "present" if value else "empty"
        elif value and not (name == "X-Bogus" and value == STUB):  # the stub is in `order` only
            tokens[name] = token_layout(value)
        else:
            tokens.pop(name, None)
    return Layout(order=order, tokens=tokens, ms_token=ms_token)


def compare_tokens(name: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Differences between two features tables of the token `name` (`<name>.<feature>` -> (a's, b's))."""
    diff: dict[str, tuple[Any, Any]] = {}
    for key in sorted(a.keys() | b.keys()):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if key == "fields":  # which fields, not both whole lists
            va, vb = sorted(set(va or ()) - set(vb or ())), sorted(set(vb or ()) - set(va or ()))
        diff[f"{name}.{key}"] = (va, vb)
    return diff


def compare(a: Layout, b: Layout) -> dict[str, tuple[Any, Any]]:
    """Every difference between two layouts (empty: they agree). `tokens`: the signing tokens present
    (only in a, only in b); `order`: the query order, when it differs; `msToken`: absent/empty/present;
    `<token>.<feature>`: one token's feature."""
    diff: dict[str, tuple[Any, Any]] = {}
    names_a = {n for n in a.order if n != "msToken"}
    names_b = {n for n in b.order if n != "msToken"}
    if names_a != names_b:
        diff["tokens"] = (sorted(names_a - names_b), sorted(names_b - names_a))
    if list(a.order) != list(b.order):
        diff["order"] = (list(a.order), list(b.order))
    if a.ms_token != b.ms_token:
        diff["msToken"] = (a.ms_token, b.ms_token)
    for name in SIGNING_TOKENS:
        ta, tb = a.tokens.get(name), b.tokens.get(name)
        if ta is None or tb is None:
            continue  # presence is `tokens`' business
        diff.update(compare_tokens(name, ta, tb))
    return diff


def describe(diff: Mapping[str, Sequence[Any]], a: str = "a", b: str = "b") -> list[str]:
    """One line per difference, e.g. `X-Gnarly.sdk_version: native '5.3.2', browser '5.3.3'`."""
    lines = []
    for key, (va, vb) in diff.items():
        if key in ("tokens",) or key.endswith(".fields"):
            lines.append(f"{key}: only {a} {va}, only {b} {vb}")
        else:
            lines.append(f"{key}: {a} {va!r}, {b} {vb!r}")
    return lines
