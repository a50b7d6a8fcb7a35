"""TikTok's SDK files for the browser-provider tests: `npm pack tiktok-signature@4.3.6` at test time into
`.cache/sdk/` (gitignored; never committed), each file checked against the sha256 of
`shared/protocol/sdk-oracle.md` §1 before use. A mismatch fails loudly: an unknown build is never run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "sdk"
PACKAGE = "tiktok-signature@4.3.6"
SHA256 = {
    "webmssdk_1.0.0.368.js": "c7524c795ee08c1d2d4465fdfca1102bbf3bd1034fa4ae33f2a8984047b8a484",
    "webmssdk_2.0.0.485.js": "4c2fccf5a34b37474e8515412f7e30064e67864fb7f2c1c13b2e4844aa24f366",
    "webmssdk_5.1.3.js": "55923798d90ddd84a348cd38f25a34c8ea5afa9a7dda2528a3c9360bd21674d2",
}
VERSIONS = {
    "webmssdk_1.0.0.368.js": ("1.0.0.368", "5.1.3-ZTCA"),
    "webmssdk_2.0.0.485.js": ("2.0.0.485", "5.1.3-ZTCA"),
    "webmssdk_5.1.3.js": ("1.0.0.328", "5.1.3"),
}
"""The version strings each file holds (release, scmVersion, sdkVersion), as `versions_in` lists them."""


class SdkFileError(AssertionError):
    pass


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sdk_file(name: str) -> Path:
    """The path of one checked SDK file, fetching the npm package first if the cache lacks it."""
    if name not in SHA256:
        raise SdkFileError(f"{name} is not one of the SDK files of {PACKAGE}")
    path = CACHE / name
    if not path.is_file():
        _fetch()
    got = _digest(path)
    if got != SHA256[name]:
        raise SdkFileError(f"{path}: sha256 {got} != {SHA256[name]} (sdk-oracle.md); refusing to run an unknown build")
    return path


def _fetch() -> None:
    if shutil.which("npm") is None:
        raise SdkFileError(f"npm is needed to fetch {PACKAGE} for the browser-provider tests")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ttsign-sdk-") as tmp:
        done = subprocess.run(
            ["npm", "pack", "--silent", PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise SdkFileError(f"npm pack {PACKAGE} failed: {done.stderr.strip()[-500:]}")
        tgz = next(Path(tmp).glob("tiktok-signature-*.tgz"))
        with tarfile.open(tgz) as archive:
            for name in SHA256:
                member = archive.extractfile(f"package/javascript/{name}")
                if member is None:
                    raise SdkFileError(f"{tgz.name} holds no javascript/{name}")
                data = member.read()
                got = hashlib.sha256(data).hexdigest()
                if got != SHA256[name]:
                    raise SdkFileError(f"{PACKAGE} javascript/{name}: sha256 {got} != {SHA256[name]} (sdk-oracle.md)")
                part = CACHE / f".{name}.{os.getpid()}.part"
                part.write_bytes(data)
                os.replace(part, CACHE / name)  # atomic: a test run beside this one never reads half a file


CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """Debian's Chromium, or a failure (not a skip: `make test` installs it, CI always has it)."""
    import pytest

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test installs it)")
    return CHROMIUM


def chromium_processes(root_pid: int | None = None) -> list[int]:
    """Chromium processes in this process's tree (Playwright's driver launches them as its children)."""
    import psutil

    try:
        root = psutil.Process(root_pid or os.getpid())
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for proc in children:
        try:
            if "chrom" in proc.name().lower() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return out


def still_running(pids: list[int], wait_s: float = 5.0) -> list[int]:
    """The pids of `pids` still running (not zombies) after waiting up to `wait_s`: orphans, wherever they
    were re-parented."""
    import time

    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)
