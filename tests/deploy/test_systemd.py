"""deploy/systemd/ttsign.service: `systemd-analyze verify` finds nothing to say about it (a misspelt option is
only a warning there, so any output fails), and `systemd-analyze security` rates it well hardened. Where
systemd-analyze is missing, these two checks are skipped with that reason; the text checks always run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.processes import ROOT

UNIT = ROOT / "deploy" / "systemd" / "ttsign.service"
EXEC = "/opt/ttsign/bin/ttsign"
MAX_EXPOSURE = 2.0
"""`systemd-analyze security`'s overall exposure (0 = locked down, 10 = unprotected); 1.2 when written."""
HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "DynamicUser=yes",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter=@system-service",
    "MemoryMax=",
    "TasksMax=",
    "EnvironmentFile=/etc/ttsign/ttsign.env",
)


def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed on this machine (Debian: apt-get install systemd)")
    return found


def runnable_copy(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this venv's ttsign (verify checks that the command exists)."""
    text = UNIT.read_text(encoding="utf-8") if text is None else text
    assert text.count(f"ExecStart={EXEC} ") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(EXEC, str(Path(sys.executable).parent / "ttsign")), encoding="utf-8")
    return copy


def verify(path: Path) -> str:
    done = subprocess.run([analyze(), "verify", str(path)], capture_output=True, text=True, timeout=60)
    return (done.stdout + done.stderr).strip() + ("" if done.returncode == 0 else f"\n(exit {done.returncode})")


def exposure(path: Path) -> float:
    done = subprocess.run(
        [analyze(), "security", "--offline=yes", "--no-pager", str(path)], capture_output=True, text=True, timeout=60
    )
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert m, done.stdout[-1500:] + done.stderr
    return float(m.group(1))


def test_the_unit_verifies_without_a_word(tmp_path: Path) -> None:
    assert verify(runnable_copy(tmp_path)) == ""


def test_verify_would_notice_a_misspelt_option(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSystem=stric")
    assert "ignoring: stric" in verify(runnable_copy(tmp_path, text))


def test_the_unit_is_rated_well_hardened(tmp_path: Path) -> None:
    assert exposure(runnable_copy(tmp_path)) <= MAX_EXPOSURE


def test_without_its_hardening_the_rating_would_fail(tmp_path: Path) -> None:
    lines = [line for line in UNIT.read_text(encoding="utf-8").splitlines() if not line.startswith(HARDENING[:-3])]
    assert exposure(runnable_copy(tmp_path, "\n".join(lines) + "\n")) > MAX_EXPOSURE


def test_the_unit_names_its_hardening_and_its_env_file() -> None:
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    for option in HARDENING:
        assert any(line.startswith(option) for line in lines), option
    assert any(line.startswith("ExecStart=/opt/ttsign/bin/ttsign serve") for line in lines)
