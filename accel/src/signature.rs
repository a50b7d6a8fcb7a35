//! The legacy `_signature` (protocol/xbogus.md section 7), ported from `ttsign/algorithms/signature.py`
//! (the reference). Strings are hashed as JavaScript sees them: UTF-16 code units.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.";
const HEAD: &str = "_02B4Z6wo00f01";
const MOD: u32 = 65521;
const HI: u64 = 8208;

fn hx(h: u32, s: &str) -> u32 {
    s.encode_utf16()
        .fold(h, |h, c| (h ^ u32::from(c)).wrapping_mul(65599))
}

fn ha(h: u32, s: &str) -> u32 {
    s.encode_utf16()
        .fold(h, |h, c| h.wrapping_mul(65599).wrapping_add(u32::from(c)))
}

fn e5(out: &mut String, x: u64) {
    for shift in [24u32, 18, 12, 6, 0] {
        out.push(ALPHABET[((x >> shift) & 63) as usize] as char);
    }
}

/// Length of a leading `[A-Za-z][A-Za-z0-9+.-]*` followed by `:` (the scheme and its colon), if any.
fn scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphabetic() {
        return None;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'+' | b'.' | b'-')) {
        i += 1;
    }
    (i < b.len() && b[i] == b':').then_some(i + 1)
}

/// `location.href.substring(protocol.length + 2)`: drop the scheme, its colon and two more characters.
fn page_without_scheme(page: &str) -> &str {
    match scheme_len(page) {
        Some(end) => {
            let rest = &page[end..];
            let mut it = rest.char_indices().skip(2);
            match it.next() {
                Some((i, _)) => &rest[i..],
                None => "",
            }
        }
        None => page,
    }
}

/// The string `Q` hashed into `_signature` (section 7 step 4); see `signature.signature_query`.
pub fn signature_query(url: &str, tt_webid: &str, uuid: &str) -> String {
    let q = url.find('?');
    let query = q.map_or("", |i| &url[i + 1..]);
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !query.is_empty() {
        for part in query.split('&') {
            let mut fields = part.split('=');
            let key = fields.next().unwrap_or("");
            let value = fields.next().unwrap_or("undefined");
            match pairs.iter_mut().find(|(k, _)| *k == key) {
                Some(p) => p.1 = value, // a later duplicate wins
                None => pairs.push((key, value)),
            }
        }
    }
    pairs.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    let mut out = String::with_capacity(url.len() + 64);
    for (k, v) in &pairs {
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        out.push('&');
    }
    // The path: `^scheme://[^/?#]*` removed, then cut at the first `?` when the URL has one.
    let mut path = url;
    if let Some(end) = scheme_len(url) {
        if url[end..].starts_with("//") {
            let rest = &url[end + 2..];
            let stop = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            path = &rest[stop..];
        }
    }
    if q.is_some() {
        path = path.split('?').next().unwrap_or("");
    }
    out.push_str("pathname=");
    out.push_str(path);
    out.push_str("&tt_webid=");
    out.push_str(tt_webid);
    out.push_str("&uuid=");
    out.push_str(uuid);
    out
}

#[allow(clippy::too_many_arguments)]
pub fn legacy_signature(
    url: &str,
    user_agent: &str,
    timestamp: u32,
    page: &str,
    canvas: u32,
    env_mask: u32,
    tt_webid: &str,
    uuid: &str,
) -> String {
    let a = hx(hx(0, &timestamp.to_string()), page_without_scheme(page)) % MOD;
    let n = u64::from(timestamp ^ a.wrapping_mul(MOD));
    let n_big = 2 * (1u64 << 44) + (1u64 << 36) + n;
    let h3 = hx(0, &n_big.to_string());
    let u = u64::from(hx(h3, user_agent) % MOD);
    let q = u64::from(hx(h3, &signature_query(url, tt_webid, uuid)) % MOD);
    let m32 = 0xFFFF_FFFFu64;
    let p4 = (u << 16) | q;
    let p3 = u64::from(canvas) ^ n;
    let p5 = ((u64::from(env_mask) << 8) | (2 << 4)) ^ n;
    let mut s = String::with_capacity(47);
    s.push_str(HEAD);
    e5(&mut s, n >> 2);
    e5(&mut s, (n << 28) | (HI >> 4));
    e5(&mut s, ((HI << 26) & m32) | (p3 >> 6));
    s.push(ALPHABET[(p3 & 63) as usize] as char);
    e5(&mut s, p4 >> 2);
    e5(&mut s, ((p4 << 28) & m32) | (p5 >> 4));
    e5(&mut s, u64::from(a));
    let hex = format!("{:x}", ha(0, &s));
    s.push_str(&hex[hex.len().saturating_sub(2)..]);
    s
}
