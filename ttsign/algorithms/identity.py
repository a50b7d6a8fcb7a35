"""Client-side identity values a TikTok web page carries: device_id, odinId, WebIdLastTime, verifyFp.

Pure functions: the clock and the randomness source are parameters. ``rng`` is anything with a
``getrandbits(k)`` method: ``random.Random(seed)`` for reproducible tests, ``secrets.SystemRandom()``
in production.

What a browser gets, and what we generate (protocol/tokens.md §3):

- ``device_id`` (the page's ``wid``) and a guest ``odinId`` are TikTok 64-bit ids, 19 decimal digits.
  Real ones embed their creation time in the upper 32 bits (``id >> 32`` is unix seconds, a few
  seconds before ``webIdCreatedTime``; checked on public captures 2023-2026), the lower 32 bits look
  random. Ids created between 2021-08 and 2029-01 therefore start with 7. :func:`device_id` and
  :func:`odin_id` make ids of that shape: time-stamped when given ``now_s``, otherwise uniform in
  ``[7·10^18, 8·10^18)`` (19 digits, leading 7, like TikTokApi's ``randint``). Prefer the page's
  ``wid`` when a bootstrap page is fetched anyway.
- ``WebIdLastTime`` is ``webIdCreatedTime``, unix seconds.
- ``verifyFp`` / cookie ``s_v_web_id``: ``verify_`` + base36(ms) + ``_`` + a 36-character body.
- The X-Dynosaur environment values of one browser (gnarly-532.md §2.5): WebGL and canvas
  fingerprints, the component version and a device hash. A real identity keeps them stable.

**msToken and ttwid are never generated here, and must never be generated anywhere.** Both are
issued by TikTok's servers (ttwid is server-signed; msToken comes from mssdk reports and response
headers). A forged msToken gates every response (empty 200 with ``tt_orcas_res: 1``), which is worse
than sending ``msToken=`` empty (tokens.md §2). Pass real ones through, or send none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "COMPONENT_VERSION",
    "Identity",
    "Rng",
    "device_id",
    "id_created_s",
    "is_device_id",
    "is_verify_fp",
    "new_identity",
    "odin_id",
    "verify_fp",
    "verify_fp_time_ms",
    "web_id_last_time",
]


class Rng(Protocol):
    """The one method we need from a randomness source (random.Random, secrets.SystemRandom)."""

    def getrandbits(self, k: int, /) -> int: ...


ALPHABET62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""The verifyFp body alphabet. Index (r & 3) | 8 gives 8, 9, A or B at body position 19, as in
every public s_v_web_id (e.g. ``verify_mn20yion_rviWJNYw_kgW3_4xku_BPId_ggvPSMEYwyVA``)."""
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

COMPONENT_VERSION = "2.0.0.1667"
"""X-Dynosaur 0x32 as seen in a real Chrome capture (gnarly-532.md §2.5). It names a shipped
component build, shared by every visitor of that release, so it is not randomised per identity."""

_ID_MIN = 10**18  # 19 digits, no leading zero
_ID_MAX = 2**63 - 1  # TikTok ids are signed 64-bit
_ID_RE = re.compile(r"[1-9][0-9]{18}")
_VERIFY_FP_RE = re.compile(
    r"verify_([1-9a-z][0-9a-z]{0,11})_"
    r"[0-9A-Za-z]{8}_[0-9A-Za-z]{4}_4[0-9A-Za-z]{3}_[89AB][0-9A-Za-z]{3}_[0-9A-Za-z]{12}"
)


def _below(rng: Rng, n: int) -> int:
    """Uniform integer in [0, n) by rejection sampling (no modulo bias)."""
    k = max(1, (n - 1).bit_length())
    while True:
        r = rng.getrandbits(k)
        if r < n:
            return r


def _time_id(rng: Rng, created_s: int) -> int:
    if not _ID_MIN <= (created_s << 32) <= _ID_MAX:
        raise ValueError(f"created_s={created_s} does not give a 19-digit id (valid 1977-05 to 2038-01)")
    return (created_s << 32) | rng.getrandbits(32)


def _new_id(rng: Rng, now_s: int | None) -> str:
    if now_s is None:
        return str(7 * 10**18 + _below(rng, 10**18))
    return str(_time_id(rng, int(now_s)))


def device_id(rng: Rng, now_s: int | None = None) -> str:
    """A 19-digit device id (the page's ``wid``), no leading zero.

    With ``now_s`` it is time-stamped like a real one: ``(now_s << 32) | random32``, which starts
    with 7 for dates between 2021-08 and 2029-01. Without it, uniform in ``[7·10^18, 8·10^18)``.
    """
    return _new_id(rng, now_s)


def odin_id(rng: Rng, now_s: int | None = None) -> str:
    """A guest ``odinId``: the same 19-digit, time-stamped shape as :func:`device_id`.

    For a logged-in user the page sends the user id instead; that is never invented.
    """
    return _new_id(rng, now_s)


def web_id_last_time(now_s: float) -> str:
    """``WebIdLastTime``: the web id's creation time, whole unix seconds, as the query value."""
    if now_s < 0:
        raise ValueError("now_s must be a unix time, not negative")
    return str(int(now_s))


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_BASE36[r])
    return "".join(reversed(out))


def verify_fp(now_ms: int, rng: Rng) -> str:
    """A fresh ``verifyFp`` / ``s_v_web_id`` (tokens.md §3).

    ``verify_`` + base36(now_ms) + ``_`` + 36 characters: ``_`` at 8, 13, 18 and 23, ``4`` at 14,
    ALPHABET62[(r & 3) | 8] at 19, everything else uniform from ALPHABET62.
    """
    if now_ms <= 0:
        raise ValueError("now_ms must be a positive unix time in milliseconds")
    body = []
    for i in range(36):
        if i in (8, 13, 18, 23):
            body.append("_")
        elif i == 14:
            body.append("4")
        elif i == 19:
            body.append(ALPHABET62[(_below(rng, 62) & 3) | 8])
        else:
            body.append(ALPHABET62[_below(rng, 62)])
    return f"verify_{_base36(int(now_ms))}_{''.join(body)}"


def is_device_id(s: object) -> bool:
    """True for a 19-digit decimal string with no leading zero that fits a signed 64-bit id.

    Any leading digit 1-9 passes: older real ids start with 6, and the first digit moves with time.
    """
    return isinstance(s, str) and _ID_RE.fullmatch(s) is not None and int(s) <= _ID_MAX


def is_verify_fp(s: object) -> bool:
    """True when ``s`` has the exact ``verify_<base36 ms>_<36-char body>`` shape of tokens.md §3."""
    return isinstance(s, str) and _VERIFY_FP_RE.fullmatch(s) is not None


def verify_fp_time_ms(s: str) -> int:
    """The creation time (unix ms) inside a verifyFp. Raises ValueError when it is not one."""
    m = _VERIFY_FP_RE.fullmatch(s) if isinstance(s, str) else None
    if m is None:
        raise ValueError(f"not a verifyFp: {s!r}")
    return int(m.group(1), 36)


def id_created_s(s: str) -> int:
    """The unix seconds a TikTok 64-bit id carries in its upper 32 bits. ValueError if not an id."""
    if not is_device_id(s):
        raise ValueError(f"not a 19-digit TikTok id: {s!r}")
    return int(s) >> 32


@dataclass(frozen=True)
class Identity:
    """One anonymous web visitor: the ids the page sends plus its X-Dynosaur environment values.

    Query-ready strings for the ids; ``canvas_hash`` and ``webgl_hash`` are uint32 numbers (the
    X-Dynosaur payload writes them in decimal), ``device_hash`` is 32 lower-case hex digits.
    """

    device_id: str
    """``device_id`` query parameter (the page's ``wid``)."""
    odin_id: str
    """``odinId`` query parameter (guest id)."""
    web_id_last_time: str
    """``WebIdLastTime`` query parameter (unix seconds)."""
    verify_fp: str
    """``verifyFp`` query parameter and ``s_v_web_id`` cookie."""
    canvas_hash: int
    """X-Dynosaur 0x2C: 2D canvas fingerprint (uint32; real Chrome e.g. 1135188161)."""
    webgl_hash: int
    """X-Dynosaur 0x28: WebGL fingerprint (uint32; real Chrome e.g. 3207760156)."""
    component_version: str
    """X-Dynosaur 0x32: component version string (real Chrome "2.0.0.1667")."""
    device_hash: str
    """X-Dynosaur 0x33: device hash, an md5 hex digest in shape."""


def _fingerprint32(rng: Rng) -> int:
    # A hash of real drawing output: any uint32, but 0 and all-ones read as "no canvas"/failure.
    # Keep it in [2^24, 2^32 - 2] so it prints as a 8-10 digit number like the captured ones.
    return (1 << 24) + _below(rng, (1 << 32) - 1 - (1 << 24))


def new_identity(rng: Rng, now_ms: int) -> Identity:
    """A fresh, self-consistent anonymous identity created at ``now_ms`` (unix ms).

    As on a real first visit: the page's web id is created now (``WebIdLastTime``); the device id
    was minted 5-60 s earlier by the server that wrote the page; the guest odinId within a minute of
    it; verifyFp carries ``now_ms``. The environment values are drawn once and stay with the identity.
    """
    now_s = int(now_ms) // 1000
    device_s = now_s - 5 - _below(rng, 56)
    odin_s = device_s - 60 + _below(rng, 121)
    return Identity(
        device_id=str(_time_id(rng, device_s)),
        odin_id=str(_time_id(rng, odin_s)),
        web_id_last_time=web_id_last_time(now_s),
        verify_fp=verify_fp(int(now_ms), rng),
        canvas_hash=_fingerprint32(rng),
        webgl_hash=_fingerprint32(rng),
        component_version=COMPONENT_VERSION,
        device_hash=f"{rng.getrandbits(128):032x}",
    )
