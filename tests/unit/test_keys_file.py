"""The API keys file: one key a line, optionally with its own limits; comments and blank lines (any leading
whitespace) are not keys.

Defect 11 of issue 7: an indented `  # comment` line became a valid key, so a comment-only file passed the
"public bind needs keys" check. A file that holds no key is now an error at start-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ttsign.api_keys import ApiKeys, ApiKeysError, load_keys, parse_key_lines, parse_keys
from ttsign.config import Settings


def _settings(tmp_path: Path, text: str | bytes, **kw: str) -> Settings:
    f = tmp_path / "keys"
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")
    return Settings(api_keys_file=str(f), **kw)


def test_indented_comments_and_blank_lines_are_not_keys(tmp_path):
    text = "# top comment\n  # indented comment\n\t# tab comment\n\n   \nkey-one\n  key-two  \r\n\t\n"
    assert _settings(tmp_path, text).api_key_set() == frozenset({"key-one", "key-two"})


def test_indented_comment_is_never_accepted_as_a_key(tmp_path):
    keys = _settings(tmp_path, "  # comment\nreal-key\n").api_key_set()
    assert not any("#" in k for k in keys)
    assert keys == {"real-key"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment\n",
        "  # indented only\n",
        "\t#tab\n   \n",
        "\ufeff# bom then comment\n",
        "#a\r\n #b\r\n",
    ],
)
def test_a_file_with_no_keys_is_an_error(tmp_path, text):
    s = _settings(tmp_path, text)
    with pytest.raises(ApiKeysError) as info:
        s.api_key_set()
    message = str(info.value)
    assert "\n" not in message and "no API keys" in message and "keys" in message  # one line, names the file
    assert isinstance(info.value, ValueError)


def test_missing_or_unreadable_file_is_a_one_line_error(tmp_path):
    s = Settings(api_keys_file=str(tmp_path / "absent"))
    with pytest.raises(ApiKeysError) as info:
        s.api_key_set()
    assert "cannot read" in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "latin").write_bytes(b"caf\xe9-key\n")
    with pytest.raises(ApiKeysError, match="UTF-8"):
        Settings(api_keys_file=str(tmp_path / "latin")).api_key_set()


def test_bom_and_crlf_are_tolerated(tmp_path):
    assert _settings(tmp_path, b"\xef\xbb\xbfk-bom\r\nk-crlf\r\n").api_key_set() == {"k-bom", "k-crlf"}


@pytest.mark.parametrize(
    ("line", "word"),
    [("key with space", "whitespace"), ("key # trailing note", "whitespace"), ("kéy", "printable ASCII")],
)
def test_a_line_that_cannot_be_a_header_value_is_refused(tmp_path, line, word):
    with pytest.raises(ApiKeysError, match=word) as info:
        _settings(tmp_path, f"good-key\n{line}\n").api_key_set()
    assert "line 2" in str(info.value)


def test_env_keys_and_file_keys_are_merged(tmp_path):
    assert _settings(tmp_path, "from-file\n", api_keys="a-env, b-env ,,").api_key_set() == {
        "from-file",
        "a-env",
        "b-env",
    }


def test_no_file_and_no_env_keys_is_open_mode_not_an_error():
    assert Settings(api_keys="").api_key_set() == frozenset()
    assert Settings(api_keys=" , ").api_key_set() == frozenset()


def test_parse_keys_is_pure():
    assert parse_keys("# c\n k1 \n\n  #k2\n", source="x") == frozenset({"k1"})


# ---- issue 14, item 6: a key's own rate limits on its line ---------------------------------------------


def test_a_line_may_give_its_key_its_own_limits():
    text = "plain-key\nscraper-key   minute=600 hour=10000 day=0\n  overlay-key\tday=50 minute=5  # no\n"
    with pytest.raises(ApiKeysError, match="line 3"):  # a '#' note after the fields is refused too
        parse_key_lines(text, source="f")
    entries = parse_key_lines(text.replace("  # no", ""), source="f")
    assert entries == {
        "plain-key": {},
        "scraper-key": {"rate_limit_minute": 600, "rate_limit_hour": 10000, "rate_limit_day": 0},
        "overlay-key": {"rate_limit_day": 50, "rate_limit_minute": 5},
    }
    assert parse_keys(text.replace("  # no", ""), source="f") == {"plain-key", "scraper-key", "overlay-key"}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("k1 minute", "'minute' is not a limit"),
        ("k1 seconds=5", "'seconds=5' is not a limit"),
        ("k1 minute=-1", "minute='-1' is not a whole number"),
        ("k1 minute=1.5", "minute='1.5' is not a whole number"),
        ("k1 minute=", "minute='' is not a whole number"),
        ("k1 minute=5 minute=6", "minute= is given twice"),
        ("k1 Minute=5", "'Minute=5' is not a limit"),
        ("k1 # note", "not a comment"),
    ],
)
def test_a_bad_limit_is_a_one_line_error_naming_the_line(tmp_path, line, words):
    with pytest.raises(ApiKeysError) as info:
        _settings(tmp_path, f"good-key\n{line}\n").api_key_set()
    message = str(info.value)
    assert words in message and "line 2" in message and "TTSIGN_API_KEYS_FILE=" in message and "\n" not in message


def test_a_key_on_two_lines_is_an_error():
    with pytest.raises(ApiKeysError, match=r"line 3: this key is already on line 1"):
        parse_key_lines("k1 minute=5\nk2\nk1 minute=50\n", source="f")


def test_load_keys_reads_env_and_file_once_with_the_files_limits(tmp_path):
    f = tmp_path / "keys"
    f.write_text("file-key minute=7\nshared-key hour=9\nbare-key\n")
    loaded = load_keys("env-key, shared-key", str(f))
    assert loaded.keys == {"env-key", "shared-key", "file-key", "bare-key"}
    assert loaded.limits == {"file-key": {"rate_limit_minute": 7}, "shared-key": {"rate_limit_hour": 9}}
    assert load_keys("a,b", "") == ApiKeys(frozenset({"a", "b"}))
    f.write_text("# nothing\n")
    with pytest.raises(ApiKeysError, match="no API keys"):
        load_keys("a", str(f))
