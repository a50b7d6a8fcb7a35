"""With frozen time (sdk-oracle.md §2) and each vector's profile (UA, platform, DPR, page, msToken), the
browser provider reproduces the hook vectors of tests/vectors/xbogus.json byte for byte: the URL the page
sent and the SDK's X-Bogus. One browser per profile, all launched together for the module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.providers.sdk_files import SHA256, require_chromium, sdk_file
from ttsign.providers.base import SignJob
from ttsign.providers.browser import BrowserProvider
from ttsign.signing.policy import parse_url
from ttsign.signing.signer import Signer
from ttsign.signing.verify import verify

pytestmark = pytest.mark.asyncio(loop_scope="module")

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "xbogus.json"
FILES = {"1.0.0.368": "webmssdk_1.0.0.368.js", "1.0.0.328": "webmssdk_5.1.3.js", "2.0.0.485": "webmssdk_2.0.0.485.js"}
HOOK = [
    v
    for v in json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    if v["kind"] == "x-bogus" and v["signing_path"].startswith(("fetch hook", "XMLHttpRequest hook"))
]


def profile(v: dict[str, Any]) -> tuple[Any, ...]:
    env = v["env"]
    return (
        v["sdk_version"],
        v["user_agent"],
        env["navigator_platform"],
        env["device_scale_factor"],
        env["page_url"],
        v["frozen_date_now_ms"],
        v["ms_token"],
    )


def test_the_hook_vectors_are_there() -> None:
    # xb-dev-07 (fetch), -08 (XHR POST), -14 (fetch, raw ' and CJK), -25 (XHR POST): three builds
    assert sorted(v["id"] for v in HOOK) == ["xb-dev-07", "xb-dev-08", "xb-dev-14", "xb-dev-25"]
    assert {v["sdk_version"] for v in HOOK} == set(FILES)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def providers() -> AsyncIterator[dict[tuple[Any, ...], BrowserProvider]]:
    require_chromium()
    built: dict[tuple[Any, ...], BrowserProvider] = {}
    for v in HOOK:
        key = profile(v)
        if key in built:
            continue
        name = FILES[v["sdk_version"]]
        assert SHA256[name] == v["sdk_file_sha256"], f"{v['id']}: the vector names another build than {name}"
        _version, ua, platform, dpr, page, frozen, token = key
        built[key] = BrowserProvider(
            Signer(),
            sdk=str(sdk_file(name)),
            page_url=page,
            pages=1,
            freeze_ms=frozen,
            user_agent=ua,
            platform=platform,
            device_scale_factor=dpr,
            ms_token=token,
        )
    try:
        await asyncio.gather(*(p.start() for p in built.values()))
        yield built
    finally:
        await asyncio.gather(*(p.close() for p in built.values()))


@pytest.mark.parametrize("vector", HOOK, ids=[v["id"] for v in HOOK])
async def test_reproduces_the_hook_vector(
    providers: dict[tuple[Any, ...], BrowserProvider], vector: dict[str, Any]
) -> None:
    provider = providers[profile(vector)]
    body = vector["body"].encode("utf-8")
    job = SignJob(url=vector["url"], parsed=parse_url(vector["url"]), method=vector["http_method"], body=body)
    signed = (await provider.sign(job)).request
    assert signed.url.split("&X-Bogus=", 1)[0] == vector["sent_url_before_signatures"]
    assert signed.tokens["X-Bogus"] == vector["expected_x_bogus"]
    assert signed.tokens["msToken"] == vector["ms_token"]
    assert signed.user_agent == vector["user_agent"]
    assert verify(signed.url, signed.user_agent, body).ok
