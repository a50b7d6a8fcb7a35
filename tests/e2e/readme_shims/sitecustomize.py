"""Loaded by every Python process a README block starts (tests/e2e/test_readme.py puts this directory first
on PYTHONPATH), never by anything else.

* TikTokLive talks to TikTok itself for the room lookup: its two base URLs are pointed at the offline fake
  (``README_FAKE_URL``), as tests/e2e/test_live_connect.py does in-process.
* Offline guard: resolving any name that is not loopback raises, so a block that would reach the real
  TikTok (or anything else) fails instead of touching the network.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import socket
import sys

_FAKE = os.environ.get("README_FAKE_URL", "")
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}

if _FAKE:
    _getaddrinfo = socket.getaddrinfo

    def _offline_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK and not str(name).startswith("127."):
            raise OSError(f"README test is offline: refusing to resolve {name!r}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = _offline_getaddrinfo

    class _PointTikTokLiveAtTheFake(importlib.abc.MetaPathFinder):
        """Patch TikTokLive's WebDefaults when (and only if) the block imports it: importing it here costs 1 s."""

        def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
            if name != "TikTokLive.client.web.web_settings":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):  # type: ignore[no-untyped-def]
                exec_module(module)
                module.WebDefaults.tiktok_app_url = _FAKE
                module.WebDefaults.tiktok_webcast_url = _FAKE + "/webcast"

            spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _PointTikTokLiveAtTheFake())
