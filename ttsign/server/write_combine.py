"""One send per small answer instead of two: a connection's writes within one loop iteration go out together.

uvicorn's httptools protocol writes an answer's status line and headers when the app sends
`http.response.start` and its body on `http.response.body`: two `transport.write` calls, so two `send`
system calls for a JSON answer of a few hundred bytes. `CombinedWrites` stands in for the connection's
transport (for the protocol and every response cycle on it, so the bytes keep their order): a write is held
and joined with the writes that follow it in the same loop iteration, then handed over in one call, from
`call_soon` or sooner. A `close`, a `write_eof`, or 64 KiB held flushes at once (so a large body meets the
real transport's flow control as before); an `abort` drops what is held. Issue 13 measured one `send` fewer
per request at 1-2% more signing requests per second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

FLUSH_AT = 64 * 1024


class CombinedWrites:
    __slots__ = ("_held", "_loop", "_size", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = bytes(data)  # the caller may reuse a bytearray; bytes stay the same object
        held = self._held
        if held is None:
            self._held, self._size = [chunk], len(chunk)
            self._loop.call_soon(self.flush)
        else:
            held.append(chunk)
            self._size += len(chunk)
        if self._size >= FLUSH_AT:
            self.flush()

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        held, self._held, self._size = self._held, None, 0
        if held and not self.transport.is_closing():
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self._held, self._size = None, 0
        self.transport.abort()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, set_protocol...: the real one's
        return getattr(self.transport, name)
