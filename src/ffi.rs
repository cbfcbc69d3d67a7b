//! The `-sys` layer: bindings bindgen generated from the installed httpd/APR headers (see
//! build.rs), plus the few macros bindgen cannot see, rewritten as small functions.

/// What bindgen generated, with its own naming and without our lints.
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    unsafe_op_in_unsafe_fn,
    unnecessary_transmutes
)]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/httpd_bindings.rs"));
}

pub use bindings::*;

/// `APLOG_LEVELMASK`: the level bits of a log level argument.
pub const LEVEL_MASK: i32 = 15;

/// `ap_get_module_config(v, m)`: the module's slot in a configuration vector.
///
/// # Safety
/// `vector` must be null or a live `ap_conf_vector_t` and `index` the module's index.
pub unsafe fn module_config(vector: *mut ap_conf_vector_t, index: i32) -> *mut std::ffi::c_void {
    if vector.is_null() || index < 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: a configuration vector has one slot per loaded module, `index` among them.
    unsafe { *(vector as *mut *mut std::ffi::c_void).add(index as usize) }
}

/// `ap_get_request_module_loglevel(r, i)`: the level in force for module `index` on `r`.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn request_module_loglevel(r: *const request_rec, index: i32) -> i32 {
    // SAFETY: a live request has a live connection and server, and their log configs.
    unsafe {
        let r = &*r;
        let conf: *const ap_logconf = if !r.log.is_null() {
            r.log
        } else if !(*r.connection).log.is_null() {
            (*r.connection).log
        } else {
            &(*r.server).log
        };
        module_loglevel(conf, index)
    }
}

/// `ap_get_server_module_loglevel(s, i)`.
///
/// # Safety
/// `s` must be a live server.
pub unsafe fn server_module_loglevel(s: *const server_rec, index: i32) -> i32 {
    // SAFETY: a live server's log config.
    unsafe { module_loglevel(&(*s).log, index) }
}

/// `ap_get_module_loglevel(l, i)`.
///
/// # Safety
/// `conf` must be a live log config.
unsafe fn module_loglevel(conf: *const ap_logconf, index: i32) -> i32 {
    // SAFETY: the caller's promise.
    let conf = unsafe { &*conf };
    if index < 0 || conf.module_levels.is_null() {
        return conf.level;
    }
    // SAFETY: `module_levels` has one entry per loaded module, `index` among them.
    let level = unsafe { *conf.module_levels.add(index as usize) };
    if level < 0 {
        conf.level
    } else {
        i32::from(level)
    }
}
