"""`ttsign monitor`: the canary monitor from the command line, in-process (no server needed).

It builds what the server builds from the same settings (the provider chain, with the browser provider
when `TTSIGN_PROVIDERS` names it; the upstream client; the alerter for `TTSIGN_ALERT_URLS`; the automatic
response) and runs `ttsign.monitor.cycle.run_cycle`: once with `--once`, else every `--interval` seconds
(default `TTSIGN_MONITOR_INTERVAL`, or 900) until interrupted. Each cycle prints one line per check (its
outcome, time and the gist of its evidence) and each event it emitted; `--json` prints one JSON object per
cycle instead (`CycleResult.to_dict()` plus `events`), one per line.

Exit codes: 0 healthy (every check ok or skipped), 1 a drift or a failure found (the last cycle's, in a
loop), 2 could not run (bad settings, a provider that cannot be built, a start-up error).

`--simulate KIND` runs the whole response against an injected change (`ttsign.monitor.simulate.run`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any

import typer

DEFAULT_INTERVAL_S = 900.0
EXIT = {"ok": 0, "skipped": 0, "drift": 1, "fail": 1}


def _gist(check: dict[str, Any]) -> str:
    ev = check.get("evidence") or {}
    for key in ("error", "reason"):
        if ev.get(key):
            return str(ev[key])
    if check["name"] == "agreement" and "compared" in ev:
        text = f"{ev['agreed']}/{ev['compared']} URLs agree"
        return text + (f"; differing: {', '.join(ev['fields'])}" if ev.get("fields") else "")
    if check["name"] == "live_probe" and ev.get("steps"):
        steps = " ".join(f"{s['step']}:{'ok' if s['ok'] else s['class']}" for s in ev["steps"])
        return steps + (f"; socket accepts {', '.join(ev['accepted'])}" if ev.get("accepted") else "")
    return ""


def render(cycle: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """The human lines for one cycle (`CycleResult.to_dict()`) and the events it emitted."""
    lines = [f"cycle: {cycle['outcome']} in {cycle['duration_s'] * 1000:.0f} ms"]
    for check in cycle["checks"]:
        gist = _gist(check)
        lines.append(
            f"  {check['name']:<11} {check['outcome']:<7} {check['duration_s'] * 1000:7.0f} ms"
            + (f"  {gist[:200]}" if gist else "")
        )
    for event in events:
        lines.append(f"  event {event['kind']} [{event['severity']}] {event['key']}: {event['title']}")
    return lines


async def _cycles(settings: Any, *, once: bool, interval_s: float, as_json: bool, last: list[int]) -> int:
    from ttsign.monitor.cycle import run_cycle
    from ttsign.monitor.model import Event
    from ttsign.server.app import create_app

    app = create_app(settings.model_copy(update={"monitor_interval_s": 0.0}))  # this command runs the cycles
    services = app.state.services
    emitted: list[Event] = []

    async def record(event: Event) -> None:
        emitted.append(event)

    services.events.subscribe(record)
    async with app.router.lifespan_context(app):
        while True:
            emitted.clear()
            cycle = await run_cycle(services)
            data = cycle.to_dict()
            events = [e.to_dict() for e in emitted]
            if as_json:
                typer.echo(json.dumps({**data, "events": events}, default=str, ensure_ascii=False))
            else:
                for line in render(data, events):
                    typer.echo(line)
            code = EXIT[cycle.outcome]
            last[:] = [code]
            if once:
                return code
            await asyncio.sleep(interval_s)


def _simulate(kind: str, settings: Any) -> int:
    try:
        simulate = importlib.import_module("ttsign.monitor.simulate")
    except ModuleNotFoundError as exc:
        if exc.name != "ttsign.monitor.simulate":
            raise
        typer.echo("error: --simulate is not available in this build (ttsign.monitor.simulate is missing)", err=True)
        return 2
    kinds = getattr(simulate, "KINDS", None)
    if kinds is not None and kind not in kinds:
        typer.echo(f"error: --simulate {kind[:40]!r} is not a kind: use one of {', '.join(kinds)}", err=True)
        return 2
    try:
        out = simulate.run(kind, settings)
        if asyncio.iscoroutine(out):
            out = asyncio.run(out)
    except getattr(simulate, "SimulationError", ()) as exc:  # could not run: one line
        typer.echo(f"error: {exc}", err=True)
        return 2
    return out if isinstance(out, int) else (0 if getattr(out, "ok", True) else 1)  # a Timeline: 1 if incomplete


def register(app: typer.Typer) -> None:
    """Add `ttsign monitor` to the `ttsign` CLI."""

    @app.command()
    def monitor(
        once: bool = typer.Option(False, "--once", help="run one cycle and exit"),
        as_json: bool = typer.Option(False, "--json", help="one JSON object per cycle (machine output)"),
        interval: float = typer.Option(
            0.0, "--interval", min=0.0, help="seconds between cycles (default TTSIGN_MONITOR_INTERVAL, else 900)"
        ),
        simulate: str = typer.Option(
            "", "--simulate", metavar="KIND", help="run the whole response against an injected change"
        ),
    ) -> None:
        """The canary monitor: agreement with TikTok's SDK, SDK build and player watch, live probes.

        Exit code 0 healthy, 1 drift or failure found, 2 could not run."""
        from ttsign.cli import _log_to_stderr, load_settings
        from ttsign.providers.base import ProviderError
        from ttsign.server.app import StoreError

        settings = load_settings()
        _log_to_stderr(settings)
        if simulate:
            raise typer.Exit(_simulate(simulate, settings))
        every = interval or settings.monitor_interval_s or DEFAULT_INTERVAL_S
        last: list[int] = [0]
        try:
            code = asyncio.run(_cycles(settings, once=once, interval_s=every, as_json=as_json, last=last))
        except KeyboardInterrupt:
            code = last[0]  # interrupted: the last cycle's verdict
        except (ValueError, StoreError) as exc:
            typer.echo(f"error: the monitor could not start: {str(exc).splitlines()[0][:300]}", err=True)
            code = 2
        except ProviderError as exc:
            typer.echo(f"error: the monitor could not start: {exc.message[:300]}", err=True)
            code = 2
        raise typer.Exit(code)
