"""Regenerate ``tests/vectors/urls.json``: what a browser with TikTok's SDK signs and sends for a URL.

Run from the repository root::

    python tests/oracle/make_url_vectors.py            # writes tests/vectors/urls.json
    python tests/oracle/make_url_vectors.py --out X    # writes X instead

Needs Debian's Chromium at ``/usr/bin/chromium`` (``apt-get install -y chromium``), Node and npm. The oracle
is the one of ``shared/protocol/sdk-oracle.md``: TikTok's SDK from the npm package ``tiktok-signature@4.3.6``
(fetched with ``npm pack`` into a temporary directory, checked against its sha256, never committed),
driven by ``npm`` ``playwright-core`` (installed into the same temporary directory; it downloads no
browser and is pointed at ``/usr/bin/chromium``). ``url_oracle.mjs`` beside this file is the browser side.

Two kinds of vectors come out:

* ``sdk-hook-url``: one ``fetch(url)`` from a page on ``http://www.tiktok.com`` (mapped to 127.0.0.1) with
  the SDK's fetch hook active. Recorded: the string the hook handed to X-Bogus (the package's own capture
  of the call's arguments), the URL the browser reported for the request and the request-target our
  local server received (the wire), the SDK's X-Bogus, and Chrome's and Node's ``new URL(url).href``
  (the parsers without the SDK). ``ttsign`` says what ttsign must do with the same input: reproduce the
  recording, reproduce another case's recording (a documented normalisation), or reject.
* ``url-parse``: Chrome's and Node's ``new URL(input)`` field by field, for the hostile inputs of
  ``tests/unit/test_whatwg_urls.py`` (``HOSTILE``) and every hook input.

Each SDK build is run in its own fresh incognito context; the vectors are written only if the builds agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ttsign.providers.browser_sdk import INIT_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

SDK_PACKAGE = "tiktok-signature@4.3.6"
PLAYWRIGHT = "playwright-core@1.65.1"
SDK_FILES = {
    "webmssdk_1.0.0.368.js": ("1.0.0.368", "c7524c795ee08c1d2d4465fdfca1102bbf3bd1034fa4ae33f2a8984047b8a484"),
    "webmssdk_2.0.0.485.js": ("2.0.0.485", "4c2fccf5a34b37474e8515412f7e30064e67864fb7f2c1c13b2e4844aa24f366"),
}
CHROMIUM = "/usr/bin/chromium"
PAGE = "http://www.tiktok.com/@user/live"
BASE = "http://www.tiktok.com/api/search/item/full/"
MS_TOKEN = "kq4pY2c9X8mVt1Rw7bN3eZ5aL0hJ6gF-dS_uI8oP2yT4rE9wQ1zX7cV3bN5mK0lJ"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36"
FROZEN_MS = 1730000000000
INIT = INIT_OPTIONS  # sdk-oracle.md §2 step 7; the browser provider inits the SDK the same way
ESC = "e=%41&"  # a valid escape elsewhere in the URL: the hook then leaves raw characters raw (xbogus.md 2.2)

# (id, url, rule). rule None: ttsign reproduces the recording; ("same_as", id, why): ttsign reproduces
# that other case's recording; ("reject", why): ttsign refuses the URL.
Case = tuple[str, str, Any]


def _named_cases() -> list[Case]:
    frag = (
        "a fragment is never sent, and the hook appends msToken into it (xbogus.md 2.2 rule 6): ttsign drops it first"
    )
    empty = "empty segments are dropped before signing (a normalisation documented in policy.py)"
    trim = "leading and trailing spaces, tabs and newlines are trimmed first (the URL Standard trims them too)"
    ctrl = "a browser deletes tabs and newlines, the SDK's encodeURI first turns them into %09/%0A: ttsign refuses them"
    malformed = "the SDK's hook throws URIError on a malformed escape, so no page could send it: ttsign refuses it"
    return [
        ("mixed-encoded-and-raw-cjk", BASE + "?keyword=%E4%B8%AD&q=日本", None),
        ("mixed-encoded-and-raw-space", BASE + "?q=日本 語&e=%20", None),
        ("mixed-raw-before-escape", BASE + "?q=café&r=caf%C3%A9", None),
        ("raw-cjk-no-escape", BASE + "?keyword=日本&offset=0", None),
        ("spaces-plain", BASE + "?q=a b c&r= x", None),
        ("spaces-trailing", BASE + "?q=a b c&r= x ", ("same_as", "spaces-plain", trim)),
        ("spaces-escaped", BASE + "?" + ESC + "q=a b c", None),
        ("dq-lt-gt-plain", BASE + '?q="<x>"', None),
        ("dq-lt-gt-escaped", BASE + "?" + ESC + 'q="<x>"', None),
        ("apostrophe-plain", BASE + "?q=it's", None),
        ("apostrophe-escaped", BASE + "?" + ESC + "q=it's", None),
        ("apostrophe-in-path", "http://www.tiktok.com/api/it's/?q=1", None),
        ("backtick-plain", BASE + "?q=`x`", None),
        ("backtick-escaped", BASE + "?" + ESC + "q=`x`", None),
        ("fragment", BASE + "?a=1#frag", ("same_as", "fragment-companion", frag)),
        ("fragment-with-amp", BASE + "?a=1#frag&b=2", ("same_as", "fragment-companion", frag)),
        ("fragment-companion", BASE + "?a=1", None),
        ("hash-encoded-in-value", BASE + "?q=%23tag", None),
        ("braces-pipe-backslash-caret-plain", BASE + "?q={}|\\^[]", None),
        ("braces-pipe-backslash-caret-escaped", BASE + "?" + ESC + "q={}|\\^[]", None),
        ("emoji-plain", BASE + "?q=😀🎉", None),
        ("emoji-escaped", BASE + "?" + ESC + "q=😀🎉", None),
        ("emoji-pre-encoded", BASE + "?q=%F0%9F%98%80", None),
        ("lone-percent-end", BASE + "?q=100%", ("reject", malformed)),
        ("lone-percent-middle", BASE + "?q=%&r=1", ("reject", malformed)),
        ("percent-zz", BASE + "?q=%zz", ("reject", malformed)),
        ("percent-one-hex", BASE + "?q=%4", ("reject", malformed)),
        ("percent-invalid-utf8", BASE + "?q=%E4", ("reject", malformed)),
        ("percent-overlong", BASE + "?q=%C0%80", ("reject", malformed)),
        ("percent-25", BASE + "?q=100%25", None),
        ("plus", BASE + "?q=a+b&r=c%2Bd", None),
        ("hex-lowercase", BASE + "?q=%e4%b8%ad", None),
        ("hex-mixed-case", BASE + "?q=%E4%b8%Ad&r=%2f", None),
        ("empty-values", BASE + "?a=&b=&c", None),
        ("duplicate-keys", BASE + "?a=1&a=2&a=&b=x&a=3", None),
        ("equals-in-value", BASE + "?k=v=w&x==", None),
        ("empty-segments", BASE + "?a=1&&b=2", ("same_as", "empty-segments-companion", empty)),
        ("empty-segments-companion", BASE + "?a=1&b=2", None),
        ("trailing-amp", BASE + "?a=1&", ("same_as", "trailing-amp-companion", empty)),
        ("trailing-amp-companion", BASE + "?a=1", None),
        ("trailing-question", BASE + "?", ("same_as", "no-query", empty)),
        ("no-query", BASE, None),
        ("space-in-path-plain", "http://www.tiktok.com/api/a b/?q=1", None),
        ("space-in-path-escaped", "http://www.tiktok.com/api/a b/?" + ESC + "q=1", None),
        ("cjk-in-path-plain", "http://www.tiktok.com/api/日本/?q=1", None),
        ("cjk-in-path-escaped", "http://www.tiktok.com/api/日本/?" + ESC + "q=1", None),
        ("dot-segments", "http://www.tiktok.com/api/a/./b/../c/?q=1", None),
        ("encoded-dot-segments", "http://www.tiktok.com/api/a/%2e%2E/c/?q=1", None),
        ("nbsp-and-bom", BASE + "?q=a\u00a0b\ufeffc", None),
        ("nbsp-and-bom-escaped", BASE + "?" + ESC + "q=a\u00a0b\ufeffc", None),
        ("tab-in-query", BASE + "?q=a\tb", ("reject", ctrl)),
        ("newline-in-path", "http://www.tiktok.com/api/a\nb/?q=1", ("reject", ctrl)),
        ("long-query", BASE + "?" + "&".join(f"k{i}=v {i}" for i in range(40)), None),
    ]


def _char_map_cases() -> list[Case]:
    """Every printable ASCII character in a query value and in a path segment, with and without an escape."""
    cases: list[Case] = []
    for code in range(0x20, 0x7F):
        ch = chr(code)
        if ch in "#%":
            continue  # fragment and percent have their own cases
        cases.append((f"query-char-{code:02x}-plain", BASE + f"?k=a{ch}b", None))
        cases.append((f"query-char-{code:02x}-escaped", BASE + f"?{ESC}k=a{ch}b", None))
        if ch in "?/\\.":
            continue  # query start, segment separators (backslash is refused) and dot segments
        cases.append((f"path-char-{code:02x}-plain", f"http://www.tiktok.com/api/p{ch}q/?k=1", None))
        cases.append((f"path-char-{code:02x}-escaped", f"http://www.tiktok.com/api/p{ch}q/?{ESC}k=1", None))
    return cases


def hook_cases() -> list[Case]:
    return _named_cases() + _char_map_cases()


def parse_inputs() -> list[tuple[str, str]]:
    from tests.unit.test_whatwg_urls import HOSTILE  # the hostile table: (id, url, decision, host)

    seen: set[str] = set()
    out = []
    for row in HOSTILE:
        if row[1] not in seen and len(row[1]) <= 2000:  # the very long one tests length, not parsing
            seen.add(row[1])
            out.append((f"hostile-{row[0]}", row[1]))
    return out


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_sdk(tmp: Path) -> None:
    """npm pack the SDK package, unpack it and check every SDK file's sha256 (never committed)."""
    _run(["npm", "pack", "--silent", SDK_PACKAGE], tmp)
    tgz = next(tmp.glob("tiktok-signature-*.tgz"))
    _run(["tar", "xzf", tgz.name], tmp)
    (tmp / "www").mkdir()
    for name, (_, digest) in SDK_FILES.items():
        data = (tmp / "package" / "javascript" / name).read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if got != digest:
            raise SystemExit(f"{name}: sha256 {got} != {digest}; refusing to run an unknown SDK build")
        (tmp / "www" / name).write_bytes(data)


def run_oracle(tmp: Path, cases: list[Case], parse: list[tuple[str, str]]) -> dict[str, Any]:
    _run(["npm", "install", "--silent", "--no-audit", "--no-fund", PLAYWRIGHT], tmp)
    shutil.copy(HERE / "url_oracle.mjs", tmp / "url_oracle.mjs")
    job = {
        "port": 8765,
        "sdk_files": list(SDK_FILES),
        "user_agent": UA,
        "page_url": PAGE,
        "ms_token": MS_TOKEN,
        "frozen_date_now_ms": FROZEN_MS,
        "init": INIT,
        "hook_cases": [{"id": cid, "url": url} for cid, url, _ in cases],
        "parse_cases": [{"id": cid, "url": url} for cid, url in parse],
    }
    (tmp / "job.json").write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    subprocess.run(["node", "url_oracle.mjs", "job.json", "out.json"], cwd=tmp, check=True, env=env, timeout=900)
    return json.loads((tmp / "out.json").read_text(encoding="utf-8"))


def _recording(case: dict[str, Any]) -> dict[str, Any]:
    """The facts of one fetch: thrown, or signed string + what went on the wire."""
    if case["error"] is not None or not case["hook_calls"]:
        return {"outcome": "hook threw", "hook_error": case["error"] or "no hooked request"}
    (sent,) = set(case["browser_request_urls"])
    # The SDK also signs its own report calls (other hosts): keep the call whose X-Bogus the page's request
    # carries. A fragment case sends no X-Bogus (the hook put it in the fragment): keep its non-report call.
    xb = sent.split("&X-Bogus=", 1)[1].split("&", 1)[0] if "&X-Bogus=" in sent else None
    report = "msToken=" + MS_TOKEN
    calls = [c for c in case["hook_calls"] if (c["result"]["v"] == xb if xb else c["query"]["v"] != report)]
    if not calls:
        raise SystemExit(f"{case['id']}: no hook call matches the request the page sent")
    call = calls[-1]
    query = call["query"]
    if query["len"] != len(query["v"].encode("utf-16-le")) // 2:  # JS length: UTF-16 code units
        raise SystemExit(f"{case['id']}: the SDK's capture truncated the signed string; shorten the case")
    entries = case["entry_calls"]
    if entries and not any(e["query"]["v"] == query["v"] and e["result"] == call["result"] for e in entries):
        raise SystemExit(f"{case['id']}: X-Bogus entry and hook capture disagree")
    (wire,) = {x["target"] for x in case["server_received"]}
    if not sent.endswith(wire) or not sent.startswith("http://www.tiktok.com/"):
        raise SystemExit(f"{case['id']}: browser URL {sent!r} and received request-target {wire!r} disagree")
    return {
        "outcome": "sent",
        "signed_query": query["v"],
        "sent_url_before_signatures": sent.split("&X-Bogus=", 1)[0],
        "wire_request_target_before_signatures": wire.split("&X-Bogus=", 1)[0],
        "expected_x_bogus": call["result"]["v"],
    }


def build(out: dict[str, Any], cases: list[Case], parse: list[tuple[str, str]]) -> dict[str, Any]:
    by_sdk = {s["sdk_file"]: {c["id"]: c for c in s["cases"]} for s in out["sessions"]}
    parsed = {p["id"]: p for p in out["parse"]}
    first = next(iter(SDK_FILES))
    records: dict[str, dict[str, Any]] = {}
    for cid, _, _ in cases:
        recs = {sdk: _recording(by_sdk[sdk][cid]) for sdk in SDK_FILES}
        # X-Bogus agrees across builds (same clock, same environment); X-Gnarly differs by build (not kept).
        norm = list(recs.values())
        if any(n != norm[0] for n in norm):
            raise SystemExit(f"{cid}: the SDK builds disagree: {json.dumps(recs, ensure_ascii=False)}")
        records[cid] = recs[first]
    browser = f"Chrome/{out['browser']} (Debian chromium, headless, /usr/bin/chromium)"
    session = out["sessions"][0]
    env = {
        "page_url": session["page_href"],
        "navigator_user_agent": session["user_agent"],
        "navigator_platform": session["platform"],
        "navigator_webdriver": session["webdriver"],
        "sdk_init_called": session["init"] == "ok",
        "frozen_date_now_ms": FROZEN_MS,
        "browser": browser,
        "node": out["node"],
        "driver": PLAYWRIGHT,
    }
    vectors: list[dict[str, Any]] = []
    for cid, url, rule in cases:
        version, digest = SDK_FILES[first]
        vec: dict[str, Any] = {
            "kind": "sdk-hook-url",
            "id": cid,
            "provenance": "oracle",
            "sdk_version": version,
            "sdk_source": f"{SDK_PACKAGE} javascript/{first}",
            "sdk_file_sha256": digest,
            "sdk_builds_agreeing": [SDK_FILES[f][0] for f in SDK_FILES],
            "signing_path": "fetch(url) in the page, SDK fetch hook after byted_acrawler.init",
            "http_method": "GET",
            "url": url,
            "ms_token": MS_TOKEN,
            "user_agent": session["user_agent"],
            "frozen_date_now_ms": FROZEN_MS,
            **records[cid],
        }
        p = parsed.get(f"hook-{cid}")
        if p is not None:
            vec["chrome_new_url_href"] = p["chrome"].get("href", p["chrome"].get("error"))
            vec["node_new_url_href"] = p["node"].get("href", p["node"].get("error"))
        if rule is None:
            if vec["outcome"] != "sent":
                raise SystemExit(f"{cid}: the hook threw; give the case a 'reject' rule")
            vec["ttsign"] = {"accept": True, "reproduces": cid}
        elif rule[0] == "same_as":
            vec["ttsign"] = {"accept": True, "reproduces": rule[1], "why": rule[2]}
            vec["ttsign"].update({k: records[rule[1]][k] for k in ("signed_query", "sent_url_before_signatures")})
        else:
            vec["ttsign"] = {"accept": False, "why": rule[1]}
        vectors.append(vec)
    for pid, url in parse:
        if pid.startswith("hook-"):
            continue  # kept on the hook vector itself (chrome_new_url_href, node_new_url_href)
        p = parsed[pid]
        vectors.append(
            {
                "kind": "url-parse",
                "id": pid,
                "provenance": "oracle",
                "url": url,
                "chrome": p["chrome"],
                "node": p["node"],
                "browser": browser,
                "node_version": out["node"],
            }
        )
    return {
        "name": "URLs the way a browser reads, signs and sends them (TikTok's own SDK in Chromium, Node's URL)",
        "spec": "protocol/xbogus.md section 2.2, protocol/gnarly-532.md section 0.1, WHATWG URL Standard",
        "generator": "tests/oracle/make_url_vectors.py (browser side: tests/oracle/url_oracle.mjs)",
        "format": (
            "Each vector's 'kind' names what it checks. sdk-hook-url: 'url' was passed to fetch() in a page "
            "running TikTok's SDK; 'signed_query' is the exact string its hook handed to X-Bogus (the SDK "
            "package's own argument capture), 'sent_url_before_signatures' the URL the browser reported "
            "sending, up to '&X-Bogus=', and 'wire_request_target_before_signatures' the request-target the "
            "local server received, up to the same point; 'expected_x_bogus' is the SDK's X-Bogus (the same "
            "in every build run); 'outcome' is 'sent' or 'hook threw'. "
            "'ttsign' is what ttsign must do with the same url: reproduce this recording or the one named "
            "in 'reproduces' (signed_query and sent_url_before_signatures, byte for byte), or reject it. "
            "url-parse: Chrome's and Node's new URL(url), field by field, or the error."
        ),
        "provenance_kinds": {
            "oracle": (
                f"{SDK_PACKAGE} (fetched at run time, sha256-checked, never committed) in {browser}, "
                f"driven by {PLAYWRIGHT}; host mapped to 127.0.0.1, nothing left the machine"
            )
        },
        "env": env,
        "count": len(vectors),
        "vectors": vectors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "vectors" / "urls.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (SDK files inside)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    cases = hook_cases()
    parse = parse_inputs() + [(f"hook-{cid}", url) for cid, url, _ in cases]
    tmp = Path(tempfile.mkdtemp(prefix="ttsign-url-oracle-"))
    try:
        fetch_sdk(tmp)
        out = run_oracle(tmp, cases, parse)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    data = build(out, cases, parse)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for v in data["vectors"]:
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    print(f"wrote {args.out}: {kinds}")


if __name__ == "__main__":
    main()
