//! X-Dynosaur 5.3.2 (protocol/gnarly-532.md section 2), ported from
//! `ttsign/algorithms/payloads/dynosaur532.py` (the reference): 25 records 0x20..0x38, scrambled texts
//! (variants A and B), FNV-1a-variant hashes, the byte-1 checksum, the shared envelope.

use crate::envelope::{seal, KEY_SIZE, MAGIC};
use crate::gnarly::fold;

pub const FNV_BASIS: u32 = 0x811C9DC4;
const FNV_STEP: u32 = 16777619u32.wrapping_mul(33);
pub const VM_STATE_HASH: u32 = 0xC46CE353;
/// Longest text the scrambler takes: the size (n + 2) must fit the one-byte length (2.2).
pub const MAX_TEXT: usize = 253;

/// `h = 0x811C9DC4`; per byte `h = ((h XOR b) * 16777619) * 33` mod 2**32 (2.3).
pub fn hash_state(data: &[u8]) -> u32 {
    data.iter()
        .fold(FNV_BASIS, |h, &b| (h ^ u32::from(b)).wrapping_mul(FNV_STEP))
}

#[derive(Clone, Copy)]
pub enum Variant {
    A,
    B,
}

/// The position-independent tail of a variant: `v -> (rotl(v XOR E) XOR 187) + Padd`.
#[inline]
fn tail(variant: Variant, v: u8) -> u8 {
    match variant {
        Variant::A => (v.rotate_left(2) ^ 187).wrapping_add(1),
        Variant::B => (v ^ 165).rotate_left(1) ^ 187,
    }
}

/// Scramble an ASCII/latin-1 text of at most 253 bytes into a record value of `max(n + 2, 6)` bytes (2.2).
pub fn scramble(text: &[u8], variant: Variant, out: &mut Vec<u8>) {
    let (x, add) = match variant {
        Variant::A => (103u8, 1u8),
        Variant::B => (102u8, 0u8),
    };
    let n = text.len();
    for (i, &c) in text.iter().enumerate() {
        let k = x.wrapping_add(i as u8);
        let s = add.wrapping_add((i & 170) as u8);
        out.push(tail(variant, (c ^ k).wrapping_add(s)));
    }
    let size = (n + 2).max(6);
    for i in n..size - 2 {
        out.push((221 + i) as u8);
    }
    out.push(0);
    out.push(n as u8);
}

pub struct In<'a> {
    pub query_hash: u32,
    pub ua_hash: u32,
    pub body_hash: u32,
    pub timestamp: u32,
    pub nonce: u32,
    pub counter_25: u32,
    pub counter_2f: u32,
    pub env_code: u16,
    pub ub_code: u16,
    pub page: &'a [u8],
    pub canvas_hash: &'a [u8],
    pub webgl_hash: &'a [u8],
    pub component_version: &'a [u8],
    pub device_hash: &'a [u8],
    pub vm_state_hash: u32,
    pub sdk_version: &'a [u8],
    pub scm_version: &'a [u8],
}

fn dec(v: u32) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// The 25-record plaintext (2.1-2.5). Texts must already be checked: ASCII, at most `MAX_TEXT` bytes.
pub fn payload(i: &In<'_>) -> Vec<u8> {
    let mix = (u32::from(i.env_code) << 16) | fold(i.timestamp, i.nonce);
    let a = Variant::A;
    let b = Variant::B;
    let raw = |v: u32| -> Vec<u8> { v.to_be_bytes().to_vec() };
    let sc = |t: &[u8], v: Variant| -> Vec<u8> {
        let mut o = Vec::with_capacity(t.len().max(4) + 2);
        scramble(t, v, &mut o);
        o
    };
    let mut values: [Vec<u8>; 25] = [
        sc(b"0", a), // 0x20: the placeholder, replaced below (2.4)
        sc(b"1", b),
        sc(b"1", b),
        sc(b"0", a),
        sc(&dec(mix), a),
        sc(&dec(i.counter_25), a),
        sc(&dec(u32::from(i.env_code)), a),
        sc(&dec(i.timestamp), a),
        sc(i.webgl_hash, a),
        sc(b"0", a),
        sc(i.sdk_version, a),
        raw(i.body_hash),
        sc(i.canvas_hash, a),
        sc(b"0", a),
        raw(i.query_hash),
        sc(&dec(i.counter_2f), a),
        raw(i.ua_hash),
        sc(i.scm_version, a),
        sc(i.component_version, a),
        sc(i.device_hash, a),
        sc(&dec(i.nonce), a),
        sc(i.page, a),
        sc(&dec(u32::from(i.ub_code)), a),
        sc(b"0", a),
        raw(i.vm_state_hash),
    ];
    // 2.4: XOR of byte 1 of every value, 0x20 counted as the variant-A "0" placeholder; then variant B text.
    let check = values.iter().fold(0u8, |c, v| c ^ v[1]);
    values[0] = sc(check.to_string().as_bytes(), b);
    let total: usize = values.iter().map(|v| v.len() + 3).sum();
    let mut out = Vec::with_capacity(total);
    for (k, v) in values.iter().enumerate() {
        out.extend_from_slice(&[0x20 + k as u8, (v.len() >> 8) as u8, (v.len() & 0xFF) as u8]);
        out.extend_from_slice(v);
    }
    out
}

pub fn encode(i: &In<'_>, key: &[u8; KEY_SIZE]) -> String {
    seal(payload(i), key, MAGIC)
}
