"""API keys from `TTSIGN_API_KEYS` (comma-separated) and `TTSIGN_API_KEYS_FILE` (one key a line).

In the file, a line that is blank or whose first non-blank character is `#` is not a key, whatever its
indentation. A key is printable ASCII without whitespace (it travels in an HTTP header), so a line such as
`key # note` is refused rather than silently becoming the key `key # note`. A file that holds no key at
all is an error: a public bind must not pass the "keys configured" check with a comment-only file.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"[\x21-\x7e]+")


class ApiKeysError(ValueError):
    """The API keys configuration is unusable; the message is one line, fit to print at start-up."""


def _check(key: str, where: str) -> str:
    if _KEY.fullmatch(key):
        return key
    if any(c.isspace() for c in key):
        raise ApiKeysError(f"{where}: whitespace inside an API key (put comments on their own '#' line)")
    raise ApiKeysError(f"{where}: an API key must be printable ASCII (it is sent in the X-Api-Key header)")


def parse_keys(text: str, *, source: str) -> frozenset[str]:
    """The keys in a keys file's text; `source` names the file in error messages."""
    keys = set()
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keys.add(_check(stripped, f"{source} line {number}"))
    return frozenset(keys)


def read_keys_file(path: str) -> frozenset[str]:
    """The keys in the file at `path`; ApiKeysError if it cannot be read or holds no key."""
    source = f"TTSIGN_API_KEYS_FILE={path}"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise ApiKeysError(f"{source}: the file is not valid UTF-8") from None
    except OSError as exc:
        raise ApiKeysError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    keys = parse_keys(text, source=source)
    if not keys:
        raise ApiKeysError(f"{source} holds no API keys (only blank lines and '#' comments)")
    return keys


def env_keys(value: str) -> frozenset[str]:
    """The keys in a comma-separated `TTSIGN_API_KEYS` value (empty entries are skipped)."""
    return frozenset(_check(k.strip(), "TTSIGN_API_KEYS") for k in value.split(",") if k.strip())
