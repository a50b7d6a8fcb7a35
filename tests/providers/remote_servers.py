"""Servers the remote provider's tests sign against, each on 127.0.0.1 in its own thread (`BackgroundServer`):

* `TtsignServer`: a second, real ttsign (the app `create_app` builds, served by uvicorn with its lifespan);
* `Misbehaving`: a double of a sign server that answers in one of `MODES` (`real`: really signed, by our
  own signer; slow, HTTP 500, garbage, a wrong-shaped or foreign answer, an endless trickle ...), switchable
  while it runs, and records the API keys and bodies it was sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.background import BackgroundServer
from ttsign.config import Settings

SECRET_IN_BODY = "remote-body-secret-0123456789abcdef"
"""What the `echo_secret` double puts in its answer: a message about it must never repeat it."""
OWN_UA = "Mozilla/5.0 (X11; Linux x86_64) RemoteDouble/1.0"
"""The UA the double signs for when the caller sent none (or always, in mode `own_ua`)."""
MODES = (
    "real",
    "ok",
    "own_ua",
    "slow",
    "trickle",
    "http500",
    "garbage",
    "not_object",
    "code403",
    "no_response",
    "foreign_host",
    "no_mstoken",
    "huge",
    "echo_secret",
)


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it each answer's second write waits ~40 ms for a delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class UvicornServer(BackgroundServer):
    """An ASGI app served by uvicorn on a free port of 127.0.0.1 (lifespan on)."""

    def __init__(self) -> None:
        super().__init__()
        self._sock = _listening_socket()
        self.port = int(self._sock.getsockname()[1])
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Any:
        raise NotImplementedError

    async def start_async(self) -> Self:
        config = uvicorn.Config(self.app(), log_level="critical", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        for _ in range(500):
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if not self._server.started:
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    async def stop_async(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
        self._sock.close()


class TtsignServer(UvicornServer):
    """A real ttsign (the remote sign server the provider is tested against)."""

    thread_name = "remote-ttsign"

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        base: dict[str, Any] = {"log_json": True, "log_level": "warning"}
        base.update(settings)
        self.settings = Settings(**base)

    def app(self) -> Any:
        from ttsign.server.app import create_app

        return create_app(self.settings)


def _signed_answer(url: str, ua: str, *, host_of: str | None = None, ms_token: bool = True) -> dict[str, Any]:
    signed = url + ("&" if "?" in url else "?") + ("msToken=&" if ms_token else "") + "X-Bogus=DFSzswVOxyz"
    if host_of is not None:
        signed = signed.replace("www.tiktok.com", host_of, 1)
    return {"code": 200, "message": "ok", "response": {"signedUrl": signed, "userAgent": ua, "requestHeaders": {}}}


class Misbehaving(UvicornServer):
    """A sign-server double: `mode` (one of MODES) says how it answers `POST /webcast/sign_url`."""

    thread_name = "remote-double"

    def __init__(self, mode: str = "ok", *, delay_s: float = 5.0, signer: Any = None) -> None:
        super().__init__()
        self.mode = mode
        self.delay_s = delay_s
        self.keys_seen: list[str | None] = []
        self.bodies: list[dict[str, Any]] = []
        from ttsign.signing.signer import Signer

        self.signer = signer or Signer()
        """What mode `real` signs with (swap it to change how this remote signs)."""

    def app(self) -> Any:
        async def sign_url(request: Request) -> Response:
            self.keys_seen.append(request.headers.get("x-api-key"))
            body = json.loads(await request.body())
            self.bodies.append(body)
            ua = OWN_UA if self.mode == "own_ua" else body.get("userAgent") or OWN_UA
            mode = self.mode
            if mode == "real":  # a working sign server: tokens from our own signer, in the route's answer shape
                from ttsign.server.models import sign_url_answer

                payload = str(body.get("payload") or "").encode()
                signed = self.signer.sign(body["url"], body.get("method") or "GET", payload, body.get("userAgent"))
                return Response(json.dumps(sign_url_answer(signed)), media_type="application/json")
            if mode == "slow":
                await asyncio.sleep(self.delay_s)
            if mode == "trickle":  # headers at once, then a byte now and then: only a whole-call deadline ends it

                async def drip() -> Any:
                    yield b'{"code": 200, '
                    for _ in range(100):
                        await asyncio.sleep(0.1)
                        yield b" "

                return StreamingResponse(drip(), media_type="application/json")
            if mode == "http500":
                return Response(f"<html>Internal error {SECRET_IN_BODY}</html>", 500, media_type="text/html")
            if mode == "garbage":
                return Response(b"\x00\xffnot json at all " + SECRET_IN_BODY.encode(), 200, media_type="text/plain")
            if mode == "not_object":
                return Response(json.dumps([1, 2, 3]), media_type="application/json")
            if mode == "code403":
                return Response(json.dumps({"code": 403, "message": "premium endpoint"}), media_type="application/json")
            if mode == "echo_secret":
                answer = {"code": 500, "message": f"failed for sessionid={SECRET_IN_BODY} " + "x" * 500}
                return Response(json.dumps(answer), media_type="application/json")
            if mode == "no_response":
                return Response(json.dumps({"code": 200, "message": "signed"}), media_type="application/json")
            if mode == "foreign_host":
                return Response(json.dumps(_signed_answer(body["url"], ua, host_of="evil.example")))
            if mode == "no_mstoken":
                return Response(json.dumps(_signed_answer(body["url"], ua, ms_token=False)))
            if mode == "huge":  # an endless answer: only a size cap stops reading it before the deadline

                async def flood() -> Any:
                    yield b'{"code": 200, "padding": "'
                    while True:
                        yield b"x" * 65536
                        await asyncio.sleep(0)

                return StreamingResponse(flood(), media_type="application/json")
            return Response(json.dumps(_signed_answer(body["url"], ua)), media_type="application/json")

        return Starlette(routes=[Route("/webcast/sign_url", sign_url, methods=["POST"])])


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the connection is refused)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
