"""`ttsign analyze baseline [--out FILE]` and `ttsign analyze diff [--baseline FILE] [--now FILE] [--json]`: the
change analyzer (`ttsign.monitor.analyze`) on the command line.

`baseline` reads TikTok's live page, its SDK scripts and player (through `TTSIGN_TIKTOK_WWW` / `TTSIGN_PROXY`)
and signs one URL per token kind (by the browser provider when `TTSIGN_PROVIDERS` names it), and writes the
baseline (JSON) to `--out` (default `TTSIGN_MONITOR_BASELINE`, else stdout). `diff` gathers the same now (or
reads `--now FILE`) and reports every change against `--baseline` (default `TTSIGN_MONITOR_BASELINE`).

Exit codes: 0 no change, 1 changes found, 2 could not run (no or unreadable baseline, TikTok's page unreadable).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

analyze_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="The change analyzer: write a baseline, compare now against it"
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@analyze_app.command("baseline")
def baseline_cmd(
    out: Path | None = typer.Option(None, "--out", help="file to write (default TTSIGN_MONITOR_BASELINE, else stdout)"),
    no_tokens: bool = typer.Option(False, "--no-tokens", help="skip signing (page, SDK and socket facts only)"),
) -> None:
    """Write a baseline: SDK builds and hashes, signed paths, token field tables, socket facts, fingerprint."""
    import asyncio

    from ttsign.cli import _log_to_stderr, load_settings
    from ttsign.monitor import baseline as bl

    settings = load_settings()
    _log_to_stderr(settings)
    base = asyncio.run(bl.gather(settings, tokens=not no_tokens))
    target = out or (Path(settings.monitor_baseline) if settings.monitor_baseline else None)
    for section, why in base.errors.items():
        typer.echo(f"warning: {section}: {why}", err=True)
    if "sdk" in base.errors and "socket" in base.errors:
        raise _fail("TikTok's live page could not be read; no baseline written")
    if target is None:
        typer.echo(json.dumps(base.to_dict(), indent=2, ensure_ascii=False))
    else:
        try:
            bl.dump(base, target)
        except OSError as exc:
            raise _fail(f"cannot write {target}: {exc.strerror or exc}") from None
        versions = ", ".join(v for s in base.scripts for v in s.versions) or "no SDK script"
        typer.echo(f"baseline written to {target}: SDK {versions}; {len(base.tokens.get('layouts') or {})} token kinds")
    raise typer.Exit(0)


@analyze_app.command("diff")
def diff_cmd(
    baseline: Path | None = typer.Option(None, "--baseline", help="pinned baseline (default TTSIGN_MONITOR_BASELINE)"),
    now: Path | None = typer.Option(None, "--now", help="compare this baseline file instead of gathering now"),
    as_json: bool = typer.Option(False, "--json", help="machine output"),
    no_tokens: bool = typer.Option(False, "--no-tokens", help="skip signing (page, SDK and socket facts only)"),
) -> None:
    """Compare now against the baseline: what changed, by severity, with evidence and next steps."""
    import asyncio

    from ttsign.cli import _log_to_stderr, load_settings
    from ttsign.monitor import analyze
    from ttsign.monitor import baseline as bl

    settings = load_settings()
    _log_to_stderr(settings)
    path = baseline or (Path(settings.monitor_baseline) if settings.monitor_baseline else None)
    if path is None:
        raise _fail("no baseline: pass --baseline FILE or set TTSIGN_MONITOR_BASELINE (ttsign analyze baseline)")
    try:
        pinned = bl.load(path)
        if now is not None:
            current = bl.load(now)
        else:
            current = asyncio.run(bl.gather(settings, tokens=not no_tokens and bool(pinned.tokens)))
    except bl.BaselineError as exc:
        raise _fail(str(exc)) from None
    if now is None and "sdk" in current.errors and "socket" in current.errors:
        raise _fail(current.errors["sdk"])
    report = analyze.diff(pinned, current)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(report.render(), nl=False)
    raise typer.Exit(1 if report.changed else 0)


def register(app: typer.Typer) -> None:
    """Add `ttsign analyze baseline|diff` to the `ttsign` CLI."""
    app.add_typer(analyze_app, name="analyze")
