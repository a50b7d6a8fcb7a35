"""The signing routes' request bodies in `/openapi.json` are their pydantic models, with realistic examples.

"Try it out" in `/docs` sends an operation's example: it must be a real request (an /api URL with a
device_id, a Chrome User-Agent, no made-up msToken), never FastAPI's placeholder `"string"`, and it must
sign. Answers are built through the models the schema declares.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from ttsign.server import models

ROUTES: dict[str, type[BaseModel]] = {
    "/sign": models.OriginSignIn,
    "/v1/sign": models.NativeSignIn,
    "/v1/decode": models.DecodeIn,
    "/webcast/sign_url": models.SignUrlIn,
    "/tiktok/sign_url": models.SignUrlIn,
    "/webcast/sign_url/": models.SignUrlIn,  # its JSON body; the form body is the same fields
    "/tiktok/signing/encrypt/sign_url": models.SignUrlIn,
}


def _values(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [v for value in obj.values() for v in _values(value)]
    if isinstance(obj, list):
        return [v for value in obj for v in _values(value)]
    return [obj]


def _examples(schema: dict[str, Any], path: str) -> dict[str, Any]:
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {name: ex["value"] for name, ex in content["examples"].items()}


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_request_body_schema_is_the_model_and_its_examples_sign(client, path: str) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == models.body_schema(ROUTES[path])
    examples = _examples(schema, path)
    assert examples
    for name, example in examples.items():
        assert "string" not in _values(example), name  # FastAPI's placeholder
        assert "ms_token" not in example and "msToken" not in str(example), name  # never a made-up msToken
        ROUTES[path].model_validate(example)
        r = client.post(path, json=example)
        assert r.status_code == 200, (name, r.text[:300])


def test_the_native_example_is_a_real_api_request(client) -> None:
    examples = _examples(client.get("/openapi.json").json(), "/v1/sign")
    first = next(iter(examples.values()))
    assert first["url"].startswith("https://www.tiktok.com/api/") and "device_id=" in first["url"]
    assert "Chrome/" in first["user_agent"] and "Windows" in first["user_agent"]
    data = client.post("/v1/sign", json=first).json()["data"]
    assert data["product"] == "full"
    assert not any("device_id" in w or "browser_platform" in w for w in data["warnings"]), data["warnings"]


def test_signature_documents_both_bodies(client) -> None:
    content = client.get("/openapi.json").json()["paths"]["/signature"]["post"]["requestBody"]["content"]
    assert set(content) == {"text/plain", "application/json"}
    assert content["application/json"]["schema"] == models.body_schema(models.SignatureJsonIn)
    assert "device_id=" in content["text/plain"]["example"]
    r = client.post("/signature", json=content["application/json"]["example"])
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"url": 5}, 422, ("'url'", "string", "int")),
        ({}, 400, ("missing", "'url'")),
        ({"url": None}, 400, ("missing", "'url'")),
        ({"url": "https://www.tiktok.com/api/x/?a=1", "user_agent": "caf\u00e9"}, 400, ("user_agent", "ASCII")),
        ({"url": "https://www.tiktok.com/api/x/?a=1", "ms_token": "a b"}, 400, ("ms_token",)),
        ({"url": "https://www.tiktok.com/api/x/?a=1", "method": "BREW"}, 400, ("method", "BREW")),
        ({"url": "https://www.tiktok.com/api/x/?a=1", "body": "a\u0000"}, 400, ("'body'", "NUL")),
    ],
)
def test_model_errors_are_the_api_errors(client, body: dict[str, Any], status: int, words: tuple[str, ...]) -> None:
    r = client.post("/v1/sign", json=body)
    assert r.status_code == status, r.text
    message = r.json()["message"]
    assert r.json()["code"] == status and len(message) >= 19
    for word in words:
        assert word.lower() in message.lower(), message


def test_library_callers_get_pydantic_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        models.NativeSignIn.model_validate({"url": "https://www.tiktok.com/api/", "user_agent": "a\nb"})
    assert "control characters" in str(info.value)


def _declared(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_answer_builders_fill_their_models_exactly() -> None:
    """The routes build answers as dicts (cheaper); each must be its model's shape, key for key."""
    from ttsign import decode
    from ttsign.providers.base import ProviderAnswer
    from ttsign.signing.service import SigningService
    from ttsign.signing.signer import Signer

    result = SigningService(Signer()).sign(models.EXAMPLE_API_URL, user_agent=models.EXAMPLE_UA, legacy=True)
    signed = result.request
    answers: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (models.OriginSigned, models.origin_answer(ProviderAnswer(result, "native"), 0.125)),
        (models.SignUrlSigned, models.sign_url_answer(signed)),
        (models.NativeSignOut, models.native_sign_answer(ProviderAnswer(result, "native"))),
        (models.DecodeOut, models.decode_answer(decode(signed.tokens["X-Gnarly"]))),
        (models.LegacySignUrlSigned, models.legacy_sign_url_answer(signed)),
    ]
    for model, answer in answers:
        assert set(answer) == _declared(model), model.__name__
        assert model.model_validate(answer).model_dump(by_alias=True, exclude_none=True) == answer, model.__name__
    nested = [
        (models.OriginTokens, answers[0][1]["data"]),
        (models.Navigator, answers[0][1]["data"]["navigator"]),
        (models.SignUrlResult, answers[1][1]["response"]),
        (models.NativeSigned, answers[2][1]["data"]),
        (models.Navigator, answers[2][1]["data"]["navigator"]),
    ]
    for model, part in nested:
        assert set(part) == _declared(model), model.__name__
    assert answers[0][1]["data"]["signature"] and answers[0][1]["data"]["x-tt-params"]
