"""Local alert receivers on 127.0.0.1 for the alert tests: a JSON webhook (apprise's `json://`) and an SMTP
server (aiosmtpd; apprise's plain `mailto://`), each recording what it was sent, in its own thread so sync
tests (a `TestClient`) and async ones can use them alike."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web
from aiosmtpd.controller import Controller

from tests.fakes.background import BackgroundServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout: float = 5.0, step: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


@dataclass
class Hook:
    path: str
    payload: dict[str, Any]
    at: float


class Webhook(BackgroundServer):
    """`POST /<anything>`: records the JSON body. `mode`: `ok` (200), `fail` (500), `hang` (never answers)."""

    thread_name = "alert-webhook"

    def __init__(self, mode: str = "ok") -> None:
        super().__init__()
        self.mode = mode
        self.port = free_port()
        self.hooks: list[Hook] = []
        self.attempts = 0
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "hook", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"json://127.0.0.1:{self.port}/{path}" + (f"?{query}" if query else "")

    async def _handle(self, request: web.Request) -> web.Response:
        with self._lock:
            self.attempts += 1
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "fail":
            return web.json_response({"error": "down"}, status=500)
        payload = await request.json()
        with self._lock:
            self.hooks.append(Hook(request.path, payload, time.monotonic()))
        return web.json_response({})

    async def start_async(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def titles(self) -> list[str]:
        with self._lock:
            return [h.payload.get("title", "") for h in self.hooks]

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(h.payload) for h in self.hooks]


class _Mailbox:
    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        raw = envelope.original_content or envelope.content
        self.mails.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (plain SMTP, no TLS, no auth): `url()` is the apprise `mailto://` that reaches it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.box = _Mailbox()
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)

    def url(self, to: str = "ops@example.com", sender: str = "ttsign@example.com") -> str:
        # mailto:// (not mailtos://) is apprise's insecure mode: plain SMTP on the port given, no STARTTLS;
        # smtp= names the server, from= the sender; no user:password, so no AUTH is attempted
        return f"mailto://127.0.0.1:{self.port}?smtp=127.0.0.1&from={sender}&to={to}"

    @property
    def mails(self) -> list[email.message.EmailMessage]:
        return list(self.box.mails)

    def text(self, mail: email.message.EmailMessage) -> str:
        part = mail.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return]

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def refused_url(path: str = "dead/deadsink-token-0123456789") -> str:
    """A JSON sink on a loopback port nothing listens on (connection refused at once)."""
    return f"json://127.0.0.1:{free_port()}/{path}"
