"""ASGI app factory. (Skeleton: /health only; the HTTP server issue fills in the API.)"""

from __future__ import annotations

import time

from fastapi import FastAPI

from ttsign import __version__


def create_app() -> FastAPI:
    app = FastAPI(title="ttsign", version=__version__)

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {
            "status": "ok",
            "timestamp": int(time.time()),
            "version": __version__,
            "components": {"signer": "ok", "providers": ["native"], "store": "memory"},
        }

    return app
