"""The deployment's pieces as local processes: `ttsign serve` instances and the balancer (Debian's nginx,
running deploy/nginx/nginx.conf with only its ports and upstream addresses replaced), all on 127.0.0.1.

Every process is started with its output in a log file (shown when something goes wrong) and stopped by its
own pid when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
UPSTREAMS = ("ttsign-1:8080", "ttsign-2:8080")
"""The instances' addresses as compose.yaml names them in the balancer's config."""
LISTEN = "listen 8080;"
NO_TIKTOK = {
    "TTSIGN_TIKTOK_WWW": "http://127.0.0.1:9",  # the discard port: no test here talks to TikTok
    "TTSIGN_TTWID_URL": "http://127.0.0.1:9/ttwid",
    "TTSIGN_WEBCAST_URL": "http://127.0.0.1:9/webcast",
    "TTSIGN_WS_URL": "ws://127.0.0.1:9/ws",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TTSIGN_* (or a PYTHONPATH pointing elsewhere), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TTSIGN_", "PYTHON"))}
    env.update(extra)
    return env


def tail(path: Path, n: int = 3000) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return text if len(text) <= n else "..." + text[-n:]


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Until `url` answers 200; fails with the process's log if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode} before {url} answered:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 within {timeout} s:\n{tail(log)}")
        time.sleep(0.05)


class Process:
    """One child process, its output in `log`; stopped with SIGTERM (SIGKILL after `grace` seconds)."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str], cwd: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Ttsign(Process):
    """`ttsign serve` on a free port of 127.0.0.1 (with `python` from `python`, the repo's venv by default)."""

    def __init__(self, tmp: Path, name: str, settings: dict[str, str], python: str = sys.executable) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = clean_env(
            PYTHONUNBUFFERED="1",
            TTSIGN_HOST="127.0.0.1",
            TTSIGN_PORT=str(self.port),
            TTSIGN_LOG_JSON="true",
            **NO_TIKTOK,
            **settings,
        )
        cwd = tmp / name
        cwd.mkdir()  # its own empty working directory: no .env is read
        super().__init__([python, "-m", "ttsign", "serve"], tmp / f"{name}.log", env, cwd)

    def ready(self, timeout: float = 30.0) -> Ttsign:
        """Waits for /readyz (several instances start in parallel, then each is awaited)."""
        wait_http(f"{self.url}/readyz", self.proc, self.log, timeout)
        return self


def nginx_binary() -> str:
    """Debian's nginx, or a failure naming the fix (`make test` installs it; CI always has it)."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None)
    if found is None:
        pytest.fail("nginx is missing: apt-get install -y nginx (make test installs it)")
    return found


def balancer_conf(listen_port: int, upstream_ports: tuple[int, int]) -> str:
    """deploy/nginx/nginx.conf with its listen port and the two upstream addresses on 127.0.0.1 instead."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    for name, port in zip(UPSTREAMS, upstream_ports, strict=True):
        assert text.count(f"server {name} ") == 1, f"{NGINX_CONF} no longer names the upstream {name} once"
        text = text.replace(f"server {name} ", f"server 127.0.0.1:{port} ")
    assert text.count(LISTEN) == 1, f"{NGINX_CONF} no longer has one `{LISTEN}`"
    return text.replace(LISTEN, f"listen 127.0.0.1:{listen_port};")


def nginx_args(conf: Path) -> list[str]:
    """Run `conf` in the foreground with its pid file and error log beside it (not the system's)."""
    prefix = conf.parent
    return [nginx_binary(), "-e", "stderr", "-p", str(prefix), "-c", str(conf), "-g", f"pid {prefix}/nginx.pid;"]


class Balancer(Process):
    def __init__(self, tmp: Path, upstream_ports: tuple[int, int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = tmp / "nginx"
        home.mkdir()
        conf = home / "nginx.conf"
        conf.write_text(balancer_conf(self.port, upstream_ports), encoding="utf-8")
        checked = subprocess.run([*nginx_args(conf), "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx -t refused deploy/nginx/nginx.conf:\n{checked.stderr}"
        args = nginx_args(conf)
        args[-1] = f"pid {home}/nginx.pid; daemon off;"
        super().__init__(args, tmp / "nginx.log", clean_env(), home)

    def ready(self, timeout: float = 30.0) -> Balancer:
        """Waits until the balancer answers /readyz from an instance."""
        wait_http(f"{self.url}/readyz", self.proc, self.log, timeout)
        return self
