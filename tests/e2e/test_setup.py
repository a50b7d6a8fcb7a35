"""A newcomer's set-up: `python -m ttsign`, `--version`, help without `<bool>`, the shipped vectors, the
LICENSE, `make serve` installing only what serving needs and repairing a broken venv, start-up logs as
JSON (uvicorn's lines too) with a summary line, and the example that fails in one line when a server is down.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

import ttsign
from tests.fakes.tiktok import FakeTikTok

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HAS_MAKE = shutil.which("make") is not None


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TTSIGN_") and k not in ("HOST", "PORT")}
    clean.pop("LOG_LEVEL", None)
    return {**clean, "PYTHONPATH": str(ROOT), **extra}


def ttsign_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttsign", *args], env=_env(**env), capture_output=True, text=True, timeout=60
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- python -m ttsign, --version, --help ------------------------------------------------------------


def test_python_m_ttsign_and_version() -> None:
    r = ttsign_cli("--version")
    assert r.returncode == 0 and r.stdout == f"ttsign {ttsign.__version__}\n", r.stderr
    assert ttsign.__version__ == PYPROJECT["project"]["version"]
    r = ttsign_cli("--help")
    assert r.returncode == 0 and "Usage: ttsign" in r.stdout
    for command in ("serve", "sign", "decode", "room", "check", "vectors"):
        assert command in r.stdout


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["sign"], ["decode"], ["room"], ["check"], ["vectors"], ["vectors", "check"]]
)
def test_help_has_no_bool_noise(command: list[str]) -> None:
    from typer.testing import CliRunner

    from ttsign.cli import app

    r = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    assert "<bool>" not in r.output and "--no-" not in r.output, r.output
    assert "--help" in r.output


# ---- the shipped vectors ----------------------------------------------------------------------------


def test_vectors_check_without_arguments_checks_the_shipped_vectors() -> None:
    from ttsign.cli import VECTORS_DIR, shipped_vector_files

    shipped = shipped_vector_files()
    assert {p.name for p in shipped} >= {"xbogus.json", "xgnarly.json", "gnarly532.json", "dynosaur.json", "urls.json"}
    r = ttsign_cli("vectors", "check")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(shipped)
    for path, line in zip(shipped, lines, strict=True):
        assert line.startswith(f"{path}: ") and line.endswith(" 0 failed") and " 0 passed" not in line, line
    # One source: the tests' vectors are the package's files, and the package ships them.
    assert (ROOT / "tests" / "vectors").resolve() == VECTORS_DIR.resolve()
    assert "vectors/data/*.json" in PYPROJECT["tool"]["setuptools"]["package-data"]["ttsign"]


def test_vectors_check_without_arguments_fails_when_a_shipped_vector_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ttsign import cli

    data = json.loads((cli.VECTORS_DIR / "xttparams.json").read_text(encoding="utf-8"))
    data["vectors"][0]["expected"] = "AAAA" + str(data["vectors"][0].get("expected", ""))[4:]
    (tmp_path / "xttparams.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(cli, "VECTORS_DIR", tmp_path)
    r = CliRunner().invoke(cli.app, ["vectors", "check"])
    assert r.exit_code == 1 and "1 failed" in r.stdout, r.stdout


# ---- LICENSE and packaging --------------------------------------------------------------------------


def test_license_file_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "the ttsign authors" in text
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]


# ---- make serve -------------------------------------------------------------------------------------


def make_dry_run(target: str, venv: Path) -> str:
    r = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # run as a top-level make even inside `make test` (no "Entering directory", no inherited flags)
        env={k: v for k, v in _env().items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def _healthy_venv(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(sys.executable)  # a python that imports pip
    return path


@pytest.mark.skipif(not HAS_MAKE, reason="make not installed")
def test_make_serve_installs_only_what_serving_needs(tmp_path: Path) -> None:
    plan = make_dry_run("serve", tmp_path / "fresh")
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    # the package, and (where cargo is) the compiled fast path: maturin to build it and the wheel it builds
    allowed = ("install --quiet -e .", "install --quiet maturin", "--no-deps accel/target/wheels/*.whl")
    assert installs and all(line.rstrip().endswith(allowed) for line in installs), installs
    assert any(line.rstrip().endswith(allowed[0]) for line in installs), installs
    assert "[dev]" not in plan and "requirements-test" not in plan
    assert "-m ttsign serve" in plan
    test_plan = make_dry_run("venv", tmp_path / "fresh")
    assert "-e '.[dev]' -r requirements-test.txt" in test_plan


@pytest.mark.skipif(not HAS_MAKE, reason="make not installed")
def test_make_serve_with_everything_installed_only_serves(tmp_path: Path) -> None:
    venv = _healthy_venv(tmp_path / "venv")
    plan = make_dry_run("serve", venv)
    for line in plan.splitlines():  # the package's stamp and, where cargo is, the compiled path's
        if line.startswith("touch "):
            Path(line.split()[-1]).touch()
    again = make_dry_run("serve", venv).strip().splitlines()
    # what is left: the check for cargo (which finds the compiled path built), then serving
    assert again[-1] == f"{venv}/bin/python -m ttsign serve", again
    assert not [line for line in again if "install" in line or "maturin" in line], again


@pytest.mark.skipif(not HAS_MAKE, reason="make not installed")
@pytest.mark.parametrize("damage", ["python missing", "pip broken"])
def test_make_serve_repairs_a_broken_venv(tmp_path: Path, damage: str) -> None:
    venv = _healthy_venv(tmp_path / "venv")
    stamp = next(line for line in make_dry_run("serve", venv).splitlines() if line.startswith("touch ")).split()[-1]
    Path(stamp).touch()  # an earlier run "finished": without the check, make would only start the server
    python = venv / "bin" / "python"
    python.unlink()
    if damage == "pip broken":
        python.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named pip' >&2\nexit 1\n")
        python.chmod(0o755)
    plan = make_dry_run("serve", venv)
    assert f"{venv} is broken" in plan
    assert "rm -rf" in plan and "-m venv" in plan and "install --quiet -e ." in plan, plan
    assert "apt install python3-venv" in plan  # what to do when the venv cannot be created


# ---- logging at start-up ----------------------------------------------------------------------------


def test_serve_logs_a_summary_and_uvicorn_lines_as_json(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttsign", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(TTSIGN_API_KEYS="k1-secret-abcdef,k2-secret-abcdef", TTSIGN_CONNECT_STRATEGY="relay"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, status = time.monotonic() + 20, 0
        while status != 200 and proc.poll() is None and time.monotonic() < deadline:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1).status
            except OSError:
                time.sleep(0.1)
        assert status == 200, proc.poll()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode in (0, -15), out[-2000:]  # uvicorn re-raises SIGTERM once it has shut down
    lines = [json.loads(line) for line in out.splitlines()]  # every line is JSON: no plain uvicorn line
    (summary,) = [ln for ln in lines if ln["event"] == "starting"]
    assert summary["version"] == ttsign.__version__ and summary["bind"] == f"127.0.0.1:{port}"
    assert summary["auth"] == "keys: 2" and summary["store"] == "memory" and summary["connect_strategy"] == "relay"
    assert summary["providers"] == ["native"] and summary["level"] == "info"
    assert summary["limits"]["rate_limit_minute"] == 120 and summary["timeouts_s"]["upstream"] == 10.0
    uvicorn_events = {ln["event"] for ln in lines if ln.get("logger", "").startswith("uvicorn")}
    assert any(e.startswith("Started server process") for e in uvicorn_events), uvicorn_events
    assert "Shutting down" in uvicorn_events
    assert "k1-secret-abcdef" not in out and "k2-secret-abcdef" not in out


def test_uvicorn_error_lines_are_redacted_json(capsys: pytest.CaptureFixture[str]) -> None:
    import logging
    import logging.config

    from ttsign.server import logs

    logging.config.dictConfig(logs.uvicorn_log_config("info", True))
    try:
        try:
            raise RuntimeError("upstream said no to msToken=abcdefsecret123 sessionid=zzzsecret999")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        logs.configure("warning", True)  # back to the tests' set-up (dictConfig replaced the root handler)
    out = capsys.readouterr().out
    (line,) = [json.loads(ln) for ln in out.splitlines() if "ASGI" in ln]
    assert line["level"] == "error" and line["logger"] == "uvicorn.error" and "timestamp" in line
    assert "Traceback" in line["exception"] and "RuntimeError" in line["exception"]
    assert "abcdefsecret123" not in out and "zzzsecret999" not in out


def test_create_app_has_no_process_wide_side_effects() -> None:
    import gc
    import logging

    import structlog

    from ttsign.config import Settings
    from ttsign.server.app import create_app
    from ttsign.server.runner import serving_app

    root = logging.getLogger()
    before = (gc.get_threshold(), list(root.handlers), root.level, structlog.get_config()["processors"])
    create_app(Settings(log_level="debug", log_json=False))
    after = (gc.get_threshold(), list(root.handlers), root.level, structlog.get_config()["processors"])
    assert after == before
    assert serving_app.__module__ == "ttsign.server.runner"  # logging and the GC are set up there, for serve


# ---- the example ------------------------------------------------------------------------------------


def run_example(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "watch_chat.py"), "fakeuser"],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_example_exits_with_one_line_when_the_sign_server_is_down() -> None:
    with FakeTikTok() as fake:
        r = run_example(
            SIGN_API_URL=f"http://127.0.0.1:{free_port()}",
            TIKTOK_APP_URL=fake.base_url,
            TIKTOK_WEBCAST_URL=fake.webcast_url,
        )
    assert r.returncode == 1, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the sign server at http://127.0.0.1:"), r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_example_exits_with_one_line_when_tiktok_is_down() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_example(SIGN_API_URL=dead, TIKTOK_APP_URL=dead, TIKTOK_WEBCAST_URL=dead + "/webcast")
    assert r.returncode == 1, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach TikTok ({dead})"), r.stderr


def test_serving_app_sets_up_logging_and_tunes_the_gc_after_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from starlette.testclient import TestClient

    from ttsign.config import get_settings
    from ttsign.server import logs
    from ttsign.server.runner import serving_app

    threshold = gc.get_threshold()
    monkeypatch.setenv("TTSIGN_LOG_LEVEL", "error")
    get_settings.cache_clear()
    try:
        app = serving_app()
        assert gc.get_threshold() == threshold  # nothing until the app starts
        with TestClient(app) as client:
            assert client.get("/livez").status_code == 200
            assert gc.get_threshold() == (20_000, 50, 100) and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        get_settings.cache_clear()
        logs.configure("warning", True)
