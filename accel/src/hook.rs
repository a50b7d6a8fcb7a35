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
                None => return Err("a '%' that is not a valid escape: the SDK hook throws (URIError)".into()),
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
                return Err(format!("malformed UTF-8 percent-escape '{}': the SDK hook throws", &url[start..i]));
            }
        }
    }
    Ok(true)
}

/// `encodeURI`: everything but letters, digits and `-_.~;,/?:@&=+$!*'()#` as %XX of its UTF-8 bytes.
fn encode_uri(url: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in url.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~;,/?:@&=+$!*'()#".contains(&c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        }
    }
}

/// `urllib.parse.unquote(name) == "X-Tts-Oec-Bsid"`: only ASCII bytes can decode to that ASCII name.
fn is_oec_bsid(name: &str) -> bool {
    let b = name.as_bytes();
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
    let parts: Vec<&str> = signed.split('&').collect();
    if let Some(idx) = parts.iter().rposition(|p| is_oec_bsid(p.split('=').next().unwrap_or(""))) {
        let kept: Vec<&str> = parts
            .iter()
            .enumerate()
            .filter(|(i, p)| *i != idx && !p.is_empty())
            .map(|(_, p)| *p)
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
    let mut page = String::with_capacity(scheme.len() + raw_path.len() + raw_query.map_or(0, str::len) + 8);
    page.push_str(scheme);
    page.push_str("://h");
    page.push_str(raw_path);
    let mut ms_token: Option<String> = None;
    let mut first = true;
    for segment in raw_query.into_iter().flat_map(|q| q.split('&')) {
        if segment.is_empty() {
            continue;
        }
        let name = segment.split('=').next().unwrap_or("");
        if TOKEN_PARAMS.contains(&name) {
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
