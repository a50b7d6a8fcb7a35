"""build_chain: TTSIGN_PROVIDERS parsed in order, browser/remote built lazily (fakes here), faults applied."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from ttsign.config import Settings
from ttsign.providers import factory
from ttsign.providers.base import SignJob
from ttsign.providers.chain import ProviderChain
from ttsign.providers.faults import FaultyProvider
from ttsign.providers.native import NativeProvider
from ttsign.signing.policy import parse_url
from ttsign.signing.service import SigningService
from ttsign.signing.signer import Signer


class _Fake:
    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def sign(self, job: SignJob) -> Any:
        raise AssertionError("not called")

    def info(self) -> dict[str, Any]:
        return {"fake": True}


@pytest.fixture
def fake_modules(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    built: list[tuple[str, Any, Any]] = []
    for name, cls_name in (("browser", "BrowserProvider"), ("remote", "RemoteProvider")):
        module = types.ModuleType(f"ttsign.providers.{name}")

        def from_settings(settings: Any, signer: Any, _name: str = name) -> _Fake:
            built.append((_name, settings, signer))
            return _Fake(_name)

        module.__dict__[cls_name] = type(cls_name, (), {"from_settings": staticmethod(from_settings)})
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return built


@pytest.fixture
def signing() -> SigningService:
    return SigningService(Signer())


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_default_is_native_only(signing: SigningService) -> None:
    chain = factory.build_chain(_settings(), signing)
    assert isinstance(chain, ProviderChain)
    assert [p.name for p in chain.providers] == ["native"]
    assert isinstance(chain.providers[0], NativeProvider) and chain.providers[0].service is signing


def test_order_kept_and_lazy_modules_built_with_the_signer(
    signing: SigningService, fake_modules: list[tuple[str, Any, Any]]
) -> None:
    settings = _settings(providers=" remote, Native ,browser", remote_url="http://127.0.0.1:9/")
    chain = factory.build_chain(settings, signing)
    assert [p.name for p in chain.providers] == ["remote", "native", "browser"]
    assert [(n, s is settings, sig is signing.signer) for n, s, sig in fake_modules] == [
        ("remote", True, True),
        ("browser", True, True),
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("native,native", "named twice"),
        ("native,chrome", "unknown provider 'chrome'"),
        ("", "is empty"),
        ("native,,browser", "empty entry"),
    ],
)
def test_bad_provider_lists_are_one_line_errors_naming_the_setting(
    signing: SigningService, text: str, needle: str
) -> None:
    with pytest.raises(ValueError) as err:
        factory.build_chain(_settings(providers=text), signing)
    message = str(err.value)
    assert "TTSIGN_PROVIDERS" in message and needle in message and "\n" not in message


def test_remote_without_url_names_the_setting(signing: SigningService, fake_modules: list[Any]) -> None:
    with pytest.raises(ValueError, match="TTSIGN_REMOTE_URL") as err:
        factory.build_chain(_settings(providers="native,remote"), signing)
    assert "\n" not in str(err.value)
    assert fake_modules == []  # refused before anything was built


def test_browser_that_cannot_import_says_what_to_install(
    signing: SigningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ttsign.providers.browser", None)  # import raises ImportError
    with pytest.raises(ValueError, match=r"ttsign\[browser\]"):
        factory.build_chain(_settings(providers="native,browser"), signing)


def test_browser_that_cannot_run_is_a_one_line_error(signing: SigningService, monkeypatch: pytest.MonkeyPatch) -> None:
    from ttsign.providers.base import ProviderError

    module = types.ModuleType("ttsign.providers.browser")

    def from_settings(settings: Any, signer: Any) -> Any:
        raise ProviderError("unavailable", "Chromium not found at /nowhere: apt install chromium")

    module.__dict__["BrowserProvider"] = type("BrowserProvider", (), {"from_settings": staticmethod(from_settings)})
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(ValueError, match="TTSIGN_PROVIDERS selects browser, which cannot run: Chromium not found"):
        factory.build_chain(_settings(providers="native,browser"), signing)


def test_faults_wrap_the_named_provider_with_its_own_timeout(signing: SigningService, fake_modules: list[Any]) -> None:
    settings = _settings(providers="native,browser", provider_faults="browser=hang", browser_timeout_s=0.25)
    chain = factory.build_chain(settings, signing)
    native, browser = chain.providers
    assert isinstance(native, NativeProvider)
    assert isinstance(browser, FaultyProvider) and browser.name == "browser" and browser.hang_s == 0.25
    with pytest.raises(ValueError, match="TTSIGN_PROVIDER_FAULTS"):
        factory.build_chain(_settings(provider_faults="native=explode"), signing)


async def test_the_built_chain_signs_natively(signing: SigningService) -> None:
    chain = factory.build_chain(_settings(), signing)
    url = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=30"
    answer = await chain.sign(SignJob(url, parse_url(url)))
    assert answer.provider == "native" and "X-Gnarly" in answer.result.tokens
