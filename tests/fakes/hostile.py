"""A hostile upstream: an HTTP proxy in front of the offline TikTok that misbehaves on request.

:class:`HostileProxy` listens on 127.0.0.1 and forwards every request to an upstream (normally a
:class:`tests.fakes.tiktok.FakeTikTok`), except those matching a :class:`Rule`; a rule's ``action``
says what to answer instead. Rules are tried in the order added; the first whose ``pattern``
(``fnmatch`` on the path, e.g. ``"/ttwid/*"``, ``"*"`` for every path) and ``method`` match wins.

=====================  ========================================================================
``pass``               forward untouched (a way to exempt a path from a later catch-all rule)
``delay``              wait ``delay_s``, then forward
``hang``               accept the request and never answer
``drip``               status line and headers, then one byte every ``delay_s`` (forever)
``garbage``            ``size`` random bytes (containing ``marker``) as ``content_type``
``raw_garbage``        bytes that are not HTTP at all (no status line), then close
``html``               an HTML page (with ``marker``) instead of JSON or protobuf
``truncate``           forward, then cut the upstream body to ``fraction`` of its length
                       (an honest ``Content-Length``: e.g. a truncated protobuf)
``short_body``         promise ``size`` bytes in ``Content-Length``, send a few, close
``reset``              send ``after_bytes`` bytes of a response (0: nothing), then a TCP reset
``huge``               a ``size``-byte body (default 64 MiB), streamed, uncompressed
``gzip_bomb``          ``size`` zero bytes (default 256 MiB) gzipped, ``Content-Encoding: gzip``
``redirect``           ``status`` (302 by default) to ``location``
``redirect_loop``      a redirect to the request's own path and query, forever
``status``             ``status`` with ``headers`` (e.g. 429 + ``Retry-After``) and ``body``
                       (default: TikTok-shaped JSON whose ``message`` is the marker)
=====================  ========================================================================

``before_s`` > 0 waits that long before any action (a slow redirect, a slow error).
``location`` may hold ``{proxy}`` (this proxy's base URL), ``{decoy}`` (the decoy's base URL),
``{upstream}`` (the upstream's base URL) and ``{path_qs}`` (the request's path and query). The
*decoy* is a second listener on another loopback port standing for an internal service a redirect
must never reach: it answers any path with TikTok-shaped JSON whose every string is ``marker`` and
a ``Set-Cookie: ttwid=<marker>``, and records each request in :attr:`HostileProxy.decoy_hits`.

Every hostile body carries :data:`MARKER`, so a test can assert it never reaches the caller.
:attr:`HostileProxy.hits` records ``(method, path, action)`` for every request seen. Use it like the
fake: ``with HostileProxy(fake.base_url) as proxy: proxy.add("/webcast/im/fetch/*", "hang")``;
``proxy.clear()`` drops the rules and recordings. Socket upgrades are not proxied: point ws URLs at
the fake itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import random
import socket
import struct
import threading
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.background import BackgroundServer

__all__ = ["ACTIONS", "MARKER", "HostileProxy", "Rule", "gzip_zeros"]

MARKER = "HOSTILE-UPSTREAM-MARKER-7f3a"
"""Present in every body the proxy (or the decoy) makes up."""

ACTIONS = (
    "pass",
    "delay",
    "hang",
    "drip",
    "garbage",
    "raw_garbage",
    "html",
    "truncate",
    "short_body",
    "reset",
    "huge",
    "gzip_bomb",
    "redirect",
    "redirect_loop",
    "status",
)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}
CHUNK = 64 * 1024


@dataclass
class Rule:
    """One misbehaviour: ``action`` (see the module table) on paths matching ``pattern``.

    ``times`` > 0 applies the rule that many times, then it stops matching (0 = forever).
    """

    pattern: str
    action: str
    method: str = "*"
    delay_s: float = 0.2
    before_s: float = 0.0
    status: int = 0
    location: str = ""
    size: int = 0
    fraction: float = 0.5
    after_bytes: int = 0
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    marker: str = MARKER
    times: int = 0
    used: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown hostile action {self.action!r}; known: {', '.join(ACTIONS)}")

    def matches(self, method: str, path: str) -> bool:
        if self.times and self.used >= self.times:
            return False
        return fnmatch.fnmatchcase(path, self.pattern) and self.method in ("*", method)


@lru_cache(maxsize=4)
def gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes as one gzip member (256 MiB -> about 250 KiB), computed once per size."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [comp.compress(block) for _ in range(size >> 20)]
    parts.append(comp.compress(bytes(size & ((1 << 20) - 1))))
    parts.append(comp.flush())
    return b"".join(parts)


def _garbage(size: int, marker: str) -> bytes:
    rnd = random.Random(size)
    half = max(0, size - len(marker)) // 2
    return rnd.randbytes(half) + marker.encode() + rnd.randbytes(max(0, size - len(marker) - half))


def _rst(request: web.Request) -> None:
    """Close the client's connection with a TCP reset (SO_LINGER 0), not a FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class HostileProxy(BackgroundServer):
    """The proxy (and its decoy) on free ports of 127.0.0.1; sync (thread) or async, like ``FakeTikTok``."""

    thread_name = "hostile-proxy"

    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.host = host
        self.port = 0
        self.decoy_port = 0
        self.rules: list[Rule] = []
        self.hits: list[tuple[str, str, str]] = []
        self.decoy_hits: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None

    # ---- URLs ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the proxy (stands for ``https://www.tiktok.com``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def decoy_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the decoy (an internal service redirects must not reach)."""
        return f"http://{self.host}:{self.decoy_port}"

    @property
    def webcast_url(self) -> str:
        return self.base_url + "/webcast"

    @property
    def ttwid_url(self) -> str:
        return self.base_url + "/ttwid/union/register/"

    # ---- rules --------------------------------------------------------------------------------

    def add(self, pattern: str, action: str, **kw: Any) -> Rule:
        """Append a rule (keyword arguments are :class:`Rule` fields); returns it."""
        rule = Rule(pattern, action, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule and recording."""
        with self._lock:
            self.rules.clear()
            self.hits.clear()
            self.decoy_hits.clear()

    def _match(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.used += 1
                    return rule
        return None

    # ---- handlers -----------------------------------------------------------------------------

    async def _forward(self, request: web.Request) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self._session is not None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        body = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=body or None,  # b"" would add a Content-Type the client never sent
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            out = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
            return resp.status, out, body

    @staticmethod
    def _response(status: int, headers: list[tuple[str, str]], body: bytes) -> web.Response:
        resp = web.Response(status=status, body=body)
        for k, v in headers:
            resp.headers.add(k, v)
        return resp

    def _location(self, rule: Rule, request: web.Request) -> str:
        return rule.location.format(
            proxy=self.base_url, decoy=self.decoy_url, upstream=self.upstream, path_qs=request.path_qs
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rule = self._match(request.method, request.path)
        action = rule.action if rule else "pass"
        with self._lock:
            self.hits.append((request.method, request.path, action))
        if rule is None or action == "pass":
            return self._response(*await self._forward(request))
        marker = rule.marker
        if rule.before_s > 0:
            await asyncio.sleep(rule.before_s)
        if action == "delay":
            await asyncio.sleep(rule.delay_s)
            return self._response(*await self._forward(request))
        if action == "hang":
            await asyncio.Event().wait()
        if action == "drip":
            resp = web.StreamResponse(status=rule.status or 200, headers={"Content-Type": rule.content_type})
            resp.content_length = rule.size or 10**9
            await resp.prepare(request)
            with contextlib.suppress(ConnectionError):
                while True:
                    await resp.write(b"{")
                    await asyncio.sleep(rule.delay_s)
            return resp
        if action == "garbage":
            return web.Response(status=rule.status or 200, body=_garbage(rule.size or 4096, marker),
                                headers={"Content-Type": rule.content_type, **rule.headers})  # fmt: skip
        if action == "raw_garbage":
            if request.transport is not None:
                request.transport.write(b"\x16\x03\x01\x02\x00" + _garbage(rule.size or 512, marker) + b"\r\n\r\n")
                request.transport.close()
            return web.Response()
        if action == "html":
            page = f"<!DOCTYPE html><html><head><title>{marker}</title></head><body><p>{marker}</p></body></html>"
            return web.Response(status=rule.status or 200, text=page, content_type="text/html", headers=rule.headers)
        if action == "truncate":
            status, headers, body = await self._forward(request)
            return self._response(status, headers, body[: int(len(body) * rule.fraction)])
        if action == "short_body":
            resp = web.StreamResponse(status=rule.status or 200, headers={"Content-Type": rule.content_type})
            resp.content_length = rule.size or 100_000
            await resp.prepare(request)
            await resp.write(f'{{"marker": "{marker}", '.encode())
            await resp.drain()
            if request.transport is not None:
                request.transport.close()  # a clean FIN, well short of Content-Length
            return resp
        if action == "reset":
            if rule.after_bytes:
                resp = web.StreamResponse(status=200, headers={"Content-Type": rule.content_type})
                resp.content_length = rule.after_bytes * 10
                await resp.prepare(request)
                await resp.write(_garbage(rule.after_bytes, marker))
                await resp.drain()
                await asyncio.sleep(0.05)
                _rst(request)
                return resp
            _rst(request)
            return web.Response(status=500)
        if action == "huge":
            size = rule.size or 64 * 1024 * 1024
            resp = web.StreamResponse(status=rule.status or 200, headers={"Content-Type": rule.content_type})
            resp.content_length = size
            await resp.prepare(request)
            block = (marker.encode() + b" ") * (CHUNK // (len(marker) + 1))
            sent = 0
            while sent < size:
                piece = block[: size - sent]
                await resp.write(piece)
                sent += len(piece)
            await resp.write_eof()
            return resp
        if action == "gzip_bomb":
            body = gzip_zeros(rule.size or 256 * 1024 * 1024)
            resp = web.StreamResponse(status=rule.status or 200)
            resp.headers["Content-Type"] = rule.content_type
            resp.headers["Content-Encoding"] = "gzip"
            resp.content_length = len(body)
            await resp.prepare(request)
            for i in range(0, len(body), CHUNK):
                await resp.write(body[i : i + CHUNK])
            await resp.write_eof()
            return resp
        if action in ("redirect", "redirect_loop"):
            location = request.path_qs if action == "redirect_loop" else self._location(rule, request)
            body = json.dumps({"marker": marker, "location": location}).encode()
            return web.Response(status=rule.status or 302, body=body, content_type="application/json",
                                headers={"Location": location, **rule.headers})  # fmt: skip
        # "status"
        status = rule.status or 503
        text = (
            rule.body.replace("{marker}", marker)
            if rule.body
            else json.dumps(
                {"statusCode": status, "status_code": status, "message": marker, "data": {"message": marker}}
            )
        )
        return web.Response(status=status, text=text, content_type=rule.content_type, headers=rule.headers)

    async def decoy(self, request: web.Request) -> web.Response:
        """The internal service: TikTok-shaped JSON made of the marker, and a marker ttwid."""
        with self._lock:
            self.decoy_hits.append((request.method, request.path_qs))
        m = MARKER
        user = {"id": m, "uniqueId": m, "nickname": m, "roomId": "7451234567890123456", "status": 2}
        body = {"statusCode": 0, "status_code": 0, "message": m, "data": {"user": user, "liveRoom": {"title": m}}}
        resp = web.json_response(body)
        resp.headers.add("Set-Cookie", f"ttwid={m}; Path=/")
        resp.headers["x-ms-token"] = m
        return resp

    # ---- lifecycle ----------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        return sock

    async def start_async(self) -> HostileProxy:
        """Serve from the running event loop."""
        self._session = aiohttp.ClientSession(auto_decompress=True, timeout=aiohttp.ClientTimeout(total=30))
        proxy_app = web.Application()
        proxy_app.router.add_route("*", "/{tail:.*}", self.handle)
        decoy_app = web.Application()
        decoy_app.router.add_route("*", "/{tail:.*}", self.decoy)
        for app, attr in ((proxy_app, "port"), (decoy_app, "decoy_port")):
            sock = self._bind()
            setattr(self, attr, sock.getsockname()[1])
            runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
            await runner.setup()
            await web.SockSite(runner, sock, shutdown_timeout=0.2).start()
            self._runners.append(runner)
        return self

    async def stop_async(self) -> None:
        """Stop serving (closes open sockets, cancels hanging handlers)."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
