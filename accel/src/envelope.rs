//! The envelope shared by X-Gnarly and X-Dynosaur (protocol/gnarly-532.md section E), ported from
//! `ttsign/algorithms/gnarly.py`, which stays the reference: a ChaCha-variant keystream, the key splice
//! and base64 over the token alphabet.

pub const KEY_SIZE: usize = 48;
pub const MAGIC: u8 = 0x4B;
const CONSTANTS: [u32; 4] = [0x475602B6, 0x23D22697, 0xE6460233, 0x56870716];
pub const ALPHABET: &[u8; 64] = b"u09tbS3UvgDEe6r-ZVMXzLpsAohTn7mdINQlW412GqBjfYiyk8JORCF5/xKHwacP";

/// The twelve little-endian key words w0..w11.
fn key_words(key: &[u8; KEY_SIZE]) -> [u32; 12] {
    let mut w = [0u32; 12];
    for (i, word) in w.iter_mut().enumerate() {
        *word = u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
    }
    w
}

#[inline(always)]
fn qr(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// One 64-byte block: `rounds` single rounds, column first, with the non-standard diagonal quartets
/// (0,5,10,15) (1,6,11,12) (2,7,12,13) (3,4,13,14) run in that order; then the feed-forward.
fn block(state: &[u32; 16], rounds: u32, out: &mut [u8; 64]) {
    let mut x = *state;
    for r in 0..rounds {
        if r & 1 == 0 {
            qr(&mut x, 0, 4, 8, 12);
            qr(&mut x, 1, 5, 9, 13);
            qr(&mut x, 2, 6, 10, 14);
            qr(&mut x, 3, 7, 11, 15);
        } else {
            qr(&mut x, 0, 5, 10, 15);
            qr(&mut x, 1, 6, 11, 12);
            qr(&mut x, 2, 7, 12, 13);
            qr(&mut x, 3, 4, 13, 14);
        }
    }
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&x[i].wrapping_add(state[i]).to_le_bytes());
    }
}

/// XOR `data` in place with the keystream of `key` (block k uses counter w8 + k, mod 2**32).
pub fn crypt(data: &mut [u8], key: &[u8; KEY_SIZE]) {
    let w = key_words(key);
    let rounds = 5 + w.iter().map(|v| v & 15).sum::<u32>() % 16;
    let mut state = [0u32; 16];
    state[..4].copy_from_slice(&CONSTANTS);
    state[4..].copy_from_slice(&w);
    let mut ks = [0u8; 64];
    for (k, chunk) in data.chunks_mut(64).enumerate() {
        state[12] = w[8].wrapping_add(k as u32);
        block(&state, rounds, &mut ks);
        for (b, s) in chunk.iter_mut().zip(ks.iter()) {
            *b ^= s;
        }
    }
}

/// Standard base64 (with `=` padding) written with `alphabet` in place of `A-Za-z0-9+/`.
pub fn b64_into(raw: &[u8], alphabet: &[u8; 64], out: &mut String) {
    out.reserve(raw.len().div_ceil(3) * 4);
    // Safety of the pushes below: every alphabet byte is ASCII (the alphabets are constants).
    let mut chunks = raw.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.push(alphabet[(n >> 18) as usize & 63] as char);
        out.push(alphabet[(n >> 12) as usize & 63] as char);
        out.push(alphabet[(n >> 6) as usize & 63] as char);
        out.push(alphabet[n as usize & 63] as char);
    }
    let rest = chunks.remainder();
    match rest.len() {
        1 => {
            let n = u32::from(rest[0]) << 16;
            out.push(alphabet[(n >> 18) as usize & 63] as char);
            out.push(alphabet[(n >> 12) as usize & 63] as char);
            out.push_str("==");
        }
        2 => {
            let n = (u32::from(rest[0]) << 16) | (u32::from(rest[1]) << 8);
            out.push(alphabet[(n >> 18) as usize & 63] as char);
            out.push(alphabet[(n >> 12) as usize & 63] as char);
            out.push(alphabet[(n >> 6) as usize & 63] as char);
            out.push('=');
        }
        _ => {}
    }
}

/// The token text: encrypt, splice the key at `(sum(K) + sum(C)) mod (len(C) + 1)`, base64.
pub fn seal(mut payload: Vec<u8>, key: &[u8; KEY_SIZE], magic: u8) -> String {
    crypt(&mut payload, key);
    let sum_k: u64 = key.iter().map(|&b| u64::from(b)).sum();
    let sum_c: u64 = payload.iter().map(|&b| u64::from(b)).sum();
    let p = ((sum_k + sum_c) % (payload.len() as u64 + 1)) as usize;
    let mut raw = Vec::with_capacity(1 + KEY_SIZE + payload.len());
    raw.push(magic);
    raw.extend_from_slice(&payload[..p]);
    raw.extend_from_slice(key);
    raw.extend_from_slice(&payload[p..]);
    let mut out = String::new();
    b64_into(&raw, ALPHABET, &mut out);
    out
}

pub fn md5_hex(data: &[u8]) -> [u8; 32] {
    use md5::{Digest, Md5};
    let d = Md5::digest(data);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in d.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

pub fn md5(data: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::digest(data).into()
}
