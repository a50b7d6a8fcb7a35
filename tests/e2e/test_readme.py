"""Every fenced code block of README.md runs, read from the README at collection time (no copies kept).

Against a real ttsign server on a free port whose upstream bases point at the offline fake TikTok, which knows
the usernames the README uses (``README_USERS``):

* ``sh`` blocks run line by line in bash from the repository root (``http://127.0.0.1:8080`` is rewritten to the
  test server; ``curl`` fails on an HTTP error; ``.venv/bin`` is first on PATH, as after ``pip install .``).
  A server line (``ttsign serve``, ``python -m tests.fakes.tiktok``) is started in the background on free
  ports (the block's ports are rewritten consistently), awaited, and stopped when its block ends. The lines not
  run are in ``NOT_EXECUTED``, each with its reason; ``node X.mjs`` is run by the test of the block ``// X.mjs``.
* ``python`` blocks run as scripts; the TikTokLive example must connect and print a chat line, then is stopped.
* The ``js`` block is written as the file its first line names, in a temporary directory inside tests/e2e/node
  (so it resolves the installed tiktok-live-connector), and run by the README's own run line; it must print the
  connected line with the room id and a chat line.
* Config blocks are syntax-checked where the checker is installed (``nginx -t``, ``caddy adapt``, tomllib,
  json); otherwise they are listed in ``UNCHECKED`` with the reason. A ``text`` block is a layout tree whose
  paths must exist.
* A block with no language, or one this file does not know, fails: a new block must be covered here.

Every child process gets tests/e2e/readme_shims: TikTokLive's and the connector's own TikTok lookups go to the
fake, and any connection to a non-loopback address fails (plus a dead ``all_proxy`` for curl and libcurl).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import NODE_DIR, ServerThread, free_port, node_available
from tests.e2e.readme_blocks import Block, Command, blocks, commands
from tests.fakes.tiktok import CHAT_TEXTS, DEFAULT_USERS, FAKE_USER, FakeTikTok, FakeUser
from ttsign.config import Settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHIMS = Path(__file__).parent / "readme_shims"
VENV_BIN = Path(sys.executable).parent
README_BLOCKS = blocks(README)

README_USERS = ("someone", "tiktok", "someone_live_now")
"""Usernames the README's examples use; the fake knows each as a live streamer."""

NO_DOCKER = (
    "needs a Docker daemon and an image registry, not here: tests/deploy lints the Dockerfile, validates "
    "compose.yaml and runs its topology from processes"
)
NOT_EXECUTED: dict[str, str] = {
    "redis-server --port 6379 --save ''": "runs until stopped, outside what this test stops; the ttsign lines after "
    "it serve without it (store degraded), tests/api/test_store_instances.py runs the topology on its own Redis",
    "make serve": "installs into .venv and serves until stopped; this test serves the same app itself",
    "make test": "is the suite this test belongs to",
    "pip install TikTokLive==7.0.1": "needs PyPI; requirements-test.txt put this version into .venv, which runs "
    "the python block",
    "npm install tiktok-live-connector@2.5.0": "needs the npm registry; `make test` installed this version into "
    "tests/e2e/node (from its lockfile), where the js block runs",
    "sudo apt-get install -y chromium": "needs root and the Debian archive; `make test` installs it (its chromium "
    "target)",
    "python3 -m venv .venv": "would recreate the .venv this test runs in; `make test` made it",
    ".venv/bin/pip install -e '.[browser]'": "needs PyPI; `make test` put Playwright into .venv (the dev extra)",
    "TTSIGN_PROVIDERS=native,browser .venv/bin/ttsign serve": "loads TikTok's page, which needs the internet; "
    "tests/api/test_provider_fallback.py serves native,browser offline with the npm SDK (TTSIGN_BROWSER_SDK)",
    # Running several instances: Docker, compose and systemd are not here (tests/deploy checks their files).
    "docker build -t ttsign .": NO_DOCKER,
    "docker build --build-arg WITH_BROWSER=1 -t ttsign:browser .": NO_DOCKER,
    "docker run --rm -p 127.0.0.1:8080:8080 --env-file deploy/ttsign.env ttsign": NO_DOCKER,
    "docker compose up -d --build": NO_DOCKER,
    "python3 -m build --wheel --outdir dist .": "tests/deploy/test_wheel.py builds, installs and serves the wheel "
    "in a temp dir",
    'sudo python3 -m venv /opt/ttsign && sudo /opt/ttsign/bin/pip install "$(ls dist/ttsign-*.whl)[redis]"': "installs "
    "system-wide; tests/deploy/test_wheel.py installs the wheel into a temp venv",
    "sudo install -D -m 0600 deploy/ttsign.env.example /etc/ttsign/ttsign.env": "writes /etc (tests/deploy checks "
    "that the example names real settings)",
    "sudo cp deploy/systemd/ttsign.service /etc/systemd/system/ && sudo systemctl enable --now ttsign": "needs systemd "
    "as init; tests/deploy/test_systemd.py checks the unit with systemd-analyze verify and security",
}
"""sh lines (without their trailing comment) that are not run, and why. Keep it short: every other line runs."""

UNCHECKED: dict[str, str] = {
    "nginx": "needs nginx for `nginx -t`, which is not installed here",
    "caddyfile": "needs caddy for `caddy adapt`, which is not installed here",
}
"""Config languages whose checker may be missing offline; used only when the checker is not on PATH."""

SH_LANGS = {"sh", "bash", "shell"}
PY_LANGS = {"python", "py"}
JS_LANGS = {"js", "javascript", "mjs"}
TRACE = re.compile(r"Traceback \(most recent call last\)|^\s+at .+:\d+:\d+\)?$", re.M)
"""A Python traceback or a Node stack trace."""
SERVICE = re.compile(r"(^|\s)(\S*ttsign|python3? -m ttsign)\s+serve\b|python3? -m tests\.fakes(\.tiktok)?\b")
EXAMPLE_RUN = re.compile(r"(^|\s)(\S+/)?examples/\S+\.py\b")
"""An sh line running one of examples/: a live client that runs until stopped."""
NODE_RUN = re.compile(r"(^|\s)node\s+(\S+\.m?js)\b")
PORT_REF = re.compile(r"(?<=127\.0\.0\.1:)\d+|(?<=localhost:)\d+|(?<=--port )\d+|(?<=--port=)\d+|(?<=PORT=)\d+")
LISTEN = re.compile(r"(?:--port[ =]|(?<!\w)(?:TTSIGN_)?PORT=)(\d+)")
"""The port a server line listens on, when it names one."""
OUTSIDE = re.compile(r"(^|[\s=:'\"])\.\./")
LINE_TIMEOUT = 30.0
CLIENT_TIMEOUT = 30.0


@dataclass
class World:
    fake: FakeTikTok
    server: ServerThread
    env: dict[str, str]
    users: dict[str, FakeUser] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    extra = tuple(
        FakeUser(u, f"68123456789012346{i:02d}", f"74512345678901235{i:02d}", u) for i, u in enumerate(README_USERS)
    )
    with FakeTikTok(users=DEFAULT_USERS + extra) as fake:
        upstream = {
            "TTSIGN_TIKTOK_WWW": fake.base_url,
            "TTSIGN_TTWID_URL": fake.ttwid_url,
            "TTSIGN_WEBCAST_URL": fake.webcast_url,
            "TTSIGN_WS_URL": fake.ws_url,
            "TTSIGN_UPSTREAM_TIMEOUT": "5",
        }
        settings = Settings(
            log_json=True,
            log_level="warning",
            tiktok_www=fake.base_url,
            ttwid_url=fake.ttwid_url,
            webcast_url=fake.webcast_url,
            ws_url=fake.ws_url,
            upstream_timeout=5,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TTSIGN_", "SIGN_API", "PYTHON"))}
        env.update(upstream)
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=str(SHIMS),
            PYTHONUNBUFFERED="1",
            README_FAKE_URL=fake.base_url,
            README_FAKE_HOST=f"0.0.0.0:{fake.port}",
            README_NODE_DIR=str(NODE_DIR),
            all_proxy="http://127.0.0.1:9",  # the discard port: anything not loopback fails fast
            ALL_PROXY="http://127.0.0.1:9",
            no_proxy="127.0.0.1,localhost,0.0.0.0,::1",
            NO_PROXY="127.0.0.1,localhost,0.0.0.0,::1",
        )
        with ServerThread(settings) as server:
            yield World(fake, server, env, {u.unique_id: u for u in extra})


# ---- processes ---------------------------------------------------------------------------------------------


def _tail(text: str, n: int = 2500) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, wait: float = 10) -> None:
    """Signal the line's process group (its shell and all it started, `&` jobs included) and wait until it is
    gone; SIGKILL what is left after `wait` seconds."""
    deadline = time.monotonic() + wait
    try:
        os.killpg(proc.pid, sig)
        while time.monotonic() < deadline:
            proc.poll()  # reap the shell, or it stays in the group as a zombie
            os.killpg(proc.pid, 0)
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def _bash(command: str, env: dict[str, str], cwd: Path, log: Path | None = None) -> subprocess.Popen[str]:
    """Run one README line in bash; curl fails on HTTP errors. With `log`, output goes to that file (a server
    line: its `&` children may keep a pipe open for ever) instead of pipes."""
    prelude = 'set -eo pipefail\ncurl() { command curl --fail-with-body --max-time 20 "$@"; }\n'
    out = log.open("w") if log else subprocess.PIPE
    try:
        return subprocess.Popen(
            ["bash", "-c", prelude + command],
            cwd=cwd,
            env=env,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            start_new_session=True,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def run_until(proc: subprocess.Popen[str], wanted: list[re.Pattern[str]], timeout: float) -> tuple[str, str]:
    """Read stdout until every pattern matched a line, then stop the process as Ctrl-C does (SIGINT); fail if
    it exits first, time runs out, or it does not end cleanly (no traceback, no stack trace) after Ctrl-C."""
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    missing = list(wanted)
    deadline = time.monotonic() + timeout
    try:
        while missing and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            missing = [p for p in missing if not p.search(line)]
    finally:
        _stop(proc, signal.SIGINT)
    rest, err = proc.communicate()
    stdout = "".join(out) + rest
    assert not missing, (
        f"never printed {[p.pattern for p in missing]} within {timeout}s (exit {proc.returncode})"
        f"\n--- stdout\n{_tail(stdout)}\n--- stderr\n{_tail(err)}"
    )
    assert not TRACE.search(err), f"Ctrl-C left a trace:\n{_tail(err)}"
    return stdout, err


def run_to_end(proc: subprocess.Popen[str], timeout: float = LINE_TIMEOUT) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc, signal.SIGKILL)
        raise AssertionError(f"still running after {timeout}s") from None
    return proc.returncode, out, err


def wait_port(port: int, proc: subprocess.Popen[str], log: Path, timeout: float = 15) -> None:
    """Until 127.0.0.1:`port` accepts; fail if the line fails first (a line ending in `&` exits at once, 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() not in (None, 0):
            raise AssertionError(f"exited with {proc.returncode} before listening on {port}\n{_tail(log.read_text())}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {timeout}s\n{_tail(log.read_text())}")


# ---- sh ----------------------------------------------------------------------------------------------------


def node_file_blocks() -> dict[str, Block]:
    """js blocks by the file name their first line declares (`// chat.mjs`)."""
    out = {}
    for b in README_BLOCKS:
        m = re.fullmatch(r"//\s*(\S+\.m?js)", b.first_line())
        if b.lang in JS_LANGS and m:
            out[m[1]] = b
    return out


def all_sh_commands() -> list[Command]:
    return [c for b in README_BLOCKS if b.lang in SH_LANGS for c in commands(b)]


def port_map(cmds: list[Command], world: World) -> dict[str, str]:
    """README port -> test port. A block that starts its own server gets fresh ports for every port it names
    (8080 included, the default); elsewhere 8080 is the module's ttsign server."""
    if any(SERVICE.search(c.bare) for c in cmds):
        ports = {"8080"} | {p for c in cmds for p in PORT_REF.findall(c.text)}
        return {p: str(free_port()) for p in sorted(ports)}
    return {"8080": str(world.server.port)}


def rewrite(text: str, ports: dict[str, str]) -> str:
    return PORT_REF.sub(lambda m: ports.get(m[0], m[0]), text)


def run_sh(block: Block, world: World, tmp: Path) -> None:
    cmds = commands(block)
    assert cmds, "an sh block with no command"
    ports = port_map(cmds, world)
    # the server `make serve` would have started, for clients that default to it (examples/watch_chat.py)
    env = dict(world.env, SIGN_API_URL=f"http://127.0.0.1:{ports['8080']}")
    services: list[subprocess.Popen[str]] = []
    try:
        for cmd in cmds:
            where = f"README line {cmd.line}: {cmd.text}"
            assert not OUTSIDE.search(cmd.text), f"{where}\nnames a path outside the checkout: a fresh clone has none"
            if cmd.bare in NOT_EXECUTED:
                continue
            node = NODE_RUN.search(cmd.bare)
            if node:
                assert node[2] in node_file_blocks(), f"{where}\nno js block starts with `// {node[2]}`"
                continue  # run by that block's test, with this very line
            line = rewrite(cmd.text, ports)
            if SERVICE.search(cmd.bare):
                own = LISTEN.findall(line)
                log = tmp / f"server-L{cmd.line}.log"
                proc = _bash(line, env if own else dict(env, TTSIGN_PORT=ports["8080"]), ROOT, log)
                services.append(proc)
                try:
                    wait_port(int(own[0] if own else ports["8080"]), proc, log)
                except AssertionError as exc:
                    raise AssertionError(f"{where}\n{exc}") from None
                continue
            if EXAMPLE_RUN.search(cmd.bare):
                try:
                    run_until(_bash(line, env, ROOT), client_lines("python"), CLIENT_TIMEOUT)
                except AssertionError as exc:
                    raise AssertionError(f"{where}\n{exc}") from None
                continue
            proc = _bash(line, env, ROOT)
            try:
                out, err = proc.communicate(timeout=LINE_TIMEOUT)
            except subprocess.TimeoutExpired:
                _stop(proc, signal.SIGKILL)
                raise AssertionError(f"{where}\nstill running after {LINE_TIMEOUT}s") from None
            assert proc.returncode == 0, f"{where}\nexit {proc.returncode}\n{_tail(out)}\n{_tail(err)}"
    finally:
        for proc in reversed(services):
            _stop(proc)


# ---- python and js -----------------------------------------------------------------------------------------


def is_client_example(block: Block) -> bool:
    """A live-client example: it runs until stopped, so it must print the connected and a chat line first."""
    return block.lang in PY_LANGS | JS_LANGS and (
        "TikTokLiveClient" in block.text or "TikTokLiveConnection" in block.text
    )


def client_lines(lang: str, room: str | None = None) -> list[re.Pattern[str]]:
    """What a live-client example must print: the connected line (the connector's names the room id; the
    TikTokLive examples print the user) and the first chat the fake pushes."""
    users = "|".join((*README_USERS, FAKE_USER))
    connected = rf"connected.*\b{room}\b" if lang in JS_LANGS else rf"connected to @?({users})\b"
    return [re.compile(connected), re.compile(re.escape(CHAT_TEXTS[0]))]


def start_example(block: Block, world: World, sign_port: int, tmp: Path) -> subprocess.Popen[str]:
    """Start a python or js block as the README says to run it, its sign server at 127.0.0.1:`sign_port`."""
    ports = {"8080": str(sign_port)}
    if block.lang in PY_LANGS:
        script = tmp / f"readme_L{block.line}.py"
        script.write_text(rewrite(block.text, ports), encoding="utf-8")
        return _bash(f"exec python {script.name}", world.env, tmp)
    if not node_available():
        pytest.fail("node or tests/e2e/node/node_modules is missing: run `make test` (it runs npm ci)")
    name = re.fullmatch(r"//\s*(\S+\.m?js)", block.first_line())
    assert name, "a js block must start with `// <file>.mjs`, the file its run line runs"
    runs = [c for c in all_sh_commands() if (m := NODE_RUN.search(c.bare)) and m[2] == name[1]]
    assert runs, f"no sh line in the README runs `node {name[1]}`"
    (tmp / name[1]).write_text(block.text, encoding="utf-8")
    env = dict(world.env, NODE_OPTIONS=f"--import={(SHIMS / 'offline.mjs').as_uri()}")
    return _bash(rewrite(runs[0].text, ports), env, tmp)


@contextmanager
def example_dir(block: Block) -> Iterator[Path]:
    """Where a block runs: js inside tests/e2e/node (to resolve the installed connector), python anywhere."""
    with tempfile.TemporaryDirectory(prefix=".readme-", dir=NODE_DIR if block.lang in JS_LANGS else None) as tmp:
        yield Path(tmp)


def run_example(block: Block, world: World) -> None:
    with example_dir(block) as tmp:
        proc = start_example(block, world, world.server.port, tmp)
        if not is_client_example(block):
            rc, out, err = run_to_end(proc)
            assert rc == 0, f"exit {rc}\n{_tail(out)}\n{_tail(err)}"
            return
        run_until(proc, client_lines(block.lang, world.users["someone"].room_id), CLIENT_TIMEOUT)


# ---- config and text ---------------------------------------------------------------------------------------


def check_nginx(block: Block, tmp_path: Path) -> None:
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    openssl = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=t -days 1 -keyout".split()
    subprocess.run([*openssl, str(key), "-out", str(crt)], check=True, capture_output=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\naccess_log off;\n"
        + "".join(
            f"{kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"ssl_certificate {crt};\nssl_certificate_key {key};\n{block.text}\n}}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        ["nginx", "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def check_caddy(block: Block, tmp_path: Path) -> None:
    conf = tmp_path / "Caddyfile"
    conf.write_text(block.text, encoding="utf-8")
    out = subprocess.run(
        ["caddy", "adapt", "--config", str(conf), "--adapter", "caddyfile"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


CHECKERS = {"nginx": ("nginx", check_nginx), "caddyfile": ("caddy", check_caddy)}


def check_layout(block: Block) -> None:
    """A `text` block is the layout tree: `dir/` at the margin and `name/` or `name.py` under it must exist."""
    top: Path | None = None
    checked = 0
    for raw in block.text.splitlines():
        m = re.match(r"^( *)([\w.-]+/?)(\s|$)", raw)
        if not m or (m[1] and top is None):
            continue
        if not m[1]:
            top = ROOT / m[2]
            path = top
        elif len(m[1]) == 2 and (m[2].endswith("/") or m[2].endswith(".py")):
            assert top is not None
            path = top / m[2]
        else:
            continue
        assert path.exists(), f"the layout names {path.relative_to(ROOT)}, which does not exist"
        checked += 1
    assert checked, "a text block that is not a layout tree: give it a language this test knows"


# ---- the tests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", README_BLOCKS, ids=[b.id for b in README_BLOCKS])
def test_readme_block(block: Block, world: World, tmp_path: Path) -> None:
    if block.lang in SH_LANGS:
        run_sh(block, world, tmp_path)
    elif block.lang in PY_LANGS | JS_LANGS:
        run_example(block, world)
    elif block.lang in CHECKERS:
        tool, check = CHECKERS[block.lang]
        if shutil.which(tool):
            check(block, tmp_path)
        else:
            assert block.lang in UNCHECKED, f"{tool} is not installed and {block.lang} is not in UNCHECKED"
            pytest.skip(f"not executed: {UNCHECKED[block.lang]}")
    elif block.lang == "toml":
        tomllib.loads(block.text)
    elif block.lang == "json":
        json.loads(block.text)
    elif block.lang == "text":
        check_layout(block)
    else:
        pytest.fail(
            f"README line {block.line}: a code block with language {block.lang or '(none)'!r}, which "
            "tests/e2e/test_readme.py does not run: give it a known language or teach the test to run it"
        )


def test_not_executed_lines_are_in_the_readme() -> None:
    """The allow-list stays true: each entry is a line of some sh block."""
    present = {c.bare for c in all_sh_commands()}
    assert set(NOT_EXECUTED) <= present, set(NOT_EXECUTED) - present


def test_the_readme_has_the_blocks_this_file_runs() -> None:
    """Parsing found blocks of each kind (a parser that found nothing would make every test vacuous)."""
    langs = {b.lang for b in README_BLOCKS}
    assert {"sh", "python", "js"} <= langs, langs
    assert node_file_blocks(), "the Node example no longer starts with `// chat.mjs`"


@pytest.mark.parametrize(
    "block", [b for b in README_BLOCKS if is_client_example(b)], ids=lambda b: f"{b.id}-no-sign-server"
)
def test_client_example_without_a_sign_server_says_so(block: Block, world: World) -> None:
    """A newcomer who forgot to start ttsign gets one clear line and a non-zero exit, not a stack trace."""
    with example_dir(block) as tmp:
        rc, out, err = run_to_end(start_example(block, world, free_port(), tmp))
    assert rc != 0, (out, err)
    assert not TRACE.search(err), _tail(err)
    assert "could not connect" in err, _tail(err)
