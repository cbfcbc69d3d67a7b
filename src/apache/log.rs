//! Error-log lines through httpd, with the module's index so `LogLevel tofu:debug` works.
//!
//! The level is checked before anything is formatted, and the message is always passed as the
//! argument of a constant `"%s"` format: untrusted data never becomes a format string.

use std::ffi::CString;

use super::ffi;
use super::module::module_index;
use crate::error::LogLevel;

/// The `APLOG_*` value of a core log level.
pub fn aplog(level: LogLevel) -> i32 {
    (match level {
        LogLevel::Error => ffi::APLOG_ERR,
        LogLevel::Warn => ffi::APLOG_WARNING,
        LogLevel::Info => ffi::APLOG_INFO,
        LogLevel::Debug => ffi::APLOG_DEBUG,
    }) as i32
}

/// The C string httpd logs: escaped (`crate::error::escape_for_log`), so a newline or escape
/// sequence that came from a client or a store can neither forge a line nor reach a terminal.
fn c_message(message: &str) -> CString {
    CString::new(crate::error::escape_for_log(message).into_owned()).unwrap_or_default()
}

/// The Rust source location of the caller, for the `file(line)` httpd prints at debug level.
#[track_caller]
fn caller() -> (CString, i32) {
    let at = std::panic::Location::caller();
    (c_message(at.file()), at.line() as i32)
}

/// Logs `message()` about request `r` if `level` is enabled for this module there.
///
/// # Safety
/// `r` must be a live request.
#[track_caller]
pub unsafe fn request(r: *const ffi::request_rec, level: i32, message: impl FnOnce() -> String) {
    let index = module_index();
    let wanted = level & ffi::LEVEL_MASK;
    if wanted > ffi::APLOG_NOTICE as i32 && ffi::request_module_loglevel(r, index) < wanted {
        return;
    }
    let text = c_message(&message());
    let (file, line) = caller();
    ffi::ap_log_rerror_(
        file.as_ptr(),
        line,
        index,
        level,
        0,
        r,
        c"%s".as_ptr(),
        text.as_ptr(),
    );
}

/// Logs `message()` about server `s` (startup, child init) if `level` is enabled there.
///
/// # Safety
/// `s` must be a live server (or null, for the startup log).
#[track_caller]
pub unsafe fn server(s: *const ffi::server_rec, level: i32, message: impl FnOnce() -> String) {
    let index = module_index();
    let wanted = level & ffi::LEVEL_MASK;
    if !s.is_null()
        && wanted > ffi::APLOG_NOTICE as i32
        && ffi::server_module_loglevel(s, index) < wanted
    {
        return;
    }
    let text = c_message(&message());
    let (file, line) = caller();
    ffi::ap_log_error_(
        file.as_ptr(),
        line,
        index,
        level,
        0,
        s,
        c"%s".as_ptr(),
        text.as_ptr(),
    );
}
