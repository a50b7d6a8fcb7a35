"""The signing service: one call returns every product a route answers with, and routes hold no signing logic.

The origin API's `_signature` and `x-tt-params` come from `SigningService.sign(..., legacy=True)`; they
must verify against the caller's URL and the signed query. The routes import nothing from the
algorithms (error types aside): they parse, call the service, and shape the answer.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from ttsign.algorithms import signature, ttparams
from ttsign.algorithms.identity import new_identity
from ttsign.config import Settings
from ttsign.server import app as server_app
from ttsign.signing import factory
from ttsign.signing.policy import parse_url
from ttsign.signing.service import LEGACY_LABEL, LEGACY_PAGE, SigningService, tt_params_for
from ttsign.signing.signer import Signer, SignerOptions

NOW = 1_795_000_000.25
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
API = "https://www.tiktok.com/api/user/detail/?aid=1988&device_id=7576123456789012345&uniqueId=tiktok"
ROUTES = Path(__file__).resolve().parents[2] / "ttsign" / "server" / "routes"


def service(observed: list[tuple[str, float]] | None = None, seed: int = 5) -> SigningService:
    mono = iter(range(1000, 10**9, 7))
    signer = Signer(
        SignerOptions(),
        identity=new_identity(random.Random(seed), int(NOW * 1000)),
        clock=lambda: NOW,
        mono_clock=lambda: next(mono) / 1000.0,
        rng=random.Random(seed),
    )
    return SigningService(signer, observe=None if observed is None else lambda k, s: observed.append((k, s)))


def test_legacy_products_come_with_the_signed_request_and_verify() -> None:
    observed: list[tuple[str, float]] = []
    result = service(observed).sign(API, "GET", b"", UA, None, legacy=True)
    signed = result.request
    assert signed.product.value == "full"
    # `_signature` is over the caller's URL, on the origin page, at the Signer's timestamp
    assert signature.verify_legacy_signature(result.legacy_signature, API, UA, LEGACY_PAGE) == []
    assert signature.decode_legacy_signature(result.legacy_signature).timestamp == signed.timestamp
    # x-tt-params is the business query (before X-Dynosaur) with is_encryption=1
    business = signed.signed_query.split("&X-Dynosaur=", 1)[0]
    assert ttparams.decrypt(result.tt_params) == business + "&is_encryption=1"
    assert result.tt_params == tt_params_for(signed)
    assert result.navigator["user_agent"] == UA and set(result.navigator) >= {"deviceScaleFactor", "browser_platform"}
    assert [label for label, _ in observed] == ["full", LEGACY_LABEL]
    assert all(seconds >= 0 for _, seconds in observed)


def test_without_legacy_only_the_signer_runs() -> None:
    observed: list[tuple[str, float]] = []
    result = service(observed).sign("https://www.tiktok.com/@tiktok/live", user_agent=UA)
    assert result.legacy_signature == "" and result.tt_params == ""
    assert [label for label, _ in observed] == ["classic"]


def test_a_parsed_url_signs_as_its_text_does() -> None:
    a = service(seed=9).sign(API, user_agent=UA, ms_token="tok", legacy=True)
    b = service(seed=9).sign(API, user_agent=UA, ms_token="tok", parsed=parse_url(API), legacy=True)
    assert a == b


def test_the_factory_lives_in_the_signing_layer() -> None:
    settings = Settings(gnarly_version="5.1.3", env_code=7, ub_code=9, webcast_xbogus=True, browser_preset="chrome-mac")
    signer = factory.make_signer(settings)
    opts = signer.options
    assert (opts.gnarly_version, opts.env_code, opts.ub_code, opts.webcast_xbogus, opts.preset) == (
        "5.1.3",
        7,
        9,
        True,
        "chrome-mac",
    )
    assert factory.make_ws_signer(Settings()) is None
    ws = factory.make_ws_signer(Settings(ws_signer="x-gnarly"))
    assert ws is not None and set(ws({"room_id": "1"})) == {"X-Gnarly"}
    assert server_app.make_signer is factory.make_signer  # the old name still works


def _algorithm_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [
            n for n in names if n.startswith("ttsign.algorithms") and not n.startswith("ttsign.algorithms.errors")
        ]
    return found


@pytest.mark.parametrize("module", ["origin", "sign_url", "v1"])
def test_signing_routes_hold_no_signing_logic(module: str) -> None:
    source = ROUTES / f"{module}.py"
    assert _algorithm_imports(source) == [], f"routes/{module}.py imports the algorithms: call the signing service"
    text = source.read_text()
    assert "signing_call.sign(" in text and "signer.sign(" not in text
