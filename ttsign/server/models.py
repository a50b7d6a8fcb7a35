"""The signing routes' JSON bodies and answers as pydantic models, and the OpenAPI request bodies made from them.

Bodies are read in two steps: `validation.parse_json_object` parses the bytes strictly (UTF-8 only, no
BOM, no NaN, no duplicate keys, bounded integers and nesting), then `parse_body` validates the object
with the route's model. Models are strict (a string field takes a JSON string, nothing coerced), ignore
unknown fields, and check each string where it is read: no NUL, no lone surrogate, and the User-Agent,
msToken and method rules of `validation`. A failure is the same `ApiError` the hand-written checks gave:
400 naming the field for a missing or malformed value, 422 for a value of the wrong JSON type.
Settings-dependent checks (the URL's host and size, the body's size) stay in the routes.

Answers are declared by their models here (`OriginSigned`, `SignUrlSigned`, `NativeSignOut`, `DecodeOut`) and
built by the `*_answer` functions at the end as plain dicts (cheaper on the hot path); a test holds each
builder to its model, and `tests/api/test_schemathesis.py` holds every answer to the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from ttsign.algorithms.navigator import get_preset
from ttsign.providers.base import ProviderAnswer
from ttsign.server.errors import MIN_MESSAGE, ApiError
from ttsign.server.validation import (
    MAX_MS_TOKEN_CHARS,
    MAX_UA_CHARS,
    _check_string,
    check_method,
    check_ms_token,
    check_user_agent,
    parse_json_object,
)
from ttsign.signing.signer import SignedRequest

# ---- examples (realistic: a real /api URL with a device_id, a Chrome UA, no msToken) --------------------

EXAMPLE_UA = get_preset("chrome-win").user_agent
"""The default preset's User-Agent (Chrome on Windows), which matches `browser_platform=Win32` below."""
EXAMPLE_API_URL = (
    "https://www.tiktok.com/api/user/detail/?WebIdLastTime=1764000000&aid=1988&app_language=en"
    "&app_name=tiktok_web&browser_language=en-US&browser_name=Mozilla&browser_platform=Win32"
    "&channel=tiktok_web&device_id=7576123456789012345&device_platform=web_pc&os=windows&region=US"
    "&uniqueId=tiktok"
)
EXAMPLE_ROOM_URL = "https://www.tiktok.com/@tiktok/live"
EXAMPLE_ROOM_LOOKUP_URL = (
    "https://www.tiktok.com/api-live/user/room/?aid=1988&app_language=en&app_name=tiktok_web"
    "&device_platform=web_pc&sourceType=54&uniqueId=tiktok"
)
EXAMPLE_XBOGUS = "DFSzsIVO892ANVn8CTkh-jW3WHUK"

# ---- field types ---------------------------------------------------------------------------------------


def _rule(check: Callable[[str, str], Any]) -> AfterValidator:
    """A field check from `validation` (which raises `ApiError`) as a pydantic validator."""

    def run(value: str, info: ValidationInfo) -> Any:
        try:
            return check(value, info.field_name or "field")
        except ApiError as err:
            raise PydanticCustomError("ttsign", "{message}", {"status": err.status, "message": err.message}) from None

    return AfterValidator(run)


_TEXT = _rule(lambda value, name: _check_string(value, f"field '{name}'"))
Text = Annotated[str, _TEXT]
"""A string field: no NUL, valid Unicode (no lone surrogate)."""
UserAgent = Annotated[
    str,
    _TEXT,
    _rule(lambda value, name: check_user_agent(value, name) or ""),
    Field(json_schema_extra={"maxLength": MAX_UA_CHARS}),
]
"""A User-Agent to sign for: printable ASCII, at most 1024 characters; empty means the default preset's."""
MsToken = Annotated[
    str,
    _TEXT,
    _rule(lambda value, name: check_ms_token(value, name)),
    Field(json_schema_extra={"maxLength": MAX_MS_TOKEN_CHARS, "pattern": r"^[A-Za-z0-9_\-=.%+/]*$"}),
]
"""A real msToken to pass through verbatim (letters, digits and - _ = . % + /)."""
Method = Annotated[str, _TEXT, _rule(lambda value, name: check_method(value))]
"""An HTTP method, any case (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS); upper-cased."""

_STRICT = ConfigDict(strict=True, extra="ignore", frozen=True)
M = TypeVar("M", bound=BaseModel)


def _api_error(exc: ValidationError) -> ApiError:
    """The first problem pydantic found, as the `ApiError` the route answers with."""
    err = exc.errors(include_url=False)[0]
    name = ".".join(str(part) for part in err.get("loc", ())) or "body"
    kind = err.get("type", "")
    if kind == "ttsign":
        ctx = err.get("ctx") or {}
        return ApiError(int(ctx.get("status", 400)), str(ctx.get("message", err.get("msg", ""))))
    if kind == "missing" or (kind == "string_type" and err.get("input") is None):
        return ApiError(400, f"missing required field '{name}'")
    if kind == "string_type":
        return ApiError(422, f"field '{name}' must be a string, got {type(err.get('input')).__name__}")
    return ApiError(422, f"field '{name}' is invalid: {err.get('msg', '')}")


def parse_body(model: type[M], raw: bytes, content_type: str) -> M:
    """Parse `raw` strictly as a JSON object, then validate it with `model` (errors as `ApiError`)."""
    return validate_body(model, parse_json_object(raw, content_type))


def validate_body(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _api_error(exc) from None


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema as `/openapi.json` serves it (FastAPI drops null values, so `default: null` goes)."""
    schema = model.model_json_schema()
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    return schema


def request_body(model: type[BaseModel], examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the route's required JSON body, with named examples."""
    schema = body_schema(model)
    content = {"schema": schema, "examples": {k: {"summary": k, "value": v} for k, v in examples.items()}}
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


# ---- request bodies ------------------------------------------------------------------------------------


class OriginSignIn(BaseModel):
    """`POST /sign`: the URL as `room_url` or `url` (one is needed), optionally a User-Agent and a real msToken."""

    model_config = _STRICT
    room_url: Text | None = Field(None, description="the TikTok URL to sign (the origin API's name)")
    url: Text | None = Field(None, description="the same, when `room_url` is absent")
    user_agent: UserAgent | None = Field(None, description="the User-Agent the request will be sent with")
    ms_token: MsToken | None = Field(None, description="a real msToken from a TikTok response; omit it if none")


class SignatureJsonIn(BaseModel):
    """`POST /signature` with a JSON body: `{"url": ...}`."""

    model_config = _STRICT
    url: Text = Field(description="the TikTok URL to sign")


class NativeSignIn(BaseModel):
    """`POST /v1/sign`: any TikTok web URL, the method and exact body it will be sent with, the User-Agent."""

    model_config = _STRICT
    url: Text = Field(description="the TikTok URL to sign, query included")
    method: Method | None = Field(None, description="the HTTP method it will be sent with (default GET)")
    body: Text | None = Field(None, description="the exact body that will be sent (default empty)")
    user_agent: UserAgent | None = Field(
        None, description="the User-Agent it will be sent with (default: the preset's)"
    )
    ms_token: MsToken | None = Field(
        None, description="a real msToken to pass through; omit it and the URL's own (or an empty one) is used"
    )
    provider: Literal["native", "browser", "remote"] | None = Field(
        None, description="force one configured provider (no fallback, no cache); default: the chain"
    )


class DecodeIn(BaseModel):
    """`POST /v1/decode`: one token."""

    model_config = _STRICT
    token: Text = Field(description="an X-Bogus, X-Gnarly, X-Dynosaur, x-tt-params or legacy `_signature`")


class SignUrlIn(BaseModel):
    """`POST /webcast/sign_url`, `/tiktok/sign_url` and `/tiktok/signing/encrypt/sign_url`, as TikTokLive 7.x,
    tiktok-live-connector 2.x and Euler's SDKs (tiktok-live-api-sdk 0.6, EulerApiSdk 0.5) send it.

    `sessionId`, `ttTargetIdc`, `ttwid` and `type` are accepted, type-checked and never used or logged: cookies
    are not signing inputs. `includeBrowserParams` and `includeVerifyFp` (Euler's SDKs; booleans, strictly)
    change nothing here: ttsign signs the URL exactly as sent and never adds parameters to it.
    """

    model_config = _STRICT
    url: Text = Field(description="the URL to sign (the clients strip X-Bogus, X-Gnarly and msToken first)")
    userAgent: UserAgent | None = Field(None, description="the User-Agent the client sends with")
    method: Method | None = Field(None, description="GET or POST (default GET)")
    type: Text | None = Field(None, description="`xhr` or `fetch`: how the page would send it; informational")
    payload: Text | None = Field(None, description="the exact body of a POST")
    sessionId: Text | None = Field(None, description="accepted, never used or logged")
    ttTargetIdc: Text | None = Field(None, description="accepted, never used or logged")
    ttwid: Text | None = Field(None, description="a ttwid cookie (Euler's SDKs); accepted, never used or logged")
    includeBrowserParams: bool | None = Field(
        None,
        description="Euler's SDKs: ask the signer to add the browser_* params; ignored, ttsign signs the URL as "
        "sent (the URL must already carry the params the request will be sent with)",
    )
    includeVerifyFp: bool | None = Field(
        None, description="Euler's SDKs (deprecated there): ask for a verifyFp param; ignored, ttsign adds none"
    )


class SignUrlQuery(BaseModel):
    """`GET /webcast/sign_url?url=...` as tiktok-live-connector 1.x sends it (`client`, `uuc` are informational)."""

    model_config = _STRICT
    url: Text = Field(description="the URL to sign")
    client: Text | None = Field(None, description="the calling library (`ttlive-node`); informational")
    uuc: Text | None = Field(None, description="1.x's count of rooms it is connected to; informational")
    userAgent: UserAgent | None = Field(None, description="the User-Agent to sign for (1.x sends none: the preset's)")


ORIGIN_SIGN_BODY = request_body(
    OriginSignIn,
    {
        "an /api URL": {"url": EXAMPLE_API_URL, "user_agent": EXAMPLE_UA},
        "a LIVE page (origin clients)": {"room_url": EXAMPLE_ROOM_URL},
    },
)
SIGNATURE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}, "example": EXAMPLE_API_URL},
            "application/json": {
                "schema": body_schema(SignatureJsonIn),
                "example": {"url": EXAMPLE_API_URL},
            },
        },
    }
}
NATIVE_SIGN_BODY = request_body(
    NativeSignIn,
    {
        "an /api GET": {"url": EXAMPLE_API_URL, "method": "GET", "user_agent": EXAMPLE_UA},
        "a webcast POST with its body": {
            "url": "https://webcast.tiktok.com/webcast/room/chat/?aid=1988&app_name=tiktok_web&device_platform=web_pc"
            "&room_id=7451234567890123456",
            "method": "POST",
            "body": "content=hello&emotes=",
            "user_agent": EXAMPLE_UA,
        },
    },
)
DECODE_BODY = request_body(DecodeIn, {"an X-Bogus": {"token": EXAMPLE_XBOGUS}})
SIGN_URL_BODY = request_body(
    SignUrlIn,
    {
        "a room lookup (TikTokLive)": {
            "url": EXAMPLE_ROOM_LOOKUP_URL,
            "userAgent": EXAMPLE_UA,
            "method": "GET",
            "type": "fetch",
            "payload": "",
        }
    },
)

_FORM_SCHEMA = body_schema(SignUrlIn)
_FORM_SCHEMA["properties"] = {
    name: prop
    for name, prop in _FORM_SCHEMA["properties"].items()
    if name not in ("includeBrowserParams", "includeVerifyFp")
}
SIGN_URL_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": _FORM_SCHEMA,
                "example": {"url": EXAMPLE_ROOM_LOOKUP_URL, "userAgent": EXAMPLE_UA, "method": "GET", "type": "xhr"},
            },
            **SIGN_URL_BODY["requestBody"]["content"],
        },
    }
}
"""`POST /webcast/sign_url/` (TikTokLive 6.6.x): the same fields form-encoded (strings only), or the JSON body."""
SIGN_URL_QUERY: dict[str, Any] = {
    "parameters": [
        {
            "name": "url",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "example": EXAMPLE_ROOM_LOOKUP_URL},
            "description": "the URL to sign",
        },
        {"name": "client", "in": "query", "schema": {"type": "string"}, "description": "`ttlive-node`; informational"},
        {"name": "uuc", "in": "query", "schema": {"type": "string"}, "description": "1.x's room count; informational"},
        {
            "name": "userAgent",
            "in": "query",
            "schema": {"type": "string", "maxLength": MAX_UA_CHARS},
            "description": "the User-Agent to sign for (1.x sends none: the default preset's)",
        },
    ]
}
"""`GET /webcast/sign_url` (tiktok-live-connector 1.x): the query parameters."""

# ---- answers -------------------------------------------------------------------------------------------


class Navigator(BaseModel):
    model_config = ConfigDict(extra="allow")
    deviceScaleFactor: int | float  # wire names (camelCase) throughout
    user_agent: str
    browser_language: str
    browser_platform: str
    browser_name: str
    browser_version: str


class OriginTokens(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    signature: str = Field(description="the legacy `_signature` (TikTok no longer checks it)")
    signed_url: str
    x_bogus: str = Field(alias="X-Bogus")
    x_gnarly: str = Field(alias="X-Gnarly", description="empty where the route must not carry it")
    x_dynosaur: str = Field(alias="X-Dynosaur", description="empty where the route must not carry it")
    ms_token: str = Field(alias="msToken")
    x_tt_params: str = Field(alias="x-tt-params")
    navigator: Navigator
    provider: str = Field("native", description="the provider that signed: `native`, `browser` or `remote`")
    cached: bool = Field(False, description="true when served from the stale-if-error cache (every provider failed)")
    age_s: float = Field(0.0, description="for a cached answer: seconds since it was signed")


class OriginSigned(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ok"] = Field(description="`ok`")
    data: OriginTokens
    response_time_ms: float


class SignUrlResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    signedUrl: str
    userAgent: str
    browserName: str
    browserVersion: str
    tokens: dict[str, str] = Field(min_length=1, description="at least msToken")
    requestHeaders: dict[str, str]
    cookies: list[Any]


class SignUrlSigned(BaseModel):
    """`code` 200 with `response`; on `/webcast/sign_url` a host ttsign does not sign is `code` 403
    with a `message` and no `response` (TikTokLive raises it as PremiumEndpointError)."""

    model_config = ConfigDict(extra="allow")
    code: int
    message: str = Field(min_length=MIN_MESSAGE)
    response: SignUrlResult | None = None


class LegacySignUrlSigned(SignUrlSigned):
    """`GET /webcast/sign_url`: the `SignUrlSigned` answer plus the flat keys tiktok-live-connector 1.x reads."""

    signedUrl: str
    user_agent: str = Field(alias="User-Agent", description="the User-Agent to send the signed request with")
    msToken: str = Field(description="the msToken in `signedUrl` (empty when ttsign holds no real one)")
    response: SignUrlResult  # type: ignore[assignment]


class NativeSigned(BaseModel):
    model_config = ConfigDict(extra="allow")
    signed_url: str
    method: str
    product: Literal["full", "webcast", "classic"]
    tokens: dict[str, str]
    headers: dict[str, str]
    user_agent: str
    navigator: Navigator
    signed_query: str
    timestamp: int | float
    warnings: list[str]
    provider: str = Field("native", description="the provider that signed: `native`, `browser` or `remote`")
    cached: bool = Field(False, description="true when served from the stale-if-error cache (every provider failed)")
    age_s: float = Field(0.0, description="for a cached answer: seconds since it was signed")


class NativeSignOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    data: NativeSigned


class Decoded(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = Field(description="x-bogus, x-gnarly, x-dynosaur, x-tt-params, _signature, frontiersign-stub")
    fields: dict[str, Any]


class DecodeOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int
    data: Decoded


# ---- answers as sent ---------------------------------------------------------------------------------
# The hot path builds each answer as a plain dict and lets JSONResponse serialize it: validating and
# dumping it through its model costs ~10 us a request in the server (~2% of a /signature), for nothing the
# tests do not already hold. tests/api/test_openapi_bodies.py checks each builder against its model (same
# keys, same values, nothing extra), and schemathesis checks every answer against the schema.


def provider_fields(answer: ProviderAnswer) -> dict[str, Any]:
    """Where a signature came from: `provider`; `cached` and `age_s` say whether it is a stale-if-error answer."""
    return {"provider": answer.provider, "cached": answer.cached, "age_s": round(answer.age_s, 3)}


def origin_answer(answer: ProviderAnswer, response_time_ms: float) -> dict[str, Any]:
    """The origin API's answer (`OriginSigned`) for one signing result."""
    result = answer.result
    tokens = result.tokens
    return {
        "status": "ok",
        "data": {
            "signature": result.legacy_signature,
            "signed_url": result.request.url,
            "X-Bogus": tokens.get("X-Bogus", ""),
            "X-Gnarly": tokens.get("X-Gnarly", ""),
            "X-Dynosaur": tokens.get("X-Dynosaur", ""),
            "msToken": tokens.get("msToken", ""),
            "x-tt-params": result.tt_params,
            "navigator": result.navigator,
            **provider_fields(answer),
        },
        "response_time_ms": response_time_ms,
    }


def sign_url_answer(signed: SignedRequest) -> dict[str, Any]:
    """The client-compatible answer (`SignUrlSigned`, code 200) for a signed request."""
    nav = signed.navigator
    return {
        "code": 200,
        "message": "URL signed by ttsign",
        "response": {
            "signedUrl": signed.url,
            "userAgent": signed.user_agent,
            "browserName": nav.browser_name,
            "browserVersion": nav.browser_version,
            "tokens": dict(signed.tokens),
            "requestHeaders": dict(signed.headers),
            "cookies": [],
        },
    }


def legacy_sign_url_answer(signed: SignedRequest) -> dict[str, Any]:
    """`GET /webcast/sign_url`'s answer (`LegacySignUrlSigned`): 1.x reads `signedUrl`, `User-Agent`, `msToken`."""
    answer = sign_url_answer(signed)
    flat = {"signedUrl": signed.url, "User-Agent": signed.user_agent, "msToken": signed.tokens.get("msToken", "")}
    return {**answer, **flat}


def native_sign_answer(answer: ProviderAnswer) -> dict[str, Any]:
    """`POST /v1/sign`'s answer (`NativeSignOut`)."""
    return {"code": 200, "data": {**answer.result.request.to_dict(), **provider_fields(answer)}}


def decode_answer(decoded: dict[str, Any]) -> dict[str, Any]:
    """`POST /v1/decode`'s answer (`DecodeOut`)."""
    return {"code": 200, "data": decoded}
