//! `ttsign_accel`: ttsign's compiled fast path. The pure-Python modules under `ttsign/algorithms/` are the
//! reference; every function here returns the same bytes for the same inputs, which `tests/accel/` checks
//! on every vector file and on random inputs.
//!
//! The boundary: every argument is checked before any work (a length, a range, a permutation) and a bad
//! one is a Python `ValueError` naming it, never a panic. Texts may be `str` (hashed as UTF-8) or `bytes`;
//! a `str` holding a lone surrogate has no UTF-8 form and raises `UnicodeEncodeError`, as the reference
//! does wherever it hashes that text. Inputs larger than `MAX_INPUT` are refused.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};

mod dynosaur;
mod envelope;
mod gnarly;
mod hook;
mod signature;
mod xbogus;

use envelope::KEY_SIZE;

/// The largest query, body, URL or User-Agent accepted (64 MiB): far above any HTTP cap ttsign sets.
pub const MAX_INPUT: usize = 64 << 20;
/// Inputs at least this large are hashed with the GIL released.
const RELEASE_GIL_AT: usize = 32 << 10;

fn err(msg: String) -> PyErr {
    PyValueError::new_err(msg)
}

/// A `str` (as UTF-8) or `bytes` argument, at most `max` bytes.
fn data<'a>(obj: &'a PyAny, name: &str, max: usize) -> PyResult<&'a [u8]> {
    let b: &[u8] = if let Ok(s) = obj.downcast::<PyString>() {
        s.to_str()?.as_bytes()
    } else if let Ok(b) = obj.downcast::<PyBytes>() {
        b.as_bytes()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be str or bytes, got {}",
            obj.get_type().name()?
        )));
    };
    if b.len() > max {
        return Err(err(format!(
            "{name} is {} bytes, more than the {max} the compiled path takes",
            b.len()
        )));
    }
    Ok(b)
}

/// A `str` argument, at most `max` bytes of UTF-8.
fn text<'a>(obj: &'a PyAny, name: &str, max: usize) -> PyResult<&'a str> {
    let s = obj
        .downcast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str")))?
        .to_str()?;
    if s.len() > max {
        return Err(err(format!(
            "{name} is {} bytes, more than the {max} the compiled path takes",
            s.len()
        )));
    }
    Ok(s)
}

/// An ASCII text of at most `max` bytes (X-Dynosaur's scrambled texts, X-Gnarly 5.3.2's versions).
fn ascii<'a>(obj: &'a PyAny, name: &str, max: usize) -> PyResult<&'a [u8]> {
    let b = data(obj, name, usize::MAX)?;
    if b.len() > max || !b.is_ascii() {
        return Err(err(format!(
            "{name} must be ASCII text of at most {max} characters"
        )));
    }
    Ok(b)
}

/// An integer in `lo..=hi` (not a bool).
fn int(obj: &PyAny, name: &str, lo: i128, hi: i128) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>()? {
        return Err(err(format!(
            "{name} must be an integer in {lo}..{hi}, got a bool"
        )));
    }
    // i64 first: the common case, and far cheaper to read than i128.
    let v: i128 = match obj.extract::<i64>() {
        Ok(v) => i128::from(v),
        Err(_) => obj.extract::<i128>().map_err(|_| {
            err(format!(
                "{name} must be an integer in {lo}..{hi}, got {}",
                obj.repr().map_or("?".into(), |r| r.to_string())
            ))
        })?,
    };
    if v < lo || v > hi {
        return Err(err(format!(
            "{name} must be an integer in {lo}..{hi}, got {v}"
        )));
    }
    Ok(v as u64)
}

fn u32_(obj: &PyAny, name: &str) -> PyResult<u32> {
    Ok(int(obj, name, 0, 0xFFFF_FFFF)? as u32)
}

fn u16_(obj: &PyAny, name: &str) -> PyResult<u16> {
    Ok(int(obj, name, 0, 0xFFFF)? as u16)
}

fn key48(obj: &PyAny, name: &str) -> PyResult<[u8; KEY_SIZE]> {
    let b = obj
        .downcast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be bytes")))?
        .as_bytes();
    b.try_into()
        .map_err(|_| err(format!("{name} must be {KEY_SIZE} bytes, got {}", b.len())))
}

/// A record order: a permutation of `keys` given as a sequence of ints, or (X-Gnarly 5.3.2) 64 bytes of
/// noise that sort the keys as `Signer._record_order` does: by `noise[4i:4i+4] + bytes([i])`.
fn order(obj: &PyAny, keys: &[u8; 16], name: &str) -> PyResult<[u8; 16]> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        let noise = b.as_bytes();
        if noise.len() != 64 {
            return Err(err(format!(
                "{name} noise must be 64 bytes, got {}",
                noise.len()
            )));
        }
        let mut idx: [usize; 16] = std::array::from_fn(|i| i);
        idx.sort_by_key(|&i| {
            (
                u32::from_be_bytes([
                    noise[4 * i],
                    noise[4 * i + 1],
                    noise[4 * i + 2],
                    noise[4 * i + 3],
                ]),
                i,
            )
        });
        return Ok(idx.map(|i| keys[i]));
    }
    let bad = || err(format!("{name} must be a permutation of {keys:?}"));
    let items: Vec<&PyAny> = obj
        .iter()
        .map_err(|_| bad())?
        .collect::<PyResult<_>>()
        .map_err(|_| bad())?;
    if items.len() != 16 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    let mut seen = 0u32;
    for (slot, item) in out.iter_mut().zip(items) {
        let k = int(item, name, 0, 16).map_err(|_| bad())? as u8;
        let pos = keys.iter().position(|&x| x == k).ok_or_else(bad)?;
        if seen & (1 << pos) != 0 {
            return Err(bad());
        }
        seen |= 1 << pos;
        *slot = k;
    }
    Ok(out)
}

/// The UA as X-Bogus feeds it to RC4: the low byte of each UTF-16 code unit. A `str` with lone
/// surrogates cannot be read here (UnicodeEncodeError); the caller falls back to the reference then.
fn ua_units(ua: &str) -> Vec<u8> {
    ua.encode_utf16().map(|u| u as u8).collect()
}

// ---------------------------------------------------------------------------------------------------
// One token each (the vector tests and the algorithm-level callers).

/// X-Dynosaur 5.3.2; the arguments of `dynosaur532.encode`, in this order (hash overrides: int or None).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn dynosaur_532(
    py: Python<'_>,
    business_query: &PyAny,
    user_agent: &PyAny,
    body: &PyAny,
    timestamp: &PyAny,
    nonce: &PyAny,
    counter_25: &PyAny,
    counter_2f: &PyAny,
    env_code: &PyAny,
    ub_code: &PyAny,
    page: &PyAny,
    canvas_hash: &PyAny,
    webgl_hash: &PyAny,
    component_version: &PyAny,
    device_hash: &PyAny,
    key: &PyAny,
    query_hash: &PyAny,
    ua_hash: &PyAny,
    body_hash: &PyAny,
    vm_state_hash: &PyAny,
    sdk_version: &PyAny,
    scm_version: &PyAny,
) -> PyResult<String> {
    let m = dynosaur::MAX_TEXT;
    let hash = |given: &PyAny, name: &str, input: &PyAny| -> PyResult<u32> {
        if given.is_none() {
            let d = data(input, name, MAX_INPUT)?;
            Ok(if d.len() >= RELEASE_GIL_AT {
                py.allow_threads(|| dynosaur::hash_state(d))
            } else {
                dynosaur::hash_state(d)
            })
        } else {
            u32_(given, name)
        }
    };
    let i = dynosaur::In {
        query_hash: hash(query_hash, "query_hash", business_query)?,
        ua_hash: hash(ua_hash, "ua_hash", user_agent)?,
        body_hash: hash(body_hash, "body_hash", body)?,
        timestamp: u32_(timestamp, "timestamp")?,
        nonce: u32_(nonce, "nonce")?,
        counter_25: u32_(counter_25, "counter_25")?,
        counter_2f: u32_(counter_2f, "counter_2f")?,
        env_code: u16_(env_code, "env_code")?,
        ub_code: u16_(ub_code, "ub_code")?,
        page: ascii(page, "page", m)?,
        canvas_hash: ascii(canvas_hash, "canvas_hash", m)?,
        webgl_hash: ascii(webgl_hash, "webgl_hash", m)?,
        component_version: ascii(component_version, "component_version", m)?,
        device_hash: ascii(device_hash, "device_hash", m)?,
        vm_state_hash: u32_(vm_state_hash, "vm_state_hash")?,
        sdk_version: ascii(sdk_version, "sdk_version", m)?,
        scm_version: ascii(scm_version, "scm_version", m)?,
    };
    let key = key48(key, "key")?;
    Ok(dynosaur::encode(&i, &key))
}

/// `dynosaur532.hash_state` over a str (UTF-8) or bytes.
#[pyfunction]
fn hash_state(py: Python<'_>, value: &PyAny) -> PyResult<u32> {
    let d = data(value, "value", MAX_INPUT)?;
    Ok(if d.len() >= RELEASE_GIL_AT {
        py.allow_threads(|| dynosaur::hash_state(d))
    } else {
        dynosaur::hash_state(d)
    })
}

#[allow(clippy::too_many_arguments)]
fn in532<'a>(
    sealed: &'a PyAny,
    body: &'a PyAny,
    user_agent: &'a PyAny,
    timestamp: &PyAny,
    nonce: &PyAny,
    nonce2: &PyAny,
    sequence: &PyAny,
    env_code: &PyAny,
    ub_code: &PyAny,
    record_order: &PyAny,
    sdk_version: &'a PyAny,
    scm_version: &'a PyAny,
) -> PyResult<gnarly::In532<'a>> {
    Ok(gnarly::In532 {
        sealed: data(sealed, "sealed_query", MAX_INPUT)?,
        body: data(body, "body", MAX_INPUT)?,
        user_agent: data(user_agent, "user_agent", MAX_INPUT)?,
        timestamp: u32_(timestamp, "timestamp")?,
        nonce: u32_(nonce, "nonce")?,
        nonce2: u32_(nonce2, "nonce2")?,
        sequence: int(sequence, "sequence", 1, 0xFFFF)? as u16,
        env_code: u16_(env_code, "env_code")?,
        ub_code: u16_(ub_code, "ub_code")?,
        order: if record_order.is_none() {
            gnarly::KEYS_532
        } else {
            order(record_order, &gnarly::KEYS_532, "record_order")?
        },
        sdk_version: ascii(sdk_version, "sdk_version", 0xFFFF)?,
        scm_version: ascii(scm_version, "scm_version", 0xFFFF)?,
    })
}

/// X-Gnarly 5.3.2; the arguments of `gnarly532.encode` (default widths), in this order.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn gnarly_532(
    py: Python<'_>,
    sealed_query: &PyAny,
    body: &PyAny,
    user_agent: &PyAny,
    timestamp: &PyAny,
    nonce: &PyAny,
    nonce2: &PyAny,
    sequence: &PyAny,
    env_code: &PyAny,
    ub_code: &PyAny,
    key: &PyAny,
    record_order: &PyAny,
    sdk_version: &PyAny,
    scm_version: &PyAny,
) -> PyResult<String> {
    let i = in532(
        sealed_query,
        body,
        user_agent,
        timestamp,
        nonce,
        nonce2,
        sequence,
        env_code,
        ub_code,
        record_order,
        sdk_version,
        scm_version,
    )?;
    let key = key48(key, "key")?;
    if i.sealed.len() + i.body.len() >= RELEASE_GIL_AT {
        return Ok(py.allow_threads(|| gnarly::encode_532(&i, &key)));
    }
    Ok(gnarly::encode_532(&i, &key))
}

/// X-Gnarly 5.1.3-ZTCA; the arguments of `gnarly513.encode`, in this order.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn gnarly_513(
    py: Python<'_>,
    query_string: &PyAny,
    body: &PyAny,
    user_agent: &PyAny,
    timestamp_ms: &PyAny,
    random_low16: &PyAny,
    random32: &PyAny,
    key: &PyAny,
    total_requests: &PyAny,
    intercepted_requests: &PyAny,
    ub_code: &PyAny,
    env_code: &PyAny,
    sdk_version: &PyAny,
    payload_version: &PyAny,
    record_order: &PyAny,
) -> PyResult<String> {
    // The reference takes any non-negative integer; the compiled path bounds them (2**53 for the clock,
    // 2**32 for counters and codes), which every real input is far below.
    let i = gnarly::In513 {
        query: data(query_string, "query_string", MAX_INPUT)?,
        body: data(body, "body", MAX_INPUT)?,
        user_agent: data(user_agent, "user_agent", MAX_INPUT)?,
        timestamp_ms: int(timestamp_ms, "timestamp_ms", 0, 1 << 53)?,
        random_low16: u16_(random_low16, "random_low16")?,
        random32: u32_(random32, "random32")?,
        total_requests: u32_(total_requests, "total_requests")?.into(),
        intercepted_requests: u32_(intercepted_requests, "intercepted_requests")?.into(),
        ub_code: u32_(ub_code, "ub_code")?.into(),
        env_code: u32_(env_code, "env_code")?.into(),
        sdk_version: data(sdk_version, "sdk_version", 0xFFFF)?,
        payload_version: data(payload_version, "payload_version", 0xFFFF)?,
        order: if record_order.is_none() {
            gnarly::ORDER_513
        } else {
            order(
                record_order,
                &std::array::from_fn(|k| k as u8),
                "record_order",
            )?
        },
    };
    let key = key48(key, "key")?;
    if i.query.len() + i.body.len() >= RELEASE_GIL_AT {
        return Ok(py.allow_threads(|| gnarly::encode_513(&i, &key)));
    }
    Ok(gnarly::encode_513(&i, &key))
}

fn header4(obj: &PyAny) -> PyResult<[u8; 4]> {
    let b = obj
        .downcast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err("header must be bytes"))?
        .as_bytes();
    b.try_into()
        .map_err(|_| err(format!("header must be 4 bytes, got {}", b.len())))
}

/// X-Bogus: `xbogus.encode(query, body, user_agent, timestamp, XBogusProfile(header, canvas))`.
#[pyfunction]
#[pyo3(name = "xbogus")]
fn x_bogus(
    py: Python<'_>,
    query: &PyAny,
    body: &PyAny,
    user_agent: &PyAny,
    timestamp: &PyAny,
    header: &PyAny,
    canvas: &PyAny,
) -> PyResult<String> {
    let q = data(query, "query", MAX_INPUT)?;
    let b = if body.is_none() {
        &b""[..]
    } else {
        data(body, "body", MAX_INPUT)?
    };
    let ua = ua_units(text(user_agent, "user_agent", MAX_INPUT)?);
    let ts = u32_(timestamp, "timestamp")?;
    let h = header4(header)?;
    let c = u32_(canvas, "canvas")?;
    if q.len() + b.len() >= RELEASE_GIL_AT {
        return Ok(py.allow_threads(|| xbogus::encode(q, b, &ua, ts, &h, c)));
    }
    Ok(xbogus::encode(q, b, &ua, ts, &h, c))
}

/// The legacy `_signature`: `signature.legacy_signature(url, ua, timestamp, page, canvas=, env_mask=,
/// tt_webid=, uuid=)`, in this order.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn legacy_signature(
    url: &PyAny,
    user_agent: &PyAny,
    timestamp: &PyAny,
    page: &PyAny,
    canvas: &PyAny,
    env_mask: &PyAny,
    tt_webid: &PyAny,
    uuid: &PyAny,
) -> PyResult<String> {
    Ok(signature::legacy_signature(
        text(url, "url", MAX_INPUT)?,
        text(user_agent, "user_agent", MAX_INPUT)?,
        u32_(timestamp, "timestamp")?,
        text(page, "page", MAX_INPUT)?,
        u32_(canvas, "canvas")?,
        int(env_mask, "env_mask", 0, (1 << 24) - 1)? as u32,
        text(tt_webid, "tt_webid", MAX_INPUT)?,
        text(uuid, "uuid", MAX_INPUT)?,
    ))
}

/// `signature.signature_query(url, tt_webid, uuid)`.
#[pyfunction]
fn signature_query(url: &PyAny, tt_webid: &PyAny, uuid: &PyAny) -> PyResult<String> {
    Ok(signature::signature_query(
        text(url, "url", MAX_INPUT)?,
        text(tt_webid, "tt_webid", MAX_INPUT)?,
        text(uuid, "uuid", MAX_INPUT)?,
    ))
}

/// `xbogus.hook_signed_query(url, ms_token)`: `(url, signed)`; ValueError where the SDK's hook throws.
#[pyfunction]
fn hook_signed_query(url: &PyAny, ms_token: &PyAny) -> PyResult<(String, String)> {
    hook::hook_signed_query(
        text(url, "url", MAX_INPUT)?,
        text(ms_token, "ms_token", MAX_INPUT)?,
    )
    .map_err(err)
}

/// `policy.parse_url`'s query step: `(hooked URL without msToken, business query, msToken or None)`.
#[pyfunction]
fn prepare_query(
    scheme: &PyAny,
    raw_path: &PyAny,
    raw_query: &PyAny,
) -> PyResult<(String, String, Option<String>)> {
    let q = if raw_query.is_none() {
        None
    } else {
        Some(text(raw_query, "raw_query", MAX_INPUT)?)
    };
    hook::prepare(
        text(scheme, "scheme", 16)?,
        text(raw_path, "raw_path", MAX_INPUT)?,
        q,
    )
    .map_err(err)
}

/// `policy.parse_url` for a plain URL: `(scheme, host, path, query, msToken, wire query)`, or None when the
/// URL needs the full reading (see `hook::plain_url`); ValueError where the SDK's hook throws.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn plain_url(
    url: &PyAny,
) -> PyResult<Option<(String, String, String, String, Option<String>, String)>> {
    hook::plain_url(text(url, "url", MAX_INPUT)?).map_err(err)
}

// ---------------------------------------------------------------------------------------------------
// The whole suffix in one call (what `Signer.sign` uses).

/// The 5.3.2 `/api/*` suffix (gnarly-532.md section 0): X-Dynosaur over `q`, `S = q&X-Dynosaur=D&msToken=T`,
/// X-Gnarly over `S`. Returns `(D, G, S, S&X-Bogus=1&X-Gnarly=G)`. `record_order`: 16 keys or 64 noise bytes.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sign_full_532(
    py: Python<'_>,
    q: &PyAny,
    body: &PyAny,
    user_agent: &PyAny,
    ms_token: &PyAny,
    timestamp: &PyAny,
    sequence: &PyAny,
    nonce_d: &PyAny,
    nonce_g: &PyAny,
    nonce2: &PyAny,
    env_code: &PyAny,
    ub_code: &PyAny,
    page: &PyAny,
    canvas_hash: &PyAny,
    webgl_hash: &PyAny,
    component_version: &PyAny,
    device_hash: &PyAny,
    key_d: &PyAny,
    key_g: &PyAny,
    record_order: &PyAny,
) -> PyResult<(String, String, String, String)> {
    let m = dynosaur::MAX_TEXT;
    let q = text(q, "query", MAX_INPUT)?;
    let b = data(body, "body", MAX_INPUT)?;
    let ua = text(user_agent, "user_agent", MAX_INPUT)?;
    let token = text(ms_token, "ms_token", MAX_INPUT)?;
    let ts = u32_(timestamp, "timestamp")?;
    let seq = int(sequence, "sequence", 1, 0xFFFF)?;
    let env = u16_(env_code, "env_code")?;
    let ub = u16_(ub_code, "ub_code")?;
    let (nd, ng, n2) = (
        u32_(nonce_d, "nonce_d")?,
        u32_(nonce_g, "nonce_g")?,
        u32_(nonce2, "nonce2")?,
    );
    let texts = (
        ascii(page, "page", m)?,
        ascii(canvas_hash, "canvas_hash", m)?,
        ascii(webgl_hash, "webgl_hash", m)?,
        ascii(component_version, "component_version", m)?,
        ascii(device_hash, "device_hash", m)?,
    );
    let (kd, kg) = (key48(key_d, "key_d")?, key48(key_g, "key_g")?);
    let ord = order(record_order, &gnarly::KEYS_532, "record_order")?;
    let work = move || {
        let d = dynosaur::encode(
            &dynosaur::In {
                query_hash: dynosaur::hash_state(q.as_bytes()),
                ua_hash: dynosaur::hash_state(ua.as_bytes()),
                body_hash: dynosaur::FNV_BASIS, // hash("") as the ports and the reference signer (2.5)
                timestamp: ts,
                nonce: nd,
                counter_25: seq as u32,
                counter_2f: seq as u32,
                env_code: env,
                ub_code: ub,
                page: texts.0,
                canvas_hash: texts.1,
                webgl_hash: texts.2,
                component_version: texts.3,
                device_hash: texts.4,
                vm_state_hash: dynosaur::VM_STATE_HASH,
                sdk_version: b"5.3.2",
                scm_version: b"2.0.0.561",
            },
            &kd,
        );
        let mut sealed = String::with_capacity(q.len() + d.len() + token.len() + 24);
        if !q.is_empty() {
            sealed.push_str(q);
            sealed.push('&');
        }
        sealed.push_str("X-Dynosaur=");
        sealed.push_str(&d);
        sealed.push_str("&msToken=");
        sealed.push_str(token);
        let g = gnarly::encode_532(
            &gnarly::In532 {
                sealed: sealed.as_bytes(),
                body: b,
                user_agent: ua.as_bytes(),
                timestamp: ts,
                nonce: ng,
                nonce2: n2,
                sequence: seq as u16,
                env_code: env,
                ub_code: ub,
                sdk_version: b"5.3.2",
                scm_version: b"2.0.0.561",
                order: ord,
            },
            &kg,
        );
        let mut suffix = String::with_capacity(sealed.len() + g.len() + 22);
        suffix.push_str(&sealed);
        suffix.push_str("&X-Bogus=1&X-Gnarly=");
        suffix.push_str(&g);
        (d, g, sealed, suffix)
    };
    if q.len() + b.len() >= RELEASE_GIL_AT {
        return Ok(py.allow_threads(work));
    }
    Ok(work())
}

/// The 5.1.3 suffix: `(X-Bogus, X-Gnarly)` over `signed` (`q&msToken=T`), with the Signer's inputs.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sign_full_513(
    py: Python<'_>,
    signed: &PyAny,
    body: &PyAny,
    user_agent: &PyAny,
    timestamp: &PyAny,
    header: &PyAny,
    canvas: &PyAny,
    timestamp_ms: &PyAny,
    total_requests: &PyAny,
    intercepted_requests: &PyAny,
    random_low16: &PyAny,
    random32: &PyAny,
    key: &PyAny,
    ub_code: &PyAny,
    env_code: &PyAny,
    sdk_version: &PyAny,
) -> PyResult<(String, String)> {
    let s = data(signed, "signed", MAX_INPUT)?;
    let b = data(body, "body", MAX_INPUT)?;
    let ua_text = text(user_agent, "user_agent", MAX_INPUT)?;
    let ua = ua_units(ua_text);
    let ts = u32_(timestamp, "timestamp")?;
    let h = header4(header)?;
    let c = u32_(canvas, "canvas")?;
    let i = gnarly::In513 {
        query: s,
        body: b,
        user_agent: ua_text.as_bytes(),
        timestamp_ms: int(timestamp_ms, "timestamp_ms", 0, 1 << 53)?,
        random_low16: u16_(random_low16, "random_low16")?,
        random32: u32_(random32, "random32")?,
        total_requests: u32_(total_requests, "total_requests")?.into(),
        intercepted_requests: u32_(intercepted_requests, "intercepted_requests")?.into(),
        ub_code: u32_(ub_code, "ub_code")?.into(),
        env_code: u32_(env_code, "env_code")?.into(),
        sdk_version: data(sdk_version, "sdk_version", 0xFFFF)?,
        payload_version: b"5.1.3-ZTCA",
        order: gnarly::ORDER_513,
    };
    let key = key48(key, "key")?;
    let work = move || {
        (
            xbogus::encode(s, b, &ua, ts, &h, c),
            gnarly::encode_513(&i, &key),
        )
    };
    if s.len() + b.len() >= RELEASE_GIL_AT {
        return Ok(py.allow_threads(work));
    }
    Ok(work())
}

#[pymodule]
fn ttsign_accel(_py: Python<'_>, m: &PyModule) -> PyResult<()> {
    m.add("MAX_INPUT", MAX_INPUT)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(dynosaur_532, m)?)?;
    m.add_function(wrap_pyfunction!(hash_state, m)?)?;
    m.add_function(wrap_pyfunction!(gnarly_532, m)?)?;
    m.add_function(wrap_pyfunction!(gnarly_513, m)?)?;
    m.add_function(wrap_pyfunction!(x_bogus, m)?)?;
    m.add_function(wrap_pyfunction!(legacy_signature, m)?)?;
    m.add_function(wrap_pyfunction!(signature_query, m)?)?;
    m.add_function(wrap_pyfunction!(hook_signed_query, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_query, m)?)?;
    m.add_function(wrap_pyfunction!(plain_url, m)?)?;
    m.add_function(wrap_pyfunction!(sign_full_532, m)?)?;
    m.add_function(wrap_pyfunction!(sign_full_513, m)?)?;
    Ok(())
}
