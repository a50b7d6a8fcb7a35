"""The X-Gnarly record list: a count byte, then `key (1) | length (2, big-endian) | value` records.

Shared by every X-Gnarly payload version (tokens.md §1.2, gnarly-532.md §1.1); what differs per version
is the key set, which keys are strings and the string encoding, so those are parameters.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ttsign.algorithms.errors import PayloadError


@dataclass(frozen=True)
class Records:
    values: dict[int, int | str]
    widths: dict[int, int]  # stored byte width of each integer record
    order: list[int]  # keys in the order they appear


def parse_counted(
    data: bytes,
    *,
    count: int,
    keys: Collection[int],
    string_keys: Collection[int],
    encoding: str,
    label: str,
    keys_text: str,
) -> Records:
    """Parse by key, never by position; integers are read at their stored width (2 or 4 bytes).

    Requires the count byte to equal `count`, unique keys drawn from `keys`, decodable strings and the
    payload consumed exactly. `label` ("X-Gnarly 5.3.2") and `keys_text` ("0-6 and 8-16") word errors.
    """
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise PayloadError("empty payload")
    if data[0] != count:
        raise PayloadError(f"count byte is {data[0]}, expected {count} ({label})")
    values: dict[int, int | str] = {}
    widths: dict[int, int] = {}
    order: list[int] = []
    pos = 1
    for i in range(count):
        if pos + 3 > n:
            raise PayloadError(f"payload ends inside the header of record {i + 1} of {count}")
        key = data[pos]
        length = (data[pos + 1] << 8) | data[pos + 2]
        pos += 3
        if pos + length > n:
            raise PayloadError(f"record {key} claims {length} bytes, only {n - pos} left")
        value = data[pos : pos + length]
        pos += length
        if key not in keys:
            raise PayloadError(f"unexpected key {key} ({label} keys are {keys_text})")
        if key in values:
            raise PayloadError(f"key {key} appears twice")
        if key in string_keys:
            try:
                values[key] = value.decode(encoding)
            except UnicodeDecodeError:
                kind = "ASCII" if encoding == "ascii" else "UTF-8"
                raise PayloadError(f"key {key} is not an {kind} string") from None
        else:
            if length not in (2, 4):
                raise PayloadError(f"integer key {key} is {length} bytes wide, expected 2 or 4")
            values[key] = int.from_bytes(value, "big")
            widths[key] = length
        order.append(key)
    if pos != n:
        raise PayloadError(f"{n - pos} trailing bytes after {count} records")
    return Records(values, widths, order)
