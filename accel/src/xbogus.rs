//! X-Bogus (protocol/xbogus.md section 3), ported from `ttsign/algorithms/xbogus.py` (the reference).

use crate::envelope::{b64_into, md5};

pub const ALPHABET: &[u8; 64] = b"Dkdpgh4ZKsQB80/Mfvw36XI1R25-WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe";
const STD_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const EMPTY_BODY_TAIL: u16 = 0x453F;

/// Textbook RC4 over `data` in place.
pub fn rc4(key: &[u8], data: &mut [u8]) {
    let mut s = [0u8; 256];
    for (i, v) in s.iter_mut().enumerate() {
        *v = i as u8;
    }
    let mut j: u8 = 0;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    for b in data.iter_mut() {
        i = i.wrapping_add(1);
        j = j.wrapping_add(s[i as usize]);
        s.swap(i as usize, j as usize);
        *b ^= s[s[i as usize].wrapping_add(s[j as usize]) as usize];
    }
}

/// Bytes 14..15 of md5(md5(data)).
fn tail16(data: &[u8]) -> u16 {
    let d = md5(&md5(data));
    u16::from_be_bytes([d[14], d[15]])
}

/// The UA field: bytes 14..15 of md5(base64(RC4(H1 H2 H3, UA code units & 0xFF))).
pub fn ua_tail(ua_units: &[u8], key: &[u8; 3]) -> u16 {
    let mut enc = ua_units.to_vec();
    rc4(key, &mut enc);
    let mut text = String::new();
    b64_into(&enc, STD_ALPHABET, &mut text);
    let d = md5(text.as_bytes());
    u16::from_be_bytes([d[14], d[15]])
}

/// The 28-character token. `ua_units` is the UA as the SDK feeds RC4 (each UTF-16 unit's low byte).
pub fn encode(
    query: &[u8],
    body: &[u8],
    ua_units: &[u8],
    timestamp: u32,
    header: &[u8; 4],
    canvas: u32,
) -> String {
    let qv = tail16(query);
    let bv = if body.is_empty() {
        EMPTY_BODY_TAIL
    } else {
        tail16(body)
    };
    let uv = ua_tail(ua_units, &[header[1], header[2], header[3]]);
    let mut plain = [0u8; 19];
    plain[..4].copy_from_slice(header);
    plain[4..6].copy_from_slice(&qv.to_be_bytes());
    plain[6..8].copy_from_slice(&bv.to_be_bytes());
    plain[8..10].copy_from_slice(&uv.to_be_bytes());
    plain[10..14].copy_from_slice(&timestamp.to_be_bytes());
    plain[14..18].copy_from_slice(&canvas.to_be_bytes());
    plain[18] = plain[..18].iter().fold(0, |a, b| a ^ b);
    rc4(&[0xFF], &mut plain);
    let mut raw = [0u8; 21];
    raw[0] = 0x02;
    raw[1] = 0xFF;
    raw[2..].copy_from_slice(&plain);
    let mut out = String::with_capacity(28);
    b64_into(&raw, ALPHABET, &mut out);
    out
}
