"""The X-Gnarly record list: a count byte, then `key (1) | length (2, big-endian) | value` records.

Shared by every X-Gnarly payload version (tokens.md §1.2, gnarly-532.md §1.1); what differs per version
is the key set, which keys are strings and the string encoding, so those are parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
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


def pack_counted(
    values: Mapping[int, int | str],
    order: Iterable[int],
    widths: Mapping[int, int],
    *,
    string_keys: Collection[int],
    encoding: str,
    truncate: bool,
) -> bytes:
    """Serialise records in `order` behind a count byte; integers at their width in `widths`.

    `truncate` keeps the low bytes of an integer too wide for its slot (what the 5.1.3 reference encoder
    does, tokens.md §1.2); otherwise such a value is a ValueError (5.3.2 has fixed slots, gnarly-532 §1.2).
    """
    keys = tuple(order)
    out = bytearray((len(keys),))
    for k in keys:
        v = values[k]
        if k in string_keys:
            assert isinstance(v, str)
            try:
                e = v.encode(encoding)
            except UnicodeEncodeError:
                raise ValueError(f"key {k} must be {encoding}-encodable, got {v!r}") from None
            if len(e) > 0xFFFF:
                raise ValueError(f"key {k} is too long ({len(e)} bytes)")
            out += bytes((k, len(e) >> 8, len(e) & 0xFF))
            out += e
        else:
            assert isinstance(v, int)
            w = widths[k]
            if truncate:
                v &= (1 << (8 * w)) - 1
            elif not 0 <= v < 1 << (8 * w):
                raise ValueError(f"key {k} = {v} does not fit its {w}-byte slot")
            out += bytes((k, 0, w))
            out += v.to_bytes(w, "big")
    return bytes(out)
