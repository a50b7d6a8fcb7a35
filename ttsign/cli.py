"""Command line: `ttsign serve | sign | decode | vectors check`."""

from __future__ import annotations

import typer

from ttsign.config import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="ttsign: self-hosted TikTok signing")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default TTSIGN_HOST or 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default TTSIGN_PORT or 8080)"),
    workers: int | None = typer.Option(None, help="worker processes"),
) -> None:
    """Start the HTTP server."""
    import uvicorn

    s = get_settings()
    uvicorn.run(
        "ttsign.server.app:create_app",
        factory=True,
        host=host or s.host,
        port=port or s.port,
        workers=workers or s.workers,
        log_level=s.log_level.lower(),
    )


if __name__ == "__main__":
    app()
