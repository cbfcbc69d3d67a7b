//! A request as a safe, borrowed view: what the hooks read from it and write to it.

use std::ffi::{c_void, CStr};
use std::os::raw::c_char;

use super::ffi;
use super::pool::Pool;

/// `request_rec`, borrowed for the duration of a hook call.
#[repr(transparent)]
pub struct Request(ffi::request_rec);

/// Which header table a header goes to: `headers_out` is dropped on error responses,
/// `err_headers_out` survives them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HeaderTable {
    Normal,
    Always,
}

fn c_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        // SAFETY: httpd's strings are NUL-terminated and live as long as the request.
        unsafe { CStr::from_ptr(p) }.to_str().ok()
    }
}

impl Request {
    /// # Safety
    /// `r` must be a live request for the returned lifetime, used by this thread only.
    pub unsafe fn from_ptr<'a>(r: *mut ffi::request_rec) -> &'a mut Request {
        // SAFETY: the caller's promise; `Request` is a transparent view of `request_rec`.
        unsafe { &mut *(r as *mut Request) }
    }

    pub fn as_ptr(&self) -> *const ffi::request_rec {
        &self.0
    }

    fn as_mut_ptr(&mut self) -> *mut ffi::request_rec {
        &mut self.0
    }

    /// The (virtual) server the request came to.
    pub fn server(&self) -> *const ffi::server_rec {
        self.0.server
    }

    /// The status line's code of an answer the handler writes itself (then returns OK).
    pub fn set_status(&mut self, status: u16) {
        self.0.status = i32::from(status);
    }

    /// The handler name httpd picked (`SetHandler`), if any.
    pub fn handler(&self) -> Option<&str> {
        c_str(self.0.handler)
    }

    /// The handler `SetHandler` forces where the request's URL points, known once the
    /// `<Location>` sections are merged (before fixups copy it to `r->handler`). Since httpd
    /// 2.4.10 `SetHandler` keeps an expression (`expr_handler`), evaluated here as core's fixup
    /// does; `handler` is what other directives force.
    pub fn forced_handler(&mut self) -> Option<&str> {
        // SAFETY: live request; core's per-dir config always exists.
        let core = unsafe {
            (ffi::ap_get_core_module_config(self.0.per_dir_config) as *const ffi::core_dir_config)
                .as_ref()
        }?;
        if core.expr_handler.is_null() {
            return c_str(core.handler);
        }
        let expr = core.expr_handler;
        let mut error: *const c_char = std::ptr::null();
        // SAFETY: live request (borrowed mutably: evaluating may note a Vary header) and the
        // expression of its own merged core config; the result is allocated in the request's
        // pool, which outlives the borrow.
        let value = unsafe { ffi::ap_expr_str_exec(self.as_mut_ptr(), expr, &mut error) };
        if error.is_null() {
            c_str(value)
        } else {
            None
        }
    }

    /// Runs `look` on the request with its `<Location>` sections merged, then puts the config
    /// back as it was. For `map_to_storage`, where httpd has reset the config to the server's
    /// and merges the locations itself afterwards (finding this walk in its cache), so
    /// directory sections still merge in httpd's order. Err is an HTTP status.
    pub fn peek_location_config<R>(
        &mut self,
        look: impl FnOnce(&mut Request) -> R,
    ) -> Result<R, i32> {
        let saved = self.0.per_dir_config;
        // SAFETY: live request, in a hook that runs before httpd's own location walk.
        let status = unsafe { ffi::ap_location_walk(self.as_mut_ptr()) };
        let result = (status == 0).then(|| look(self));
        self.0.per_dir_config = saved;
        result.ok_or(status)
    }

    /// Logs `message()` about this request if `level` is enabled for this module here.
    #[track_caller]
    pub fn log(&self, level: i32, message: impl FnOnce() -> String) {
        // SAFETY: a live request (this view's promise).
        unsafe { super::log::request(self.as_ptr(), level, message) }
    }

    pub fn method(&self) -> &str {
        c_str(self.0.method).unwrap_or("")
    }

    /// The path as the client sent it: not percent-decoded, no query string. (`r->uri` is
    /// decoded and normalised by httpd; the signature covers what the client sent.)
    pub fn raw_path(&self) -> &str {
        tofu_core::url::request_target_path(c_str(self.0.unparsed_uri).unwrap_or(""))
    }

    /// A request header (the first one of that name).
    pub fn header_in(&self, name: &CStr) -> Option<&str> {
        // SAFETY: live request; apr_table_get returns a string owned by the request's table.
        c_str(unsafe { ffi::apr_table_get(self.0.headers_in, name.as_ptr()) })
    }

    /// True for HEAD: headers only.
    pub fn header_only(&self) -> bool {
        self.0.header_only != 0
    }

    pub fn pool(&self) -> Pool<'_> {
        // SAFETY: a live request always has a live pool.
        unsafe { Pool::from_raw(self.0.pool) }.expect("request without a pool")
    }

    /// This module's merged per-directory config for the request.
    pub fn dir_config<T>(&self, module_index: i32) -> Option<&T> {
        // SAFETY: our slot holds a `T` placed by create/merge_dir_config, or null.
        unsafe {
            let p = ffi::module_config(self.0.per_dir_config, module_index) as *const T;
            p.as_ref()
        }
    }

    pub fn set_content_type(&mut self, mime: &str) {
        let value = self.pool().strdup(mime);
        // SAFETY: live request; the string lives in its pool.
        unsafe { ffi::ap_set_content_type(self.as_mut_ptr(), value) }
    }

    pub fn set_content_length(&mut self, length: usize) {
        // SAFETY: live request.
        unsafe { ffi::ap_set_content_length(self.as_mut_ptr(), length as ffi::apr_off_t) }
    }

    pub fn set_header(&mut self, table: HeaderTable, name: &str, value: &str) {
        let pool = self.pool();
        let (name, value) = (pool.strdup(name), pool.strdup(value));
        let table = match table {
            HeaderTable::Normal => self.0.headers_out,
            HeaderTable::Always => self.0.err_headers_out,
        };
        // SAFETY: the tables belong to the live request; apr_table_set copies.
        unsafe { ffi::apr_table_set(table, name, value) }
    }

    /// Sets `r->notes[name]` (read by mod_log_config as `%{name}n`).
    pub fn set_note(&mut self, name: &str, value: &str) {
        let pool = self.pool();
        let (name, value) = (pool.strdup(name), pool.strdup(value));
        // SAFETY: the notes table belongs to the live request; apr_table_set copies.
        unsafe { ffi::apr_table_set(self.0.notes, name, value) }
    }

    /// Writes body bytes; false when the client went away.
    pub fn write(&mut self, body: &[u8]) -> bool {
        let mut rest = body;
        while !rest.is_empty() {
            let chunk = rest.len().min(i32::MAX as usize);
            // SAFETY: live request; `rest` is valid for `chunk` bytes.
            let written = unsafe {
                ffi::ap_rwrite(
                    rest.as_ptr() as *const c_void,
                    chunk as i32,
                    self.as_mut_ptr(),
                )
            };
            if written < 0 {
                return false;
            }
            rest = &rest[written as usize..];
        }
        true
    }

    /// True when an `ErrorDocument` is configured for `status` here.
    pub fn has_error_document(&self, status: u16) -> bool {
        // SAFETY: live request; core's per-dir config always exists.
        unsafe {
            let index = ffi::ap_index_of_response(i32::from(status));
            let core = ffi::ap_get_core_module_config(self.0.per_dir_config)
                as *const ffi::core_dir_config;
            match core.as_ref() {
                Some(core) if !core.response_code_strings.is_null() => {
                    !(*core.response_code_strings.add(index as usize)).is_null()
                }
                _ => false,
            }
        }
    }

    /// Makes httpd's error page for `status` the one line `text` (only where no ErrorDocument
    /// is configured, so operators keep control of error pages).
    pub fn set_error_text(&mut self, status: u16, text: &str) {
        if self.has_error_document(status) {
            return;
        }
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        // Starting with the status code keeps httpd from mistaking the text for a URL to
        // redirect to (it would, for "word:…"); it quotes it as a message itself.
        let message = self.pool().strdup(&format!("{status} {escaped}\n"));
        // SAFETY: live request; the message lives in its pool.
        unsafe { ffi::ap_custom_response(self.as_mut_ptr(), i32::from(status), message) }
    }
}
