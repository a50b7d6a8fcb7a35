"""The change analyzer on prepared baselines with known differences (`tests/monitor/data/README.md`), and the
baseline file format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ttsign.monitor import analyze
from ttsign.monitor import baseline as bl

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> bl.Baseline:
    return bl.load(DATA / f"{name}.json")


@pytest.fixture(scope="module")
def base() -> bl.Baseline:
    return load("base")


def test_the_same_baseline_an_hour_later_is_no_change(base: bl.Baseline) -> None:
    report = analyze.diff(base, load("same"))
    assert report.findings == [] and not report.changed
    assert "No change" in report.render()
    assert report.to_dict()["counts"] == {"critical": 0, "high": 0, "medium": 0, "info": 0}


def test_a_token_version_and_field_change_is_critical(base: bl.Baseline) -> None:
    report = analyze.diff(base, load("token_change"))
    [f] = report.findings
    assert (f.severity, f.area) == ("critical", "tokens")
    assert "X-Gnarly.sdk_version" in f.title and "X-Gnarly.fields" in f.title and "api_item_list" in f.title
    lines = f.evidence["api_item_list"]
    assert "X-Gnarly.sdk_version: baseline '1.0.0.368', now '1.0.0.400'" in lines
    assert "X-Gnarly.fields: only baseline [], only now ['new_field']" in lines
    assert "user_detail" not in f.evidence  # only the URL kind that changed
    steps = " ".join(f.next_steps)
    for command in ("TTSIGN_PROVIDERS=browser,native", "ttsign maintenance on", "ttsign vectors check"):
        assert command in steps
    text = report.render()
    assert text.splitlines()[2].startswith("CRITICAL  Token layout or version changed")
    assert "Summary: 1 critical, 0 high, 0 medium" in text


def test_a_new_sdk_build_is_high_with_old_and_new_versions_hash_and_paths(base: bl.Baseline) -> None:
    report = analyze.diff(base, load("sdk_change"))
    [f] = report.findings
    assert (f.severity, f.area) == ("high", "sdk")
    assert f.title == "TikTok's SDK build changed: 1.0.0.368, 5.1.3-ZTCA -> 1.0.0.400, 5.1.3-ZTCA"
    ev = f.evidence
    assert ev["sha256"]["was"] == ["c7524c795ee08c1d2d4465fdfca1102bbf3bd1034fa4ae33f2a8984047b8a484"]
    assert ev["sha256"]["now"] != ev["sha256"]["was"]
    assert ev["versions"]["added"] == ["1.0.0.400"] and ev["versions"]["removed"] == ["1.0.0.368"]
    assert ev["scripts"] == {"added": ["webmssdk_1.0.0.400.js"], "removed": ["webmssdk_1.0.0.368.js"]}
    assert ev["signed_paths"]["added"] == ["/tiktok/v1/*"] and ev["signed_paths"]["removed"] == []
    assert ev["endpoints"] == {"added": ["/web/report2"], "removed": []}
    assert any("ttsign monitor --once" in s for s in f.next_steps)


def test_a_socket_fact_change_is_medium(base: bl.Baseline) -> None:
    [f] = analyze.diff(base, load("socket_change")).findings
    assert (f.severity, f.area) == ("medium", "socket")
    assert f.title == "Socket facts changed: hosts, cookie_names"
    assert f.evidence["hosts"]["was"] == ["webcast-ws.tiktok.com"]
    assert f.evidence["hosts"]["now"] == ["webcast-ws.us.tiktok.com"]
    assert f.evidence["cookie_names"]["added"] == ["odin_tt"]
    assert any("TTSIGN_WS_SIGNER=auto" in s for s in f.next_steps)


def test_a_fingerprint_change_is_medium(base: bl.Baseline) -> None:
    [f] = analyze.diff(base, load("fingerprint_change")).findings
    assert (f.severity, f.area) == ("medium", "fingerprint")
    assert f.evidence["tokens.X-Bogus.header"] == {"was": "4000410e", "now": "4000410f"}
    assert "Chrome/157" in f.evidence["navigator.user_agent"]["now"]
    assert "tokens.X-Gnarly.canvas" not in f.evidence  # unchanged fields are not findings


def test_a_section_missing_now_is_not_compared_and_not_a_change(base: bl.Baseline) -> None:
    report = analyze.diff(base, load("partial"))
    assert not report.changed
    assert [(f.severity, f.title) for f in report.findings] == [
        ("info", "tokens: not compared"),
        ("info", "fingerprint: not compared"),
    ]
    assert "Chromium not found" in report.findings[0].evidence["now"]
    assert "2 not compared" in report.render()


def test_every_change_at_once_most_severe_first_and_json(base: bl.Baseline) -> None:
    report = analyze.diff(base, load("all_change"))
    assert [(f.severity, f.area) for f in report.findings] == [
        ("critical", "tokens"),
        ("high", "sdk"),
        ("medium", "socket"),
        ("medium", "fingerprint"),
    ]
    out = json.loads(json.dumps(report.to_dict()))
    assert out["changed"] is True and out["counts"] == {"critical": 1, "high": 1, "medium": 2, "info": 0}
    assert out["findings"][0]["next_steps"] and out["baseline"]["www"] == "https://www.tiktok.com"
    heads = [line.split()[0] for line in report.render().splitlines()[1:] if line[:1].isupper()]
    assert heads == ["CRITICAL", "HIGH", "MEDIUM", "MEDIUM", "Summary:"]


def test_a_changed_signed_path_list_alone_is_high(base: bl.Baseline) -> None:
    now = load("same")
    now.sdk["signed_paths"] = [*now.sdk["signed_paths"], "/tiktok/v1/*"]
    [f] = analyze.diff(base, now).findings
    assert f.severity == "high" and f.title == "The signed path list changed (same SDK build)"


def test_baseline_round_trip(tmp_path: Path, base: bl.Baseline) -> None:
    path = tmp_path / "b.json"
    bl.dump(base, path)
    again = bl.load(path)
    assert again.to_dict() == base.to_dict()
    assert again.scripts[0].versions == ("1.0.0.368", "5.1.3-ZTCA")
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other", "version": 1}', "is not a ttsign baseline"),
        ('{"format": "ttsign-baseline"}', 'no valid "version"'),
        ('{"format": "ttsign-baseline", "version": 99}', "newer than this ttsign reads"),
        ('{"format": "ttsign-baseline", "version": 1, "sdk": []}', '"sdk" must be a JSON object'),
        ('{"format": "ttsign-baseline", "version": 1, "created": "x"}', '"created" must be a number'),
    ],
)
def test_a_bad_baseline_file_is_one_line_saying_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(bl.BaselineError) as err:
        bl.load(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_baseline_file(tmp_path: Path) -> None:
    with pytest.raises(bl.BaselineError, match="No such file"):
        bl.load(tmp_path / "nope.json")


def test_pinned_reads_the_configured_file_again_only_when_it_changes(tmp_path: Path, base: bl.Baseline) -> None:
    class S:
        monitor_baseline = str(tmp_path / "b.json")

    assert bl.pinned(type("Unset", (), {"monitor_baseline": ""})()) is None
    bl.dump(base, S.monitor_baseline)
    first = bl.pinned(S())
    assert first is not None and bl.pinned(S()) is first
    changed = load("sdk_change")
    bl.dump(changed, S.monitor_baseline)
    again = bl.pinned(S())
    assert again is not None and again.scripts[0].name == "webmssdk_1.0.0.400.js"
