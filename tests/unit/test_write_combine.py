"""`ttsign.server.write_combine.CombinedWrites` (issue 13): a connection's writes within one loop iteration
reach the real transport in one call, in order; close, write_eof and 64 KiB flush at once; abort drops."""

from __future__ import annotations

import asyncio
from typing import Any

from ttsign.server.write_combine import FLUSH_AT, CombinedWrites


class Transport:
    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append("eof")

    def abort(self) -> None:
        self.calls.append("abort")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_a_head_and_its_body_go_out_in_one_write_at_the_end_of_the_iteration() -> None:
    real = Transport()
    wrapped = CombinedWrites(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    wrapped.write(bytearray(b"{}"))
    assert real.calls == [] and wrapped.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert real.calls == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    wrapped.write(b"next")  # a later iteration: its own call
    await asyncio.sleep(0)
    assert real.calls[-1] == b"next" and len(real.calls) == 2


async def test_close_and_eof_flush_first_and_abort_drops() -> None:
    loop = asyncio.get_running_loop()
    real = Transport()
    wrapped = CombinedWrites(real, loop)  # type: ignore[arg-type]
    wrapped.write(b"a")
    wrapped.write_eof()
    wrapped.write(b"b")
    wrapped.close()
    await asyncio.sleep(0)
    assert real.calls == [b"a", "eof", b"b", "close"]
    other = Transport()
    dropped = CombinedWrites(other, loop)  # type: ignore[arg-type]
    dropped.write(b"never sent")
    dropped.abort()
    await asyncio.sleep(0)
    assert other.calls == ["abort"]
    assert dropped.get_extra_info("peername") == "info:peername"  # everything else is the real transport's


async def test_a_large_body_is_not_held_back_from_flow_control() -> None:
    real = Transport()
    wrapped = CombinedWrites(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    wrapped.write(b"h" * 100)
    wrapped.write(b"x" * FLUSH_AT)
    assert len(real.calls) == 1 and len(real.calls[0]) == FLUSH_AT + 100  # at once, not at the iteration's end
    await asyncio.sleep(0)
    assert len(real.calls) == 1
