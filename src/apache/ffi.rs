//! The `-sys` layer: bindings bindgen generated from the installed httpd/APR headers (see
//! build.rs), plus the few macros bindgen cannot see, rewritten as small functions.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    clippy::pedantic,
    unsafe_op_in_unsafe_fn,
    unnecessary_transmutes
)]

include!(concat!(env!("OUT_DIR"), "/httpd_bindings.rs"));

/// `APLOG_LEVELMASK`: the level bits of a log level argument.
pub const LEVEL_MASK: i32 = 15;

/// `ap_get_module_config(v, m)`: the module's slot in a configuration vector.
///
/// # Safety
/// `vector` must be a live `ap_conf_vector_t` and `index` the module's index.
pub unsafe fn module_config(vector: *mut ap_conf_vector_t, index: i32) -> *mut std::ffi::c_void {
    if vector.is_null() || index < 0 {
        return std::ptr::null_mut();
    }
    *(vector as *mut *mut std::ffi::c_void).add(index as usize)
}

/// `ap_get_request_module_loglevel(r, i)`: the level in force for module `index` on `r`.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn request_module_loglevel(r: *const request_rec, index: i32) -> i32 {
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

/// `ap_get_server_module_loglevel(s, i)`.
///
/// # Safety
/// `s` must be a live server.
pub unsafe fn server_module_loglevel(s: *const server_rec, index: i32) -> i32 {
    module_loglevel(&(*s).log, index)
}

/// `ap_get_module_loglevel(l, i)`.
unsafe fn module_loglevel(conf: *const ap_logconf, index: i32) -> i32 {
    let conf = &*conf;
    if index < 0 || conf.module_levels.is_null() {
        return conf.level;
    }
    let level = *conf.module_levels.add(index as usize);
    if level < 0 {
        conf.level
    } else {
        i32::from(level)
    }
}
