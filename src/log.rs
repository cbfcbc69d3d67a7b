//! Error-log lines through httpd, with the module's index so `LogLevel tofu:debug` works, as
//! methods of the safe [`Server`] and [`crate::request::Request`] views.
//!
//! The level is checked before anything is formatted, and the message is always passed as the
//! argument of a constant `"%s"` format: untrusted data never becomes a format string. Control
//! characters are written as `%XX` (`tofu_core::error::escape_for_log`).

use std::ffi::CString;
use std::os::raw::c_char;

use super::ffi;
use super::module::module_index;
use tofu_core::error::LogLevel;

/// The `APLOG_*` value of a core log level.
pub fn aplog(level: LogLevel) -> i32 {
    (match level {
        LogLevel::Error => ffi::APLOG_ERR,
        LogLevel::Warn => ffi::APLOG_WARNING,
        LogLevel::Info => ffi::APLOG_INFO,
        LogLevel::Debug => ffi::APLOG_DEBUG,
    }) as i32
}

/// `level` for a message of the startup phase (written to the console as well).
pub fn startup(level: u32) -> i32 {
    (level | ffi::APLOG_STARTUP) as i32
}

/// The C string httpd logs: escaped, so a newline or escape sequence that came from a client or
/// a store can neither forge a line nor reach a terminal.
fn c_message(message: &str) -> CString {
    CString::new(tofu_core::error::escape_for_log(message).into_owned()).unwrap_or_default()
}

/// The Rust source location of the caller, for the `file(line)` httpd prints at debug level.
#[track_caller]
fn caller() -> (CString, i32) {
    let at = std::panic::Location::caller();
    (c_message(at.file()), at.line() as i32)
}

/// `server_rec`, borrowed for the duration of a hook call (the main server or a virtual host).
#[repr(transparent)]
pub struct Server(ffi::server_rec);

impl Server {
    /// # Safety
    /// `s` must be null or a live server for the returned lifetime.
    pub unsafe fn from_ptr<'a>(s: *const ffi::server_rec) -> Option<&'a Server> {
        // SAFETY: the caller's promise; `Server` is a transparent view of `server_rec`.
        unsafe { (s as *const Server).as_ref() }
    }

    pub fn as_ptr(&self) -> *mut ffi::server_rec {
        &self.0 as *const ffi::server_rec as *mut ffi::server_rec
    }

    /// Logs `message()` about this server (startup, child init) if `level` is enabled here.
    #[track_caller]
    pub fn log(&self, level: i32, message: impl FnOnce() -> String) {
        emit(
            level,
            // SAFETY: a live server (this view's promise).
            |index| unsafe { ffi::server_module_loglevel(self.as_ptr(), index) },
            message,
            |file, line, index, text| {
                // SAFETY: a live server; constant "%s" format with one NUL-terminated argument.
                unsafe {
                    ffi::ap_log_error_(
                        file,
                        line,
                        index,
                        level,
                        0,
                        self.as_ptr(),
                        c"%s".as_ptr(),
                        text,
                    )
                }
            },
        );
    }
}

/// Logs `message()` about request `r` if `level` is enabled for this module there.
///
/// # Safety
/// `r` must be a live request.
#[track_caller]
pub unsafe fn request(r: *const ffi::request_rec, level: i32, message: impl FnOnce() -> String) {
    emit(
        level,
        // SAFETY: a live request (the caller's promise).
        |index| unsafe { ffi::request_module_loglevel(r, index) },
        message,
        |file, line, index, text| {
            // SAFETY: a live request; constant "%s" format with one NUL-terminated argument.
            unsafe { ffi::ap_log_rerror_(file, line, index, level, 0, r, c"%s".as_ptr(), text) }
        },
    );
}

/// The one way a line is written: the level in force where it is about (`enabled`, for this
/// module's index) is checked before anything is formatted, then `write` gets the caller's
/// file and line, the module's index and the escaped text.
#[track_caller]
fn emit(
    level: i32,
    enabled: impl FnOnce(i32) -> i32,
    message: impl FnOnce() -> String,
    write: impl FnOnce(*const c_char, i32, i32, *const c_char),
) {
    let index = module_index();
    let wanted = level & ffi::LEVEL_MASK;
    if wanted > ffi::APLOG_NOTICE as i32 && enabled(index) < wanted {
        return;
    }
    let text = c_message(&message());
    let (file, line) = caller();
    write(file.as_ptr(), line, index, text.as_ptr());
}
