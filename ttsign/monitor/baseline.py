"""The baseline: what TikTok looked like when the operator pinned it (`ttsign analyze baseline --out FILE`),
the reference the SDK build watch, the player watch and `ttsign analyze diff` compare against.

A JSON file, versioned (`{"format": "ttsign-baseline", "version": 1, ...}`; a newer version is refused, not
guessed at). Its sections:

* `sdk`: every SDK script the live page loads (`facts.ScriptFacts`: url, name, sha256, size, version strings,
  signed path patterns, endpoints), the page's own `enablePathList` (`page_signed_paths`) and their union
  `signed_paths`;
* `socket`: the push socket's facts (`facts.SocketFacts`) and their `digest`;
* `tokens`: the decoded field table (`ttsign.monitor.fields.Layout`) of each token kind, one per URL kind of
  `TOKEN_URLS`, signed by the browser provider (TikTok's own SDK) when `TTSIGN_PROVIDERS` names it, else by
  the native signer (`source` says which), with the browser's SDK records;
* `fingerprint`: the signer's identity fields: the navigator (UA, `browser_*`) and, for the browser provider,
  per token the canvas, WebGL and device hashes and X-Bogus's environment header (what TikTok's SDK read
  of the browser; the native signer's own are random per process, so they are not recorded);
* `errors`: section -> why it could not be gathered (a section that failed is empty, not guessed).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttsign import __version__
from ttsign.monitor.facts import ScriptFacts, page_signed_paths, sdk_facts, socket_facts
from ttsign.monitor.pages import PageError, PageRead, http_of, read_page

if TYPE_CHECKING:
    from ttsign.config import Settings

FORMAT = "ttsign-baseline"
VERSION = 1
SECTIONS = ("sdk", "socket", "tokens", "fingerprint")

TOKEN_URLS: dict[str, str] = {
    "api_item_list": (
        "https://www.tiktok.com/api/post/item_list/?aid=1988&app_name=tiktok_web&device_platform=web_pc"
        "&secUid=MS4wLjABAAAA&count=35&cursor=0"
    ),
    "user_detail": "https://www.tiktok.com/api/user/detail/?aid=1988&app_name=tiktok_web&uniqueId=tiktok",
    "webcast": "https://webcast.tiktok.com/webcast/room/info/?aid=1988&app_name=tiktok_web&room_id=7300000000000000000",
}
"""One URL per token kind: an `/api/*` item list, `user/detail`, a webcast call."""
FINGERPRINT_FIELDS = ("canvas", "canvas_hash", "webgl_hash", "device_hash")


class BaselineError(Exception):
    """A baseline file that cannot be read (one line saying why)."""


@dataclass
class Baseline:
    created: float = field(default_factory=time.time)
    source: dict[str, Any] = field(default_factory=dict)  # {"www": ..., "page": ...}
    sdk: dict[str, Any] = field(default_factory=dict)
    socket: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, Any] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    ttsign_version: str = __version__

    @property
    def scripts(self) -> list[ScriptFacts]:
        return [ScriptFacts.from_dict(s) for s in self.sdk.get("scripts") or ()]

    @property
    def created_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "created": self.created,
            "created_iso": self.created_iso,
            "ttsign_version": self.ttsign_version,
            "source": self.source,
            "sdk": self.sdk,
            "socket": self.socket,
            "tokens": self.tokens,
            "fingerprint": self.fingerprint,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "the baseline") -> Baseline:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BaselineError(f'{where} is not a ttsign baseline (no "format": "{FORMAT}")')
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BaselineError(f'{where} has no valid "version"')
        if version > VERSION:
            raise BaselineError(f"{where} is version {version}, newer than this ttsign reads ({VERSION}): upgrade")
        sections: dict[str, dict[str, Any]] = {}
        for name in (*SECTIONS, "source", "errors"):
            value = data.get(name)
            value = {} if value is None else value
            if not isinstance(value, dict):
                raise BaselineError(f'{where}: "{name}" must be a JSON object')
            sections[name] = value
        created = data.get("created", 0.0)
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            raise BaselineError(f'{where}: "created" must be a number (unix seconds)')
        return cls(
            created=float(created),
            source=sections["source"],
            sdk=sections["sdk"],
            socket=sections["socket"],
            tokens=sections["tokens"],
            fingerprint=sections["fingerprint"],
            errors={str(k): str(v) for k, v in sections["errors"].items()},
            ttsign_version=str(data.get("ttsign_version", "")),
        )


def coerce(baseline: Baseline | Mapping[str, Any] | None) -> Baseline | None:
    """A `Baseline` from a `Baseline`, its dict form, or None."""
    if baseline is None or isinstance(baseline, Baseline):
        return baseline
    return Baseline.from_dict(dict(baseline))


_PINNED: dict[str, tuple[tuple[int, int], Baseline]] = {}


def pinned(settings: Any) -> Baseline | None:
    """The baseline `TTSIGN_MONITOR_BASELINE` names (None when unset), read again only when the file changed;
    `BaselineError` when it cannot be read."""
    path = str(getattr(settings, "monitor_baseline", "") or "")
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BaselineError(f"baseline {path} (TTSIGN_MONITOR_BASELINE): {exc.strerror or exc}") from None
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _PINNED.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    base = load(path)
    _PINNED.clear()  # one configured file at a time
    _PINNED[path] = (stamp, base)
    return base


def load(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file; `BaselineError` (one line) when it is missing, not JSON or not a baseline."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"baseline {p}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {p} is not JSON ({exc.msg} at line {exc.lineno})") from None
    return Baseline.from_dict(data, where=f"baseline {p}")


def dump(baseline: Baseline, path: str | os.PathLike[str]) -> None:
    """Write a baseline file atomically (a reader never sees half of one)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(baseline.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, p)


# ---- gathering ---------------------------------------------------------------------------------------------


def sdk_section(read: PageRead) -> dict[str, Any]:
    """The `sdk` section of a page read."""
    scripts = [sdk_facts(url, body) for url, body in read.sdk_scripts().items()]
    page_paths = page_signed_paths(read.parts)
    union: list[str] = []
    for p in [*page_paths, *(p for s in scripts for p in s.signed_paths)]:
        if p not in union:
            union.append(p)
    return {
        "page": read.url,
        "scripts": [s.to_dict() for s in scripts],
        "page_signed_paths": page_paths,
        "signed_paths": union,
        "skipped": [s for s in read.skipped if s["url"] in read.parts.sdk_srcs],
    }


def socket_section(read: PageRead) -> dict[str, Any]:
    """The `socket` section of a page read."""
    facts = socket_facts(read.parts, read.other_scripts(), read.cookie_names)
    return {
        **facts.to_dict(),
        "digest": facts.digest,
        "scripts": list(read.other_scripts()),
        "skipped": [s for s in read.skipped if s["url"] in read.parts.other_srcs],
    }


def _fingerprint_of(tokens: Mapping[str, str]) -> dict[str, Any]:
    from ttsign.algorithms.decode import decode_token

    out: dict[str, Any] = {}
    for name, value in tokens.items():
        if name == "msToken" or not value or value == "1":
            continue
        try:
            decoded = decode_token(value)
        except ValueError:
            continue
        fields = decoded.get("fields") or {}
        picked = {k: fields[k] for k in FINGERPRINT_FIELDS if k in fields}
        if decoded.get("type") == "x-bogus" and "header" in fields:
            picked["header"] = fields["header"]
        if picked:
            out[name] = picked
    return out


async def token_sections(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tokens, fingerprint): each `TOKEN_URLS` kind signed by the browser provider when `TTSIGN_PROVIDERS`
    names it (started for this and closed again), else natively. Raises `ProviderError` when it cannot sign."""
    from ttsign.monitor.fields import layout_of
    from ttsign.providers.base import SignJob
    from ttsign.providers.factory import parse_providers
    from ttsign.providers.native import NativeProvider
    from ttsign.signing.factory import make_signer
    from ttsign.signing.policy import parse_url
    from ttsign.signing.service import SigningService

    signer = make_signer(settings)
    provider: Any
    if "browser" in parse_providers(settings.providers):
        from ttsign.providers.browser import BrowserProvider

        provider = BrowserProvider.from_settings(settings, signer)
    else:
        provider = NativeProvider(SigningService(signer))
    await provider.start()
    try:
        layouts: dict[str, Any] = {}
        fingerprint: dict[str, Any] = {}
        for kind, url in TOKEN_URLS.items():
            result = await provider.sign(SignJob(url=url, parsed=parse_url(url)))
            layouts[kind] = layout_of(result.request.tokens).to_dict()
            if not fingerprint:
                fingerprint = {"navigator": dict(result.navigator)}
                if provider.name == "browser":  # native's identity hashes are its own, random per process
                    fingerprint["tokens"] = _fingerprint_of(result.request.tokens)
        info = provider.info()
    finally:
        await provider.close()
    tokens = {"source": provider.name, "sdk": info.get("sdk") or [], "layouts": layouts}
    return tokens, fingerprint


async def gather(settings: Settings, *, http: Any = None, tokens: bool = True) -> Baseline:
    """A baseline of now: the live page at `TTSIGN_TIKTOK_WWW` read through `http` (an `Upstream`, or
    something holding one; default a new one from `settings`, closed after), and the token sections when
    `tokens`. A section that cannot be gathered is left empty with its reason in `errors`."""
    from ttsign.tiktok.http import Upstream

    base = Baseline(source={"www": settings.tiktok_www, "providers": settings.providers})
    own = http is None
    upstream = Upstream.from_settings(settings) if own else http_of(http)
    try:
        try:
            read = await read_page(upstream, settings.tiktok_www)
        except PageError as exc:
            base.errors["sdk"] = base.errors["socket"] = str(exc)
        else:
            base.source["page"] = read.url
            base.sdk = sdk_section(read)
            base.socket = socket_section(read)
            if not base.sdk["scripts"]:
                base.errors["sdk"] = "the live page loaded no SDK script (a bot wall, or a new script name)"
    finally:
        if own:
            await upstream.close()
    if tokens:
        from ttsign.providers.base import ProviderError

        try:
            base.tokens, base.fingerprint = await token_sections(settings)
        except ProviderError as exc:
            base.errors["tokens"] = base.errors["fingerprint"] = f"{exc.kind}: {exc.message}"
    return base
