"""Input checks shared by every route. Each failure is an `ApiError` with a message naming the problem."""

from __future__ import annotations

import json
from typing import Any

from ttsign.config import Settings
from ttsign.server.errors import ApiError
from ttsign.signing.policy import ParsedURL, PolicyError, host_allowed, parse_url


def decode_text(raw: bytes, what: str = "body") -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} is not valid UTF-8") from None
    if "\x00" in text:
        raise ApiError(400, f"{what} contains a NUL byte")
    return text


def parse_json_object(raw: bytes, content_type: str) -> dict[str, Any]:
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct and ct != "application/json" and not ct.endswith("+json"):
        raise ApiError(415, f"expected Content-Type application/json, got {ct}")
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    text = decode_text(raw)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def field(data: dict[str, Any], name: str, *, required: bool = False, default: Any = None) -> Any:
    """A string field: absent/null -> default; wrong type -> 422 naming the field."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"missing required field '{name}'")
        return default
    if not isinstance(value, str):
        raise ApiError(422, f"field '{name}' must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ApiError(400, f"field '{name}' contains a NUL byte")
    return value


def check_url(url: str, settings: Settings) -> ParsedURL:
    """A signable TikTok URL: non-empty, <= max bytes, http(s), allowed host.

    Returns the parsed URL so the Signer does not parse it a second time.
    """
    url = url.strip()
    if not url:
        raise ApiError(400, "url is empty; send a TikTok URL")
    if len(url.encode("utf-8")) > settings.max_url_bytes:
        raise ApiError(413, f"url is longer than {settings.max_url_bytes} bytes")
    try:
        parsed = parse_url(url)
    except PolicyError as exc:
        raise ApiError(400, f"not a usable URL: {exc}") from None
    if not host_allowed(parsed.host, settings.allowed_host_suffixes()):
        raise ApiError(
            400,
            f"host '{parsed.host.split(':')[0]}' is not a TikTok host; allowed: {settings.allowed_hosts}",
            extra={"reason": "host_not_allowed"},
        )
    return parsed


def check_body(body: str | None, settings: Settings) -> str:
    body = body or ""
    if len(body.encode("utf-8")) > settings.max_body_bytes:
        raise ApiError(413, f"body is longer than {settings.max_body_bytes} bytes")
    return body


def check_user_agent(ua: str | None) -> str | None:
    if ua is None or ua == "":
        return None
    if len(ua) > 1024:
        raise ApiError(400, "user agent is longer than 1024 characters")
    if any(ord(c) < 0x20 for c in ua):
        raise ApiError(400, "user agent contains control characters")
    return ua


def check_method(method: str | None) -> str:
    m = (method or "GET").upper()
    if m not in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        raise ApiError(400, f"method '{method}' is not an HTTP method")
    return m
