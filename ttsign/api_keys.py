"""API keys from `TTSIGN_API_KEYS` (comma-separated) and `TTSIGN_API_KEYS_FILE` (one key a line).

The keys file, one key a line, optionally followed by that key's own rate limits::

    # comments on their own line; blank lines are skipped
    key-for-the-overlay
    key-for-the-scraper   minute=600 hour=10000 day=0

`minute=N`, `hour=N` and `day=N` (whole numbers, any order, each at most once) replace the server's
`TTSIGN_RATE_LIMIT_MINUTE` / `_HOUR` / `_DAY` for that key; a window the line does not name keeps the
server's limit; `0` is no limit in that window. A key appears on one line only.

A line that is blank or whose first non-blank character is `#` is not a key, whatever its indentation. A
key is printable ASCII without whitespace (it travels in an HTTP header), so a line such as `key # note`
is refused rather than silently becoming the key `key # note`. A file that holds no key at all is an
error: a public bind must not pass the "keys configured" check with a comment-only file. Every error is
one line naming the file and the line number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_KEY = re.compile(r"[\x21-\x7e]+")
_COUNT = re.compile(r"[0-9]{1,12}")
LIMIT_FIELDS = {"minute": "rate_limit_minute", "hour": "rate_limit_hour", "day": "rate_limit_day"}
"""A keys-file field name -> the rate-limit label it sets (`ttsign.server.limits.WINDOWS`)."""


class ApiKeysError(ValueError):
    """The API keys configuration is unusable; the message is one line, fit to print at start-up."""


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys, and the rate limits of those the keys file gives their own (label -> limit,
    only the windows the line names)."""

    keys: frozenset[str] = frozenset()
    limits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


def _check(key: str, where: str) -> str:
    if _KEY.fullmatch(key):
        return key
    if any(c.isspace() for c in key):
        raise ApiKeysError(f"{where}: whitespace inside an API key (put comments on their own '#' line)")
    raise ApiKeysError(f"{where}: an API key must be printable ASCII (it is sent in the X-Api-Key header)")


def _limits(fields: list[str], where: str) -> dict[str, int]:
    """`minute=600 hour=0` -> {"rate_limit_minute": 600, "rate_limit_hour": 0}."""
    limits: dict[str, int] = {}
    for item in fields:
        if item.startswith("#"):
            raise ApiKeysError(
                f"{where}: a '#' note after a key is not a comment (a key holds no whitespace; "
                "put comments on their own '#' line)"
            )
        name, eq, value = item.partition("=")
        label = LIMIT_FIELDS.get(name)
        if not eq or label is None:
            raise ApiKeysError(
                f"{where}: {item[:40]!r} is not a limit; after the key write minute=N, hour=N or day=N "
                "(a key holds no whitespace)"
            )
        if not _COUNT.fullmatch(value):
            raise ApiKeysError(f"{where}: {name}={value[:40]!r} is not a whole number of requests (0 = no limit)")
        if label in limits:
            raise ApiKeysError(f"{where}: {name}= is given twice")
        limits[label] = int(value)
    return limits


def parse_key_lines(text: str, *, source: str) -> dict[str, dict[str, int]]:
    """Each key in a keys file's text -> its own limits (empty when its line names none)."""
    entries: dict[str, dict[str, int]] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source} line {number}"
        key, *fields = stripped.split()
        key = _check(key, where)
        if key in entries:
            raise ApiKeysError(f"{where}: this key is already on line {first_line[key]} (give a key one line)")
        entries[key], first_line[key] = _limits(fields, where), number
    return entries


def parse_keys(text: str, *, source: str) -> frozenset[str]:
    """The keys in a keys file's text; `source` names the file in error messages."""
    return frozenset(parse_key_lines(text, source=source))


def read_key_lines(path: str) -> dict[str, dict[str, int]]:
    """The keys (and their limits) in the file at `path`; ApiKeysError if it cannot be read or holds no key."""
    source = f"TTSIGN_API_KEYS_FILE={path}"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise ApiKeysError(f"{source}: the file is not valid UTF-8") from None
    except OSError as exc:
        raise ApiKeysError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    entries = parse_key_lines(text, source=source)
    if not entries:
        raise ApiKeysError(f"{source} holds no API keys (only blank lines and '#' comments)")
    return entries


def read_keys_file(path: str) -> frozenset[str]:
    """The keys in the file at `path`; ApiKeysError if it cannot be read or holds no key."""
    return frozenset(read_key_lines(path))


def env_keys(value: str) -> frozenset[str]:
    """The keys in a comma-separated `TTSIGN_API_KEYS` value (empty entries are skipped)."""
    return frozenset(_check(k.strip(), "TTSIGN_API_KEYS") for k in value.split(",") if k.strip())


def load_keys(env_value: str, file_path: str) -> ApiKeys:
    """Keys from `TTSIGN_API_KEYS` and `TTSIGN_API_KEYS_FILE` (read once), with the file's per-key limits."""
    keys = env_keys(env_value)
    if not file_path:
        return ApiKeys(keys)
    entries = read_key_lines(file_path)
    return ApiKeys(keys | frozenset(entries), {key: own for key, own in entries.items() if own})
