//! The C ABI: the only module with `extern "C"` and `unsafe`.
//!
//! Every function checks its pointers, runs its body inside [`boundary`]
//! (`catch_unwind`: no panic unwinds into C) and reports failures as a
//! [`rampart_result`]. Strings are (pointer, length) pairs, need not be
//! NUL-terminated nor UTF-8, and (NULL, 0) is the empty string.
//!
//! Handles:
//! - `rampart_ruleset`: an `Arc<Ruleset>` turned into a raw pointer; reference
//!   counted with `rampart_ruleset_retain` / `rampart_ruleset_release`;
//!   immutable and thread-safe.
//! - `rampart_tx`: a boxed transaction holding its own ruleset reference; used by
//!   one thread at a time (it may move between threads).
//! - `rampart_error`: a boxed error message with the place of the first error.
//!
//! Working memory for evaluation lives **per thread inside the library**: each
//! thread that calls `rampart_tx_evaluate` keeps a scratch (regex caches,
//! transform buffers) in thread-local storage, for the two rulesets it used
//! last (so a thread that serves old and new transactions across a hot reload
//! does not thrash). A transaction holds only its request's bytes and results,
//! so many transactions in flight on one thread cost little.
//!
//! The header `include/rampart.h` is generated from this file by cbindgen
//! (`scripts/gen-header.sh`); `tests/header.rs` fails when it is stale.
#![allow(unsafe_code, non_camel_case_types)]
// The functions are called from C, where `unsafe` means nothing; each one
// documents the pointer contract it relies on and checks every pointer for NULL.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::{Action, Limit, Phase, RuleErrors, Ruleset, Scratch, Severity, Transaction};

/// ABI version of this header: major << 16 | minor. A host compares
/// `rampart_abi_version() >> 16` with `RAMPART_ABI_VERSION >> 16` at start-up
/// and refuses to run when they differ. Minor versions only add functions and
/// use reserved space; they never change what exists.
pub const RAMPART_ABI_VERSION: u32 = 1 << 16;

/// Status of every fallible call. The numbers are part of the ABI: new codes
/// are appended, existing ones never renumbered.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rampart_result {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL (or a NULL string had a non-zero length).
    NullArgument = 1,
    /// An argument is out of range: an unknown phase, a match index past the
    /// end, rule text that is not UTF-8.
    InvalidArgument = 2,
    /// The rules or the config do not compile; the error says where.
    RuleError = 3,
    /// Reserved: no function returns it yet (limits show in
    /// `rampart_verdict.limit`).
    LimitExceeded = 4,
    /// Reserved: no function returns it yet (`rampart_tx_audit_json` reports
    /// the size it needs instead).
    BufferTooSmall = 5,
    /// rampart panicked (a bug). The call had no effect; a transaction that
    /// was being used is poisoned.
    Panic = 6,
    /// The transaction is poisoned by an earlier panic; reset or free it.
    Poisoned = 7,
    /// A file could not be read (config, rule or data file).
    Io = 8,
    /// The data comes after the phase that inspects it was evaluated (the
    /// request line, client or scheme after the headers phase, body bytes
    /// after the body phase): it would never be inspected, so it is refused.
    /// Headers are accepted late: they are inspected in the body phase.
    TooLate = 9,
}

/// A request phase, as passed to `rampart_tx_evaluate`.
pub type rampart_phase = u32;
/// Request line and headers are known; evaluate before reading the body.
pub const RAMPART_PHASE_REQUEST_HEADERS: rampart_phase = 0;
/// The body (as much as the limits keep) is known too. Call it also for
/// requests without a body.
pub const RAMPART_PHASE_REQUEST_BODY: rampart_phase = 1;

/// What the host should do with the request (`rampart_verdict.action`).
pub type rampart_action = u32;
/// Let the request through.
pub const RAMPART_ACTION_ALLOW: rampart_action = 0;
/// Refuse it with `rampart_verdict.status`.
pub const RAMPART_ACTION_BLOCK: rampart_action = 1;
/// Let it through and log it (rules matched below the threshold, or detect mode).
pub const RAMPART_ACTION_LOG: rampart_action = 2;

/// A rule's severity (`rampart_match.severity`).
pub type rampart_severity = u32;
/// The rule has no severity (it acts by its `action` alone).
pub const RAMPART_SEVERITY_NONE: rampart_severity = 0;
/// Critical: adds 5 to the anomaly score.
pub const RAMPART_SEVERITY_CRITICAL: rampart_severity = 1;
/// Error: adds 4.
pub const RAMPART_SEVERITY_ERROR: rampart_severity = 2;
/// Warning: adds 3.
pub const RAMPART_SEVERITY_WARNING: rampart_severity = 3;
/// Notice: adds 2.
pub const RAMPART_SEVERITY_NOTICE: rampart_severity = 4;

/// Which limit a request went over (`rampart_verdict.limit`).
pub type rampart_limit = u32;
/// No limit was exceeded.
pub const RAMPART_LIMIT_NONE: rampart_limit = 0;
/// `max_body_bytes`.
pub const RAMPART_LIMIT_BODY_BYTES: rampart_limit = 1;
/// `max_args`.
pub const RAMPART_LIMIT_ARGS: rampart_limit = 2;
/// `max_headers`.
pub const RAMPART_LIMIT_HEADERS: rampart_limit = 3;
/// `max_header_bytes`.
pub const RAMPART_LIMIT_HEADER_BYTES: rampart_limit = 4;
/// `max_uri_bytes`.
pub const RAMPART_LIMIT_URI_BYTES: rampart_limit = 5;
/// `max_json_depth`.
pub const RAMPART_LIMIT_JSON_DEPTH: rampart_limit = 6;
/// `max_multipart_parts`.
pub const RAMPART_LIMIT_MULTIPART_PARTS: rampart_limit = 7;

/// The outcome of an evaluation. Allocated by the caller; its size does not
/// change within an ABI major version (new fields take reserved space).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rampart_verdict {
    /// `RAMPART_ACTION_ALLOW`, `_BLOCK` or `_LOG`.
    pub action: rampart_action,
    /// HTTP status to answer with when `action` is BLOCK (in detect mode: the
    /// status block mode would use); 0 when `would_block` is false.
    pub status: u32,
    /// The anomaly score so far (it accumulates across phases).
    pub score: u32,
    /// How many rules matched (see `rampart_tx_match`).
    pub match_count: u32,
    /// The phase last evaluated.
    pub phase: rampart_phase,
    /// The limit the request went over, `RAMPART_LIMIT_NONE` if none.
    pub limit: rampart_limit,
    /// 1 when block mode would block (also in detect mode), else 0.
    pub would_block: u32,
    /// Reserved for later minor versions; set to 0.
    pub reserved: [u32; 9],
}

/// One matched rule. The pointers are views into the transaction (and its
/// ruleset): valid until the transaction is reset or freed; not NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rampart_match {
    /// The rule id.
    pub rule_id: u32,
    /// `RAMPART_SEVERITY_*`.
    pub severity: rampart_severity,
    /// The phase the rule matched in.
    pub phase: rampart_phase,
    /// Byte offset of the match in the transformed value.
    pub offset: u32,
    /// The rule's message (UTF-8).
    pub message: *const c_char,
    /// Its length in bytes.
    pub message_len: usize,
    /// The field that matched, as rule authors write it: `args["q"]`,
    /// `headers["user-agent"]` (header names lowercased), `path` (ASCII;
    /// empty for rules without a field).
    pub field: *const c_char,
    /// Its length in bytes.
    pub field_len: usize,
    /// The matched bytes of the transformed value, at most 64 (any bytes).
    pub snippet: *const u8,
    /// Its length in bytes.
    pub snippet_len: usize,
    /// Reserved for later minor versions.
    pub reserved: [usize; 4],
}

/// A compiled rule set (opaque): immutable, thread-safe, reference-counted.
pub struct rampart_ruleset {
    _private: [u8; 0],
}

/// A transaction (opaque): one request; one thread at a time.
pub struct rampart_tx {
    tx: Transaction,
    poisoned: bool,
}

/// An error from compiling or loading (opaque).
pub struct rampart_error {
    message: CString,
    file: CString,
    line: u32,
    column: u32,
}

/// What a panicking body returns instead.
trait OnPanic {
    const ON_PANIC: Self;
}

impl OnPanic for rampart_result {
    const ON_PANIC: rampart_result = rampart_result::Panic;
}

impl<T> OnPanic for *mut T {
    const ON_PANIC: *mut T = std::ptr::null_mut();
}

impl<T> OnPanic for *const T {
    const ON_PANIC: *const T = std::ptr::null();
}

impl OnPanic for () {
    const ON_PANIC: () = ();
}

impl OnPanic for usize {
    const ON_PANIC: usize = 0;
}

impl OnPanic for u32 {
    const ON_PANIC: u32 = 0;
}

/// Runs an extern fn body; a panic becomes `T::ON_PANIC`, never an unwind into C.
fn boundary<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(T::ON_PANIC)
}

/// The bytes of a (pointer, length) argument; None for (NULL, n > 0) and for
/// lengths no allocation can have.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay valid for `'a`.
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: the caller's promise; NULL and impossible lengths were refused above.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Stores `error` in `*err` when `err` is not NULL.
///
/// # Safety
/// `err` is NULL or writable.
unsafe fn set_error(err: *mut *mut rampart_error, errors: &RuleErrors) {
    // SAFETY: the caller's promise.
    let Some(slot) = (unsafe { err.as_mut() }) else { return };
    let first = errors.first();
    let clean = |s: String| CString::new(s.replace('\0', "\\0")).unwrap_or_default();
    let boxed = Box::new(rampart_error {
        message: clean(errors.to_string()),
        file: clean(first.map(|e| e.file().to_owned()).unwrap_or_default()),
        line: first.map_or(0, |e| e.line()),
        column: first.map_or(0, |e| e.column()),
    });
    *slot = Box::into_raw(boxed);
}

/// The status for failed loads: `Io` when every error is about reading files.
fn load_status(errors: &RuleErrors) -> rampart_result {
    if !errors.is_empty() && errors.errors().iter().all(|e| e.is_io()) {
        rampart_result::Io
    } else {
        rampart_result::RuleError
    }
}

/// Hands a ruleset to C.
fn ruleset_out(out: &mut *mut rampart_ruleset, ruleset: Ruleset) {
    *out = Arc::into_raw(Arc::new(ruleset)).cast_mut().cast();
}

/// A counted reference to the ruleset behind a handle, without consuming the caller's.
///
/// # Safety
/// `rs` came from this library and has not been released.
unsafe fn ruleset_ref(rs: *const rampart_ruleset) -> Arc<Ruleset> {
    let ptr: *const Ruleset = rs.cast();
    // SAFETY: `ptr` came from `Arc::into_raw` (the caller's promise); we add a
    // count for the Arc we build, so the caller's reference stays intact.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

/// The ABI version of the library: compare `>> 16` with `RAMPART_ABI_VERSION >> 16`.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_abi_version() -> u32 {
    RAMPART_ABI_VERSION
}

/// The library version, e.g. "0.1.0": a static NUL-terminated string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Compiles the built-in default rule set with its own settings. On OK,
/// `*out` is a ruleset the caller owns (release it with
/// `rampart_ruleset_release`). Thread-safe.
///
/// Returns NULL_ARGUMENT if `out` is NULL, RULE_ERROR if the built-in rules do
/// not compile (never expected), PANIC on a bug.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_default(out: *mut *mut rampart_ruleset) -> rampart_result {
    boundary(|| {
        // SAFETY: `out` is NULL or writable (the contract above).
        let Some(out) = (unsafe { out.as_mut() }) else { return rampart_result::NullArgument };
        match Ruleset::default_rules() {
            Ok(rs) => {
                ruleset_out(out, rs);
                rampart_result::Ok
            }
            Err(_) => rampart_result::RuleError,
        }
    })
}

/// Compiles `len` bytes of rule text (UTF-8, no NUL needed) with the default
/// settings; errors name the text `<inline>`. On OK, `*out` is a ruleset the
/// caller owns. On RULE_ERROR (or INVALID_ARGUMENT for text that is not
/// UTF-8), if `err` is not NULL, `*err` receives an error the caller frees with
/// `rampart_error_free`. `*out` is written only on OK. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_compile(
    rules: *const c_char,
    len: usize,
    out: *mut *mut rampart_ruleset,
    err: *mut *mut rampart_error,
) -> rampart_result {
    boundary(|| {
        // SAFETY: `out` is NULL or writable, `rules` NULL or `len` readable bytes.
        let Some(out) = (unsafe { out.as_mut() }) else { return rampart_result::NullArgument };
        let Some(bytes) = (unsafe { bytes_arg(rules.cast(), len) }) else { return rampart_result::NullArgument };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to();
                let source = crate::dsl::SourceFile::new("<inline>", String::from_utf8_lossy(bytes).into_owned());
                let error = crate::RuleError::new(
                    crate::dsl::ErrorKind::Syntax,
                    &source,
                    crate::dsl::Span::new(at, at + 1),
                    "rule text is not UTF-8 here",
                );
                // SAFETY: `err` is NULL or writable.
                unsafe { set_error(err, &RuleErrors::from(error)) };
                return rampart_result::InvalidArgument;
            }
        };
        match Ruleset::from_rules(text) {
            Ok(rs) => {
                ruleset_out(out, rs);
                rampart_result::Ok
            }
            Err(errors) => {
                // SAFETY: `err` is NULL or writable.
                unsafe { set_error(err, &errors) };
                load_status(&errors)
            }
        }
    })
}

/// Loads an engine config (TOML) from the path in `config_path` (`len` bytes,
/// no NUL needed) and the rule files it includes. Ownership as for
/// `rampart_ruleset_compile`. Returns IO when a file cannot be read,
/// RULE_ERROR when a config or rule file is wrong, INVALID_ARGUMENT for an
/// empty path or one containing a NUL byte (each with an error in `*err`).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_load(
    config_path: *const c_char,
    len: usize,
    out: *mut *mut rampart_ruleset,
    err: *mut *mut rampart_error,
) -> rampart_result {
    boundary(|| {
        // SAFETY: as documented: `out` NULL or writable, the path NULL or `len` bytes.
        let Some(out) = (unsafe { out.as_mut() }) else { return rampart_result::NullArgument };
        let Some(bytes) = (unsafe { bytes_arg(config_path.cast(), len) }) else {
            return rampart_result::NullArgument;
        };
        if bytes.is_empty() || bytes.contains(&0) {
            let error = crate::RuleError::whole_file(
                crate::dsl::ErrorKind::Io,
                "<config>",
                if bytes.is_empty() { "empty config path" } else { "config path contains a NUL byte" },
            );
            // SAFETY: `err` is NULL or writable.
            unsafe { set_error(err, &RuleErrors::from(error)) };
            return rampart_result::InvalidArgument;
        }
        let path = path_from_bytes(bytes);
        match Ruleset::from_config_file(&path) {
            Ok(rs) => {
                ruleset_out(out, rs);
                rampart_result::Ok
            }
            Err(errors) => {
                // SAFETY: `err` is NULL or writable.
                unsafe { set_error(err, &errors) };
                load_status(&errors)
            }
        }
    })
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes).into()
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> std::path::PathBuf {
    String::from_utf8_lossy(bytes).into_owned().into()
}

/// Adds a reference to a ruleset and returns it (NULL for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_retain(ruleset: *mut rampart_ruleset) -> *mut rampart_ruleset {
    boundary(|| {
        if ruleset.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL ruleset came from this library and is still referenced.
        unsafe { Arc::increment_strong_count(ruleset.cast_const().cast::<Ruleset>()) };
        ruleset
    })
}

/// Drops a reference to a ruleset; the last one frees it. Transactions hold
/// their own references, so a host may release its ruleset (after a reload)
/// while transactions created from it are still running. NULL is ignored.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_release(ruleset: *mut rampart_ruleset) {
    boundary(|| {
        if !ruleset.is_null() {
            // SAFETY: a non-NULL ruleset came from this library; this gives back one reference.
            unsafe { Arc::decrement_strong_count(ruleset.cast_const().cast::<Ruleset>()) };
        }
    })
}

/// The number of rules compiled into a ruleset (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_ruleset_rule_count(ruleset: *const rampart_ruleset) -> usize {
    boundary(|| {
        if ruleset.is_null() {
            return 0;
        }
        // SAFETY: a non-NULL ruleset came from this library and is still referenced.
        let rs = unsafe { &*ruleset.cast::<Ruleset>() };
        rs.rule_count()
    })
}

/// The error's message: `file:line:column: error: message`, the source line
/// and a caret line, for every error found (NUL-terminated, owned by the
/// error). NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_error_message(err: *const rampart_error) -> *const c_char {
    boundary(|| {
        // SAFETY: NULL or an error from this library not yet freed.
        unsafe { err.as_ref() }.map_or(std::ptr::null(), |e| e.message.as_ptr())
    })
}

/// The file of the first error (NUL-terminated, owned by the error; empty when
/// unknown). NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_error_file(err: *const rampart_error) -> *const c_char {
    boundary(|| {
        // SAFETY: NULL or an error from this library not yet freed.
        unsafe { err.as_ref() }.map_or(std::ptr::null(), |e| e.file.as_ptr())
    })
}

/// The 1-based line of the first error; 0 when it concerns a whole file or
/// `err` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_error_line(err: *const rampart_error) -> u32 {
    boundary(|| {
        // SAFETY: NULL or an error from this library not yet freed.
        unsafe { err.as_ref() }.map_or(0, |e| e.line)
    })
}

/// The 1-based column (in characters) of the first error; 0 when unknown.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_error_column(err: *const rampart_error) -> u32 {
    boundary(|| {
        // SAFETY: NULL or an error from this library not yet freed.
        unsafe { err.as_ref() }.map_or(0, |e| e.column)
    })
}

/// Frees an error. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_error_free(err: *mut rampart_error) {
    boundary(|| {
        if !err.is_null() {
            // SAFETY: a non-NULL error came from `Box::into_raw` here and is freed once.
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

/// A new transaction evaluated against `ruleset`, holding its own reference to
/// it (the caller may release its ruleset at once). Free it with
/// `rampart_tx_free`; reuse it for the next request with `rampart_tx_reset`.
/// NULL when `ruleset` is NULL. A transaction is used by one thread at a time.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_new(ruleset: *mut rampart_ruleset) -> *mut rampart_tx {
    boundary(|| {
        if ruleset.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-NULL ruleset came from this library and is still referenced.
        let rs = unsafe { ruleset_ref(ruleset) };
        Box::into_raw(Box::new(rampart_tx { tx: Transaction::new(rs), poisoned: false }))
    })
}

/// Frees a transaction and its ruleset reference. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_free(tx: *mut rampart_tx) {
    boundary(|| {
        if !tx.is_null() {
            // SAFETY: a non-NULL tx came from `Box::into_raw` in `rampart_tx_new`, freed once.
            drop(unsafe { Box::from_raw(tx) });
        }
    })
}

/// Forgets the request, keeping memory, to take the next one; clears a
/// poisoned state. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_reset(tx: *mut rampart_tx) {
    boundary(|| {
        // SAFETY: NULL or a live transaction used by this thread only.
        if let Some(h) = unsafe { tx.as_mut() } {
            h.poisoned = false;
            h.tx.reset();
        }
    })
}

/// Like `rampart_tx_reset`, moving the transaction to another ruleset (after a
/// hot reload); the transaction takes its own reference. NULL_ARGUMENT if
/// either pointer is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_reset_with(tx: *mut rampart_tx, ruleset: *mut rampart_ruleset) -> rampart_result {
    boundary(|| {
        // SAFETY: NULL or a live transaction used by this thread only.
        let Some(h) = (unsafe { tx.as_mut() }) else { return rampart_result::NullArgument };
        if ruleset.is_null() {
            return rampart_result::NullArgument;
        }
        // SAFETY: a non-NULL ruleset came from this library and is still referenced.
        let rs = unsafe { ruleset_ref(ruleset) };
        h.poisoned = false;
        h.tx.reset_with(rs);
        rampart_result::Ok
    })
}

/// Runs `f` on a live, unpoisoned transaction; a panic inside poisons it.
fn with_tx(tx: *mut rampart_tx, f: impl FnOnce(&mut Transaction) -> rampart_result) -> rampart_result {
    // SAFETY: NULL or a live transaction used by this thread only (the contract
    // of every rampart_tx_* function).
    let Some(h) = (unsafe { tx.as_mut() }) else { return rampart_result::NullArgument };
    if h.poisoned {
        return rampart_result::Poisoned;
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut h.tx))) {
        Ok(r) => r,
        Err(_) => {
            h.poisoned = true;
            rampart_result::Panic
        }
    }
}

/// Sets the request line: method, request target as received (`/path?query`
/// or `http://host/path`), protocol (`HTTP/1.1`; empty for HTTP/0.9). Bytes
/// need not be UTF-8. A second call replaces the first. NULL_ARGUMENT for NULL
/// pointers with non-zero lengths; TOO_LATE after the headers phase was
/// evaluated (reset the transaction first).
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_set_request(
    tx: *mut rampart_tx,
    method: *const c_char,
    method_len: usize,
    uri: *const c_char,
    uri_len: usize,
    protocol: *const c_char,
    protocol_len: usize,
) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            if t.is_evaluated(Phase::RequestHeaders) {
                return rampart_result::TooLate;
            }
            // SAFETY: each pointer is NULL or has its length of readable bytes.
            let (Some(m), Some(u), Some(p)) =
                (unsafe { bytes_arg(method.cast(), method_len) }, unsafe { bytes_arg(uri.cast(), uri_len) }, unsafe {
                    bytes_arg(protocol.cast(), protocol_len)
                })
            else {
                return rampart_result::NullArgument;
            };
            t.set_request(m, u, p);
            rampart_result::Ok
        })
    })
}

/// Sets the client address as text (`203.0.113.7`, `2001:db8::1`). TOO_LATE
/// after the headers phase was evaluated.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_set_client(tx: *mut rampart_tx, ip: *const c_char, len: usize) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            // SAFETY: NULL or `len` readable bytes.
            let Some(ip) = (unsafe { bytes_arg(ip.cast(), len) }) else { return rampart_result::NullArgument };
            if t.is_evaluated(Phase::RequestHeaders) {
                return rampart_result::TooLate;
            }
            t.set_client(ip);
            rampart_result::Ok
        })
    })
}

/// Sets the scheme the request arrived with (`http` or `https`; default
/// `http`). TOO_LATE after the headers phase was evaluated.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_set_scheme(tx: *mut rampart_tx, scheme: *const c_char, len: usize) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            // SAFETY: NULL or `len` readable bytes.
            let Some(s) = (unsafe { bytes_arg(scheme.cast(), len) }) else { return rampart_result::NullArgument };
            if t.is_evaluated(Phase::RequestHeaders) {
                return rampart_result::TooLate;
            }
            t.set_scheme(s);
            rampart_result::Ok
        })
    })
}

/// Sets the request id written in the audit event (at most 64 bytes kept).
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_set_request_id(tx: *mut rampart_tx, id: *const c_char, len: usize) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            // SAFETY: NULL or `len` readable bytes.
            let Some(id) = (unsafe { bytes_arg(id.cast(), len) }) else { return rampart_result::NullArgument };
            t.set_request_id(id);
            rampart_result::Ok
        })
    })
}

/// Adds a request header (in order; duplicates kept). Headers past the
/// configured limits are dropped and flagged (see `rampart_verdict.limit`). A
/// header added after the headers phase was evaluated is inspected in the
/// body phase.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_add_header(
    tx: *mut rampart_tx,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            // SAFETY: each pointer is NULL or has its length of readable bytes.
            let (Some(n), Some(v)) =
                (unsafe { bytes_arg(name.cast(), name_len) }, unsafe { bytes_arg(value.cast(), value_len) })
            else {
                return rampart_result::NullArgument;
            };
            t.add_header(n, v);
            rampart_result::Ok
        })
    })
}

/// Appends a chunk of the request body. Bytes past `max_body_bytes` are not
/// kept; the request is flagged (and rejected if the config says so).
/// TOO_LATE after the body phase was evaluated.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_append_body(tx: *mut rampart_tx, data: *const u8, len: usize) -> rampart_result {
    boundary(|| {
        with_tx(tx, |t| {
            // SAFETY: NULL or `len` readable bytes.
            let Some(d) = (unsafe { bytes_arg(data, len) }) else { return rampart_result::NullArgument };
            if t.is_evaluated(Phase::RequestBody) {
                return rampart_result::TooLate;
            }
            t.append_body(d);
            rampart_result::Ok
        })
    })
}

thread_local! {
    /// This thread's scratches, most recently used first (at most two).
    static SCRATCH: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch for `rs`.
fn with_scratch<T>(rs: &Ruleset, f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|cell| {
        let mut slots = cell.borrow_mut();
        match slots.iter().position(|s| s.ruleset_id() == rs.id()) {
            Some(0) => {}
            Some(i) => slots.swap(0, i),
            None if slots.len() < 2 => slots.insert(0, rs.create_scratch()),
            None => {
                // Reuse the least recently used scratch (it follows the new ruleset).
                slots.swap(0, 1);
            }
        }
        f(&mut slots[0])
    })
}

fn limit_code(l: Option<Limit>) -> rampart_limit {
    match l {
        None => RAMPART_LIMIT_NONE,
        Some(Limit::BodyBytes) => RAMPART_LIMIT_BODY_BYTES,
        Some(Limit::Args) => RAMPART_LIMIT_ARGS,
        Some(Limit::Headers) => RAMPART_LIMIT_HEADERS,
        Some(Limit::HeaderBytes) => RAMPART_LIMIT_HEADER_BYTES,
        Some(Limit::UriBytes) => RAMPART_LIMIT_URI_BYTES,
        Some(Limit::JsonDepth) => RAMPART_LIMIT_JSON_DEPTH,
        Some(Limit::MultipartParts) => RAMPART_LIMIT_MULTIPART_PARTS,
    }
}

/// Evaluates the transaction up to `phase` (`RAMPART_PHASE_*`) and writes
/// the verdict into `*out` (caller-allocated). Phases run in order, each once;
/// scores accumulate. Uses this thread's scratch. INVALID_ARGUMENT for an
/// unknown phase; POISONED after an earlier panic.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_evaluate(
    tx: *mut rampart_tx,
    phase: rampart_phase,
    out: *mut rampart_verdict,
) -> rampart_result {
    boundary(|| {
        if out.is_null() || tx.is_null() {
            return rampart_result::NullArgument;
        }
        let phase = match phase {
            RAMPART_PHASE_REQUEST_HEADERS => Phase::RequestHeaders,
            RAMPART_PHASE_REQUEST_BODY => Phase::RequestBody,
            _ => return rampart_result::InvalidArgument,
        };
        let result = with_tx(tx, |t| {
            let rs = t.ruleset().clone();
            let v = with_scratch(&rs, |scratch| t.evaluate(phase, scratch));
            let verdict = rampart_verdict {
                action: match v.action() {
                    Action::Allow => RAMPART_ACTION_ALLOW,
                    Action::Block => RAMPART_ACTION_BLOCK,
                    Action::Log => RAMPART_ACTION_LOG,
                },
                status: u32::from(v.status()),
                score: v.score(),
                match_count: v.match_count(),
                phase: match v.phase() {
                    Phase::RequestHeaders => RAMPART_PHASE_REQUEST_HEADERS,
                    Phase::RequestBody => RAMPART_PHASE_REQUEST_BODY,
                },
                limit: limit_code(t.limit_exceeded()),
                would_block: u32::from(v.would_block()),
                reserved: [0; 9],
            };
            // SAFETY: `out` is non-NULL and writable (the contract).
            unsafe { out.write(verdict) };
            rampart_result::Ok
        });
        if result == rampart_result::Panic {
            // The scratch may hold half-written state: start this thread afresh.
            let _ = SCRATCH.try_with(|cell| cell.try_borrow_mut().map(|mut s| s.clear()));
        }
        result
    })
}

/// The number of rules that matched so far (0 for NULL or a poisoned transaction).
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_match_count(tx: *const rampart_tx) -> usize {
    boundary(|| {
        // SAFETY: NULL or a live transaction.
        match unsafe { tx.as_ref() } {
            Some(h) if !h.poisoned => h.tx.matches().count(),
            _ => 0,
        }
    })
}

/// Writes the `index`-th matched rule (0-based, in decision order) into `*out`.
/// Its pointers stay valid until the transaction is reset or freed.
/// INVALID_ARGUMENT when `index` is past the end.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_match(tx: *const rampart_tx, index: usize, out: *mut rampart_match) -> rampart_result {
    boundary(|| {
        // SAFETY: NULL or a live transaction.
        let Some(h) = (unsafe { tx.as_ref() }) else { return rampart_result::NullArgument };
        if out.is_null() {
            return rampart_result::NullArgument;
        }
        if h.poisoned {
            return rampart_result::Poisoned;
        }
        let Some(m) = h.tx.matches().nth(index) else { return rampart_result::InvalidArgument };
        let record = rampart_match {
            rule_id: m.id(),
            severity: match m.severity() {
                None => RAMPART_SEVERITY_NONE,
                Some(Severity::Critical) => RAMPART_SEVERITY_CRITICAL,
                Some(Severity::Error) => RAMPART_SEVERITY_ERROR,
                Some(Severity::Warning) => RAMPART_SEVERITY_WARNING,
                Some(Severity::Notice) => RAMPART_SEVERITY_NOTICE,
            },
            phase: match m.phase() {
                Phase::RequestHeaders => RAMPART_PHASE_REQUEST_HEADERS,
                Phase::RequestBody => RAMPART_PHASE_REQUEST_BODY,
            },
            offset: m.offset(),
            message: m.message().as_ptr().cast(),
            message_len: m.message().len(),
            field: m.field().as_ptr().cast(),
            field_len: m.field().len(),
            snippet: m.snippet().as_ptr(),
            snippet_len: m.snippet().len(),
            reserved: [0; 4],
        };
        // SAFETY: `out` is non-NULL and writable (the contract).
        unsafe { out.write(record) };
        rampart_result::Ok
    })
}

thread_local! {
    /// Where audit lines are built before they are copied out.
    static AUDIT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes the transaction's audit event (one JSON object and a newline) into
/// `buf` and returns its length in bytes. Writes only when it fits
/// (`length <= cap`), and then also a NUL after it when there is room
/// (`length < cap`). Call with `cap = 0` to ask for the length. Returns 0 for a
/// NULL or poisoned transaction, or a NULL `buf` with `cap > 0`.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_tx_audit_json(tx: *const rampart_tx, buf: *mut c_char, cap: usize) -> usize {
    boundary(|| {
        // SAFETY: NULL or a live transaction.
        let Some(h) = (unsafe { tx.as_ref() }) else { return 0 };
        if h.poisoned || (buf.is_null() && cap > 0) {
            return 0;
        }
        AUDIT.with(|cell| {
            let mut line = cell.borrow_mut();
            line.clear();
            h.tx.write_audit_json(&mut line);
            let n = line.len();
            if n <= cap {
                // SAFETY: `buf` has `cap >= n` writable bytes (the contract).
                unsafe {
                    std::ptr::copy_nonoverlapping(line.as_ptr(), buf.cast::<u8>(), n);
                    if n < cap {
                        buf.add(n).write(0);
                    }
                }
            }
            n
        })
    })
}
