"""Serving ttsign over HTTP/1.1: uvicorn, with the transport limits a public server needs.

uvicorn's httptools protocol parses requests; `TransportProtocol` adds what uvicorn leaves out:

- a **header timeout** (`TTSIGN_HEADER_TIMEOUT`): from the connection's opening, or from the end of the
  previous response on a keep-alive connection, until the request head is complete. A partial head then
  gets a 408; a connection that sent nothing is closed. Trickling bytes does not reset it.
- a **keep-alive idle timeout** (`TTSIGN_KEEPALIVE_TIMEOUT`, uvicorn's `timeout_keep_alive`).
- a **connection cap** (`TTSIGN_MAX_CONNECTIONS`, per worker): a connection beyond it gets a 503 at once,
  before anything it sent is read, and is closed.
- a **head size cap** (`TTSIGN_MAX_HEADER_BYTES`): 431 (414 for the request target alone), detected
  while the head streams in, so a huge header is never buffered whole.
- JSON (`{"code": N, "message": ...}`) for every answer the transport gives itself (400 for malformed
  HTTP, 408, 414, 431, 503), where uvicorn answers plain text.
- a **shutdown that does not wait on idle or stalled sockets**: in-flight requests finish (their answer
  carries `Connection: close`) for up to `TTSIGN_SHUTDOWN_TIMEOUT`, then get a 503; idle and stalled
  connections are closed at once.

Every close the transport initiates is a *lingering close*: answer (if any), FIN, then read and discard
for up to `LINGER_S` until the client closes too. Closing a socket with unread input makes the kernel
send a TCP reset, which can destroy the answer in flight or hit a keep-alive client that sent its next
request just as we closed; draining first turns both into a clean end of stream.

`X-Forwarded-For` / `X-Forwarded-Proto` are honoured only from `TTSIGN_TRUSTED_PROXIES`.

The process-wide set-up is here, not in `create_app`: `serving_app` (the factory uvicorn loads, in every
worker) configures logging and tunes the GC once the app has started; uvicorn's own loggers use our
formatter (`logs.uvicorn_log_config`); `serve` logs one `starting` line summing up the configuration.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import os
import resource
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ttsign import __version__
from ttsign.config import Settings, get_settings
from ttsign.server import logs
from ttsign.server.errors import error_body
from ttsign.server.write_combine import CombinedWrites

APP = "ttsign.server.runner:serving_app"
LINGER_S = 1.0  # how long a closing connection is drained, waiting for the client's FIN
FD_MARGIN = 64  # descriptors beyond the connection cap: listener, upstream pool, logs, files

log = logging.getLogger("uvicorn.error")


@dataclass(frozen=True)
class TransportLimits:
    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 5.0
    shutdown_timeout_s: float = 10.0
    max_connections: int = 512
    max_header_bytes: int = 16384
    linger_s: float = LINGER_S

    @classmethod
    def from_settings(cls, s: Settings) -> TransportLimits:
        return cls(
            header_timeout_s=s.header_timeout_s,
            keepalive_timeout_s=s.keepalive_timeout_s,
            shutdown_timeout_s=s.shutdown_timeout_s,
            max_connections=s.max_connections,
            max_header_bytes=s.max_header_bytes,
        )

    @property
    def max_refused_lingering(self) -> int:
        """Refused connections drained at once; beyond this they are closed without draining."""
        return max(8, self.max_connections // 8)

    def descriptors_needed(self) -> int:
        return self.max_connections + self.max_refused_lingering + FD_MARGIN


class TransportConfig(uvicorn.Config):
    """uvicorn's Config carrying our limits to every protocol instance (picklable for --workers)."""

    def __init__(self, *args: Any, limits: TransportLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits


class _Shared:
    """State every connection of one server sees."""

    def __init__(self) -> None:
        self.shutting_down = False
        self.refused_lingering: set[TransportProtocol] = set()
        self.refused = 0
        self.warned_at = 0.0


def _shared(server_state: ServerState) -> _Shared:
    shared = getattr(server_state, "ttsign_transport", None)
    if shared is None:
        shared = _Shared()
        server_state.ttsign_transport = shared  # type: ignore[attr-defined]
    return shared


def error_bytes(
    status: int, message: str, default_headers: Sequence[tuple[bytes, bytes]] = (), extra: Sequence[bytes] = ()
) -> bytes:
    """A complete `Connection: close` response with our JSON error body, for the transport to write."""
    body = error_body(status, message)
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [b"content-type: application/json", b"content-length: %d" % len(body), b"connection: close", *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _malformed(exc: httptools.HttpParserError) -> str:
    if isinstance(exc, httptools.HttpParserCallbackError):  # uvicorn could not decode the target or a header
        return "malformed HTTP request: the request target or a header cannot be decoded"
    return f"malformed HTTP request: {str(exc)[:120]}"  # llhttp's fixed reason, never the input


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the status is on the protocol."""


class TransportProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: TransportLimits = getattr(config, "limits", None) or TransportLimits()
        self.shared = _shared(server_state)
        self._head_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._lingering = False
        self._awaiting_head = True  # between requests, or before the first: the next bytes are a head
        self._head_started = False  # some of the current head has arrived
        self._head_seen = 0  # bytes fed while the current head was incomplete (streaming bound)
        self._url_size = 0
        self._head_size = 0  # request target + header lines of the current head (exact)
        self._heads = 0  # heads completed on this connection
        self._refusal: tuple[int, str] | None = None

    # Connection lifecycle

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            self._refuse_over_cap()
            return
        super().connection_made(CombinedWrites(transport, self.loop))  # type: ignore[arg-type]  # one send per answer
        if self.shared.shutting_down:  # accepted from the backlog during shutdown
            self._linger_close()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._cancel_timers(linger=True)
        self.shared.refused_lingering.discard(self)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # draining before close: discard
        self._unset_keepalive_if_required()
        counting, heads = self._awaiting_head, self._heads
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            status, message = self._refusal or (400, _malformed(exc))
            self._answer_and_close(status, message)
            return
        if counting and self._awaiting_head and heads == self._heads:
            # All of `data` belongs to a head that is still incomplete.
            self._head_seen += len(data)
            if self._head_seen > self.limits.max_header_bytes:
                self._answer_and_close(431, self._too_large())

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None and not self.transport.is_closing():
            # idle again (uvicorn armed the keep-alive timer): the next head must arrive in time
            self._arm_head_timer()

    def timeout_keep_alive_handler(self) -> None:
        if not self.transport.is_closing():
            self._linger_close()

    def shutdown(self) -> None:
        """Called by the server on SIGTERM for every open connection."""
        self.shared.shutting_down = True
        if self._lingering or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            if self._head_started:
                self._answer_and_close(503, "server is shutting down; send the request again", [b"retry-after: 1"])
            else:
                self._linger_close()
            return
        cycle.keep_alive = False  # the answer carries Connection: close
        self._deadline_timer = self.loop.call_later(self.limits.shutdown_timeout_s, self._shutdown_deadline)

    # Parser callbacks (uvicorn's, plus accounting)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._url_size = self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._url_size += len(url)
        if self._url_size > self.limits.max_header_bytes:
            self._refuse(414, f"request target is longer than {self.limits.max_header_bytes} bytes")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._url_size + self._head_size > self.limits.max_header_bytes:
            self._refuse(431, self._too_large())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = self._head_started = False
        self._heads += 1
        self._cancel_head_timer()
        super().on_headers_complete()
        if self.shared.shutting_down and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True
        self._head_seen = 0

    # Our answers and closes

    def _too_large(self) -> str:
        return f"request head is larger than {self.limits.max_header_bytes} bytes (TTSIGN_MAX_HEADER_BYTES)"

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _Refused(message)

    def _answer_and_close(self, status: int, message: str, extra: Sequence[bytes] = ()) -> None:
        """Answer with a JSON error (unless a response is already under way) and close cleanly."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            self._detach(cycle)
            if cycle.response_started:  # half a response is out: nothing valid can follow it
                self.transport.close()
                return
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, message, self.server_state.default_headers, extra))
        self._linger_close()

    @staticmethod
    def _detach(cycle: Any) -> None:
        """The app's request is over: its receive() sees a disconnect, its sends go nowhere."""
        cycle.disconnected = True
        cycle.waiting_for_100_continue = False
        cycle.message_event.set()

    def _linger_close(self) -> None:
        if self._lingering:
            return
        self._lingering = True
        self._cancel_timers()
        if self.transport.is_closing():
            return
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        if self.flow is not None:
            self.flow.resume_reading()
        self.transport.write_eof()  # FIN once what we wrote is sent
        self._linger_timer = self.loop.call_later(self.limits.linger_s, self.transport.close)

    def _refuse_over_cap(self) -> None:
        shared = self.shared
        shared.refused += 1
        now = time.monotonic()
        if now - shared.warned_at > 10:
            shared.warned_at = now
            log.warning(
                "connection cap reached (TTSIGN_MAX_CONNECTIONS=%d): %d connection(s) refused with 503",
                self.limits.max_connections,
                shared.refused,
            )
        message = f"server is at its connection limit ({self.limits.max_connections}); retry shortly"
        self.transport.write(error_bytes(503, message, self.server_state.default_headers, [b"retry-after: 1"]))
        if len(shared.refused_lingering) >= self.limits.max_refused_lingering:
            self._lingering = True
            self.transport.close()
            return
        shared.refused_lingering.add(self)
        self._linger_close()

    # Timers

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_timers(self, *, linger: bool = False) -> None:
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        if linger and self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._lingering or self.transport.is_closing() or not self._awaiting_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; the head timer restarts after it
        if self._head_started:
            t = self.limits.header_timeout_s
            self._answer_and_close(408, f"request head not complete within {t:g} s (TTSIGN_HEADER_TIMEOUT)")
        else:
            self._linger_close()

    def _shutdown_deadline(self) -> None:
        self._deadline_timer = None
        cycle = self.cycle
        if cycle is None or cycle.response_complete or self.transport.is_closing() or self._lingering:
            return
        self._answer_and_close(503, "server shut down before this request completed; send it again")


class TransportServer(uvicorn.Server):
    """uvicorn's Server; on shutdown, connections still in the listen backlog are accepted and closed
    cleanly (FIN) instead of being reset when the listening socket closes."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        _shared(self.server_state).shutting_down = True
        loop = asyncio.get_running_loop()

        def factory() -> asyncio.Protocol:
            return self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state
            )

        for server in getattr(self, "servers", []):
            for listener in server.sockets:
                with socket.fromfd(listener.fileno(), listener.family, listener.type) as dup:
                    dup.setblocking(False)
                    while True:
                        try:
                            conn, _addr = dup.accept()
                        except OSError:  # BlockingIOError: backlog empty
                            break
                        conn.setblocking(False)
                        await loop.connect_accepted_socket(factory, conn)
        await super().shutdown(sockets)


def parse_trusted_proxies(value: str) -> list[str]:
    """`TTSIGN_TRUSTED_PROXIES`: comma-separated IPs and CIDR networks (or `*`). Raises ValueError."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"TTSIGN_TRUSTED_PROXIES={value!r}: {item!r} is not an IP address or CIDR network "
                "(e.g. 127.0.0.1,10.0.0.0/8)"
            ) from None
    return items


def ensure_descriptors(limits: TransportLimits) -> None:
    """Raise the soft open-files limit if the connection cap needs it; ValueError if the hard limit is too low."""
    need = limits.descriptors_needed()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise ValueError(
            f"TTSIGN_MAX_CONNECTIONS={limits.max_connections} needs about {need} open files but the limit is "
            f"{hard} (ulimit -n); lower TTSIGN_MAX_CONNECTIONS to {max(1, hard - need + limits.max_connections)} "
            "or less, or raise the limit"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def tune_gc() -> None:
    """Everything allocated at start-up lives for the whole process: move it out of the GC's generations,
    and collect the young generation less often. Both cut tail latency under load."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def serving_app() -> Any:
    """The app as `ttsign serve` runs it (uvicorn's factory, called in every worker): logging configured
    for the process, `create_app`'s app, and the GC tuned once its start-up is done."""
    from ttsign.server.app import create_app

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_json)
    app = create_app(settings)
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with started(a) as state:
            tune_gc()
            yield state

    app.router.lifespan_context = lifespan
    return app


def limits_off(settings: Settings) -> bool:
    """No rate limit and no failed-auth throttle anywhere (the server's, or a key's own in the keys file)."""
    from ttsign.api_keys import load_keys

    if settings.rate_limit_minute or settings.rate_limit_hour or settings.rate_limit_day:
        return False
    keys = load_keys(settings.api_keys, settings.api_keys_file)
    if keys.keys and settings.auth_failures_per_minute:
        return False
    return not any(any(v > 0 for v in own.values()) for own in keys.limits.values())


def check_workers(settings: Settings, workers: int) -> str | None:
    """`--workers N` over the memory store: each worker would keep its own limits (a limit of 50 letting 50 x N
    through), so that is refused (a ValueError, one line) unless every limit is off; then the warning to log
    (the identity pool is per worker too). None when there is nothing to say."""
    if workers <= 1 or settings.store != "memory":
        return None
    if not limits_off(settings):
        raise ValueError(
            f"--workers {workers} with TTSIGN_STORE=memory would give each worker its own rate limits and "
            f"failed-auth counts ({workers} x each limit); set TTSIGN_STORE=redis://host:6379/0 to share them, "
            "or turn every limit off (TTSIGN_RATE_LIMIT_MINUTE/_HOUR/_DAY=0, TTSIGN_AUTH_FAILURES_PER_MINUTE=0)"
        )
    return (
        f"{workers} workers over TTSIGN_STORE=memory: limits are off, and the rest of the state "
        "(the identity pool, its connect pacing, caches) is per worker"
    )


def startup_summary(settings: Settings, *, host: str, port: int, workers: int) -> dict[str, Any]:
    """What the `starting` line says: enough to tell from the log how this server was configured."""
    keys = settings.api_key_set()
    return {
        "version": __version__,
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "auth": f"keys: {len(keys)}" if keys else "open",
        "store": _shown_store(settings.store),
        "connect_strategy": settings.connect_strategy,
        "ws_signer": settings.ws_signer,
        "providers": list(_provider_names(settings.providers)),
        "gnarly_version": settings.gnarly_version,
        "accel": _accel_path(settings.accel),
        "browser_preset": settings.browser_preset,
        "proxy": "set" if settings.proxy else "none",
        "limits": {
            "rate_limit_minute": settings.rate_limit_minute,
            "rate_limit_hour": settings.rate_limit_hour,
            "rate_limit_day": settings.rate_limit_day,
            "open_rate_limit": getattr(settings, "open_rate_limit", False),
            "connects_per_hour": settings.connects_per_hour,
            "max_connections": settings.max_connections,
            "max_header_bytes": settings.max_header_bytes,
            "max_url_bytes": settings.max_url_bytes,
            "max_body_bytes": settings.max_body_bytes,
            "auth_failures_per_minute": settings.auth_failures_per_minute,
        },
        "timeouts_s": {
            "upstream": settings.upstream_timeout_s,
            "header": settings.header_timeout_s,
            "body": settings.body_timeout_s,
            "keepalive": settings.keepalive_timeout_s,
            "shutdown": settings.shutdown_timeout_s,
        },
    }


def _accel_path(mode: str) -> str:
    from ttsign.signing.accel import describe

    return describe(mode)


def _provider_names(text: str) -> tuple[str, ...]:
    from ttsign.providers.factory import parse_providers

    try:
        return parse_providers(text)
    except ValueError:
        return (text,)  # start-up refuses it in one line; the summary shows it as given


def _shown_store(url: str) -> str:
    """The store URL without its password (a `redis://user:password@host` URL stays off the log)."""
    if "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('?', 1)[0].rpartition('@')[2]}"  # a query can hold ?password=


def _json_output(settings: Settings) -> bool:
    return settings.log_json if settings.log_json is not None else not sys.stdout.isatty()


def build_config(settings: Settings, *, host: str, port: int, workers: int, app: str = APP) -> TransportConfig:
    limits = TransportLimits.from_settings(settings)
    trusted = parse_trusted_proxies(settings.trusted_proxies)
    return TransportConfig(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=TransportProtocol,
        limits=limits,
        log_level=settings.log_level,
        log_config=logs.uvicorn_log_config(settings.log_level, _json_output(settings)),
        access_log=False,  # one structured line per request comes from our middleware
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or [],
        timeout_keep_alive=limits.keepalive_timeout_s,  # type: ignore[arg-type]  # a float works
        # In-flight requests get shutdown_timeout_s (then a 503 from the protocol); closing sockets
        # drain for up to linger_s after that. Anything still running is cancelled then.
        timeout_graceful_shutdown=limits.shutdown_timeout_s + limits.linger_s,  # type: ignore[arg-type]
    )


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run the server until SIGTERM/SIGINT (the caller has checked host and keys)."""
    logs.configure(settings.log_level, _json_output(settings))
    config = build_config(settings, host=host, port=port, workers=workers)
    logs.get_logger("ttsign.serve").info("starting", **startup_summary(settings, host=host, port=port, workers=workers))
    per_worker = check_workers(settings, workers)  # `ttsign serve` refused the unsafe case already
    if per_worker:
        logs.get_logger("ttsign.serve").warning("per_worker_state", detail=per_worker)
    if config.workers > 1:
        os.environ["TTSIGN_WORKERS"] = str(config.workers)  # each worker's fallback share of a Redis store's limits
        # uvicorn's supervisor runs a plain uvicorn.Server in each worker: every limit above lives in
        # the protocol, so it applies there too; only the backlog hand-off at shutdown is single-worker.
        from uvicorn.supervisors import Multiprocess

        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return
    server = TransportServer(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
