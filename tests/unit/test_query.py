"""The business-query serializer (protocol/gnarly-532.md section 0.1).

Vectors: every X-Gnarly 5.3.2 / X-Dynosaur vector that carries ``query_pairs`` must serialise to its
``business_query``. A per-character reference written from the rule table cross-checks random text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsign.algorithms.query import LITERAL, escape_component, serialize_pairs

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def _pair_cases() -> list[Any]:
    cases = []
    for name in ("gnarly532.json", "dynosaur.json"):
        for v in json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))["vectors"]:
            if "query_pairs" in v["inputs"]:
                cases.append(
                    pytest.param(
                        v["inputs"]["query_pairs"],
                        v["inputs"]["business_query"],
                        id=f"{name.removesuffix('.json')}/{v['id']}",
                    )
                )
    return cases


PAIR_CASES = _pair_cases()


def _reference(s: str) -> str:
    """Section 0.1, one character at a time."""
    special = {" ": "%20", '"': "%22", "'": "%27", "<": "%3C", ">": "%3E", "`": "%60", "#": "%23"}
    s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")  # pairs joined, lone -> U+FFFD
    out = []
    for ch in s:
        if ch in special:
            out.append(special[ch])
        elif 0x21 <= ord(ch) <= 0x7E:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
    return "".join(out)


@pytest.mark.parametrize(("pairs", "query"), PAIR_CASES)
def test_vector_pairs_serialise_to_business_query(pairs: list[list[str]], query: str) -> None:
    assert serialize_pairs((n, v) for n, v in pairs) == query


def test_six_vectors_per_token_type_carry_pairs() -> None:
    """Section 5: 6 per token type, 12 checks."""
    assert len(PAIR_CASES) == 12


@pytest.mark.parametrize(
    ("char", "escaped"),
    [(" ", "%20"), ('"', "%22"), ("'", "%27"), ("<", "%3C"), (">", "%3E"), ("`", "%60"), ("#", "%23")],
)
def test_the_seven_escaped_printables(char: str, escaped: str) -> None:
    """Section 0.1's six, plus the apostrophe: the SDK's hook signs and Chrome sends ``%27`` (urls.json)."""
    assert escape_component(char) == escaped


@pytest.mark.parametrize("code", [c for c in range(0x21, 0x7F) if chr(c) not in "\"'<>`#"])
def test_every_other_printable_stays_literal(code: int) -> None:
    assert escape_component(chr(code)) == chr(code)


def test_literal_set_is_the_spec_set() -> None:
    assert len(LITERAL) == 94 - 6
    for c in "()/:,;@!*~+[]{}|\\^$%&=?":
        assert c in LITERAL
    assert "'" not in LITERAL


@pytest.mark.parametrize("code", [*range(0x00, 0x20), 0x7F])
def test_controls_and_del_are_percent_encoded(code: int) -> None:
    assert escape_component(chr(code)) == f"%{code:02X}"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("é", "%C3%A9"),
        ("猫", "%E7%8C%AB"),
        ("😀", "%F0%9F%98%80"),  # outside the BMP: four bytes
        ("\u00a0", "%C2%A0"),
        ("\ud83d\ude00", "%F0%9F%98%80"),  # a surrogate pair held as two code points
        ("\ud800", "%EF%BF%BD"),  # a lone surrogate becomes U+FFFD, as a URL serializer does
        ("a\udfffb", "a%EF%BF%BDb"),
    ],
)
def test_non_ascii_is_utf8_upper_hex(text: str, escaped: str) -> None:
    assert escape_component(text) == escaped


def test_percent_is_never_escaped() -> None:
    assert escape_component("%E4%B8%AD") == "%E4%B8%AD"
    assert escape_component("100%") == "100%"


def test_real_page_forms_stay_literal() -> None:
    """browser_version, root_referer and tz_name go out with ( ) / : literal (section 0.1)."""
    assert (
        serialize_pairs(
            [
                ("browser_version", "5.0 (Windows NT 10.0; Win64; x64)"),
                ("root_referer", "https://www.tiktok.com/"),
                ("tz_name", "America/New_York"),
            ]
        )
        == "browser_version=5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)"
        "&root_referer=https://www.tiktok.com/&tz_name=America/New_York"
    )


def test_pairs_keep_order_and_empties() -> None:
    assert serialize_pairs([]) == ""
    assert serialize_pairs([("b", "1"), ("a", "")]) == "b=1&a="
    assert serialize_pairs([("", "")]) == "="
    assert serialize_pairs(iter([("k", "v w")])) == "k=v%20w"


def test_reserved_characters_inside_values_are_callers_business() -> None:
    """A literal & = + inside a value is not escaped: the caller pre-encodes it (section 0.1)."""
    assert serialize_pairs([("q", "a&b=c+d")]) == "q=a&b=c+d"


@pytest.mark.parametrize("value", [1, None, b"bytes"])
def test_non_strings_are_rejected(value: Any) -> None:
    with pytest.raises(TypeError):
        escape_component(value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80) | st.text(max_size=300))
def test_matches_the_per_character_reference(text: str) -> None:
    out = escape_component(text)
    assert out == _reference(text)
    assert out.isascii()
    assert not any(c in out for c in " \"'<>`#")
    assert escape_component(out) == out  # idempotent: '%' is literal


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=12))
def test_serialize_pairs_is_escaped_join(pairs: list[tuple[str, str]]) -> None:
    assert serialize_pairs(pairs) == "&".join(f"{_reference(n)}={_reference(v)}" for n, v in pairs)
