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

/// One record `key || length (2, big-endian) || scrambled text` appended to `out`; returns byte 1 of the value.
fn record_scrambled(out: &mut Vec<u8>, key: u8, text: &[u8], variant: Variant) -> u8 {
    let at = out.len();
    out.extend_from_slice(&[key, 0, 0]);
    scramble(text, variant, out);
    let len = out.len() - at - 3;
    out[at + 1] = (len >> 8) as u8;
    out[at + 2] = (len & 0xFF) as u8;
    out[at + 4]
}

/// One 4-byte big-endian record; returns byte 1 of the value.
fn record_raw(out: &mut Vec<u8>, key: u8, v: u32) -> u8 {
    out.extend_from_slice(&[key, 0, 4]);
    out.extend_from_slice(&v.to_be_bytes());
    v.to_be_bytes()[1]
}

/// Decimal text of a u32 without an allocation.
#[derive(Default)]
struct Dec([u8; 10]);

impl Dec {
    fn fmt(&mut self, mut v: u32) -> &[u8] {
        let mut i = self.0.len();
        loop {
            i -= 1;
            self.0[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        &self.0[i..]
    }
}

/// The 25-record plaintext (2.1-2.5). Texts must already be checked: ASCII, at most `MAX_TEXT` bytes.
pub fn payload(i: &In<'_>) -> Vec<u8> {
    let mix = (u32::from(i.env_code) << 16) | fold(i.timestamp, i.nonce);
    let (a, b) = (Variant::A, Variant::B);
    let mut n = Dec::default();
    let texts = i.page.len()
        + i.canvas_hash.len()
        + i.webgl_hash.len()
        + i.component_version.len()
        + i.device_hash.len();
    // Records 0x21..0x38 first; 0x20 (the checksum of 2.4) goes in front once they are known.
    let mut rest = Vec::with_capacity(320 + texts);
    let mut placeholder = Vec::with_capacity(6);
    scramble(b"0", a, &mut placeholder); // 2.4 step 1: 0x20 counts as the variant-A "0"
    let mut check = placeholder[1];
    let r = &mut rest;
    check ^= record_scrambled(r, 0x21, b"1", b);
    check ^= record_scrambled(r, 0x22, b"1", b);
    check ^= record_scrambled(r, 0x23, b"0", a);
    check ^= record_scrambled(r, 0x24, n.fmt(mix), a);
    check ^= record_scrambled(r, 0x25, n.fmt(i.counter_25), a);
    check ^= record_scrambled(r, 0x26, n.fmt(u32::from(i.env_code)), a);
    check ^= record_scrambled(r, 0x27, n.fmt(i.timestamp), a);
    check ^= record_scrambled(r, 0x28, i.webgl_hash, a);
    check ^= record_scrambled(r, 0x29, b"0", a);
    check ^= record_scrambled(r, 0x2A, i.sdk_version, a);
    check ^= record_raw(r, 0x2B, i.body_hash);
    check ^= record_scrambled(r, 0x2C, i.canvas_hash, a);
    check ^= record_scrambled(r, 0x2D, b"0", a);
    check ^= record_raw(r, 0x2E, i.query_hash);
    check ^= record_scrambled(r, 0x2F, n.fmt(i.counter_2f), a);
    check ^= record_raw(r, 0x30, i.ua_hash);
    check ^= record_scrambled(r, 0x31, i.scm_version, a);
    check ^= record_scrambled(r, 0x32, i.component_version, a);
    check ^= record_scrambled(r, 0x33, i.device_hash, a);
    check ^= record_scrambled(r, 0x34, n.fmt(i.nonce), a);
    check ^= record_scrambled(r, 0x35, i.page, a);
    check ^= record_scrambled(r, 0x36, n.fmt(u32::from(i.ub_code)), a);
    check ^= record_scrambled(r, 0x37, b"0", a);
    check ^= record_raw(r, 0x38, i.vm_state_hash);
    let mut out = Vec::with_capacity(rest.len() + 9);
    record_scrambled(&mut out, 0x20, n.fmt(u32::from(check)), b); // 2.4 step 3: its decimal text, variant B
    out.extend_from_slice(&rest);
    out
}

pub fn encode(i: &In<'_>, key: &[u8; KEY_SIZE]) -> String {
    seal(payload(i), key, MAGIC)
}
