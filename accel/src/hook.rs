//! What the SDK's fetch/XHR hook does to a URL before signing it (protocol/xbogus.md section 2.2), and the
//! token-param filtering `policy.parse_url` does before it; ported from `xbogus.hook_signed_query` and
//! `policy.parse_url` (the reference).

const TOKEN_PARAMS: [&str; 5] = ["X-Bogus", "X-Gnarly", "X-Dynosaur", "_signature", "msToken"];
const OEC_BSID: &[u8] = b"X-Tts-Oec-Bsid";

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn escape_at(b: &[u8], i: usize) -> Option<u8> {
    if i + 2 < b.len() && b[i] == b'%' {
        Some(hex_val(b[i + 1])? * 16 + hex_val(b[i + 2])?)
    } else {
        None
    }
}

/// `decodeURIComponent(url) !== url`, or the message of the URIError it throws (see `xbogus._has_escapes`).
fn has_escapes(url: &str) -> Result<bool, String> {
    let b = url.as_bytes();
    if !b.contains(&b'%') {
        return Ok(false);
    }
    let mut high = false;
    for (i, &c) in b.iter().enumerate() {
        if c == b'%' {
            match escape_at(b, i) {
                None => {
                    return Err(
                        "a '%' that is not a valid escape: the SDK hook throws (URIError)".into(),
                    )
                }
                Some(v) => high |= v >= 0x80,
            }
        }
    }
    if high {
        // Every run of consecutive escapes must be well-formed UTF-8.
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            let start = i;
            let mut bytes = Vec::new();
            while let Some(v) = if i < b.len() { escape_at(b, i) } else { None } {
                bytes.push(v);
                i += 3;
            }
            if bytes.is_empty() {
                i += 1; // unreachable: every '%' was checked to start an escape
                continue;
            }
            if std::str::from_utf8(&bytes).is_err() {
                return Err(format!(
                    "malformed UTF-8 percent-escape '{}': the SDK hook throws",
                    &url[start..i]
                ));
            }
        }
    }
    Ok(true)
}

/// A 256-entry table: `true` for the bytes kept as they are.
const fn keep_table(extra: &[u8], lo: u8, hi: u8, alnum_only: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        t[c] = if alnum_only {
            b.is_ascii_alphanumeric()
        } else {
            b >= lo && b <= hi
        };
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = alnum_only;
        i += 1;
    }
    t
}

/// `encodeURI` keeps letters, digits and `-_.~;,/?:@&=+$!*'()#`.
const ENCODE_URI_KEEP: [bool; 256] = keep_table(b"-_.~;,/?:@&=+$!*'()#", 0, 0, true);
/// The URL Standard's special-query percent-encode set, as the bytes *kept*: 0x21..0x7E but `"#'<>`.
const QUERY_KEEP: [bool; 256] = keep_table(b"\"#'<>", 0x21, 0x7E, false);

/// Append `text` with every byte not in `keep` written as %XX (upper-case hex).
fn percent_encode(text: &[u8], keep: &[bool; 256], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut v = Vec::with_capacity(text.len() + text.len() / 4);
    for &c in text {
        if keep[c as usize] {
            v.push(c);
        } else {
            v.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        }
    }
    // Every byte pushed is ASCII (kept bytes are ASCII in both tables, escapes are hex).
    out.push_str(std::str::from_utf8(&v).unwrap_or_default());
}

/// `encodeURI`: everything but letters, digits and `-_.~;,/?:@&=+$!*'()#` as %XX of its UTF-8 bytes.
fn encode_uri(url: &str, out: &mut String) {
    percent_encode(url.as_bytes(), &ENCODE_URI_KEEP, out);
}

/// `urllib.parse.unquote(name) == "X-Tts-Oec-Bsid"`: only ASCII bytes can decode to that ASCII name.
fn is_oec_bsid(name: &str) -> bool {
    let b = name.as_bytes();
    // The decoded name starts with `X`, so the text starts with `X` or an escape, and it is 14..=42 bytes.
    if b.len() < OEC_BSID.len() || b.len() > 3 * OEC_BSID.len() || (b[0] != b'X' && b[0] != b'%') {
        return false;
    }
    if !b.contains(&b'%') {
        return b == OEC_BSID;
    }
    let mut dec = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match escape_at(b, i) {
            Some(v) => {
                dec.push(v);
                i += 3;
            }
            None => {
                dec.push(b[i]);
                i += 1;
            }
        }
    }
    dec == OEC_BSID
}

/// `xbogus.hook_signed_query(url, ms_token)`: `(url the hook hands on, the string X-Bogus signs)`.
pub fn hook_signed_query(url: &str, ms_token: &str) -> Result<(String, String), String> {
    let mut u = String::with_capacity(url.len() + url.len() / 4 + ms_token.len() + 16);
    if has_escapes(url)? {
        u.push_str(url);
    } else {
        encode_uri(url, &mut u);
    }
    if let Some(q) = u.find('?') {
        if u[q + 1..].contains('\'') {
            let tail = u[q + 1..].replace('\'', "%27");
            u.truncate(q + 1);
            u.push_str(&tail);
        }
    }
    u.push(if u.contains('?') { '&' } else { '?' });
    u.push_str("msToken=");
    u.push_str(ms_token);
    let q = u.find('?').unwrap_or(0);
    let mut signed = u[q + 1..].to_string();
    let candidate = |p: &str| {
        matches!(p.as_bytes().first(), Some(b'X' | b'%'))
            && is_oec_bsid(p.split('=').next().unwrap_or(""))
    };
    let last = signed
        .split('&')
        .enumerate()
        .filter(|(_, p)| candidate(p))
        .last();
    if let Some((idx, _)) = last {
        let kept: Vec<&str> = signed
            .split('&')
            .enumerate()
            .filter(|(i, p)| *i != idx && !p.is_empty())
            .map(|(_, p)| p)
            .collect();
        signed = kept.join("&");
    }
    Ok((u, signed))
}

/// `policy.parse_url`'s middle: drop token params and empty segments from `raw_query` (keeping the first
/// msToken value), rebuild the page URL on the placeholder host and run the hook with an empty msToken.
/// Returns `(hooked URL without its msToken, business query, msToken found)`.
pub fn prepare(
    scheme: &str,
    raw_path: &str,
    raw_query: Option<&str>,
) -> Result<(String, String, Option<String>), String> {
    let mut page =
        String::with_capacity(scheme.len() + raw_path.len() + raw_query.map_or(0, str::len) + 8);
    page.push_str(scheme);
    page.push_str("://h");
    page.push_str(raw_path);
    let mut ms_token: Option<String> = None;
    let mut first = true;
    for segment in raw_query.into_iter().flat_map(|q| q.split('&')) {
        if segment.is_empty() {
            continue;
        }
        let b0 = segment.as_bytes()[0];
        let name = if matches!(b0, b'X' | b'_' | b'm') {
            segment.split('=').next().unwrap_or("")
        } else {
            ""
        };
        if !name.is_empty() && TOKEN_PARAMS.contains(&name) {
            if name == "msToken" && ms_token.is_none() {
                ms_token = Some(segment.get(name.len() + 1..).unwrap_or("").to_string());
            }
            continue;
        }
        page.push(if first { '?' } else { '&' });
        first = false;
        page.push_str(segment);
    }
    let (mut hooked, signed) = hook_signed_query(&page, "")?;
    hooked.truncate(hooked.len() - "?msToken=".len());
    let query = if signed == "msToken=" {
        String::new()
    } else {
        signed[..signed.len() - "&msToken=".len()].to_string()
    };
    Ok((hooked, query, ms_token))
}

/// A URL `policy.parse_url` would read the same way without a WHATWG parser: `(scheme, host, path,
/// business query, msToken, wire query)`, or `Ok(None)` when the URL is anything but plain, and the caller
/// takes the full path (ada_url and every check). Plain means all of: printable ASCII (space allowed after
/// the `?`); `http://` or `https://` in lower case; a host of lower-case letter/digit/hyphen labels that is
/// not an IPv4 number or an `xn--` label; an optional port without leading zeros; a path of characters that
/// neither `encodeURI`, the URL Standard's path set nor Chrome change, with no `.`/`..` segment. `Err` is
/// the hook's own error (a malformed escape), as the full path raises it.
#[allow(clippy::type_complexity)]
pub fn plain_url(
    text: &str,
) -> Result<Option<(String, String, String, String, Option<String>, String)>, String> {
    let b = text.as_bytes();
    let (scheme, default_port, start) = if b.starts_with(b"https://") {
        ("https", 443u32, 8)
    } else if b.starts_with(b"http://") {
        ("http", 80u32, 7)
    } else {
        return Ok(None);
    };
    let qmark = text.find('?');
    let before_query = qmark.unwrap_or(b.len());
    if b[..before_query]
        .iter()
        .any(|&c| !(0x21..=0x7E).contains(&c))
        || b[before_query..]
            .iter()
            .any(|&c| !(0x20..=0x7E).contains(&c))
    {
        return Ok(None);
    }
    let end = start
        + b[start..]
            .iter()
            .position(|&c| matches!(c, b'/' | b'?' | b'#' | b'\\'))
            .unwrap_or(b.len() - start);
    if end < b.len() && b[end] == b'\\' {
        return Ok(None);
    }
    let authority = &text[start..end];
    let (hostname, port) = match authority.find(':') {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    if hostname.is_empty() || hostname.len() > 253 {
        return Ok(None);
    }
    let labels: Vec<&str> = hostname.split('.').collect();
    for label in &labels {
        let l = label.as_bytes();
        let ok = !l.is_empty()
            && l.len() <= 63
            && l.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && l[0] != b'-'
            && l[l.len() - 1] != b'-'
            && !label.starts_with("xn--");
        if !ok {
            return Ok(None);
        }
    }
    let last = labels[labels.len() - 1];
    if last.bytes().all(|c| c.is_ascii_digit()) || last.starts_with("0x") {
        return Ok(None); // an IPv4 number to the URL Standard
    }
    let mut host = hostname.to_string();
    if let Some(p) = port {
        let pb = p.as_bytes();
        if pb.is_empty()
            || pb.len() > 5
            || !pb.iter().all(u8::is_ascii_digit)
            || (pb[0] == b'0' && pb.len() > 1)
        {
            return Ok(None);
        }
        let n: u32 = p.parse().map_err(|_| String::from("port"))?;
        if n > 65535 {
            return Ok(None);
        }
        if n != default_port {
            host.push(':');
            host.push_str(p);
        }
    }
    let rest = &text[end..];
    let rest = rest.split('#').next().unwrap_or("");
    let (raw_path, raw_query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    const PATH_OK: &[u8] = b"-_.~!$&'()*+,;=:@/";
    if !raw_path
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || PATH_OK.contains(&c))
        || raw_path.split('/').any(|s| s == "." || s == "..")
    {
        return Ok(None);
    }
    let (hooked, query, ms_token) = prepare(scheme, raw_path, raw_query)?;
    if hooked.ends_with(' ') {
        return Ok(None); // the URL Standard trims a trailing space off the hooked URL: the full path knows how
    }
    // The hooked URL is `scheme://h<path>[?<query>]`: its path is `raw_path` (nothing in it changes), its
    // query goes on the wire with the URL Standard's special-query set percent-encoded.
    let path = if raw_path.is_empty() {
        "/".to_string()
    } else {
        raw_path.to_string()
    };
    let mut wire = String::new();
    if let Some(i) = hooked.find('?') {
        percent_encode(&hooked.as_bytes()[i + 1..], &QUERY_KEEP, &mut wire);
    }
    Ok(Some((
        scheme.to_string(),
        host,
        path,
        query,
        ms_token,
        wire,
    )))
}
