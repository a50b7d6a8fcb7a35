"""Command line: `ttsign serve | sign | decode | room | check | vectors check` (also `python -m ttsign`).

Every command reads its settings through `load_settings`: a bad setting is one line on stderr naming the
variable, its value and what is allowed, and exit code 2, before anything starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError

from ttsign import __version__
from ttsign.config import Settings, get_settings

# rich_markup_mode=None: click's plain help, so flags show no `<bool>` and options only their value type
app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode=None, help="ttsign: self-hosted TikTok signing"
)
vectors_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Reference-vector checks")
app.add_typer(vectors_app, name="vectors")


def _fail(message: str) -> typer.Exit:
    """One line on stderr, exit code 2: how every start-up check reports."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _shown_value(name: str, value: object) -> str:
    text = str(value)[:80]
    if "PROXY" in name and "@" in text:  # a proxy URL's user:password stays off the terminal
        scheme, _, rest = text.rpartition("://")
        text = (scheme + "://" if scheme else "") + "***@" + rest.rpartition("@")[2]
    return repr(text)


def setting_errors(exc: ValidationError) -> str:
    """`TTSIGN_PORT='abc': input should be a valid integer; ...` for a settings ValidationError."""
    import os

    by_alias = {}
    for field in Settings.model_fields.values():
        choices = getattr(field.validation_alias, "choices", None) or []
        names = [c for c in choices if isinstance(c, str)]
        if names:
            by_alias[names[0]] = names
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "setting"
        names = by_alias.get(name, [name])
        shown = next((n for n in names if n in os.environ), names[0])  # the name the user actually set
        message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        if err.get("type") == "bool_parsing":
            message = "must be true or false (or 1/0, yes/no, on/off)"
        parts.append(f"{shown}={_shown_value(shown, err.get('input', ''))}: {message}")
    return "invalid setting " + "; ".join(parts)


def load_settings() -> Settings:
    """The settings every command runs with; a bad one ends the command here (one line, exit code 2)."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise _fail(setting_errors(exc)) from None


def _log_to_stderr(settings: Settings) -> None:
    """A command other than serve keeps stdout for its answer: its log lines go to stderr, warnings and up
    unless TTSIGN_LOG_LEVEL asks for debug or trace."""
    from ttsign.server import logs

    level = settings.log_level if settings.log_level in ("debug", "trace") else "warning"
    logs.configure(level, settings.log_json, stderr=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ttsign {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    """ttsign: self-hosted TikTok signing (X-Bogus, X-Gnarly, X-Dynosaur)."""


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default TTSIGN_HOST or 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default TTSIGN_PORT or 8080)"),
    workers: int | None = typer.Option(None, help="worker processes"),
) -> None:
    """Start the HTTP server."""
    from ttsign.monitor.alerts import check_urls as check_alert_urls
    from ttsign.providers.base import ProviderError
    from ttsign.server.app import make_chain, make_signer, make_store
    from ttsign.server.auth import is_loopback
    from ttsign.server.runner import TransportLimits, check_workers, ensure_descriptors, parse_trusted_proxies
    from ttsign.server.runner import serve as run_server

    s = load_settings()
    bind = (host if host is not None else s.host).strip()
    if not bind:
        raise _fail(
            "the bind address is empty (TTSIGN_HOST or --host); set 127.0.0.1 to serve this machine only, "
            "or an interface address (with TTSIGN_API_KEYS) to serve others"
        )
    try:
        keys = s.api_key_set()
    except ValueError as exc:  # ApiKeysError: a one-line message naming the setting
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot read TTSIGN_API_KEYS_FILE: {exc}") from None
    if not keys and not is_loopback(bind):
        raise _fail(
            f"refusing to listen on {bind} without API keys. Set TTSIGN_API_KEYS=key1,key2 "
            "(or TTSIGN_API_KEYS_FILE) to serve a public address, or bind 127.0.0.1."
        )
    try:
        make_store(s)  # StoreError (a ValueError): an unknown or unimplemented TTSIGN_STORE
        check_workers(s, workers or s.workers)  # several workers over the memory store: refused unless limits are off
        parse_trusted_proxies(s.trusted_proxies)
        ensure_descriptors(TransportLimits.from_settings(s))
        make_chain(s, make_signer(s))  # TTSIGN_PROVIDERS & co.; the browser without its extra or Chromium
        check_alert_urls(s.alert_urls)  # TTSIGN_ALERT_URLS: a bad entry named by position and scheme, never echoed
    except (ValueError, ProviderError) as exc:
        raise _fail(str(exc)) from None
    run_server(s, host=bind, port=port or s.port, workers=workers or s.workers)


@app.command()
def sign(
    url: str = typer.Argument(..., metavar="URL", help="the TikTok URL to sign"),
    method: str = typer.Option("GET", "--method", "-X"),
    body: str = typer.Option("", "--body", help="the exact request body that will be sent"),
    user_agent: str | None = typer.Option(None, "--user-agent", help="UA to sign for (default: preset)"),
    ms_token: str | None = typer.Option(None, "--ms-token", help="a real msToken to pass through"),
    as_json: bool = typer.Option(False, "--json", help="print every token, header and the navigator"),
) -> None:
    """Sign a URL and print the signed URL (or JSON with --json)."""
    from ttsign.server.app import make_signer
    from ttsign.signing.policy import PolicyError, host_allowed, parse_url

    s = load_settings()
    signer = make_signer(s)
    try:
        parsed = parse_url(url)
        if not host_allowed(parsed.host, s.allowed_host_suffixes()):
            raise PolicyError(f"host {parsed.host!r} is not a TikTok host (TTSIGN_ALLOWED_HOSTS={s.allowed_hosts})")
        signed = signer.sign(url, method, body, user_agent, ms_token)
    except (PolicyError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(signed.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(signed.url)


@app.command()
def decode(
    token: str = typer.Argument(..., metavar="TOKEN", help="an X-Bogus, X-Gnarly, X-Dynosaur or x-tt-params"),
) -> None:
    """Detect a token's type and print its fields as JSON."""
    load_settings()
    from ttsign.algorithms.decode import decode_token
    from ttsign.algorithms.errors import TokenError

    try:
        out = decode_token(token)
    except TokenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


@vectors_app.command("check")
def vectors_check(
    files: list[Path] | None = typer.Argument(
        None, metavar="FILE", help="vector files in the shared/vectors format (default: the shipped ones)"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="print why each failure failed"),
) -> None:
    """Check vector files (default: the reference vectors shipped with ttsign); exit 1 if any vector failed."""
    from ttsign.vectors import check_file

    load_settings()
    if not files:
        files = shipped_vector_files()
        if not files:
            raise _fail(f"no reference vectors found in {VECTORS_DIR} (a broken install?)")
    failed_any = False
    for path in files:
        report = check_file(path)
        if report.error:
            typer.echo(f"{path}: error: {report.error}")
            failed_any = True
            continue
        passed, failed, skipped = (report.count(s) for s in ("passed", "failed", "skipped"))
        line = f"{path}: {passed} passed, {failed} failed"
        if skipped:
            line += f", {skipped} skipped"
        typer.echo(line)
        for o in report.outcomes:
            if o.status == "failed":
                typer.echo(f"  FAILED {o.id} ({o.kind})" + (f": {o.detail}" if verbose else ""))
            elif o.status == "skipped":
                typer.echo(f"  skipped {o.id}: {o.detail}")
        failed_any |= failed > 0
    raise typer.Exit(1 if failed_any else 0)


VECTORS_DIR = Path(__file__).resolve().parent / "vectors" / "data"


def shipped_vector_files() -> list[Path]:
    """The reference vectors that ship with the package (`ttsign/vectors/data/*.json`)."""
    return sorted(VECTORS_DIR.glob("*.json"))


def _run(coro: object) -> object:
    import asyncio

    return asyncio.run(coro)  # type: ignore[arg-type]


@app.command()
def room(user: str = typer.Argument(..., metavar="USER", help="TikTok username, @handle or profile URL")) -> None:
    """Room id, live status and room info, straight from TikTok (no server needed)."""
    from ttsign.tiktok.client import TikTokClient
    from ttsign.tiktok.rooms import RoomError

    settings = load_settings()
    _log_to_stderr(settings)

    async def go() -> dict[str, object]:
        client = TikTokClient(settings)
        try:
            found = await client.rooms.lookup(user)
            data = found.summary()
            if found.room_id and found.is_live:
                try:
                    data["room_info"] = await client.rooms.room_info(found.room_id)
                except RoomError as exc:
                    data["room_info_error"] = str(exc)
            return data
        finally:
            await client.close()

    try:
        out = _run(go())
    except RoomError as exc:
        typer.echo(f"error ({exc.kind}): {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))


@app.command()
def check(
    user: str = typer.Argument(..., metavar="USER", help="TikTok username of a user who is LIVE now"),
    events: int = typer.Option(3, help="stop after this many decoded events"),
    timeout: float = typer.Option(20.0, help="seconds to wait for events"),
) -> None:
    """Stage-by-stage live diagnostic: room lookup, ttwid, socket handshake, first events."""
    from ttsign.algorithms.navigator import get_preset
    from ttsign.tiktok.client import TikTokClient
    from ttsign.tiktok.identity_pool import IdentityUnavailable
    from ttsign.tiktok.rooms import RoomError
    from ttsign.tiktok.socket import SocketRefused, watch

    settings = load_settings()
    _log_to_stderr(settings)

    def stage(n: int, name: str, ok: bool, detail: str) -> None:
        typer.echo(f"[{n}/4] {name:<18} {'OK  ' if ok else 'FAIL'} {detail}")

    async def go() -> int:
        client = TikTokClient(settings)
        try:
            try:
                found = await client.rooms.lookup(user)
            except RoomError as exc:
                stage(1, "room lookup", False, f"{exc.kind}: {exc}")
                return 1
            if not found.room_id or not found.is_live:
                stage(1, "room lookup", False, f"@{found.unique_id} is not LIVE now (room id {found.room_id or '-'})")
                return 1
            stage(1, "room lookup", True, f"room {found.room_id} via {found.source}")
            try:
                ident = await client.pool.acquire()
            except IdentityUnavailable as exc:
                stage(2, "ttwid", False, str(exc))
                return 1
            stage(2, "ttwid", True, f"anonymous ttwid obtained ({len(ident.ttwid)} chars)")
            try:
                report = await watch(
                    settings.ws_url,
                    found.room_id,
                    cookies={"ttwid": ident.ttwid},
                    preset=get_preset(settings.browser_preset),
                    max_events=events,
                    timeout_s=timeout,
                )
            except SocketRefused as exc:
                client.pool.burn(ident)
                stage(3, "socket handshake", False, str(exc))
                return 1
            stage(3, "socket handshake", True, f"101 Switching Protocols; frames: {', '.join(report.frames[:6])}")
            if not report.events:
                stage(4, "first events", False, f"no events within {timeout:.0f}s (frames seen: {len(report.frames)})")
                return 1
            stage(4, "first events", True, f"{len(report.events)} decoded, {report.acks} acked")
            for ev in report.events:
                who = (ev.get("user") or {}).get("unique_id", "?")
                what = ev.get("text") or (ev.get("gift") or {}).get("name") or ev.get("likes") or ""
                typer.echo(f"      {ev['type']:<7} @{who}: {what}")
            return 0
        finally:
            await client.close()

    raise typer.Exit(int(_run(go())))  # type: ignore[call-overload]


def _register_commands() -> None:
    """Commands that live in their own modules (issues 9 and 12): monitor, analyze, maintenance, watch."""
    from ttsign import cli_analyze, cli_maintenance, cli_monitor, cli_watch

    for module in (cli_monitor, cli_analyze, cli_maintenance, cli_watch):
        module.register(app)


_register_commands()

if __name__ == "__main__":
    app(prog_name="ttsign")
