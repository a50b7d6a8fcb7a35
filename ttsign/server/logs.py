"""Structured logging (structlog): JSON when stdout is not a TTY, with secrets redacted from every line.

Session cookies, msTokens, ttwids, CSRF tokens, API keys and authorization headers never reach a log line.
Every structlog event passes through `redact` before rendering (errors and tracebacks included), and
every stdlib record (uvicorn's own lines) through `RedactFilter` and then the same processors
(`make_formatter`), so uvicorn's lines are JSON lines like ours. Three rules, applied to every string,
at any depth of nested dicts and lists:

1. By name: a key, query parameter, cookie or header whose name looks secret (`is_secret_name`: msToken,
   ttwid, sessionid*, sid_*, ssid_*, uid_tt*, csrf*, *token*, *session*, passport*, odin_tt, multi_sids,
   tt-target-idc, api_key, authorization, cookie ...) has its value replaced by `***`, whether it appears
   as a dict key, `name=value` (also percent-encoded, `name%3Dvalue`), `"name": "value"`,
   `('name', 'value')` or `Name: value`.
2. `Bearer xyz` / `Basic xyz` credentials.
3. By value: the middleware registers the secrets a request carries (its API key, cookie values,
   secret-named query values and header values, and the secret JSON fields a route reads) with
   `add_secrets`; any later occurrence of one of those exact strings in a line logged while that request
   is handled is masked, wherever it appears (inside `repr(exc)`, a URL, a message).
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import structlog

MASK = "***"
MIN_SECRET_CHARS = 6  # shorter values are masked by name only (masking "1988" everywhere would garble lines)
_NOT_SECRET_KEYS = frozenset({"event", "level", "timestamp", "logger"})
_STAMPED_KEYS = frozenset({"level", "timestamp"})
# The line's structure: never masked by the request's own values, so a caller cannot blank out the fields
# that identify its request (a cookie `x=request` would otherwise turn the event into "***").
_STRUCTURE_KEYS = _NOT_SECRET_KEYS | {"request_id", "method", "route", "status", "latency_ms", "caller", "error_kind"}

_SECRET_NAME = re.compile(
    r"""(?ix)
    .*token.* | .*session.* | .*secret.* | .*passw.* | .*ticket.* | .*csrf.* | .*cookie.*
    | sid | sid[_-].* | ssid | ssid[_-].* | .*[_-]sids? | uid[_-]tt.* | passport.* | odin[_-]tt
    | ttwid | tt[_-]?target[_-]?idc | api[_-]?keys? | jwt[_-]?keys? | x[_-]api[_-]key | .*authori[sz]ation
    | credentials? | admin[_-]?keys? | x[_-]admin[_-]key
    | store[_-]country[_-]sign | x[_-]oauth[_-]token | sso[_-].*
    """
)
# `name=value` with `=` possibly percent-encoded once or twice; the value is found by _VALUE_END.
_NAME_SEP = re.compile(r"(?P<name>[A-Za-z0-9_.\-]{1,80})(?:=|%3[dD]|%253[dD])")
_VALUE_END = re.compile(r"%(?:26|3[bB]|2[cC]|20|22|27|2526|253[bB])|[&;,\s'\"\\)\]}>]")
_HEX_PREFIX = re.compile(r"^(?:25)?[0-9A-Fa-f]{2}")
# "name": "value", 'name': 'value', ('name', 'value'), b'name', b'value' (JSON, reprs of dicts and header lists)
_QUOTED = re.compile(
    r"""(?P<q>\\?["'])(?P<name>[A-Za-z0-9_.\-]{1,80})(?P=q)\s*[:,]\s*b?(?P<q2>\\?["'])(?P<val>.*?)(?<!\\)(?P=q2)"""
)
_HEADER = re.compile(
    r"(?im)\b(?P<name>x-api-key|authorization|proxy-authorization|x-oauth-token|x-cookie-header|cookie|set-cookie)"
    r"(?P<sep>\s*:\s*)(?P<val>[^\r\n'\"]+)"
)
_CREDENTIAL = re.compile(r"(?i)\b(?P<scheme>bearer|basic)(?P<sep>\s+)(?P<val>[A-Za-z0-9._~+/=\-]{4,})")

_REQUEST_SECRETS: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("ttsign_secrets", default=None)


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Does a key / parameter / cookie / header of this name hold a secret? (Cached: a line's keys repeat.)"""
    return bool(_SECRET_NAME.fullmatch(name.strip()))


def _scrub_pairs(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _NAME_SEP.finditer(text):
        if m.start() < pos:
            continue
        name = m["name"]
        if m.start() > 0 and text[m.start() - 1] == "%":  # "%3FmsToken%3D...": the name follows an escape
            name = _HEX_PREFIX.sub("", name)
        if not is_secret_name(name):
            continue
        end = _VALUE_END.search(text, m.end())
        stop = end.start() if end else len(text)
        if stop > m.end():
            out += (text[pos : m.end()], MASK)
            pos = stop
    out.append(text[pos:])
    return "".join(out)


def _mask_quoted(m: re.Match[str]) -> str:
    if not is_secret_name(m["name"]) or not m["val"]:
        return m.group(0)
    return m.group(0)[: m.start("val") - m.start()] + MASK + m.group(0)[m.end("val") - m.start() :]


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secrets inside a free-form string (URLs, cookie headers, reprs of exceptions and dicts).

    Each rule's regex runs only when the text holds the character or word it needs (`=` or `%`, a quote,
    a colon, "bearer"/"basic"): most values of a line (ids, routes, numbers as text) need none of them."""
    for value in sorted(secrets, key=len, reverse=True) if secrets else ():
        if value in text:
            text = text.replace(value, MASK)
        encoded = quote(value, safe="")
        if encoded != value and encoded in text:
            text = text.replace(encoded, MASK)
    if "=" in text or "%" in text:
        text = _scrub_pairs(text)
    if "'" in text or '"' in text:
        text = _QUOTED.sub(_mask_quoted, text)
    if ":" in text:
        text = _HEADER.sub(lambda m: m["name"] + m["sep"] + MASK, text)
    if text.isascii():  # non-ASCII text always meets the regex: under IGNORECASE "ſ" matches "s", "ı" "i"
        lowered = text.lower()
        if "bearer" not in lowered and "basic" not in lowered:
            return text
    return _CREDENTIAL.sub(lambda m: m["scheme"] + m["sep"] + MASK, text)


@lru_cache(maxsize=4096)
def _scrub_plain(text: str) -> str:
    """`scrub` with no request secrets: a pure function of a short text, so a line's repeated values (the
    route, the method, the caller) are scrubbed once."""
    return scrub(text)


def _redact_value(key: str, value: Any, secrets: set[str], depth: int = 0) -> Any:
    if key and key not in _NOT_SECRET_KEYS and is_secret_name(key) and value not in (None, "", b""):
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if key in _STAMPED_KEYS and depth == 0:
            return value  # written by the level and time processors, which overwrite what a caller passed
        return scrub(value, secrets) if secrets or len(value) > 256 else _scrub_plain(value)
    if depth >= 8:
        return "<nested too deep to log>"
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v, secrets, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value("", v, secrets, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray):
        return scrub(bytes(value).decode("utf-8", "backslashreplace"), secrets)
    return scrub(repr(value), secrets)


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """The structlog processor: every value of the event, nested or not, goes through the rules above."""
    secrets = _REQUEST_SECRETS.get() or set()
    return {
        key: _redact_value(key, value, set() if key in _STRUCTURE_KEYS else secrets) for key, value in event.items()
    }


def begin_request(secrets: Iterable[str] = ()) -> contextvars.Token[set[str] | None]:
    """Start a request's secret set (the middleware calls this; `end_request` with the token it returns)."""
    return _REQUEST_SECRETS.set({s for s in secrets if len(s) >= MIN_SECRET_CHARS})


def end_request(token: contextvars.Token[set[str] | None]) -> None:
    _REQUEST_SECRETS.reset(token)


def add_secrets(*values: str | None) -> None:
    """Mask these exact values in every line logged for the current request (e.g. a JSON body's msToken)."""
    current = _REQUEST_SECRETS.get()
    if current is not None:
        current.update(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS)


class RedactFilter(logging.Filter):
    """The same masking for stdlib records (uvicorn's error lines and tracebacks, libraries' warnings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _REQUEST_SECRETS.get() or set()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log what we have
            message = str(record.msg)
        record.msg, record.args = scrub(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, secrets)
        return True


_FILTER = RedactFilter()
STDLIB_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def install_stdlib_filter() -> None:
    """Attach `RedactFilter` to the root and uvicorn loggers and their handlers (idempotent)."""
    for name in STDLIB_LOGGERS:
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if _FILTER not in target.filters:
                target.addFilter(_FILTER)


def _level_number(level: str) -> int:
    lvl = logging.getLevelName("DEBUG" if level.lower() == "trace" else level.upper())  # trace: uvicorn's
    return lvl if isinstance(lvl, int) else logging.INFO


def _renderer(json_output: bool) -> Any:
    return structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` (or `sys.stderr`) is when a record is emitted, as structlog does."""

    def __init__(self, stderr: bool = False) -> None:
        self.to_stderr = stderr
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr if self.to_stderr else sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _Stderr:
    """`sys.stderr` as it is at each write (a test runner may swap it after configure)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def make_formatter(json_output: bool = True) -> logging.Formatter:
    """stdlib records (uvicorn's "Started server process", its errors and tracebacks, libraries' warnings)
    rendered as structlog renders ours: same keys, same timestamp, the same `redact` processor."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            _renderer(json_output),
        ],
    )


def uvicorn_log_config(level: str = "info", json_output: bool = True) -> dict[str, Any]:
    """uvicorn's `log_config`: its loggers hand their records to one root handler with our formatter and
    `RedactFilter`. uvicorn applies it in the server process and in every `--workers` child."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ttsign": {"()": f"{__name__}.make_formatter", "json_output": json_output}},
        "filters": {"redact": {"()": f"{__name__}.RedactFilter"}},
        "handlers": {"ttsign": {"()": f"{__name__}.StdoutHandler", "formatter": "ttsign", "filters": ["redact"]}},
        "loggers": {name: {"handlers": [], "propagate": True} for name in STDLIB_LOGGERS if name},
        "root": {"handlers": ["ttsign"], "level": logging.getLevelName(_level_number(level))},
    }


def configure(level: str = "info", json_output: bool | None = None, *, stderr: bool = False) -> None:
    """Configure structlog and stdlib logging for this process (`ttsign serve` calls it; idempotent).

    structlog lines go straight to stdout (the request log's fast path); stdlib records go through one
    root `StdoutHandler` with the same processors, so every line of the process has one format. The other
    commands log to stderr (`stderr=True`), keeping their stdout for their answer.
    """
    if json_output is None:
        json_output = not (sys.stderr if stderr else sys.stdout).isatty()
    lvl = _level_number(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StdoutHandler)]:
        root.removeHandler(old)
    handler = StdoutHandler(stderr)
    handler.setFormatter(make_formatter(json_output))
    handler.addFilter(_FILTER)
    root.addHandler(handler)
    root.setLevel(lvl)
    install_stdlib_filter()
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
        _renderer(json_output),
    ]
    global _JSON_OUTPUT
    _JSON_OUTPUT = JsonOutput(processors, lvl, stderr) if json_output else None
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(_Stderr() if stderr else None),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


class JsonOutput:
    """What `configure` set up when it chose JSON lines: its processor list (identity tells whether it is still
    structlog's), the level, the stream. `ttsign.server.fast_log` writes the same lines when it holds."""

    __slots__ = ("level", "processors", "renderer", "size", "stderr")

    def __init__(self, processors: list[Any], level: int, stderr: bool) -> None:
        self.processors, self.level, self.stderr = processors, level, stderr
        self.renderer, self.size = processors[-1], len(processors)

    def current(self) -> bool:
        """structlog still runs this chain: the same list, unchanged (`capture_logs` empties it in place)."""
        chain = structlog.get_config()["processors"]
        return chain is self.processors and len(chain) == self.size and chain[-1] is self.renderer


_JSON_OUTPUT: JsonOutput | None = None


def json_output() -> JsonOutput | None:
    return _JSON_OUTPUT


def get_logger(name: str = "ttsign") -> Any:
    return structlog.get_logger(name)
