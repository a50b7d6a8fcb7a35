"""A token layout: field set, widths, versions, env/ub codes, lengths and query order, compared field by field.
Each difference a signer can make (another env code, another version, another width, another token set or
order) is named; two signs by the same signer agree."""

from __future__ import annotations

import json
import os
import random

from ttsign.algorithms.payloads import gnarly532
from ttsign.monitor import fields
from ttsign.signing.signer import Signer, SignerOptions

API = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=35&device_id=7368712345678901234"


def signed(**options: object) -> str:
    return Signer(SignerOptions(**options), rng=random.Random(1)).sign(API).url  # type: ignore[arg-type]


def test_a_532_layout() -> None:
    layout = fields.layout_of(signed())
    assert layout.order == ("X-Dynosaur", "msToken", "X-Bogus(stub)", "X-Gnarly")
    assert layout.ms_token == "empty"
    g = layout.tokens["X-Gnarly"]
    assert g["layout"] == "x-gnarly-5.3.2" and g["sdk_version"] == "5.3.2" and g["scm_version"] == "2.0.0.561"
    assert g["env_code"] == 65 and g["ub_code"] == 8
    assert g["widths"]["12"] == 2 and g["payload_length"] == 193 and g["magic"] == 75
    assert "nonce" in g["fields"] and "nonce" not in g  # a nonce is in the field set, never compared as a value
    d = layout.tokens["X-Dynosaur"]
    assert d["layout"] == "x-dynosaur-5.3.2" and d["component_version"] == "2.0.0.1667" and d["page"]
    assert "X-Bogus" not in layout.tokens  # the stub is in the order only


def test_two_signs_by_one_signer_agree() -> None:
    a = Signer()  # real entropy: other keys, nonces, record orders, timestamps
    assert fields.compare(fields.layout_of(a.sign(API).url), fields.layout_of(a.sign(API).url)) == {}
    assert fields.compare(fields.layout_of(signed()), fields.layout_of(Signer().sign(API).url)) == {}


def test_another_env_code_is_named() -> None:
    diff = fields.compare(fields.layout_of(signed()), fields.layout_of(signed(env_code=129)))
    assert diff == {"X-Dynosaur.env_code": (65, 129), "X-Gnarly.env_code": (65, 129)}


def test_another_version_layout_and_order_are_named() -> None:
    diff = fields.compare(fields.layout_of(signed()), fields.layout_of(signed(gnarly_version="5.1.3")))
    assert diff["tokens"] == (["X-Bogus(stub)", "X-Dynosaur"], ["X-Bogus"])
    assert diff["order"] == (["X-Dynosaur", "msToken", "X-Bogus(stub)", "X-Gnarly"], ["msToken", "X-Bogus", "X-Gnarly"])
    assert diff["X-Gnarly.layout"] == ("x-gnarly-5.3.2", "x-gnarly-5.1.3")
    assert diff["X-Gnarly.payload_version"] == ("5.3.2", "5.1.3-ZTCA")
    only_532, only_513 = diff["X-Gnarly.fields"]
    assert "nonce2" in only_532 and "random32" in only_513


def test_the_same_tokens_in_another_order() -> None:
    url = signed()
    base, _, query = url.partition("?")
    parts = query.split("&")
    swapped = "&".join([*parts[:-2], parts[-1], parts[-2]])  # X-Gnarly before X-Bogus=1
    diff = fields.compare(fields.layout_of(url), fields.layout_of(f"{base}?{swapped}"))
    assert list(diff) == ["order"]


def test_a_width_and_a_version_string() -> None:
    def gnarly(**kw: object) -> str:
        return gnarly532.encode(
            "a=1&X-Dynosaur=x&msToken=", b"", "UA", timestamp=1, nonce=2, nonce2=3, sequence=4, key=os.urandom(48), **kw
        )  # type: ignore[arg-type]

    base = fields.token_layout(gnarly())
    wide = fields.token_layout(gnarly(widths={12: 4}))
    newer = fields.token_layout(gnarly(scm_version="2.0.0.600"))
    d1 = fields.compare_tokens("X-Gnarly", base, wide)
    assert set(d1) == {"X-Gnarly.widths", "X-Gnarly.payload_length"}
    assert d1["X-Gnarly.widths"][0]["12"] == 2 and d1["X-Gnarly.widths"][1]["12"] == 4
    assert fields.compare_tokens("X-Gnarly", base, newer) == {"X-Gnarly.scm_version": ("2.0.0.561", "2.0.0.600")}


def test_xbogus_header_and_length() -> None:
    layout = fields.layout_of(
        Signer(SignerOptions(webcast_xbogus=True))
        .sign("https://webcast.tiktok.com/webcast/im/fetch/?aid=1988&room_id=1")
        .url
    )
    xb = layout.tokens["X-Bogus"]
    assert xb["type"] == "x-bogus" and xb["length"] == 28 and xb["header"] == "4000410e"
    other = dict(xb, header="4008410e")
    assert fields.compare_tokens("X-Bogus", xb, other) == {"X-Bogus.header": ("4000410e", "4008410e")}


def test_undecodable_and_duplicates() -> None:
    url = signed().replace("X-Gnarly=M", "X-Gnarly=Q")
    assert fields.layout_of(url).tokens["X-Gnarly"] == {"decode": fields.token_layout("Q")["decode"]}
    assert fields.token_layout("Q")["decode"].startswith("undecodable")
    dup = fields.query_tokens("a=1&X-Bogus=old&msToken=t&X-Bogus=1")
    assert dup == [("X-Bogus", "old"), ("msToken", "t"), ("X-Bogus", "1")]
    assert fields.layout_of("a=1&msToken=t").ms_token == "present"


def test_a_layout_survives_json() -> None:
    layout = fields.layout_of(signed())
    again = fields.Layout.from_dict(json.loads(json.dumps(layout.to_dict())))
    assert again == layout and fields.compare(again, layout) == {}


def test_describe() -> None:
    diff = fields.compare(fields.layout_of(signed()), fields.layout_of(signed(ub_code=4)))
    lines = fields.describe(diff, "native", "browser")
    assert lines == ["X-Dynosaur.ub_code: native 8, browser 4", "X-Gnarly.ub_code: native 8, browser 4"]
