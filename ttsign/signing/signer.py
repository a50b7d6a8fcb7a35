"""`Signer.sign(...)`: the one entry point that turns a TikTok URL into a signed request.

The signer owns the per-identity state the SDK keeps in a page (`PageState`: the page-load clock that
feeds the X-Gnarly / X-Dynosaur nonces and the signing counter) and the browser preset. Clocks and
randomness are injected (`clock`, `mono_clock`, `rng`) so tests and vectors are deterministic. The
socket-URL signer (`signing.ws`) signs through `Signer.x_gnarly`, so there is one page state.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ttsign.algorithms import xbogus
from ttsign.algorithms.identity import Identity, new_identity
from ttsign.algorithms.navigator import BrowserPreset, get_preset, navigator_dict, preset_for_user_agent
from ttsign.algorithms.payloads import dynosaur532, gnarly513, gnarly532
from ttsign.signing import accel
from ttsign.signing.policy import ParsedURL, Product, choose_product, parse_url, wire_safe

GNARLY_532_KEYS = gnarly532.KEYS


@dataclass(frozen=True)
class SignedRequest:
    """Everything a caller needs to send the request exactly as signed."""

    url: str
    method: str
    body: bytes
    user_agent: str
    product: Product
    tokens: dict[str, str]
    headers: dict[str, str]
    navigator: BrowserPreset
    signed_query: str
    warnings: tuple[str, ...] = ()
    timestamp: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "signed_url": self.url,
            "method": self.method,
            "product": self.product.value,
            "tokens": dict(self.tokens),
            "headers": dict(self.headers),
            "user_agent": self.user_agent,
            "navigator": navigator_dict(self.navigator),
            "signed_query": self.signed_query,
            "timestamp": self.timestamp,
            "warnings": list(self.warnings),
        }


@dataclass
class SignerOptions:
    """Signing knobs; defaults follow a real Chrome on tiktok.com (gnarly-532.md §1.5)."""

    gnarly_version: str = "5.3.2"
    env_code: int = 65
    ub_code: int = 8
    webcast_xbogus: bool = False
    preset: str = "chrome-win"
    page: str = "www.tiktok.com/"
    accel: str | None = None
    """`TTSIGN_ACCEL`: auto, on or off (`ttsign.signing.accel`); None: the process-wide choice (`accel.configure`,
    which `make_signer` sets from the settings; `auto` until then). The pure-Python path is the reference."""


@dataclass
class PageState:
    """What a browser page accumulates: its load time on the monotonic clock, and its signing counter.

    Thread-safe: the counter is taken under a lock, so concurrent signs never share a value.
    """

    mono_clock: Callable[[], float]
    loaded_mono: float
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_seq(self) -> int:
        """The next value of the SDK's signing counter: 1, 2 ... 65535, then 1 again."""
        with self.lock:
            self.seq = self.seq % 65535 + 1  # the 2-byte slot holds 1..65535 (gnarly-532.md §1.2)
            return self.seq

    def micros(self) -> int:
        """A fresh reading of the SDK's nonce clock: microseconds since page load (performance.now() x 1000)."""
        return int((self.mono_clock() - self.loaded_mono) * 1_000_000) & 0xFFFFFFFF


class Signer:
    """Signs TikTok web requests natively. Thread-safe; one instance per identity."""

    def __init__(
        self,
        options: SignerOptions | None = None,
        *,
        identity: Identity | None = None,
        clock: Callable[[], float] = time.time,
        mono_clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options or SignerOptions()
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self.identity = identity or new_identity(self._rng, int(clock() * 1000))
        self.default_preset = get_preset(self.options.preset)
        # A page signs its first request some seconds after it loaded (the SDK nonces count microseconds
        # since load: 51-52 s in the real-SDK vectors). Start the clock 20-90 s in the past, not at 0.
        self.page = PageState(mono_clock, loaded_mono=mono_clock() - 20 - self._rng.random() * 70)
        # The compiled fast path (None: pure Python). `on` without it raises accel.AccelUnavailable here.
        self.accel = accel.active() if self.options.accel is None else accel.select(self.options.accel)
        self._system_rng = isinstance(self._rng, random.SystemRandom)

    @property
    def accel_path(self) -> str:
        """`compiled` or `python`: the path this signer signs with."""
        return accel.path_name(self.accel)

    # -- entropy -----------------------------------------------------------------------------
    def _key(self) -> bytes:
        if isinstance(self._rng, random.SystemRandom):
            return os.urandom(48)
        return self._rng.randbytes(48)

    def _record_order(self) -> list[int]:
        """The real SDK's X-Gnarly record order is random per token (gnarly-532.md §1.4)."""
        if isinstance(self._rng, random.SystemRandom):
            # one CSPRNG read, then sort by it: far cheaper than SystemRandom.shuffle's 15 reads
            noise = os.urandom(4 * len(GNARLY_532_KEYS))
            ranks = {k: noise[4 * i : 4 * i + 4] + bytes([i]) for i, k in enumerate(GNARLY_532_KEYS)}
            return sorted(GNARLY_532_KEYS, key=ranks.__getitem__)
        order = list(GNARLY_532_KEYS)
        self._rng.shuffle(order)
        return order

    def preset_for(self, user_agent: str | None) -> BrowserPreset:
        if not user_agent or user_agent == self.default_preset.user_agent:
            return self.default_preset
        return preset_for_user_agent(user_agent)

    # -- the entry point -----------------------------------------------------------------------
    def sign(
        self,
        url: str | ParsedURL,
        method: str = "GET",
        body: bytes | str = b"",
        user_agent: str | None = None,
        ms_token: str | None = None,
        *,
        product: Product | None = None,
    ) -> SignedRequest:
        """Sign `url` as the page's SDK would; see `policy` for which tokens each URL gets.

        `ms_token` is passed through verbatim (a real token issued by TikTok, or None/"" for an
        empty ``msToken=``); one is never invented. Raises `policy.PolicyError` for unusable URLs.
        """
        method = method.upper()
        body_bytes = body if type(body) is bytes else body.encode("utf-8") if isinstance(body, str) else bytes(body)
        parsed = url if isinstance(url, ParsedURL) else parse_url(url)
        token = ms_token if ms_token is not None else (parsed.ms_token or "")
        preset = self.preset_for(user_agent)
        ua = user_agent or preset.user_agent
        chosen = product or choose_product(parsed.host, parsed.path, method)
        now = self._clock()
        ts = int(now)
        q = parsed.query
        tokens: dict[str, str] = {}
        fast = self.accel
        if chosen is Product.FULL and self.options.gnarly_version == "5.3.2":
            if fast is not None:
                suffix, signed = self._full_532_compiled(fast, q, body_bytes, ua, token, ts, tokens)
            else:
                suffix, signed = self._full_532(q, body_bytes, ua, token, ts, tokens)
        elif chosen is Product.FULL:
            suffix, signed = self._full_513(q, body_bytes, ua, token, now, tokens, preset)
        else:
            signed = _join(q, f"msToken={token}")
            tokens["msToken"] = token
            suffix = signed
            if chosen is Product.CLASSIC or self.options.webcast_xbogus:
                tokens["X-Bogus"] = self._xbogus(signed, body_bytes, ua, ts, preset)
                suffix = f"{signed}&X-Bogus={tokens['X-Bogus']}"
        headers = {"User-Agent": ua}
        if chosen is Product.FULL:
            headers["Referer"] = "https://www.tiktok.com/"
        # The token alphabets are wire-safe, so only the caller's msToken can make the browser re-encode the tail.
        url = parsed.url_with(suffix, tail_safe=wire_safe(token))
        return SignedRequest(
            url=url,
            method=method,
            body=body_bytes,
            user_agent=ua,
            product=chosen,
            tokens=tokens,
            headers=headers,
            navigator=preset,
            signed_query=signed,
            warnings=_warnings(parsed.query, parsed.path, chosen, token, ua, preset),
            timestamp=ts,
        )

    def _xbogus(self, signed: str, body: bytes, ua: str, ts: int, preset: BrowserPreset) -> str:
        fast = self.accel
        if fast is not None:
            try:
                return str(fast.xbogus(signed, body, ua, ts, preset.xbogus_header, preset.xbogus_canvas))
            except UnicodeEncodeError:  # a UA with a lone surrogate: the reference reads it (as JS would)
                pass
        return xbogus.encode(signed, body, ua, ts, _profile(preset))

    def _entropy_532(self) -> tuple[bytes, bytes, bytes | list[int]]:
        """(X-Dynosaur key, X-Gnarly key, record order) drawn as the pure path draws them: its keys and order
        come from the same generator in the same order, so a seeded `rng` gives both paths the same tokens."""
        if self._system_rng:
            rand = os.urandom(160)  # one CSPRNG read: two keys, and the noise the record order is sorted by
            return rand[:48], rand[112:], rand[48:112]
        key_d = self._rng.randbytes(48)
        order = list(GNARLY_532_KEYS)
        self._rng.shuffle(order)
        return key_d, self._rng.randbytes(48), order

    def _full_532_compiled(
        self, fast: Any, q: str, body: bytes, ua: str, token: str, ts: int, tokens: dict[str, str]
    ) -> tuple[str, str]:
        """`_full_532` in one compiled call, from the same inputs read in the same order."""
        opt, ident, page = self.options, self.identity, self.page
        seq = page.next_seq()
        nonce_d = page.micros()
        key_d, key_g, order = self._entropy_532()
        nonce_g = page.micros()
        nonce2 = ~page.micros() & 0xFFFFFFFF
        try:
            dyn, gnarly, sealed, suffix = fast.sign_full_532(
                q, body, ua, token, ts, seq, nonce_d, nonce_g, nonce2, opt.env_code, opt.ub_code, opt.page,
                str(ident.canvas_hash), str(ident.webgl_hash), ident.component_version, ident.device_hash,
                key_d, key_g, order,
            )  # fmt: skip
        except UnicodeEncodeError:  # a lone surrogate: the reference raises the same, with its own words
            return self._full_532(q, body, ua, token, ts, tokens)
        tokens.update({"X-Dynosaur": dyn, "msToken": token, "X-Bogus": "1", "X-Gnarly": gnarly})
        return suffix, sealed

    def _full_532(self, q: str, body: bytes, ua: str, token: str, ts: int, tokens: dict[str, str]) -> tuple[str, str]:
        """gnarly-532.md §0: D over Q, S = Q&X-Dynosaur=D&msToken=T, G over S; wire = S&X-Bogus=1&X-Gnarly=G."""
        opt, ident = self.options, self.identity
        seq = self.page.next_seq()
        dyn = dynosaur532.encode(
            q,
            ua,
            timestamp=ts,
            nonce=self.page.micros(),
            counter_25=seq,
            counter_2f=seq,
            env_code=opt.env_code,
            ub_code=opt.ub_code,
            page=opt.page,
            canvas_hash=str(ident.canvas_hash),
            webgl_hash=str(ident.webgl_hash),
            component_version=ident.component_version,
            device_hash=ident.device_hash,
            key=self._key(),
            ua_hash=_ua_hash(ua),
        )
        sealed = _join(q, f"X-Dynosaur={dyn}&msToken={token}")
        gnarly = self.x_gnarly(sealed, body, ua, timestamp=ts, sequence=seq)
        tokens.update({"X-Dynosaur": dyn, "msToken": token, "X-Bogus": "1", "X-Gnarly": gnarly})
        return f"{sealed}&X-Bogus=1&X-Gnarly={gnarly}", sealed

    def x_gnarly(
        self, sealed: str, body: bytes, user_agent: str, *, timestamp: int | None = None, sequence: int | None = None
    ) -> str:
        """An X-Gnarly 5.3.2 over `sealed` from this page: its own nonce reading, and NOT of a fresh second
        reading as `nonce2` (gnarly-532.md §1.5); the page's next counter value unless `sequence` is given."""
        opt = self.options
        order = self._record_order()
        fast = self.accel
        if fast is not None:
            try:
                return str(
                    fast.gnarly_532(
                        sealed, body, user_agent, int(self._clock()) if timestamp is None else timestamp,
                        self.page.micros(), ~self.page.micros() & 0xFFFFFFFF,
                        self.page.next_seq() if sequence is None else sequence, opt.env_code, opt.ub_code,
                        self._key(), order, gnarly532.PAYLOAD_VERSION, gnarly532.SCM_VERSION,
                    )
                )  # fmt: skip
            except UnicodeEncodeError:
                pass
        return gnarly532.encode(
            sealed,
            body,
            user_agent,
            timestamp=int(self._clock()) if timestamp is None else timestamp,
            nonce=self.page.micros(),
            nonce2=~self.page.micros() & 0xFFFFFFFF,
            sequence=self.page.next_seq() if sequence is None else sequence,
            env_code=opt.env_code,
            ub_code=opt.ub_code,
            key=self._key(),
            record_order=order,
        )

    def _full_513(
        self,
        q: str,
        body: bytes,
        ua: str,
        token: str,
        now: float,
        tokens: dict[str, str],
        preset: BrowserPreset,
    ) -> tuple[str, str]:
        """The 5.1.3-ZTCA era (tokens.md §1.2): msToken, a real X-Bogus, X-Gnarly over the query."""
        signed = _join(q, f"msToken={token}")
        ts = int(now)
        fast = self.accel
        if fast is not None:
            seq = self.page.next_seq()
            low16, r32, key = self._rng.getrandbits(16), self._rng.getrandbits(32), self._key()
            try:
                xb, gnarly = fast.sign_full_513(
                    signed, body, ua, ts, preset.xbogus_header, preset.xbogus_canvas, int(now * 1000), seq + 3,
                    seq, low16, r32, key, self.options.ub_code, self.options.env_code, "2.0.0.485",
                )  # fmt: skip
                tokens.update({"msToken": token, "X-Bogus": xb, "X-Gnarly": gnarly})
                return f"{signed}&X-Bogus={xb}&X-Gnarly={gnarly}", signed
            except UnicodeEncodeError:
                pass
        xb = xbogus.encode(signed, body, ua, ts, _profile(preset))
        seq = self.page.next_seq()
        gnarly = gnarly513.encode(
            signed,
            body,
            ua,
            timestamp_ms=int(now * 1000),
            total_requests=seq + 3,
            intercepted_requests=seq,
            random_low16=self._rng.getrandbits(16),
            random32=self._rng.getrandbits(32),
            key=self._key(),
            ub_code=self.options.ub_code,
            env_code=self.options.env_code,
            sdk_version="2.0.0.485",
        )
        tokens.update({"msToken": token, "X-Bogus": xb, "X-Gnarly": gnarly})
        return f"{signed}&X-Bogus={xb}&X-Gnarly={gnarly}", signed


@functools.lru_cache(maxsize=256)
def _ua_hash(user_agent: str) -> int:
    """X-Dynosaur's 0x30 hash depends on the UA alone; callers reuse a handful of UAs."""
    return dynosaur532.hash_state(user_agent)


def _join(query: str, tail: str) -> str:
    return f"{query}&{tail}" if query else tail


def _profile(preset: BrowserPreset) -> xbogus.XBogusProfile:
    return xbogus.XBogusProfile(header=preset.xbogus_header, canvas=preset.xbogus_canvas)


def _param(query: str, name: str) -> str | None:
    """The value of the first `&`-separated segment that starts with `name=` (None: there is none)."""
    prefix = name + "="
    if query.startswith(prefix):
        start = len(prefix)
    else:
        at = query.find("&" + prefix)
        if at < 0:
            return None
        start = at + 1 + len(prefix)
    end = query.find("&", start)
    return query[start:] if end < 0 else query[start:end]


def _warnings(query: str, path: str, product: Product, token: str, ua: str, preset: BrowserPreset) -> tuple[str, ...]:
    """Things that make TikTok answer an empty 200 even with valid tokens (tokens.md §0, §7)."""
    out: list[str] = []
    if product is Product.FULL and path.startswith("/api/") and not _param(query, "device_id"):
        out.append("no device_id in the query: TikTok answers /api/* without one with an empty 200")
    if not token:
        out.append("msToken is empty: accepted by TikTok, but a real one from a TikTok response is better")
    platform = _param(query, "browser_platform")
    if platform is not None and platform.replace("%20", " ") != preset.browser_platform:
        out.append(
            f"browser_platform={platform} disagrees with the User-Agent ({preset.browser_platform}); "
            "TikTok gates mismatched requests"
        )
    return tuple(out)
