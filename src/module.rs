//! The exported module record httpd finds with `LoadModule tofu_module …`.

use std::os::raw::c_int;
use std::ptr;

use super::{directives, ffi, hooks, metrics};

/// The module record. httpd writes into it (index, next, handle), hence `static mut`; it is the
/// one symbol this library exports. `name` gives the short name `tofu` for `LogLevel tofu:debug`.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut tofu_module: ffi::module = ffi::module {
    version: ffi::MODULE_MAGIC_NUMBER_MAJOR as c_int,
    minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR as c_int,
    module_index: -1,
    name: c"mod_tofu.c".as_ptr(),
    dynamic_load_handle: ptr::null_mut(),
    next: ptr::null_mut(),
    magic: ffi::MODULE_MAGIC_COOKIE as _,
    rewrite_args: None,
    create_dir_config: Some(directives::create_dir_config),
    merge_dir_config: Some(directives::merge_dir_config),
    create_server_config: Some(directives::create_server_config),
    merge_server_config: None,
    cmds: directives::COMMANDS.as_ptr(),
    register_hooks: Some(register_hooks),
    flags: 0,
};

/// The index httpd assigned this module (for config vectors and per-module log levels).
pub fn module_index() -> c_int {
    // SAFETY: a plain read of a field httpd sets once while loading, before any hook runs.
    unsafe { (*ptr::addr_of!(tofu_module)).module_index }
}

unsafe extern "C" fn register_hooks(_pool: *mut ffi::apr_pool_t) {
    super::guard(
        |_| (),
        || {
            let none: *const *const std::os::raw::c_char = ptr::null();
            let middle = ffi::APR_HOOK_MIDDLE as c_int;
            // SAFETY: registering our own functions with httpd's hook tables.
            unsafe {
                ffi::ap_hook_check_config(Some(hooks::check_config), none, none, middle);
                ffi::ap_hook_post_config(Some(hooks::post_config), none, none, middle);
                ffi::ap_hook_child_init(Some(hooks::child_init), none, none, middle);
                // First, so core's directory walk never runs for our locations.
                let first = ffi::APR_HOOK_FIRST as c_int;
                ffi::ap_hook_map_to_storage(Some(hooks::map_to_storage), none, none, first);
                ffi::ap_hook_handler(Some(hooks::handler), none, none, middle);
                // mod_status's optional hook (APR_OPTIONAL_HOOK(ap, status_hook, …)): a
                // section of /server-status, whether or not mod_status is loaded.
                let status_hook: unsafe extern "C" fn(*mut ffi::request_rec, c_int) -> c_int =
                    metrics::status_hook;
                ffi::apr_optional_hook_add(
                    c"status_hook".as_ptr(),
                    // SAFETY (of the transmute): mod_status calls it back through its
                    // status_hook type, int (*)(request_rec *, int), which is its real type.
                    Some(std::mem::transmute::<
                        unsafe extern "C" fn(*mut ffi::request_rec, c_int) -> c_int,
                        unsafe extern "C" fn(),
                    >(status_hook)),
                    none,
                    none,
                    middle,
                );
            }
        },
    );
}
