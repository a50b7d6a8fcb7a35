"""Alerts: every event on the bus goes to the sinks `TTSIGN_ALERT_URLS` names, through apprise.

`TTSIGN_ALERT_URLS` holds apprise URLs (Slack, Discord, Telegram, e-mail, JSON webhooks and the many more
apprise knows), comma-separated. `install(services)` builds `services.alerts` (an `Alerter`), subscribes it
to `services.events` and returns it as the companion the lifespan starts and closes; it also attaches the
provider chain's breakers to the bus (`breaker_events.attach`), so a breaker opening, every provider failing
and their recoveries are events like the monitor's.

What the alerter does with an event:

* **De-duplication.** One alert per `Event.key` while its condition lasts: a repeat with the same
  `fingerprint` is counted, not sent; a new fingerprint (e.g. another SDK hash) is a new alert. A
  `recovery` with the key ends the condition and sends one recovery notice naming how long it lasted (a
  recovery for a key never alerted on is ignored).
* **Rate limit.** At most `TTSIGN_ALERTS_PER_HOUR` messages in any hour (a sliding window). An alert over
  the budget is held back and counted; as soon as the window has room again one summary message says how
  many were suppressed and names them. Nothing is lost silently (at shutdown a pending summary is sent
  whatever the budget).
* **Redaction.** The event's title and evidence go through the server's log redaction
  (`ttsign.server.logs.redact`: secret-named keys and parameters, cookies, `Bearer` credentials, the
  request's own secrets when the event is emitted inside a request), then the finished text through
  `scrub` with this server's API keys, admin keys, remote key and token secret and the alert URLs' own
  secrets, and URL userinfo (`scheme://user:password@`) is masked.
* **Delivery** never blocks the bus, the event loop or a request: `handle` only decides and enqueues. Each
  sink has its own bounded queue and worker task calling apprise's `async_notify` under a timeout, retried
  a bounded number of times with backoff; a dead or slow sink delays only its own queue. A failure is
  logged with the sink's `scheme://host` only (apprise's and urllib3's own log records have the URLs'
  secrets masked), and counted in `describe()`.

`describe()` is what the status page shows: sinks as `scheme://host` (apprise's privacy form, so a token
that apprise keeps in the host part, as Telegram's bot token, is shown as `1...w`), and the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import structlog

from ttsign.monitor import alert_format as fmt
from ttsign.monitor import breaker_events
from ttsign.monitor.model import Event
from ttsign.server.logs import MASK, MIN_SECRET_CHARS, redact, scrub

log = structlog.get_logger("ttsign.alerts")

SETTING = "TTSIGN_ALERT_URLS"
WINDOW_S = 3600.0
TIMEOUT_S = 10.0
"""One delivery attempt to one sink, at most (apprise's own call limit, plus a backstop)."""
ATTEMPTS = 3
BACKOFF_S = 1.0
"""Wait before the second attempt; doubled before each further one."""
QUEUE_SIZE = 200
"""Messages one sink may have waiting; past it the oldest waiting message is dropped and counted as failed."""
DRAIN_S = 3.0
"""At shutdown, how long the sinks get to send what is queued."""
MAX_ACTIVE = 1000
"""Conditions remembered for de-duplication (the oldest is forgotten past it)."""
APPRISE_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")

PLAIN_PARAMS = frozenset(
    "smtp from to cc bcc reply name mode format overflow cto rto method verify image avatar footer tts priority "
    "retry wait optional batch silent preview detect blocks timestamp content mdv tz lang".split()
)
"""apprise URL parameters that hold no secret (a server, addresses, options): not masked in apprise's logs."""
_USERINFO = re.compile(r"(?i)\b(?P<scheme>[a-z][a-z0-9+.\-]{0,30}://)(?P<info>[^/\s@?#]+)@")


# -- URLs ---------------------------------------------------------------------------------------------------


def split_urls(text: str) -> list[str]:
    """The apprise URLs of the setting: comma- or space-separated (a comma inside a URL's own target list,
    `mailto://...?to=a@x,b@x`, stays inside it, as apprise reads it)."""
    if not text.strip():
        return []
    from apprise.utils.parse import parse_urls

    return [u for u in parse_urls(text) if u.strip()]


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def url_secrets(url: str) -> set[str]:
    """The parts of an alert URL that may be credentials: userinfo, host labels that are not a host name
    (Slack's and Telegram's tokens sit there), path segments and query values (at least `MIN_SECRET_CHARS`
    long), and the URL itself."""
    out = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return out
    netloc = parts.netloc
    info, _, hostport = netloc.rpartition("@")
    if info:
        out.update(unquote(p) for p in info.split(":", 1))
    host = hostport.rsplit(":", 1)[0] if not hostport.startswith("[") else hostport
    if host and not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|localhost|\[[0-9a-fA-F:.]+\]", host):
        out.add(unquote(host))
        out.add(unquote(hostport))
    out.update(unquote(seg) for seg in parts.path.split("/"))
    if parts.fragment:
        out.add(unquote(parts.fragment))
    out.update(value for name, value in parse_qsl(parts.query) if name.lower() not in PLAIN_PARAMS)
    return {s for s in out if len(s) >= MIN_SECRET_CHARS}


def shown_sink(service: Any, url: str) -> str:
    """`scheme://host` of a sink for logs and the status page: apprise's privacy URL cut to its host part,
    userinfo dropped (a token apprise keeps in the host is shown masked by apprise, `1...w`)."""
    try:
        private = str(service.url(privacy=True))
    except Exception:
        private = url
    scheme, sep, rest = private.partition("://")
    if not sep:
        return _scheme(url) + "://"
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    return f"{scheme}://{host}"


def check_urls(text: str) -> None:
    """A ValueError naming the entry (by position and scheme, never its text) that apprise cannot use."""
    urls = split_urls(text)
    if not urls:
        return
    import apprise

    install_log_filter(url_secrets_all(urls))
    for i, url in enumerate(urls, start=1):
        if apprise.Apprise.instantiate(url) is None:
            raise ValueError(
                f"{SETTING}: entry {i} ({_scheme(url)}://...) is not a URL apprise can send to "
                "(see the apprise wiki for each service's URL syntax)"
            )


def url_secrets_all(urls: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for url in urls:
        out |= url_secrets(url)
    return out


# -- redaction ----------------------------------------------------------------------------------------------


def mask_userinfo(text: str) -> str:
    return _USERINFO.sub(lambda m: m["scheme"] + MASK + "@", text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the log redaction's rules, these exact `secrets` and URL userinfo masked."""
    return mask_userinfo(scrub(text, secrets))


def redact_event(event: Event, secrets: Iterable[str] = ()) -> Event:
    """The event with its title and evidence redacted as a log line would be (by key name and value)."""
    clean = redact(None, "alert", {"title": event.title, "detail": event.detail, "fingerprint": event.fingerprint})
    extra = tuple(secrets)
    detail = clean.get("detail")
    return replace(
        event,
        title=redact_text(str(clean.get("title", "")), extra),
        detail=_deep_text(detail if isinstance(detail, dict) else {}, extra),
        fingerprint=redact_text(str(clean.get("fingerprint", "")), extra),
    )


def _deep_text(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {str(k): _deep_text(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_text(v, secrets) for v in value]
    return value


class _SecretsFilter(logging.Filter):
    """Masks the alert URLs' secrets in apprise's and urllib3's own records (they log URLs at debug)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = redact_text(message, self.secrets), None
        return True


_LOG_FILTER = _SecretsFilter()


def install_log_filter(secrets: Iterable[str]) -> None:
    """Add these secrets to the filter on apprise's and urllib3's loggers (idempotent)."""
    _LOG_FILTER.secrets.update(s for s in secrets if len(s) >= MIN_SECRET_CHARS)
    for name in APPRISE_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


def settings_secrets(settings: Any) -> set[str]:
    """This server's own secrets an alert must never carry: API keys, admin keys, the remote key, the token
    secret."""
    out: set[str] = set()
    try:
        out |= set(settings.api_key_set())
    except Exception:  # an unreadable keys file: start-up reports it, not the alerter
        pass
    out |= {k.strip() for k in str(getattr(settings, "admin_keys", "") or "").split(",")}
    for name in ("remote_key", "token_secret"):
        out.add(str(getattr(settings, name, "") or ""))
    return {s for s in out if len(s) >= MIN_SECRET_CHARS}


# -- the alerter --------------------------------------------------------------------------------------------


@dataclass
class Sink:
    url: str = field(repr=False)
    shown: str
    service: Any = field(repr=False)
    throttle_s: float = 0.0
    """apprise's own pacing of this service (`request_rate_per_sec`: 5.5 s between two e-mails to one
    server, 1.2 s for Slack ...): waited inside a delivery, so it extends the delivery's time limit."""
    queue: deque[fmt.Message] = field(default_factory=deque, repr=False)
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    sent: int = 0
    failed: int = 0
    busy: bool = False


class Alerter:
    """De-duplicates, rate-limits and redacts events, and delivers them to apprise sinks (module docstring)."""

    def __init__(
        self,
        urls: Sequence[str] = (),
        *,
        per_hour: int = 30,
        window_s: float = WINDOW_S,
        timeout_s: float = TIMEOUT_S,
        attempts: int = ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        queue_size: int = QUEUE_SIZE,
        drain_s: float = DRAIN_S,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_hour = max(1, int(per_hour))
        self.window_s = window_s
        self.timeout_s = timeout_s
        self.attempts = max(1, int(attempts))
        self.backoff_s = backoff_s
        self.queue_size = max(1, int(queue_size))
        self.drain_s = drain_s
        self.clock = clock
        url_list = list(urls)
        self.secrets: set[str] = {s for s in secrets if len(s) >= MIN_SECRET_CHARS} | url_secrets_all(url_list)
        install_log_filter(url_secrets_all(url_list))
        self.sinks: list[Sink] = []
        if url_list:  # apprise (and its plugins) only when there is a sink
            import apprise
        for i, url in enumerate(url_list, start=1):
            service = apprise.Apprise.instantiate(url)
            if service is None:
                raise ValueError(f"{SETTING}: entry {i} ({_scheme(url)}://...) is not a URL apprise can send to")
            box = apprise.Apprise()
            box.add(service)
            pace = getattr(service, "request_rate_per_sec", 0.0)
            throttle = float(pace) if isinstance(pace, int | float) else 0.0
            self.sinks.append(Sink(url, shown_sink(service, url), box, max(0.0, throttle)))
        self.active: dict[str, tuple[float, Event]] = {}
        """Conditions alerted on: key -> (when the condition began, its latest event)."""
        self._sent_at: deque[float] = deque()
        self._held: list[str] = []
        self._held_since = 0.0
        self._summary_task: asyncio.Task[None] | None = None
        self._closed = False
        self.alerts = 0
        """Messages accepted for delivery (alerts, recovery notices, summaries), each to every sink."""
        self.suppressed = 0
        self.deduplicated = 0
        self.ignored = 0
        self.sent = 0
        """Deliveries that succeeded (one message to two sinks is two)."""
        self.failed = 0
        """Deliveries that failed after every attempt (or were dropped from a full queue)."""
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    # -- the bus subscriber -------------------------------------------------------------------------
    async def handle(self, event: Event) -> None:
        """The bus subscriber: decide and enqueue (never waits for a sink)."""
        message = self.decide(event)
        if message is not None:
            self._dispatch(message)

    def decide(self, event: Event) -> fmt.Message | None:
        """The message this event gives, after de-duplication and the rate limit (None: nothing to send now)."""
        now = self.clock()
        clean = redact_event(event, self.secrets)
        if event.kind == "recovery":
            opened = self.active.pop(event.key, None)
            if opened is None:
                self.ignored += 1
                return None
            began, latest = opened
            message = fmt.recovery(replace(latest, at=began), clean)
        else:
            previous = self.active.get(event.key)
            if previous is not None and previous[1].fingerprint == clean.fingerprint:
                self.deduplicated += 1
                return None
            began = previous[0] if previous is not None else clean.at
            self.active.pop(event.key, None)
            self.active[event.key] = (began, clean)
            while len(self.active) > MAX_ACTIVE:
                self.active.pop(next(iter(self.active)))
            message = fmt.alert(clean)
        message = replace(
            message, title=redact_text(message.title, self.secrets), body=redact_text(message.body, self.secrets)
        )
        self._flush_summary(now)
        if self._take_slot(now):
            return message
        self.suppressed += 1
        if not self._held:
            self._held_since = now
        self._held.append(message.title)
        self._schedule_summary()
        return None

    # -- the rate limit -----------------------------------------------------------------------------
    def _take_slot(self, now: float) -> bool:
        sent = self._sent_at
        while sent and sent[0] <= now - self.window_s:
            sent.popleft()
        if len(sent) < self.per_hour:
            sent.append(now)
            return True
        return False

    def _summary(self, now: float) -> fmt.Message:
        message = fmt.suppressed(len(self._held), self._held, self.per_hour, self._held_since, now)
        self._held = []
        return message

    def _flush_summary(self, now: float) -> None:
        if self._held and self._take_slot(now):
            self._dispatch(self._summary(now))

    def _schedule_summary(self) -> None:
        if self._summary_task is not None and not self._summary_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # decide() called without a loop (a unit test): the next decide() flushes
        self._summary_task = loop.create_task(self._summary_later())

    async def _summary_later(self) -> None:
        while self._held and not self._closed:
            oldest = self._sent_at[0] if self._sent_at else self.clock()
            await asyncio.sleep(max(0.01, oldest + self.window_s - self.clock() + 0.001))
            self._flush_summary(self.clock())

    # -- delivery -----------------------------------------------------------------------------------
    def _dispatch(self, message: fmt.Message) -> None:
        self.alerts += 1
        for sink in self.sinks:
            if len(sink.queue) >= self.queue_size:  # the oldest waiting one goes (not the one being sent)
                del sink.queue[1 if sink.busy and len(sink.queue) > 1 else 0]
                self._failure(sink, "queue full: the oldest waiting alert was dropped")
            sink.queue.append(message)
            sink.wake.set()
            self._ensure_worker(sink)

    def _ensure_worker(self, sink: Sink) -> None:
        if self._closed or (sink.task is not None and not sink.task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # start() begins it
        sink.task = loop.create_task(self._worker(sink), name=f"alerts:{sink.shown}")

    async def _worker(self, sink: Sink) -> None:
        while True:
            while not sink.queue:
                sink.wake.clear()
                await sink.wake.wait()
            message = sink.queue[0]
            sink.busy = True
            try:
                await self._deliver(sink, message)
            finally:
                sink.busy = False
            # delivered or failed for good (a cancelled delivery stays queued: close() counts it)
            if sink.queue and sink.queue[0] is message:
                sink.queue.popleft()

    async def _deliver(self, sink: Sink, message: fmt.Message) -> None:
        error = ""
        limit = self.timeout_s + sink.throttle_s
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                async with asyncio.timeout(limit + 1.0):  # a backstop for apprise's own call limit
                    result = await sink.service.async_notify(
                        body=message.body,
                        title=message.title,
                        notify_type=message.notify_type,
                        body_format="markdown",
                        timeout=limit,
                    )
            except TimeoutError:
                error = f"no answer within {limit:g} s"
                continue
            except Exception as exc:  # apprise raising is a failed attempt, with its type only
                error = type(exc).__name__
                continue
            if result:
                sink.sent += 1
                self.sent += 1
                return
            status = getattr(getattr(result, "status", None), "name", "") or "failure"
            error = f"apprise status {status.lower()}"
        self._failure(sink, f"{error} after {self.attempts} attempt{'s' if self.attempts > 1 else ''}")

    def _failure(self, sink: Sink, error: str, count: int = 1) -> None:
        sink.failed += count
        self.failed += count
        self.last_error = f"{sink.shown}: {error}"
        self.last_error_at = self.clock()
        log.warning("alert_delivery_failed", sink=sink.shown, error=error)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._closed = False
        for sink in self.sinks:
            self._ensure_worker(sink)
        if self._held:
            self._schedule_summary()

    async def close(self) -> None:
        """Send a pending suppression summary whatever the budget, give the queues `drain_s` to empty,
        then stop the workers (what is still queued is counted as failed and logged)."""
        if self._held:
            self._dispatch(self._summary(self.clock()))
        for sink in self.sinks:
            self._ensure_worker(sink)
        deadline = time.monotonic() + self.drain_s
        while any(s.queue for s in self.sinks) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self._closed = True
        tasks = [t for t in [self._summary_task, *(s.task for s in self.sinks)] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sink in self.sinks:
            if sink.queue:
                left = len(sink.queue)
                sink.queue.clear()
                self._failure(sink, f"{left} alert(s) still queued at shutdown", left)

    async def idle(self, timeout: float = 10.0) -> None:
        """Until every sink's queue is empty and no delivery runs (tests)."""
        deadline = time.monotonic() + timeout
        while any(s.queue or s.busy for s in self.sinks):
            if time.monotonic() > deadline:
                raise TimeoutError("alert queues did not drain")
            await asyncio.sleep(0.01)

    # -- reading ------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """For the status page and /health: sinks by `scheme://host` only, the counters, the last error."""
        return {
            "sinks": [s.shown for s in self.sinks],
            "sent": self.sent,
            "suppressed": self.suppressed,
            "failed": self.failed,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "deduplicated": self.deduplicated,
            "alerts": self.alerts,
            "per_hour": self.per_hour,
            "held": len(self._held),
            "queued": sum(len(s.queue) for s in self.sinks),
            "active": sorted(self.active),
        }


def install(services: Any) -> list[Any]:
    """Build `services.alerts` from TTSIGN_ALERT_URLS / TTSIGN_ALERTS_PER_HOUR, subscribe it to the bus,
    and attach the provider chain's breakers to the bus. Returns the alerter as the lifespan's companion."""
    settings = services.settings
    alerter = Alerter(
        split_urls(settings.alert_urls),
        per_hour=settings.alerts_per_hour,
        secrets=settings_secrets(settings),
    )
    services.alerts = alerter
    bus = services.events
    if bus is not None:
        bus.subscribe(alerter.handle)
        chain = getattr(services, "providers", None)
        if chain is not None:
            breaker_events.attach(chain, bus)
    return [alerter]
