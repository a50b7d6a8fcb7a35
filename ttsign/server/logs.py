"""Structured logging (structlog): JSON when stdout is not a TTY, with secrets redacted.

Session cookies, `sessionid`, API keys and authorization headers never reach a log line: every event
passes through `redact` before rendering, which masks sensitive keys and sensitive query/cookie values.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "api_key",
        "x-api-key",
        "authorization",
        "cookie",
        "x-cookie-header",
        "session_id",
        "sessionid",
        "sessionid_ss",
        "sid_tt",
        "sid_guard",
        "x-oauth-token",
        "ttwid",
        "mstoken",
        "ms_token",
    }
)
_SECRET_PARAM = re.compile(
    r"(?i)\b(session_?id(?:_ss)?|sid_tt|sid_guard|ttwid|msToken|api_?key|x-api-key|token)=([^&;\s]+)"
)


def scrub(text: str) -> str:
    """Mask secret-looking `name=value` pairs inside a free-form string (URLs, cookie headers)."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", text)


def redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in SENSITIVE_KEYS:
            event[key] = "***"
        elif isinstance(event[key], str):
            event[key] = scrub(event[key])
    return event


def configure(level: str = "info", json_output: bool | None = None) -> None:
    """Configure structlog + stdlib logging once per process."""
    if json_output is None:
        json_output = not sys.stdout.isatty()
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO
    logging.basicConfig(level=lvl, format="%(message)s", stream=sys.stdout)
    renderer: Any = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str = "ttsign") -> Any:
    return structlog.get_logger(name)
