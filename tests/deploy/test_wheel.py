"""The wheel installs and serves from a clean venv outside the repository: `python -m build --wheel` from the
Docker build context (.dockerignore applied, as the Dockerfile's builder stage sees it), a fresh venv in a temp
dir, `pip install 'ttsign-*.whl[redis]'` as the Dockerfile does (dependencies from the package index; pip's cache
keeps it quick), and `ttsign serve` from that venv in an empty working directory: /readyz is 200, /v1/sign
signs, and the code that answers is the venv's, not the repository's.

One test, the slow one of tests/deploy (about 15 s on a quiet machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.deploy.docker_context import copy_context
from tests.deploy.processes import ROOT, Ttsign, clean_env

KEY = "deploy-wheel-key-0123456789abcdef"
URL = "https://www.tiktok.com/api/user/detail/?aid=1988&uniqueId=someone&device_id=7312345678901234567"


def run(args: list[str], cwd: Path, timeout: float = 240) -> str:
    done = subprocess.run(args, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def test_the_wheel_installs_into_a_clean_venv_and_serves(tmp_path: Path) -> None:
    context = copy_context(tmp_path / "context")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(context)], tmp_path)
    (wheel,) = (tmp_path / "dist").glob("ttsign-*-py3-none-any.whl")

    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile"]
    run([*pip, f"{wheel}[redis]"], tmp_path)

    where = run([python, "-c", "import ttsign, redis; print(ttsign.__file__)"], tmp_path).strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT), where
    assert (venv / "bin" / "ttsign").is_file(), "the wheel installs the ttsign command"
    checked = run([str(venv / "bin" / "ttsign"), "vectors", "check"], tmp_path).splitlines()  # the package data
    assert len(checked) >= 3 and all(str(venv) in line and line.endswith(" 0 failed") for line in checked), checked

    server = Ttsign(tmp_path, "serve", {"TTSIGN_API_KEYS": KEY, "TTSIGN_LOG_LEVEL": "warning"}, python=python)
    try:
        server.ready()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.get("/readyz").status_code == 200
            answer = client.post("/v1/sign", json={"url": URL}, headers={"X-Api-Key": KEY})
            assert answer.status_code == 200, answer.text[:300]
            assert "X-Gnarly=" in answer.json()["data"]["signed_url"], answer.text[:300]
            assert client.post("/v1/sign", json={"url": URL}).status_code == 401, "keys are enforced"
    finally:
        server.stop()
