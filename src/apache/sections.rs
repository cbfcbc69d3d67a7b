//! Which configuration sections set `SetHandler tofu`, told to their [`DirConfig`]s.
//!
//! The URL prefix of the grammar is the path of the `<Location>` that sets `SetHandler tofu`,
//! wherever the other directives are (DESIGN.md). httpd only creates a module's per-directory
//! config for a section that holds one of that module's directives, so a bare
//! `<Location /img> SetHandler tofu` under server-level `Tofu*` directives has no config of
//! ours at all, and a merge cannot learn its path. After the configuration is read, this walks
//! every server's `<Location>` sections (core's `sec_url`, the list httpd's location walk
//! merges from), creates our config where a handler section has none, and marks it, so every
//! merge through it carries its path as the prefix.

use std::ffi::{c_void, CStr};

use super::ffi;
use super::module::module_index;
use super::pool::Pool;
use crate::config::DirConfig;

/// Marks the `<Location>` sections whose path is in `handler_paths` (from the configuration
/// tree: those that set `SetHandler tofu`) in every server from `main` on; returns how many.
///
/// # Safety
/// Only from `post_config`: `main` is the live main server, `pconf` its configuration pool,
/// and no request runs.
pub unsafe fn mark_handler_sections(
    main: *mut ffi::server_rec,
    pconf: Pool<'_>,
    handler_paths: &[String],
) -> usize {
    let index = module_index();
    let mut marked = 0;
    let mut server = main;
    // SAFETY (whole loop): httpd's server list, core's server config and its section arrays
    // are complete and only read or written by this thread while post_config runs.
    while let Some(s) = unsafe { server.as_ref() } {
        let core = unsafe { ffi::ap_get_core_module_config(s.module_config) }
            as *const ffi::core_server_config;
        let sections = unsafe { core.as_ref() }.map_or(std::ptr::null_mut(), |c| c.sec_url);
        for &vector in unsafe { array_elements(sections) } {
            let dir =
                unsafe { ffi::ap_get_core_module_config(vector) } as *const ffi::core_dir_config;
            let Some(dir) = (unsafe { dir.as_ref() }) else {
                continue;
            };
            if !dir.r.is_null() || dir.d.is_null() {
                continue; // a regex section: refused by the startup check
            }
            let path = unsafe { CStr::from_ptr(dir.d) }.to_string_lossy();
            let path = path.trim_end_matches('/');
            if !handler_paths.iter().any(|p| p == path) {
                continue;
            }
            let slot = unsafe { (vector as *mut *mut c_void).add(index as usize) };
            let config = unsafe { *slot } as *mut DirConfig;
            let config = if config.is_null() {
                let created = pconf.place(DirConfig::new(Some(path)));
                unsafe { *slot = created as *mut c_void };
                created
            } else {
                config
            };
            unsafe { (*config).set_handler_here() };
            marked += 1;
        }
        server = s.next;
    }
    marked
}

/// The elements of an APR array of configuration vectors (empty for a null array).
///
/// # Safety
/// `array` must be null or a live `apr_array_header_t` of `ap_conf_vector_t *`.
unsafe fn array_elements<'a>(
    array: *const ffi::apr_array_header_t,
) -> &'a [*mut ffi::ap_conf_vector_t] {
    match unsafe { array.as_ref() } {
        Some(a) if !a.elts.is_null() && a.nelts > 0 => unsafe {
            std::slice::from_raw_parts(
                a.elts as *const *mut ffi::ap_conf_vector_t,
                a.nelts as usize,
            )
        },
        _ => &[],
    }
}
