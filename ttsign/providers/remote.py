"""The remote provider: another sign server (a second ttsign, or Euler Stream) signs for us.

It speaks the Euler-compatible route TikTokLive uses (shared/protocol/live-connect.md §1.1b):
`POST {TTSIGN_REMOTE_URL}/webcast/sign_url` with JSON `{url, userAgent, method, payload}` and the key in
`x-api-key`; the answer is `{"code": 200, "message", "response": {"signedUrl", "userAgent", "tokens",
"requestHeaders", ...}}`. Everything the remote says is checked before it is used: HTTP 200, top-level
`code` 200, a `signedUrl` for the same host and path that carries `msToken`, a string `userAgent`. The
answer is read up to `MAX_ANSWER_BYTES` and within one deadline (`TTSIGN_REMOTE_TIMEOUT`, for the
connect, the send and the whole answer).

Failures map to `ProviderError` kinds: no answer in time is `timeout`, a connection that fails is
`error`, any other answer is `bad_answer`. Messages name the remote by host only and summarise what it
sent in a few redacted words: never its body, never the key.

The remote chooses the User-Agent it signed for (Euler picks its own); the signed request carries it,
and a warning says so when it differs from the caller's: the caller must send exactly that UA.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from ttsign import __version__
from ttsign.algorithms import signature
from ttsign.providers.base import FailureKind, ProviderError, SignJob, signed_from_url
from ttsign.signing.service import LEGACY_PAGE, SigningResult, SigningService, tt_params_for
from ttsign.signing.signer import Signer

_log = logging.getLogger("ttsign.providers")

ROUTE = "/webcast/sign_url"
MAX_ANSWER_BYTES = 256 * 1024
"""A signing answer is a few KiB; a remote that sends more is not answering a signing call."""
MAX_UA_CHARS = 1024
MAX_HEADERS = 32
SUMMARY_CHARS = 60
REMOTE_UA_WARNING = "the remote sign server signed for its own User-Agent: send the request with exactly that one"


class RemoteConfigError(ValueError):
    """TTSIGN_REMOTE_URL is missing or not an http(s) URL (a one-line message naming the setting)."""


def _base_url(url: str) -> tuple[str, str]:
    """(base URL without a trailing slash, the host shown in messages); RemoteConfigError when unusable."""
    text = url.strip()
    if not text:
        raise RemoteConfigError(
            "TTSIGN_PROVIDERS names remote but TTSIGN_REMOTE_URL is empty: set it to another sign server's "
            "base URL (http(s)://host[:port])"
        )
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 or parts.query or parts.fragment:
        shown = parts.scheme + "://..." if parts.scheme else "(not a URL)"
        raise RemoteConfigError(
            f"TTSIGN_REMOTE_URL={shown} is not usable: it must be an http(s)://host[:port][/path] URL without a query"
        )
    host = parts.hostname + (f":{port}" if port else "")
    return text.rstrip("/"), host


def _summary(text: Any) -> str:
    """A few words of what a remote said, redacted and cut short (never its whole body)."""
    from ttsign.server.logs import scrub

    shown = "".join(ch if ch.isprintable() else " " for ch in str(text)[: SUMMARY_CHARS * 2])
    shown = scrub(shown)
    return shown[:SUMMARY_CHARS] + ("..." if len(shown) > SUMMARY_CHARS else "")


class RemoteProvider:
    """Signs through another sign server's `POST /webcast/sign_url` (see the module's docstring)."""

    name = "remote"

    def __init__(
        self,
        url: str,
        key: str,
        signer: Signer,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Any = time.time,
    ) -> None:
        self.base, self.host = _base_url(url)
        self._key = key
        self.signer = signer
        self.timeout_s = timeout_s
        self._transport = transport
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self.calls = 0
        self.ok = 0
        self.failures: dict[str, int] = {}
        self.last_error: dict[str, Any] | None = None
        self.last_ok_at = 0.0
        self.last_ms = 0.0

    @classmethod
    def from_settings(cls, settings: Any, signer: Signer | SigningService) -> RemoteProvider:
        """The provider TTSIGN_REMOTE_URL / _KEY / _TIMEOUT describe; RemoteConfigError when the URL is unusable."""
        native = signer.signer if isinstance(signer, SigningService) else signer
        return cls(settings.remote_url, settings.remote_key, native, timeout_s=settings.remote_timeout_s)

    def __repr__(self) -> str:  # the key stays out of reprs (tracebacks, debuggers)
        return f"RemoteProvider(host={self.host!r}, timeout_s={self.timeout_s})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def _make_client(self) -> httpx.AsyncClient:
        headers = {"user-agent": f"ttsign/{__version__} (remote provider)", "accept": "application/json"}
        if self._key:
            headers["x-api-key"] = self._key
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s),
            headers=headers,
            transport=self._transport,
            follow_redirects=False,
            trust_env=False,  # TTSIGN_PROXY is for TikTok; the remote is reached directly
        )

    async def start(self) -> None:
        if self._client is None:
            self._client = self._make_client()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- signing -----------------------------------------------------------------------------------
    def _fail(self, kind: FailureKind, message: str) -> ProviderError:
        self.failures[kind] = self.failures.get(kind, 0) + 1
        self.last_error = {"kind": kind, "message": message, "at": round(self._clock(), 3)}
        return ProviderError(kind, message)

    def _request_body(self, job: SignJob) -> dict[str, Any]:
        url = job.url
        if job.ms_token is not None:  # an msToken given beside the URL travels in it (the route has no field)
            query = job.parsed.wire_query if job.parsed.wire_query is not None else job.parsed.query
            token = f"msToken={job.ms_token}"
            url = f"{job.parsed.base}?{query}&{token}" if query else f"{job.parsed.base}?{token}"
        body: dict[str, Any] = {"url": url, "method": job.method.upper()}
        if job.user_agent:
            body["userAgent"] = job.user_agent
        if job.body:
            body["payload"] = job.body.decode("utf-8", "replace")
        return body

    async def _post(self, job: SignJob) -> tuple[int, str, bytes]:
        """(status, content type, body up to MAX_ANSWER_BYTES + 1) within one deadline."""
        if self._client is None:
            self._client = self._make_client()
        client = self._client
        async with asyncio.timeout(self.timeout_s):
            async with client.stream("POST", self.base + ROUTE, json=self._request_body(job)) as answer:
                chunks: list[bytes] = []
                size = 0
                async for chunk in answer.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        break
                return answer.status_code, answer.headers.get("content-type", "?"), b"".join(chunks)

    async def sign(self, job: SignJob) -> SigningResult:
        self.calls += 1
        who = f"remote sign server {self.host}"
        started = time.perf_counter()
        try:
            status, content_type, raw = await self._post(job)
        except (TimeoutError, httpx.TimeoutException):
            raise self._fail("timeout", f"{who} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:  # refused, reset, DNS, TLS, a broken answer
            raise self._fail("error", f"{who} unreachable: {type(exc).__name__}") from None
        finally:
            self.last_ms = round((time.perf_counter() - started) * 1000, 2)
        result = self._result(job, status, content_type, raw, who)
        self.ok += 1
        self.last_ok_at = self._clock()
        return result

    def _result(self, job: SignJob, status: int, content_type: str, raw: bytes, who: str) -> SigningResult:
        media = _summary(content_type.split(";", 1)[0].strip() or "?")
        if status != 200:
            hint = " (check TTSIGN_REMOTE_KEY)" if status in (401, 403) else ""
            raise self._fail("bad_answer", f"{who} answered HTTP {status}{hint}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise self._fail("bad_answer", f"{who} answered more than {MAX_ANSWER_BYTES} bytes")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise self._fail("bad_answer", f"{who} answered {len(raw)} bytes of {media}, not JSON") from None
        if not isinstance(answer, dict):
            raise self._fail("bad_answer", f"{who} answered JSON that is not an object")
        code = answer.get("code")
        if code != 200:
            said = f": {_summary(answer['message'])}" if isinstance(answer.get("message"), str) else ""
            raise self._fail("bad_answer", f"{who} answered code {_summary(code)}{said}")
        response = answer.get("response")
        if not isinstance(response, dict):
            raise self._fail("bad_answer", f"{who} answered code 200 without a response object")
        signed_url = response.get("signedUrl")
        problem = self._url_problem(job, signed_url)
        if problem:
            raise self._fail("bad_answer", f"{who} answered a signedUrl that {problem}")
        user_agent = response.get("userAgent") or job.user_agent
        if not isinstance(user_agent, str) or not user_agent.strip() or len(user_agent) > MAX_UA_CHARS:
            raise self._fail("bad_answer", f"{who} answered no usable userAgent")
        headers = self._headers(response.get("requestHeaders"), user_agent)
        warnings = (REMOTE_UA_WARNING,) if job.user_agent and user_agent != job.user_agent else ()
        assert isinstance(signed_url, str)
        signed = signed_from_url(self.signer, job, signed_url, user_agent, headers, warnings=warnings)
        if not job.legacy:
            return SigningResult(signed)
        # the origin API's retired products, made here as SigningService makes them (TikTok checks neither)
        legacy = signature.legacy_signature(job.url, signed.user_agent, int(self._clock()), LEGACY_PAGE)
        return SigningResult(signed, legacy, tt_params_for(signed))

    @staticmethod
    def _url_problem(job: SignJob, signed_url: Any) -> str:
        """Why `signed_url` is not a signing of `job`'s URL ("" when it is)."""
        if not isinstance(signed_url, str) or not signed_url:
            return "is missing"
        if len(signed_url) > 4 * MAX_ANSWER_BYTES // 16:
            return "is too long"
        parts = urlsplit(signed_url)
        if parts.scheme != job.parsed.scheme or parts.netloc.lower() != job.parsed.host:
            return "is for another host"
        if parts.path != job.parsed.path:
            return "is for another path"
        if not any(p.startswith("msToken=") for p in parts.query.split("&")):
            return "carries no msToken"
        return ""

    @staticmethod
    def _headers(given: Any, user_agent: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if isinstance(given, dict):
            for name, value in list(given.items())[:MAX_HEADERS]:
                if isinstance(name, str) and isinstance(value, str) and name.lower() != "user-agent":
                    headers[name] = value
        headers["User-Agent"] = user_agent
        return headers

    def info(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "timeout_s": self.timeout_s,
            "key": bool(self._key),
            "calls": self.calls,
            "ok": self.ok,
            "failures": dict(self.failures),
            "last_ms": self.last_ms,
            "last_ok_at": round(self.last_ok_at, 3) if self.last_ok_at else None,
            "last_error": dict(self.last_error) if self.last_error else None,
        }
