"""x-tt-params: reference vectors, round trips, and malformed input (protocol/tokens.md §4)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from ttsign.algorithms import ttparams
from ttsign.algorithms.errors import TTParamsError
from ttsign.vectors import check_vector

VECTOR_FILE = Path(__file__).resolve().parents[1] / "vectors" / "xttparams.json"
VECTORS: list[dict[str, Any]] = [
    v for v in json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"] if v["kind"] == "x-tt-params"
]


def test_vector_file_has_all_cases() -> None:
    assert len(VECTORS) == 10


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    assert ttparams.encrypt(vector["plaintext"]) == vector["expected"]
    assert ttparams.decrypt(vector["expected"]) == vector["plaintext"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_checker_passes(vector: dict[str, Any]) -> None:
    outcome = check_vector(vector)
    assert outcome.status == "passed", outcome.detail


@pytest.mark.parametrize("field", ["expected", "plaintext"])
def test_vector_checker_fails_on_mismatch(field: str) -> None:
    bad = dict(VECTORS[3])
    bad[field] = VECTORS[4][field]
    outcome = check_vector(bad)
    assert outcome.status == "failed"
    assert "AssertionError" in outcome.detail


def test_vector_checker_fails_on_wrong_length_claim() -> None:
    bad = dict(VECTORS[7], plaintextUtf8Length=VECTORS[7]["plaintextUtf8Length"] + 1)
    assert check_vector(bad).status == "failed"


def test_vector_checker_fails_on_missing_field() -> None:
    bad = {k: v for k, v in VECTORS[1].items() if k != "expected"}
    assert check_vector(bad).status == "failed"


def test_key_and_iv() -> None:
    assert ttparams.KEY == b"webapp1.0+20210628"[:16] == ttparams.IV
    assert ttparams.KEY.hex() == json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["key_hex"]


def _reference_encrypt(plaintext: str) -> str:
    """Independent encryption with cryptography's own PKCS#7 padder."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    enc = Cipher(algorithms.AES(b"webapp1.0+202106"), modes.CBC(b"webapp1.0+202106")).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


@settings(max_examples=300)
@given(st.text())
def test_round_trip_unicode(plaintext: str) -> None:
    token = ttparams.encrypt(plaintext)
    assert token == _reference_encrypt(plaintext)
    assert ttparams.decrypt(token) == plaintext
    assert len(base64.b64decode(token)) == (len(plaintext.encode()) // 16 + 1) * 16


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=64), st.integers(0, 15))
def test_round_trip_8_kib(chunk: str, extra: int) -> None:
    # Hypothesis cannot draw 8 KiB of text cheaply, so tile a drawn chunk past 8 KiB of UTF-8.
    plaintext = chunk * (8192 // len(chunk.encode()) + 1) + "x" * extra
    assert len(plaintext.encode()) >= 8192
    assert ttparams.decrypt(ttparams.encrypt(plaintext)) == plaintext


def test_round_trip_8_kib_exact() -> None:
    plaintext = ("aid=1988&cursor=0&msToken=" + "x" * 8192)[:8192]
    token = ttparams.encrypt(plaintext)
    assert len(base64.b64decode(token)) == 8192 + 16
    assert ttparams.decrypt(token) == plaintext


def test_encrypt_is_deterministic() -> None:
    assert ttparams.encrypt("aid=1988") == ttparams.encrypt("aid=1988")
    assert ttparams.encrypt("aid=1988") != ttparams.encrypt("aid=1989")


def _raw_token(padded: bytes) -> str:
    """Encrypt already-padded bytes (lets a test plant bad padding or bad UTF-8 under a valid cipher)."""
    enc = Cipher(algorithms.AES(ttparams.KEY), modes.CBC(ttparams.IV)).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode()


GOOD = VECTORS[3]["expected"]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("====", id="only-padding"),
        pytest.param(GOOD[:-1], id="truncated-char"),
        pytest.param(GOOD[:-4], id="truncated-quad"),
        pytest.param(GOOD + "AAAA", id="extra-3-bytes"),
        pytest.param(GOOD.replace("+", "-").replace("/", "_"), id="urlsafe-alphabet"),
        pytest.param(GOOD[:10] + " " + GOOD[10:], id="space"),
        pytest.param(GOOD[:10] + "é" + GOOD[11:], id="non-ascii"),
        pytest.param("%%%%", id="bad-chars"),
        pytest.param(base64.b64encode(b"\x00" * 15).decode(), id="short-block"),
        pytest.param(_raw_token(b"aid=1988" + b"\x00" * 8), id="pad-zero"),
        pytest.param(_raw_token(b"aid=1988" + b"\x11" * 8), id="pad-too-big"),
        pytest.param(_raw_token(b"aid=1988" + b"\x01" * 7 + b"\x08"), id="pad-inconsistent"),
        pytest.param(_raw_token(b"\xff\xfe\xfd" + b"\x0d" * 13), id="not-utf8"),
        pytest.param(GOOD[:20] + ("A" if GOOD[20] != "A" else "B") + GOOD[21:], id="flipped-last-block"),
    ],
)
def test_corrupted_raises_ttparams_error(token: str) -> None:
    with pytest.raises(TTParamsError):
        ttparams.decrypt(token)


@pytest.mark.parametrize("value", [None, b"fPqoSYtVzU0VA+pdlFnHyQ==", 123])
def test_non_str_raises_ttparams_error(value: Any) -> None:
    with pytest.raises(TTParamsError):
        ttparams.decrypt(value)


def test_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        ttparams.decrypt("not base64!")


@settings(max_examples=500)
@given(st.text())
def test_arbitrary_text_raises_only_ttparams_error(token: str) -> None:
    try:
        ttparams.decrypt(token)
    except TTParamsError:
        pass


@settings(max_examples=300)
@given(st.integers(1, 16).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n)))
def test_random_ciphertext_raises_only_ttparams_error(ct: bytes) -> None:
    # Random blocks usually fail padding or UTF-8; when they happen to pass, a str comes back.
    try:
        out = ttparams.decrypt(base64.b64encode(ct).decode())
    except TTParamsError:
        return
    assert isinstance(out, str)


@settings(max_examples=300)
@given(st.text(max_size=100), st.data())
def test_bit_flip_never_escapes(plaintext: str, data: st.DataObject) -> None:
    raw = bytearray(base64.b64decode(ttparams.encrypt(plaintext)))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << data.draw(st.integers(0, 7))
    try:
        out = ttparams.decrypt(base64.b64encode(bytes(raw)).decode())
    except TTParamsError:
        return
    assert out != plaintext
