"""Input checks shared by every route. Each failure is an `ApiError` with a message naming the problem.

JSON bodies are parsed strictly: UTF-8 only (a BOM or another declared charset is refused), no
`NaN`/`Infinity` literals, no number that does not fit a float, no integer of more than
`MAX_INT_DIGITS` digits (Python would raise `ValueError` past 4,300), no duplicate keys in an object
(two parsers could disagree on which one wins), nesting bounded by the interpreter's recursion limit.
Form bodies and strict query strings (`parse_form_pairs`) follow the same rules: UTF-8, no duplicate field.
String fields must be valid Unicode (a JSON `"\\ud800"` escape decodes to a lone surrogate, which no
encoder accepts) and free of NUL.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from ttsign.config import Settings
from ttsign.server.errors import ApiError
from ttsign.signing.policy import ParsedURL, PolicyError, host_allowed, parse_url

MAX_INT_DIGITS = 128
MAX_UA_CHARS = 1024
MAX_MS_TOKEN_CHARS = 1024
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_MS_TOKEN = re.compile(r"[A-Za-z0-9_\-=.%+/]*")
_CHARSET = re.compile(r"""(?i);\s*charset\s*=\s*["']?([^"';\s]*)""")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_charset(content_type: str) -> None:
    """Refuse a declared charset other than UTF-8 (or its ASCII subset): we decode bodies as UTF-8 only."""
    m = _CHARSET.search(content_type)
    if m and m.group(1).lower() not in UTF8_CHARSETS:
        raise ApiError(415, f"charset '{m.group(1)[:40]}' is not supported; send the body as UTF-8")


def decode_text(raw: bytes, what: str = "body") -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ApiError(400, f"{what} starts with a byte order mark; send UTF-8 without a BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None
    if "\x00" in text:
        raise ApiError(400, f"{what} contains a NUL byte")
    return text


def _bad_constant(name: str) -> NoReturn:
    raise ApiError(400, f"request body is not valid JSON: {name} is not a JSON number")


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ApiError(400, f"request body holds a JSON integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, f"request body holds a JSON number out of range ({text[:40]})")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ApiError(400, f"request body repeats the key '{_printable(key)}' in one JSON object")
            seen.add(key)
    return obj


def _printable(text: str, limit: int = 40) -> str:
    """A caller's string made safe to quote in a message (escapes, not raw controls or surrogates)."""
    return text[:limit].encode("ascii", "backslashreplace").decode("ascii")


MAX_JSON_DEPTH = 64
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_depth(text: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, whatever the interpreter's recursion limit.

    json.loads recurses per level, so without this bound the answer to a deep document would depend on
    `sys.setrecursionlimit` (which some libraries raise). Bodies with few brackets skip the scan.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ApiError(400, f"request body is not valid JSON: nested too deeply (over {MAX_JSON_DEPTH} levels)")
        elif tok in "]}":
            depth -= 1


def parse_json_object(raw: bytes, content_type: str) -> dict[str, Any]:
    ct = media_type(content_type)
    if ct and ct != "application/json" and not ct.endswith("+json"):
        raise ApiError(415, f"expected Content-Type application/json, got {_printable(ct, 60)}")
    check_charset(content_type)
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    text = decode_text(raw)
    _check_depth(text)
    try:
        data = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_bad_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except ApiError:
        raise
    except RecursionError:
        raise ApiError(400, "request body is not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc.msg} at offset {exc.pos}") from None
    except ValueError:  # anything else json or int() refuses
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 32


def parse_form_pairs(raw: bytes, what: str = "request body", *, max_fields: int = MAX_FORM_FIELDS) -> dict[str, str]:
    """Form-encoded fields (`a=1&b=2`, as a form body or a query string), parsed strictly.

    UTF-8 only (before and after percent-decoding), no BOM, no NUL; every field has a `=`; at most `max_fields`
    fields; no field twice (two parsers could disagree on which one wins). `+` is a space, as in any form.
    """
    text = decode_text(raw, what)
    if not text:
        return {}
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} holds a percent-encoded byte sequence that is not UTF-8") from None
    except ValueError as exc:
        if "max number" in str(exc).lower():
            raise ApiError(400, f"{what} has more than {max_fields} form fields") from None
        raise ApiError(400, f"{what} is not form-encoded: every field must be name=value, joined by '&'") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not name:
            raise ApiError(400, f"{what} has a form field with no name (=value); send name=value")
        if name in fields:
            raise ApiError(400, f"{what} repeats the field '{_printable(name)}'; send each field once")
        fields[name] = value
    return fields


def parse_form_object(raw: bytes, content_type: str) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (TikTokLive 6.6's sign_url), as `parse_form_pairs` reads it."""
    check_charset(content_type)
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected form fields such as url=...")
    return parse_form_pairs(raw)


def _check_string(value: str, what: str) -> str:
    if "\x00" in value:
        raise ApiError(400, f"{what} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise ApiError(400, f"{what} holds a lone surrogate (\\u{ord(bad):04x}): not valid Unicode text") from None
    return value


def field(data: dict[str, Any], name: str, *, required: bool = False, default: Any = None) -> Any:
    """A string field: absent/null -> default; wrong type -> 422 naming the field; NUL or invalid Unicode -> 400."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"missing required field '{name}'")
        return default
    if not isinstance(value, str):
        raise ApiError(422, f"field '{name}' must be a string, got {type(value).__name__}")
    return _check_string(value, f"field '{name}'")


def check_url(url: str, settings: Settings) -> ParsedURL:
    """A signable TikTok URL: non-empty, <= max bytes, http(s), allowed host.

    Returns the parsed URL so the Signer does not parse it a second time.
    """
    url = _check_string(url, "url").strip(" \t\n\r\f")  # as parse_url trims; a browser encodes U+00A0 etc.
    if not url:
        raise ApiError(400, "url is empty; send a TikTok URL")
    if len(url.encode("utf-8")) > settings.max_url_bytes:
        raise ApiError(413, f"url is longer than {settings.max_url_bytes} bytes")
    try:
        parsed = parse_url(url)
    except PolicyError as exc:
        raise ApiError(400, f"not a usable URL: {exc}") from None
    if not host_allowed(parsed.host, settings.allowed_host_suffixes()):
        host = _printable(parsed.host.split(":")[0], 80)
        raise ApiError(
            400,
            f"host '{host}' is not a TikTok host; allowed: {settings.allowed_hosts}",
            extra={"reason": "host_not_allowed"},
        )
    return parsed


def check_body(body: str | None, settings: Settings, name: str = "body") -> str:
    body = _check_string(body or "", f"field '{name}'")
    if len(body.encode("utf-8")) > settings.max_body_bytes:
        raise ApiError(413, f"field '{name}' is longer than {settings.max_body_bytes} bytes")
    return body


def check_user_agent(ua: str | None, name: str = "user_agent") -> str | None:
    """A User-Agent to sign for: printable ASCII (all an HTTP header can carry), at most 1024 characters."""
    if ua is None or ua == "":
        return None
    if len(ua) > MAX_UA_CHARS:
        raise ApiError(400, f"'{name}' (the User-Agent) is longer than {MAX_UA_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in ua):
        raise ApiError(400, f"'{name}' (the User-Agent) contains control characters")
    if not _PRINTABLE_ASCII.fullmatch(ua):
        raise ApiError(
            400,
            f"'{name}' (the User-Agent) must be printable ASCII: a User-Agent header cannot carry other characters",
        )
    return ua


def check_ms_token(token: str | None, name: str = "ms_token") -> str | None:
    """A caller's msToken to pass through: base64url-like characters only (it is appended raw to the query)."""
    if token is None:
        return None
    if len(token) > MAX_MS_TOKEN_CHARS:
        raise ApiError(400, f"'{name}' (the msToken) is longer than {MAX_MS_TOKEN_CHARS} characters")
    if not _MS_TOKEN.fullmatch(token):
        raise ApiError(400, f"'{name}' is not an msToken: only letters, digits and - _ = . % + / are allowed")
    return token


def check_method(method: str | None) -> str:
    m = (method or "GET").upper()
    if m not in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        raise ApiError(400, f"method '{_printable(method or '')}' is not an HTTP method")
    return m
