"""Client-compatible URL signing, one route per client's path (shapes: shared/protocol/live-connect.md §1.1b, §1.2b):

| route | caller | body | a host we do not sign |
|---|---|---|---|
| `POST /webcast/sign_url` | TikTokLive 7.x | JSON | HTTP 200, `code:403` (PremiumEndpointError) |
| `POST /webcast/sign_url/` | TikTokLive 6.6.x | form-encoded (or JSON) | HTTP 200, `code:403` (PremiumEndpointError) |
| `POST /tiktok/sign_url` | tiktok-live-connector 2.x | JSON | HTTP 403 (PremiumFeatureError) |
| `POST /tiktok/signing/encrypt/sign_url` | Euler's SDKs (npm 0.6, PyPI 0.5) | JSON | HTTP 200, `code:403` |
| `GET /webcast/sign_url?url=...` | tiktok-live-connector 1.x | query | HTTP 403 (SignatureError) |

The fields (`models.SignUrlIn`): `url` (X-Bogus/X-Gnarly/msToken already stripped by the client), `userAgent`,
`method`, `type` (xhr|fetch), `payload`, `sessionId`, `ttTargetIdc`, `ttwid`, `includeBrowserParams`,
`includeVerifyFp`. The session and cookie fields are accepted, type-checked and never logged or used:
cookies are not signing inputs. The two booleans change nothing: the URL is signed exactly as sent.

A form body (TikTokLive 6.6 posts `data=` with httpx) is parsed strictly by `validation.parse_form_object`:
UTF-8 before and after percent-decoding, every field `name=value`, at most 32 fields, none twice; it carries
strings only, so the two booleans cannot be sent that way. 1.x's query is read with the same parser.

POST answers: `{code:200, message, response:{signedUrl, userAgent, browserName, browserVersion, tokens,
requestHeaders, cookies}}`. `signedUrl` always carries `msToken` (TikTokLive rejects it otherwise; empty
when we hold no real token) and `tokens` always has at least msToken (the connector needs >= 1 key). The GET
answer adds the flat keys 1.x reads: `signedUrl`, `User-Agent`, `msToken`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ttsign.providers.base import SignJob
from ttsign.server import logs, signing_call
from ttsign.server.deps import services
from ttsign.server.errors import ApiError, long_enough
from ttsign.server.models import (
    SIGN_URL_BODY,
    SIGN_URL_FORM_BODY,
    SIGN_URL_QUERY,
    LegacySignUrlSigned,
    SignUrlIn,
    SignUrlQuery,
    SignUrlSigned,
    legacy_sign_url_answer,
    parse_body,
    sign_url_answer,
    validate_body,
)
from ttsign.server.openapi import ANY, BODY, KEYED, responses
from ttsign.server.validation import (
    FORM_TYPE,
    _printable,
    check_body,
    check_url,
    media_type,
    parse_form_object,
    parse_form_pairs,
)
from ttsign.signing.signer import SignedRequest

router = APIRouter(tags=["client-compatible"])


Signed = tuple[SignedRequest, dict[str, str]]


async def _signed(request: Request, data: SignUrlIn | SignUrlQuery, *, denial_in_body: bool) -> Signed | JSONResponse:
    """Sign `data.url` (with the provider headers); a host we do not sign is a `code:403` answer
    (`denial_in_body`) or an HTTP 403."""
    svc = services(request)
    if isinstance(data, SignUrlIn):  # type-checked, unused, never logged
        logs.add_secrets(data.sessionId, data.ttTargetIdc, data.ttwid, data.type)
    try:
        parsed = check_url(data.url, svc.settings)
    except ApiError as err:
        if err.extra.get("reason") == "host_not_allowed":
            if denial_in_body:
                return JSONResponse({"code": 403, "message": long_enough(err.message)})
            raise ApiError(403, err.message) from None
        raise
    method, payload = ("GET", "") if isinstance(data, SignUrlQuery) else ((data.method or "GET"), data.payload)
    body = check_body(payload, svc.settings, "payload")
    logs.add_secrets(parsed.ms_token)
    job = SignJob(data.url, parsed, method.upper(), body.encode(), data.userAgent or None, None)
    answer = await signing_call.sign(request, job)
    return answer.result.request, signing_call.provider_headers(answer)


async def _sign(request: Request, data: SignUrlIn, *, denial_in_body: bool) -> JSONResponse:
    out = await _signed(request, data, denial_in_body=denial_in_body)
    if isinstance(out, JSONResponse):
        return out
    return JSONResponse(sign_url_answer(out[0]), headers=out[1])


async def _json(request: Request) -> SignUrlIn:
    return parse_body(SignUrlIn, await request.body(), request.headers.get("content-type", ""))


@router.post(
    "/webcast/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (TikTokLive 7.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def webcast_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, await _json(request), denial_in_body=True)


@router.post(
    "/webcast/sign_url/",
    openapi_extra=SIGN_URL_FORM_BODY,
    summary="Sign a URL (TikTokLive 6.6.x: a form-encoded body)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def webcast_sign_url_form(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    ct = media_type(content_type)
    if ct == FORM_TYPE:
        data: dict[str, Any] = parse_form_object(await request.body(), content_type)
        return await _sign(request, validate_body(SignUrlIn, data), denial_in_body=True)
    if ct and ct != "application/json" and not ct.endswith("+json"):
        raise ApiError(415, f"expected Content-Type {FORM_TYPE} or application/json, got {_printable(ct, 60)}")
    return await _sign(request, await _json(request), denial_in_body=True)


@router.post(
    "/tiktok/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (tiktok-live-connector 2.x)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY, 403),
)
async def tiktok_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, await _json(request), denial_in_body=False)


@router.post(
    "/tiktok/signing/encrypt/sign_url",
    openapi_extra=SIGN_URL_BODY,
    summary="Sign a URL (Euler's SDKs: tiktok-live-api-sdk 0.6, EulerApiSdk 0.5)",
    responses=responses(SignUrlSigned, *ANY, *KEYED, *BODY),
)
async def euler_sign_url(request: Request) -> JSONResponse:
    return await _sign(request, await _json(request), denial_in_body=True)


@router.get(
    "/webcast/sign_url",
    openapi_extra=SIGN_URL_QUERY,
    summary="Sign a URL (tiktok-live-connector 1.x: GET with the URL in the query)",
    responses=responses(LegacySignUrlSigned, *ANY, *KEYED, 403, 422),
)
async def webcast_sign_url_get(request: Request) -> JSONResponse:
    fields = parse_form_pairs(request.scope.get("query_string", b""), "query string")
    out = await _signed(request, validate_body(SignUrlQuery, fields), denial_in_body=False)
    if isinstance(out, JSONResponse):  # not reached: denial_in_body=False raises the 403
        return out
    return JSONResponse(legacy_sign_url_answer(out[0]), headers=out[1])
