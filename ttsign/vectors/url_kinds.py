"""Vector checkers for kinds ``sdk-hook-url`` and ``url-parse`` (``tests/vectors/urls.json``).

``sdk-hook-url``: a URL fetched in a page running TikTok's SDK. ttsign's ``parse_url`` and ``Signer`` must
give the string the SDK's hook signed (``signed_query``) and the URL the browser sent up to its
signatures (``sent_url_before_signatures``) byte for byte, or the ones of the case named in
``ttsign.reproduces`` when the vector records a documented normalisation; when ``ttsign.accept`` is false,
``parse_url`` must refuse the URL. Our X-Bogus over our signed string, with the environment bytes and
canvas read out of the SDK's token, must equal the SDK's X-Bogus.

``url-parse``: Chrome's and Node's ``new URL(url)``. Where ttsign accepts the URL, its host must be the
host both read; where either refuses it, ttsign must too; where ada_url (the WHATWG parser ttsign uses)
and Chrome both parse it, they must read the same host.
"""

from __future__ import annotations

import random
from typing import Any

import ada_url

from ttsign.algorithms import xbogus
from ttsign.signing.policy import PolicyError, Product, parse_url
from ttsign.signing.signer import Signer, SignerOptions
from ttsign.vectors import register


def _str(obj: dict[str, Any], name: str, where: str = "vector") -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise AssertionError(f"{where}.{name} missing or not a string: {value!r}")
    return value


@register("sdk-hook-url")
def check_sdk_hook_url(vector: dict[str, Any]) -> None:
    url = _str(vector, "url")
    rule = vector.get("ttsign")
    if not isinstance(rule, dict) or not isinstance(rule.get("accept"), bool):
        raise AssertionError("vector has no 'ttsign' object with a boolean 'accept'")
    if not rule["accept"]:
        try:
            parsed = parse_url(url)
        except PolicyError:
            return
        raise AssertionError(f"parse_url accepted a URL ttsign must refuse ({rule.get('why')}): {parsed}")
    source = rule if "signed_query" in rule else vector
    want_signed = _str(source, "signed_query", "expected")
    want_sent = _str(source, "sent_url_before_signatures", "expected")
    ms_token = _str(vector, "ms_token")
    frozen = vector.get("frozen_date_now_ms")
    if not isinstance(frozen, int):
        raise AssertionError(f"vector.frozen_date_now_ms missing or not an integer: {frozen!r}")
    timestamp = frozen // 1000
    signer = Signer(SignerOptions(), clock=lambda: float(timestamp), rng=random.Random(0))
    try:
        signed = signer.sign(url, ms_token=ms_token, product=Product.CLASSIC)  # msToken + X-Bogus, as the hook
    except PolicyError as exc:
        raise AssertionError(f"parse_url refused a URL the page signs and sends: {exc}") from None
    if signed.signed_query != want_signed:
        raise AssertionError(f"signed string: ours {signed.signed_query!r}, SDK's {want_signed!r}")
    sent = signed.url.split("&X-Bogus=", 1)[0]
    if sent != want_sent:
        raise AssertionError(f"sent URL: ours {sent!r}, browser's {want_sent!r}")
    if ada_url.URL(signed.url).href != signed.url:
        raise AssertionError(f"our URL is not a fixed point of the WHATWG serializer: {signed.url!r}")
    expected_xb = vector.get("expected_x_bogus")
    if source is vector and isinstance(expected_xb, str):
        theirs = xbogus.decode(expected_xb)
        profile = xbogus.XBogusProfile(header=theirs.header, canvas=theirs.canvas)
        ua = _str(vector, "user_agent")
        ours = xbogus.encode(signed.signed_query, "", ua, theirs.timestamp, profile)
        if ours != expected_xb:
            raise AssertionError(f"X-Bogus over our signed string {ours!r} != the SDK's {expected_xb!r}")


def _browser_host(reading: dict[str, Any]) -> str | None:
    if "error" in reading:
        return None
    host = str(reading.get("hostname", ""))
    return f"{host}:{reading['port']}" if reading.get("port") else host


@register("url-parse")
def check_url_parse(vector: dict[str, Any]) -> None:
    url = _str(vector, "url")
    chrome, node = vector.get("chrome"), vector.get("node")
    if not isinstance(chrome, dict) or not isinstance(node, dict):
        raise AssertionError("vector needs 'chrome' and 'node' objects")
    try:
        ada_host: str | None = ada_url.URL(url).host
    except ValueError:
        ada_host = None
    chrome_host = _browser_host(chrome)
    if ada_host is not None and chrome_host is not None and ada_host != chrome_host:
        raise AssertionError(f"ada_url reads host {ada_host!r}, Chrome {chrome_host!r}")
    try:
        parsed = parse_url(url)
    except PolicyError:
        return  # refusing is always allowed (Chrome alone reads 'www.tik tok.com' as 'www.tik%20tok.com')
    for name, reading in (("Chrome", chrome), ("Node", node)):
        host = _browser_host(reading)
        if host is None:
            raise AssertionError(f"ttsign accepts a URL {name} refuses ({reading.get('error')})")
        if host != parsed.host:
            raise AssertionError(f"ttsign reads host {parsed.host!r}, {name} {host!r}")
