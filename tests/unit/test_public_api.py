"""The library surface: `from ttsign import Signer, SignedRequest, decode, verify`, and `verify` itself.

`verify(url, user_agent, body)` must pass every URL the Signer makes (each product, both X-Gnarly
versions, GET and POST) and fail, naming the token and the check, when any input it binds is changed.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

import ttsign
from ttsign import SignedRequest, Signer, SignerOptions, VerifyResult, decode, verify
from ttsign.algorithms.decode import decode_token
from ttsign.algorithms.identity import new_identity

NOW = 1_795_000_000.25
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
API = "https://www.tiktok.com/api/user/detail/?aid=1988&device_id=7576123456789012345&uniqueId=tiktok"
ROOM = "https://www.tiktok.com/@tiktok/live"
CHAT = "https://webcast.tiktok.com/webcast/room/chat/?aid=1988&room_id=7451234567890123456"
IM_FETCH = "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&room_id=7451234567890123456"


def signer(**opts: object) -> Signer:
    mono = iter(range(1000, 10**9, 7))
    return Signer(
        SignerOptions(**opts),  # type: ignore[arg-type]
        identity=new_identity(random.Random(3), int(NOW * 1000)),
        clock=lambda: NOW,
        mono_clock=lambda: next(mono) / 1000.0,
        rng=random.Random(3),
    )


def test_the_public_names_are_the_signing_layers() -> None:
    from ttsign.signing import signer
    from ttsign.signing import verify as verify_module

    assert Signer is signer.Signer and SignedRequest is signer.SignedRequest
    assert decode is decode_token and verify is verify_module.verify
    assert {"Signer", "SignedRequest", "decode", "verify", "__version__"} <= set(ttsign.__all__)
    for name in ttsign.__all__:
        assert getattr(ttsign, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = ttsign.nope  # type: ignore[attr-defined]


def test_import_ttsign_stays_cheap_until_a_name_is_used() -> None:
    code = (
        "import sys, ttsign; assert 'ttsign.signing.signer' not in sys.modules, 'eager'; "
        "from ttsign import Signer; assert 'ttsign.signing.signer' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


CASES = [
    ("full-532", {}, API, "GET", b"", ("X-Dynosaur", "X-Bogus", "X-Gnarly")),
    ("full-513", {"gnarly_version": "5.1.3"}, API, "GET", b"", ("X-Bogus", "X-Gnarly")),
    ("post-532", {}, CHAT, "POST", b"content=hello&emotes=", ("X-Dynosaur", "X-Bogus", "X-Gnarly")),
    ("classic", {}, ROOM, "GET", b"", ("X-Bogus",)),
    ("webcast-xbogus", {"webcast_xbogus": True}, IM_FETCH, "GET", b"", ("X-Bogus",)),
]


@pytest.mark.parametrize(("opts", "url", "method", "body", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verify_passes_what_the_signer_makes_and_fails_any_change(
    opts: dict[str, object], url: str, method: str, body: bytes, names: tuple[str, ...]
) -> None:
    signed = signer(**opts).sign(url, method, body, UA, "realTok-1")
    good = verify(signed.url, UA, body, now=NOW)
    assert isinstance(good, VerifyResult)
    assert good.ok, good.problems
    assert tuple(c.name for c in good.checks) == names
    # every bound input, changed, fails (and says which token and check)
    stub = "X-Dynosaur" in names  # 5.3.2: X-Bogus is the fixed stub "1", bound to nothing
    wrong_ua = verify(signed.url, UA.replace("156", "155"), body)
    assert not wrong_ua.ok and set(wrong_ua.problems) == set(names) - ({"X-Bogus"} if stub else set())
    if "aid=1988" in signed.url:
        assert not verify(signed.url.replace("aid=1988", "aid=1989"), UA, body).ok
    assert not verify(signed.url.replace("msToken=realTok-1", "msToken=realTok-2"), UA, body).ok
    assert not verify(signed.url, UA, body, now=NOW + 3600).ok  # stale
    if method == "POST":
        other = verify(signed.url, UA, body + b" ")
        assert not other.ok and "G4" in other.problems["X-Gnarly"]


def test_verify_reports_what_it_cannot_check() -> None:
    plain = signer().sign(IM_FETCH, user_agent=UA)  # msToken only: nothing to verify
    result = verify(plain.url, UA)
    assert not result.ok and result.checks == () and "url" in result.problems
    signed = signer().sign(API, user_agent=UA)
    broken = signed.url.replace("X-Gnarly=M", "X-Gnarly=Q")
    bad = verify(broken, UA)
    assert not bad.ok and "decode" in bad.problems["X-Gnarly"]
    # the 5.3.2 stub X-Bogus=1 is only valid next to an X-Gnarly 5.3.2
    stub_alone = signed.url.split("&X-Gnarly=", 1)[0]
    assert "stub" in verify(stub_alone, UA).problems["X-Bogus"]


def test_decode_opens_what_the_signer_made() -> None:
    signed = signer().sign(API, user_agent=UA)
    assert decode(signed.tokens["X-Gnarly"])["type"] == "x-gnarly"
    assert decode(signed.tokens["X-Dynosaur"])["type"] == "x-dynosaur"
    assert decode(signer().sign(ROOM, user_agent=UA).tokens["X-Bogus"])["fields"]["timestamp"] == int(NOW)
