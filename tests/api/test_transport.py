"""Transport: the real `ttsign serve` process on 127.0.0.1, driven with raw sockets.

Stalled, dripping and idle connections are closed within the configured timeouts; the connection cap
holds and stalled sockets cannot exhaust the process's file descriptors; oversized and malformed heads
get JSON errors; `X-Forwarded-For` is trusted only from configured proxies; SIGTERM under keep-alive
load answers in-flight requests, resets nobody and exits within the shutdown bound.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API_URL = (
    b"https://www.tiktok.com/api/user/detail/?aid=1988&app_name=tiktok_web&device_id=7576123456789012345"
    b"&uniqueId=someone&browser_platform=Win32&os=windows"
)
HEADER_TIMEOUT = 1.0
KEEPALIVE_TIMEOUT = 0.5
MAX_CONNECTIONS = 20
MAX_HEADER_BYTES = 8192
FD_LIMIT = 160  # the shared server's open-files limit: fewer than the stalled sockets thrown at it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m ttsign.cli serve` in a subprocess with the given TTSIGN_* settings."""

    def __init__(self, tmp: Path, fd_limit: int | None = None, **env: str) -> None:
        self.port = free_port()
        self.log = tmp / f"server-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_")}
        full = {
            **clean,
            "PYTHONPATH": str(ROOT),
            "TTSIGN_LOG_LEVEL": "warning",
            "TTSIGN_LOG_JSON": "true",
            "TTSIGN_TIKTOK_WWW": "http://127.0.0.1:9",  # never called by these routes; never the real one
            "TTSIGN_TTWID_URL": "http://127.0.0.1:9/ttwid",
            "TTSIGN_WEBCAST_URL": "http://127.0.0.1:9/webcast",
            **env,
        }

        def limit_fds() -> None:
            if fd_limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ttsign.cli", "serve", "--port", str(self.port)],
                cwd=tmp,
                env=full,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_fds,
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                with self.connect(timeout=1) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
                    if read_response(s).status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ttsign serve did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> dict:
        return json.loads(self.body)


def read_response(sock: socket.socket, method: str = "GET") -> Response:
    """One HTTP/1.1 response (Content-Length framing). EOFError on a clean close before any byte."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            if buf:
                raise ConnectionAbortedError(f"connection closed inside a response head: {buf[:80]!r}")
            raise EOFError("connection closed before a response")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionAbortedError("connection closed inside a response body")
        rest += chunk
    return Response(int(lines[0].split()[1]), headers, rest[:length])


def read_until_close(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; (data, seconds). Raises TimeoutError if it never does."""
    sock.settimeout(timeout)
    start = time.monotonic()
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - start
        data += chunk


def parse(data: bytes) -> Response:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return Response(int(lines[0].split()[1]), headers, body)


def assert_json_error(resp: Response, status: int) -> None:
    assert resp.status == status, resp
    assert resp.headers.get("content-type") == "application/json", resp.headers
    assert resp.headers.get("connection") == "close"
    body = resp.json()
    assert body["code"] == status and len(body["message"]) >= 19, body


def signature_request(extra: bytes = b"") -> bytes:
    return (
        b"POST /signature HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(API_URL)
        + API_URL
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("transport"),
        fd_limit=FD_LIMIT,
        TTSIGN_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        TTSIGN_KEEPALIVE_TIMEOUT=str(KEEPALIVE_TIMEOUT),
        TTSIGN_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        TTSIGN_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        TTSIGN_SHUTDOWN_TIMEOUT="1",
        TTSIGN_RATE_LIMIT_MINUTE="3",
        TTSIGN_OPEN_RATE_LIMIT="true",  # the per-IP limit on /signature (open mode leaves signing unlimited)
    )
    yield srv
    srv.stop()


PARTIAL_HEAD = b"GET /health HTTP/1.1\r\nHost: t\r\n"


@pytest.mark.parametrize("case", ["idle", "partial head", "drip", "keep-alive idle", "keep-alive partial head"])
def test_stalled_connections_are_closed_within_the_timeouts(server: Server, case: str) -> None:
    with server.connect() as s:
        if case.startswith("keep-alive"):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(s).status == 200
        if case.endswith("partial head"):
            s.sendall(PARTIAL_HEAD)
        if case == "drip":  # one byte every 0.15 s never completes the head: the timer is not reset
            start = time.monotonic()
            for byte in PARTIAL_HEAD * 10:
                if select.select([s], [], [], 0.15)[0]:
                    break
                s.send(bytes([byte]))
            data, _ = read_until_close(s, 3)
            elapsed = time.monotonic() - start
        else:
            data, elapsed = read_until_close(s, 3)
    bound = KEEPALIVE_TIMEOUT if case == "keep-alive idle" else HEADER_TIMEOUT
    assert bound * 0.8 <= elapsed <= bound + 0.8, elapsed
    if "partial" in case or case == "drip":
        assert_json_error(parse(data), 408)
    else:
        assert data == b""  # an idle connection is just closed


def test_connection_cap_answers_503_json_without_reading(server: Server) -> None:
    socks = [server.connect() for _ in range(MAX_CONNECTIONS + 6)]
    try:
        for s in socks:
            s.sendall(PARTIAL_HEAD)
        time.sleep(0.3)
        refused = [s for s in socks if select.select([s], [], [], 0)[0]]
        held = len(socks) - len(refused)
        assert held <= MAX_CONNECTIONS  # the cap holds
        assert len(refused) >= 6
        for s in refused:
            data, _ = read_until_close(s, 2)
            resp = parse(data)
            assert_json_error(resp, 503)
            assert resp.headers["retry-after"] == "1"
    finally:
        for s in socks:
            s.close()


def test_stalled_sockets_do_not_exhaust_descriptors_or_starve_callers(server: Server) -> None:
    """More stalled sockets than the process may open files: a normal caller is still served."""
    stalled = []
    try:
        for _ in range(FD_LIMIT + 40):
            s = server.connect()
            s.sendall(PARTIAL_HEAD)
            stalled.append(s)
        start = time.monotonic()
        status = 0
        while status != 200 and time.monotonic() - start < HEADER_TIMEOUT + 2:
            try:
                with server.connect(timeout=1) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
                    status = read_response(s).status
                    assert status in (200, 503)  # 503 JSON while the cap is full: an answer, at once
            except (OSError, EOFError):  # not accepted (descriptors exhausted) or not answered
                status = 0
            if status != 200:
                time.sleep(0.1)
        assert status == 200, "a normal caller was not served while stalled sockets were open"
    finally:
        for s in stalled:
            s.close()


def test_head_size_is_capped(server: Server) -> None:
    cases = {
        431: [
            b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 100) + b"\r\n\r\n",
            b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + b"\r\n",
        ],
        414: [b"GET /health?" + b"q" * (MAX_HEADER_BYTES + 100) + b" HTTP/1.1\r\nHost: t\r\n\r\n"],
    }
    for status, requests in cases.items():
        for raw in requests:
            with server.connect() as s:
                s.sendall(raw)
                data, _ = read_until_close(s, 3)
            assert_json_error(parse(data), status)


def test_a_32_mib_header_is_refused_while_it_streams(server: Server) -> None:
    chunk = b"a" * 65536
    with server.connect() as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Huge: ")
        sent = 0
        while sent < 32 * 1024 * 1024 and not select.select([s], [], [], 0.01)[0]:  # paced: 64 KiB / 10 ms
            s.sendall(chunk)
            sent += len(chunk)
        data, _ = read_until_close(s, 3)
    assert sent < 1024 * 1024, f"the server read {sent} bytes of one header before refusing it"
    assert_json_error(parse(data), 431)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: t\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header: y\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n",
        b"GET /health HTTP/1.1\nHost: t\n\n",
        b"GET /h\xc3\xa9alth HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /health HTTP/1.1\r\n Folded: x\r\n\r\n",
        b"POST /signature HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /signature HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
        b"POST /signature HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    ],
    ids=lambda raw: raw[:24].decode("latin-1"),
)
def test_malformed_http_gets_400_json(server: Server, raw: bytes) -> None:
    with server.connect() as s:
        s.sendall(raw)
        data, _ = read_until_close(s, 3)
    resp = parse(data)
    assert_json_error(resp, 400)
    assert resp.json()["message"].startswith("malformed HTTP request")


def test_head_health(server: Server) -> None:
    with server.connect() as s:
        s.sendall(b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n")
        head = read_response(s, method="HEAD")
        assert head.status == 200 and head.body == b""
        assert int(head.headers["content-length"]) > 0  # the GET's length, no body sent
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")  # framing intact: the next answer is next
        assert read_response(s).json()["status"] == "ok"


def _statuses_with_rotating_xff(srv: Server, n: int, same: bool = False) -> list[int]:
    out = []
    with srv.connect() as s:
        for i in range(n):
            addr = "203.0.113.7" if same else f"198.51.100.{i + 1}"
            s.sendall(signature_request(b"X-Forwarded-For: %s\r\n" % addr.encode()))
            out.append(read_response(s).status)
    return out


def test_forwarded_for_is_ignored_by_default(server: Server) -> None:
    assert _statuses_with_rotating_xff(server, 5) == [200, 200, 200, 429, 429]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(tmp_path: Path) -> None:
    srv = Server(
        tmp_path, TTSIGN_TRUSTED_PROXIES="127.0.0.1,::1", TTSIGN_RATE_LIMIT_MINUTE="3", TTSIGN_OPEN_RATE_LIMIT="1"
    )
    try:
        assert _statuses_with_rotating_xff(srv, 6) == [200] * 6  # one bucket per forwarded client
        assert _statuses_with_rotating_xff(srv, 4, same=True) == [200, 200, 200, 429]
    finally:
        srv.stop()


class KeepAliveClient(threading.Thread):
    """POST /signature in a loop on one keep-alive connection; reconnects after a clean close."""

    def __init__(self, srv: Server, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.srv, self.stop = srv, stop
        self.outcomes: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                sock = self.srv.connect(timeout=5)
            except ConnectionRefusedError:
                self.outcomes["refused"] += 1
                return
            except OSError as exc:
                self.outcomes[f"connect {type(exc).__name__}"] += 1
                return
            with sock:
                while not self.stop.is_set():
                    try:
                        sock.sendall(signature_request())
                        resp = read_response(sock)
                    except EOFError:
                        self.outcomes["clean close"] += 1
                        break
                    except (ConnectionResetError, BrokenPipeError):
                        self.outcomes["reset"] += 1
                        break
                    except OSError as exc:  # a timeout (hang) or a truncated answer
                        self.outcomes[type(exc).__name__] += 1
                        break
                    self.outcomes[str(resp.status)] += 1
                    if resp.headers.get("connection") == "close":
                        self.outcomes["answered with close"] += 1
                        break


def test_sigterm_under_keepalive_load(tmp_path: Path) -> None:
    shutdown_timeout = 1.5
    srv = Server(
        tmp_path,
        TTSIGN_SHUTDOWN_TIMEOUT=str(shutdown_timeout),
        TTSIGN_HEADER_TIMEOUT="30",  # the stalled sockets below must be closed by the shutdown itself
        TTSIGN_BODY_TIMEOUT="30",
        TTSIGN_RATE_LIMIT_MINUTE="0",
        TTSIGN_RATE_LIMIT_HOUR="0",
        TTSIGN_RATE_LIMIT_DAY="0",
    )
    stop = threading.Event()
    clients = [KeepAliveClient(srv, stop) for _ in range(16)]
    try:
        request = signature_request()
        head, body = request[: -len(API_URL)], API_URL
        in_flight = srv.connect()  # its body arrives after SIGTERM: it must still be answered
        in_flight.sendall(head + body[:10])
        stalled_body = srv.connect()  # never completes: must not hold the shutdown past its bound
        stalled_body.sendall(head + body[:10])
        stalled_head = srv.connect()
        stalled_head.sendall(PARTIAL_HEAD)
        idle = srv.connect()
        kept = srv.connect()
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(kept).status == 200
        for c in clients:
            c.start()
        time.sleep(0.7)

        srv.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        time.sleep(0.3)
        in_flight.sendall(body[10:])
        answer = read_response(in_flight)
        assert answer.status == 200 and answer.headers["connection"] == "close"
        assert answer.json()["data"]["signed_url"].startswith("https://www.tiktok.com/api/")

        for sock in (stalled_head, idle, kept):  # closed at once, cleanly
            data, elapsed = read_until_close(sock, 2)
            assert elapsed < 1.0
            if sock is stalled_head:
                assert_json_error(parse(data), 503)
            else:
                assert data == b""
        data, _ = read_until_close(stalled_body, shutdown_timeout + 2)
        assert_json_error(parse(data), 503)

        srv.proc.wait(shutdown_timeout + 2)
        exited = time.monotonic() - t0
    finally:
        stop.set()
        srv.stop()
    for c in clients:
        c.join(5)
    outcomes: Counter[str] = sum((c.outcomes for c in clients), Counter())
    assert outcomes["200"] > 0
    bad = {k: v for k, v in outcomes.items() if k not in ("200", "clean close", "answered with close", "refused")}
    assert not bad, f"clients saw {bad} (all outcomes: {dict(outcomes)})"
    assert exited <= shutdown_timeout + 2
