//! X-Gnarly payloads 5.3.2 (protocol/gnarly-532.md section 1) and 5.1.3-ZTCA (tokens.md 1.2), ported
//! from `ttsign/algorithms/payloads/gnarly532.py` and `gnarly513.py` (the reference).

use crate::envelope::{md5_hex, seal, KEY_SIZE, MAGIC};

/// Every key of the 5.3.2 layout, ascending (no key 7).
pub const KEYS_532: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16];
/// The fixed record order of `xgnarly.mjs` (5.1.3).
pub const ORDER_513: [u8; 16] = [1, 8, 12, 11, 6, 9, 4, 7, 0, 14, 15, 2, 3, 10, 5, 13];
const CANVAS_513: u64 = 3181061566;
const M32: u64 = 0xFFFF_FFFF;

/// One record value: an integer at a byte width, or a string's bytes.
enum Val<'a> {
    Int(u64, usize),
    Str(&'a [u8]),
}

fn push_record(out: &mut Vec<u8>, key: u8, v: &Val<'_>) {
    match v {
        Val::Int(x, w) => {
            out.extend_from_slice(&[key, 0, *w as u8]);
            let bytes = x.to_be_bytes();
            out.extend_from_slice(&bytes[8 - w..]);
        }
        Val::Str(s) => {
            out.extend_from_slice(&[key, (s.len() >> 8) as u8, (s.len() & 0xFF) as u8]);
            out.extend_from_slice(s);
        }
    }
}

/// A string's first 4 bytes as a big-endian number (gnarly-532.md 1.3, "mode prefix").
fn prefix(s: &[u8]) -> u64 {
    s.iter()
        .take(4)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

pub fn fold(timestamp: u32, nonce: u32) -> u32 {
    ((timestamp >> 16) ^ (nonce >> 16) ^ timestamp ^ nonce) & 0xFFFF
}

pub struct In532<'a> {
    pub sealed: &'a [u8],
    pub body: &'a [u8],
    pub user_agent: &'a [u8],
    pub timestamp: u32,
    pub nonce: u32,
    pub nonce2: u32,
    pub sequence: u16,
    pub env_code: u16,
    pub ub_code: u16,
    pub sdk_version: &'a [u8],
    pub scm_version: &'a [u8],
    pub order: [u8; 16],
}

/// The 5.3.2 plaintext: count byte 16, then the 16 records in `order` at the fixed widths of 1.2.
pub fn payload_532(i: &In532<'_>) -> Vec<u8> {
    let q = md5_hex(i.sealed);
    let b = md5_hex(i.body);
    let u = md5_hex(i.user_agent);
    let env = u64::from(i.env_code);
    let ub = u64::from(i.ub_code);
    let ts = u64::from(i.timestamp);
    let nonce = u64::from(i.nonce);
    let seq = u64::from(i.sequence);
    let mix = (env << 16) | u64::from(fold(i.timestamp, i.nonce));
    let nonce2 = u64::from(i.nonce2);
    // Checksums (1.3) over keys 1..15 without 7: A folds strings as their 4-byte prefix, B skips them.
    let ints = [env, ub, ts, nonce, 1, seq, seq, mix, nonce2];
    let x_int = ints.iter().fold(0u64, |a, v| a ^ (v & M32));
    let strs: [&[u8]; 5] = [&q, &b, &u, i.sdk_version, i.scm_version];
    let x_prefix = strs.iter().fold(x_int, |a, s| a ^ prefix(s));
    let check_a = M32 ^ x_prefix;
    let check_b = M32 ^ x_int ^ check_a;
    let mut out = Vec::with_capacity(200);
    out.push(16);
    for &k in &i.order {
        let v = match k {
            0 => Val::Int(check_b, 4),
            1 => Val::Int(env, 2),
            2 => Val::Int(ub, 2),
            3 => Val::Str(&q),
            4 => Val::Str(&b),
            5 => Val::Str(&u),
            6 => Val::Int(ts, 4),
            8 => Val::Int(nonce, 4),
            9 => Val::Str(i.sdk_version),
            10 => Val::Str(i.scm_version),
            11 => Val::Int(1, 2),
            12 | 13 => Val::Int(seq, 2),
            14 => Val::Int(mix, 4),
            15 => Val::Int(nonce2, 4),
            _ => Val::Int(check_a, 4), // 16; the caller checked `order` is a permutation of KEYS_532
        };
        push_record(&mut out, k, &v);
    }
    out
}

pub fn encode_532(i: &In532<'_>, key: &[u8; KEY_SIZE]) -> String {
    seal(payload_532(i), key, MAGIC)
}

pub struct In513<'a> {
    pub query: &'a [u8],
    pub body: &'a [u8],
    pub user_agent: &'a [u8],
    pub timestamp_ms: u64,
    pub random_low16: u16,
    pub random32: u32,
    pub total_requests: u64,
    pub intercepted_requests: u64,
    pub ub_code: u64,
    pub env_code: u64,
    pub sdk_version: &'a [u8],
    pub payload_version: &'a [u8],
    pub order: [u8; 16],
}

/// The 5.1.3-ZTCA plaintext: integers keep their low bytes when too wide (as `xgnarly.mjs`).
pub fn payload_513(i: &In513<'_>) -> Vec<u8> {
    let q = md5_hex(i.query);
    let b = md5_hex(i.body);
    let u = md5_hex(i.user_agent);
    let ts = i.timestamp_ms / 1000;
    let ms = i.timestamp_ms % (1u64 << 31);
    let mix = (i.env_code << 16) | u64::from(i.random_low16);
    let r32 = u64::from(i.random32);
    // Key 0: XOR of the untruncated numeric fields 1, 2, 6, 7, 8, 11-15 (truncated when packed).
    let check = i.env_code
        ^ i.ub_code
        ^ ts
        ^ CANVAS_513
        ^ ms
        ^ 1
        ^ i.total_requests
        ^ i.intercepted_requests
        ^ mix
        ^ r32;
    let mut out = Vec::with_capacity(200);
    out.push(16);
    for &k in &i.order {
        let v = match k {
            0 => Val::Int(check & M32, 4),
            1 => Val::Int(i.env_code & 0xFFFF, 2),
            2 => Val::Int(i.ub_code & 0xFFFF, 2),
            3 => Val::Str(&q),
            4 => Val::Str(&b),
            5 => Val::Str(&u),
            6 => Val::Int(ts & M32, 4),
            7 => Val::Int(CANVAS_513, 4),
            8 => Val::Int(ms, 4),
            9 => Val::Str(i.payload_version),
            10 => Val::Str(i.sdk_version),
            11 => Val::Int(1, 2),
            12 => Val::Int(i.total_requests & 0xFFFF, 2),
            13 => Val::Int(i.intercepted_requests & 0xFFFF, 2),
            14 => Val::Int(mix & M32, 4),
            _ => Val::Int(r32, 4), // 15; the caller checked `order` is a permutation of 0..15
        };
        push_record(&mut out, k, &v);
    }
    out
}

pub fn encode_513(i: &In513<'_>, key: &[u8; KEY_SIZE]) -> String {
    seal(payload_513(i), key, MAGIC)
}
