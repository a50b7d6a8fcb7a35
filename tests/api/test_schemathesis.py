"""schemathesis over `/openapi.json`: every operation, positive and negative cases, and every answer must
be one the schema documents (status, content type, headers, body) and never a 5xx.

The app runs in-process (ASGI) with an API key, rate limits off and every upstream base pointed at the
offline fake TikTok on 127.0.0.1, so the connect and room routes answer real 200s and upstream errors.
Bounded and deterministic: `MAX_EXAMPLES` fuzzed cases per operation (plus schemathesis' examples and
coverage phases), derandomized. Statuses the generator cannot reach on its own (401, 429 with its
headers, 413, a bad Content-Length, 404 for an id holding `/`, 502 from a failing upstream) are sent
explicitly and checked against the same schema.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_settings
from tests.fakes.hostile import HostileProxy
from tests.fakes.tiktok import FAKE_ROOM_ID, FAKE_USER, OFFLINE_USER, FakeTikTok
from ttsign.algorithms import ttparams, xbogus
from ttsign.server.app import create_app, make_signer
from ttsign.server.middleware import PUBLIC_PATHS

MAX_EXAMPLES = 100
KEY = "schemathesis-test-key-0123456789"
ADMIN_KEY = "schemathesis-admin-key-0123456789"
AUTH = {"X-Api-Key": KEY, "X-Admin-Key": ADMIN_KEY}  # the admin routes take the admin key, the others the API key
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TIKTOK_PREFIXES = (
    "https://www.tiktok.com/api/user/detail/?aid=1988&",
    "https://www.tiktok.com/@someone/live?",
    "https://webcast.tiktok.com/webcast/gift/list/?aid=1988&",
    "https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&",
    "https://www.tiktok.com/api/",
)
URL_FIELDS = ("url", "room_url")
SEEN: collections.Counter[tuple[str, int]] = collections.Counter()


def app_settings(fake: FakeTikTok, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "api_keys": KEY,
        "admin_keys": ADMIN_KEY,
        "rate_limit_minute": 0,
        "rate_limit_hour": 0,
        "rate_limit_day": 0,
        "auth_failures_per_minute": 0,
        "tiktok_www": fake.base_url,
        "ttwid_url": fake.ttwid_url,
        "webcast_url": fake.webcast_url,
        "ws_url": fake.ws_url,
        "upstream_timeout_s": 3.0,
        "connects_per_hour": 1_000_000,  # the pace limit would turn a long run into documented 503s
    }
    base.update(overrides)
    return make_settings(**base)


@pytest.fixture(scope="module")
def fake_tiktok() -> Iterator[FakeTikTok]:
    with FakeTikTok() as fake:
        yield fake


def load(app: Any) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
    return schema


class LateApp:
    """An ASGI app whose target a fixture sets: the schema loads at import, the fake starts only for the run."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the live_app fixture sets the app under test"
        await self.app(scope, receive, send)


TARGET = LateApp()
schema = load(create_app(make_settings(api_keys=KEY)))
schema.app = TARGET


@pytest.fixture(scope="module")
def live_app(fake_tiktok: FakeTikTok) -> Any:
    TARGET.app = create_app(app_settings(fake_tiktok))
    return schema


def _tokens() -> tuple[str, ...]:
    signed = make_signer(make_settings()).sign(TIKTOK_PREFIXES[0] + "a=1", "GET", b"", None, None)
    made = [signed.tokens["X-Gnarly"], signed.tokens["X-Dynosaur"], ttparams.encrypt("aid=1988&is_encryption=1")]
    return (*made, xbogus.encode("aid=1988", "", signed.user_agent, 1_700_000_000))


TOKENS = _tokens()


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """Steer generated bodies past the first checks: most URLs get a TikTok prefix (so generated text
    reaches the signer), and `/v1/decode` often gets a real token, whole or cut."""
    if isinstance(body, str):  # POST /signature: the URL is the body
        return st.sampled_from(("", *TIKTOK_PREFIXES)).map(lambda prefix: prefix + body)
    if not isinstance(body, dict):
        return st.just(body)
    names = [n for n in URL_FIELDS if isinstance(body.get(n), str)]
    if names:
        return st.sampled_from(("", *TIKTOK_PREFIXES)).map(lambda p: {**body, **{n: p + body[n] for n in names}})
    if isinstance(body.get("token"), str):
        real = st.tuples(st.sampled_from(TOKENS), st.integers(0, 400)).map(lambda t: t[0][: t[1]] or t[0])
        return st.one_of(st.just(body), real.map(lambda token: {**body, "token": token}))
    return st.just(body)


@schema.hook
def flatmap_path_parameters(context: Any, params: Any) -> Any:
    """Known users and rooms of the fake for some cases, so the room routes answer 200s too."""
    if not isinstance(params, dict):
        return st.just(params)
    known = {"unique_id": (FAKE_USER, OFFLINE_USER, "@" + FAKE_USER), "room_id": (FAKE_ROOM_ID,)}
    if not any(k in params for k in known):
        return st.just(params)
    real = st.fixed_dictionaries({k: st.sampled_from(known[k]) for k in params if k in known})
    return st.one_of(st.just(params), real.map(lambda r: {**params, **r}))


@schema.parametrize()
def test_every_answer_is_documented(case: Any, live_app: Any) -> None:
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    SEEN[(case.operation.label, response.status_code)] += 1
    if case.operation.path.startswith("/v1/admin/"):  # a generated switch must not pause the operations after it
        asyncio.run(TARGET.app.state.services.maintenance.set(False))


def test_the_run_reached_every_operation(live_app: Any) -> None:
    """After the run above: every operation was exercised, and each answered at least one 2xx."""
    if not SEEN:
        pytest.skip("runs after test_every_answer_is_documented")
    labels = {f"{m.upper()} {p}" for p, ops in live_app.raw_schema["paths"].items() for m in ops}
    tried = {label for label, _ in SEEN}
    assert labels <= tried
    ok = {label for (label, status) in SEEN if status < 300}
    assert labels <= ok, sorted(labels - ok)
    assert sum(SEEN.values()) >= 40 * len(labels)
    by_class = collections.Counter(f"{status // 100}xx" for (_, status), n in SEEN.items() for _ in range(n))
    print(f"schemathesis: {sum(SEEN.values())} cases over {len(labels)} operations, {dict(sorted(by_class.items()))}")


# ---- statuses the generator does not reach: sent on purpose, checked against the same schema ----------


@pytest.fixture(scope="module")
def strict_schema(fake_tiktok: FakeTikTok) -> Any:
    """Same app but with a rate limit of 1 per minute, for the 429."""
    return load(create_app(app_settings(fake_tiktok, rate_limit_minute=1)))


def operation(schema_: Any, label: str) -> Any:
    method, path = label.split(" ", 1)
    return schema_[path][method]


def send(
    schema_: Any, label: str, headers: dict[str, str] | None = None, *, expect_5xx: bool = False, **kw: Any
) -> Any:
    """One request built by hand, validated like the generated ones (a 5xx only where `expect_5xx`)."""
    case = operation(schema_, label).Case(**kw)
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS[1:] if expect_5xx else CHECKS)
    return response


OPERATIONS = {f"{m.upper()} {p}": op for p, ops in schema.raw_schema["paths"].items() for m, op in ops.items()}
KEYED = sorted(label for label, op in OPERATIONS.items() if op.get("security"))
"""The operations the schema says take an API key; the tests below hold the server to it."""
PUBLIC = sorted(set(OPERATIONS) - set(KEYED))
PATH_PARAMS = {"room_id": FAKE_ROOM_ID, "unique_id": FAKE_USER}


def _params(label: str) -> dict[str, Any]:
    return {k: v for k, v in PATH_PARAMS.items() if "{" + k + "}" in label}


@pytest.mark.parametrize("label", KEYED)
def test_missing_and_wrong_keys_are_documented_401s(live_app: Any, label: str) -> None:
    r = send(live_app, label, path_parameters=_params(label))
    assert r.status_code == 401
    r = send(live_app, label, path_parameters=_params(label), headers={"X-Api-Key": "wrong-key-0123456789"})
    assert r.status_code == 401


@pytest.mark.parametrize("label", KEYED)
def test_rate_limited_429_and_its_headers_are_documented(strict_schema: Any, label: str) -> None:
    if label in ("GET /webcast/rate_limits", "GET /accounts/me/rate_limits"):
        pytest.skip("unmetered: reading your limits never uses them up")
    kw: dict[str, Any] = {"path_parameters": _params(label), "headers": dict(AUTH)}
    if label.startswith("POST"):
        kw["body"] = {"url": "https://www.tiktok.com/api/x/?a=1", "token": "x"}
        kw["media_type"] = "text/plain" if label == "POST /signature" else "application/json"
        if label == "POST /signature":
            kw["body"] = "https://www.tiktok.com/api/x/?a=1"
    statuses = [send(strict_schema, label, **kw).status_code for _ in range(2)]
    assert statuses[-1] == 429, statuses


def test_the_failed_key_throttle_429_is_documented(fake_tiktok: FakeTikTok) -> None:
    throttled = load(create_app(app_settings(fake_tiktok, auth_failures_per_minute=2)))
    wrong = {"X-Api-Key": "wrong-key-0123456789"}
    statuses = [send(throttled, "GET /webcast/rate_limits", headers=wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_the_schema_says_which_operations_take_a_key() -> None:
    public = {"GET /", "GET /health", "GET /livez", "GET /readyz", "GET /metrics"}
    assert public <= set(PUBLIC) <= public | {"HEAD /health"}
    assert len(KEYED) >= 11 and all(label.split(" ", 1)[1] not in PUBLIC_PATHS for label in KEYED)
    assert set(schema.raw_schema["components"]["securitySchemes"]) == {"ApiKey", "Bearer", "AdminKey", "AdminBearer"}


@pytest.mark.parametrize("label", PUBLIC)
def test_public_operations_take_no_key(live_app: Any, label: str) -> None:
    assert send(live_app, label).status_code == 200


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_oversize_and_malformed_content_length_are_documented(live_app: Any, label: str) -> None:
    big = send(live_app, label, path_parameters=_params(label), headers={**AUTH, "Content-Length": "999999999"})
    assert big.status_code == 413
    bad = send(live_app, label, path_parameters=_params(label), headers={**AUTH, "Content-Length": "12x"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "label",
    ["GET /webcast/rooms/{room_id}/connect", "GET /webcast/anchors/{unique_id}/room_id", "GET /v1/rooms/{unique_id}"],
)
def test_an_id_holding_a_slash_is_a_documented_4xx(live_app: Any, label: str) -> None:
    params = {k: v + "/x" for k, v in _params(label).items()}
    assert send(live_app, label, path_parameters=params, headers=dict(AUTH)).status_code in (400, 404)


UPSTREAM_ROUTES = [
    "GET /webcast/fetch",
    "GET /webcast/rooms/{room_id}/connect",
    "GET /webcast/anchors/{unique_id}/room_id",
    "GET /v1/rooms/{unique_id}",
]
HOSTILE: dict[str, dict[str, Any]] = {
    "hang": {},
    "status": {"status": 429, "headers": {"Retry-After": "7"}},
    "garbage": {"size": 2048},
    "html": {},
    "redirect": {"location": "{decoy}/internal"},
}
"""Hostile answers (tests/fakes/hostile.py actions) to every TikTok call; which 5xx each maps to is
tested with the upstream client (tests/unit/test_upstream_hardening.py), here only that it is documented."""


@pytest.fixture(scope="module")
def hostile(fake_tiktok: FakeTikTok) -> Iterator[HostileProxy]:
    with HostileProxy(fake_tiktok.base_url) as proxy:
        yield proxy


@pytest.mark.parametrize("action", list(HOSTILE))
@pytest.mark.parametrize("label", UPSTREAM_ROUTES)
def test_a_hostile_upstream_gets_documented_5xx(
    fake_tiktok: FakeTikTok, hostile: HostileProxy, label: str, action: str
) -> None:
    """Every upstream fault, on every route that calls TikTok: a 5xx the schema lists, body and headers too."""
    bases = {"tiktok_www": hostile.base_url, "ttwid_url": hostile.ttwid_url, "webcast_url": hostile.webcast_url}
    fresh = load(create_app(app_settings(fake_tiktok, upstream_timeout_s=0.5, **bases)))
    query = {"room_id": FAKE_ROOM_ID} if label == "GET /webcast/fetch" else None
    hostile.clear()
    hostile.add("*", action, **HOSTILE[action])
    try:
        r = send(fresh, label, path_parameters=_params(label), query=query, headers=dict(AUTH), expect_5xx=True)
    finally:
        hostile.clear()
    assert r.status_code in (502, 503, 504), (r.status_code, r.text[:200])
