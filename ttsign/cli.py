"""Command line: `ttsign serve | sign | decode | vectors check`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ttsign.config import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="ttsign: self-hosted TikTok signing")
vectors_app = typer.Typer(no_args_is_help=True, help="Reference-vector checks")
app.add_typer(vectors_app, name="vectors")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default TTSIGN_HOST or 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default TTSIGN_PORT or 8080)"),
    workers: int | None = typer.Option(None, help="worker processes"),
) -> None:
    """Start the HTTP server."""
    import uvicorn

    from ttsign.server.auth import is_loopback

    s = get_settings()
    bind = host or s.host
    try:
        keys = s.api_key_set()
    except OSError as exc:
        typer.echo(f"error: cannot read TTSIGN_API_KEYS_FILE: {exc}", err=True)
        raise typer.Exit(2) from None
    if not keys and not is_loopback(bind):
        typer.echo(
            f"error: refusing to listen on {bind} without API keys. Set TTSIGN_API_KEYS=key1,key2 "
            "(or TTSIGN_API_KEYS_FILE) to serve a public address, or bind 127.0.0.1.",
            err=True,
        )
        raise typer.Exit(2)
    uvicorn.run(
        "ttsign.server.app:create_app",
        factory=True,
        host=bind,
        port=port or s.port,
        workers=workers or s.workers,
        log_level=s.log_level.lower(),
        access_log=False,  # one structured line per request comes from our middleware
        timeout_graceful_shutdown=30,  # SIGTERM: stop accepting, let in-flight requests finish
    )


@app.command()
def sign(
    url: str = typer.Argument(..., help="the TikTok URL to sign"),
    method: str = typer.Option("GET", "--method", "-X"),
    body: str = typer.Option("", "--body", help="the exact request body that will be sent"),
    user_agent: str | None = typer.Option(None, "--user-agent", help="UA to sign for (default: preset)"),
    ms_token: str | None = typer.Option(None, "--ms-token", help="a real msToken to pass through"),
    as_json: bool = typer.Option(False, "--json", help="print every token, header and the navigator"),
) -> None:
    """Sign a URL and print the signed URL (or JSON with --json)."""
    from ttsign.signing.policy import PolicyError
    from ttsign.signing.signer import Signer, SignerOptions

    s = get_settings()
    signer = Signer(
        SignerOptions(
            gnarly_version=s.gnarly_version,
            env_code=s.env_code,
            ub_code=s.ub_code,
            webcast_xbogus=s.webcast_xbogus,
            preset=s.browser_preset,
        )
    )
    try:
        signed = signer.sign(url, method, body, user_agent, ms_token)
    except (PolicyError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(signed.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(signed.url)


@app.command()
def decode(token: str = typer.Argument(..., help="an X-Bogus, X-Gnarly, X-Dynosaur or x-tt-params")) -> None:
    """Detect a token's type and print its fields as JSON."""
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
    files: list[Path] = typer.Argument(..., help="vector files in the shared/vectors format"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="print why each failure failed"),
) -> None:
    """Check vector files against our implementation; exit 1 if any vector failed."""
    from ttsign.vectors import check_file

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


if __name__ == "__main__":
    app()
