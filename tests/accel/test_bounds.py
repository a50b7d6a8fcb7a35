"""The compiled module takes no input it cannot bound (issue 13): every argument is checked at the boundary, and
a bad one is a ValueError (or TypeError for a wrong type) naming it, never a panic or a crash."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from ttsign.algorithms.payloads import dynosaur532

KEY = bytes(48)
DYN_OK: list[Any] = ["a=1", "UA", b"", 1, 2, 3, 3, 65, 8, "www.tiktok.com/", "-1", "0", "0", "0", KEY, None, None, None,
                     dynosaur532.VM_STATE_HASH, "5.3.2", "2.0.0.561"]  # fmt: skip
G532_OK: list[Any] = ["a=1", b"", "UA", 1, 2, 3, 4, 65, 8, KEY, None, "5.3.2", "2.0.0.561"]
G513_OK: list[Any] = ["a=1", b"", "UA", 1764000000000, 1, 2, KEY, 0, 0, 4, 65, "1.0.0.368", "5.1.3-ZTCA", None]
FULL_OK: list[Any] = ["a=1", b"", "UA", "", 1764000000, 1, 1, 2, 3, 65, 8, "www.tiktok.com/", "-1", "0", "0", "0",
                      KEY, KEY, bytes(64)]  # fmt: skip
XB_OK: list[Any] = ["a=1", b"", "UA", 1764000000, bytes(4), 1]


def _with(args: list[Any], i: int, value: Any) -> list[Any]:
    out = list(args)
    out[i] = value
    return out


BAD_INTS = [-1, 1 << 32, 1 << 200, True, 1.5, "1", None]


@pytest.mark.parametrize(
    ("fn", "args", "index", "values"),
    [
        ("dynosaur_532", DYN_OK, 3, BAD_INTS),  # timestamp
        ("dynosaur_532", DYN_OK, 7, [-1, 1 << 16, False]),  # env_code: 16 bits
        ("dynosaur_532", DYN_OK, 14, [bytes(47), bytes(49), b""]),  # key
        ("dynosaur_532", DYN_OK, 9, ["x" * 254, "日本", b"\xff"]),  # page: ASCII, at most 253
        ("dynosaur_532", DYN_OK, 15, [-1, 1 << 32]),  # query_hash override
        ("gnarly_532", G532_OK, 6, [0, 1 << 16, -5]),  # sequence: 1..65535
        ("gnarly_532", G532_OK, 10, [[0] * 16, list(range(16)), [0, 1], "abc", 5, bytes(63)]),  # record order
        ("gnarly_532", G532_OK, 9, [bytes(47), "k" * 48]),
        ("gnarly_513", G513_OK, 3, [-1, (1 << 53) + 1, 1 << 100]),  # timestamp_ms
        ("gnarly_513", G513_OK, 4, [1 << 16, -1]),  # random_low16
        ("gnarly_513", G513_OK, 13, [list(range(1, 17)), [0] * 16]),
        ("sign_full_532", FULL_OK, 5, [0, 1 << 16]),
        ("sign_full_532", FULL_OK, 18, [bytes(65), [1] * 16, list(range(16))]),  # noise or the 5.3.2 keys
        ("sign_full_532", FULL_OK, 16, [bytes(10)]),
        ("xbogus", XB_OK, 4, [bytes(3), bytes(5), "abcd"]),
        ("xbogus", XB_OK, 3, BAD_INTS),
    ],
)
def test_a_bad_argument_is_a_value_or_type_error(
    compiled: ModuleType, fn: str, args: list[Any], index: int, values: list[Any]
) -> None:
    getattr(compiled, fn)(*args)  # the good arguments are accepted
    for value in values:
        with pytest.raises((ValueError, TypeError)):
            getattr(compiled, fn)(*_with(args, index, value))


def test_inputs_larger_than_the_bound_are_refused(compiled: ModuleType) -> None:
    big = b"x" * (compiled.MAX_INPUT + 1)
    for fn, args, i in (("gnarly_532", G532_OK, 1), ("xbogus", XB_OK, 0), ("dynosaur_532", DYN_OK, 2)):
        with pytest.raises(ValueError, match="more than"):
            getattr(compiled, fn)(*_with(args, i, big))
    with pytest.raises(ValueError, match="more than"):
        compiled.hash_state(big)


def test_a_lone_surrogate_is_a_unicode_error_as_in_the_reference(compiled: ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError):
        compiled.gnarly_532(*_with(G532_OK, 0, "a\ud800"))
    with pytest.raises(UnicodeEncodeError):
        dynosaur532.hash_state("a\ud800")  # the reference raises the same
    with pytest.raises(UnicodeEncodeError):
        compiled.hash_state("a\ud800")


def test_large_inputs_within_the_bound_sign(compiled: ModuleType) -> None:
    body = bytes(range(256)) * 1024  # 256 KiB: hashed with the GIL released
    token = compiled.gnarly_532(*_with(G532_OK, 1, body))
    assert token.startswith("M")
    assert compiled.hash_state(body) == dynosaur532.hash_state(body)
