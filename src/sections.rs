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
use super::log::Server;
use super::module::module_index;
use super::pool::Pool;
use tofu_core::config::DirConfig;

/// Marks the `<Location>` sections whose path is in `handler_paths` (from the configuration
/// tree: those that set `SetHandler tofu`) in every server from `main` on; returns how many.
///
/// # Safety
/// Only from `post_config`: `main` is the live main server, `pconf` its configuration pool,
/// and no request runs.
pub unsafe fn mark_handler_sections(
    main: &Server,
    pconf: Pool<'_>,
    handler_paths: &[String],
) -> usize {
    let index = module_index();
    let mut marked = 0;
    let mut server: *const ffi::server_rec = main.as_ptr();
    // SAFETY: httpd's list of servers, each live for the configuration generation.
    while let Some(s) = unsafe { server.as_ref() } {
        // SAFETY: the caller's promise: post_config, a live server.
        for section in unsafe { location_sections(s) } {
            let path = section.path.trim_end_matches('/');
            if !handler_paths.iter().any(|p| p == path) {
                continue;
            }
            let vector = section.vector;
            // SAFETY: the vector has a slot for every loaded module, ours at `index`; nothing
            // else reads or writes it while post_config runs.
            let slot = unsafe { (vector as *mut *mut c_void).add(index as usize) };
            // SAFETY: as above; the slot holds null or a DirConfig placed by create_dir_config.
            let mut config = unsafe { *slot } as *mut DirConfig;
            if config.is_null() {
                config = pconf.place(DirConfig::new());
                // SAFETY: as above; the new config lives in pconf, as long as the vector.
                unsafe { *slot = config as *mut c_void };
            }
            // SAFETY: a live DirConfig in pconf that no other thread sees before the children.
            unsafe { (*config).set_handler_here(Some(path)) };
            marked += 1;
        }
        server = s.next;
    }
    marked
}

/// A `<Location>` section of a server, as core keeps it in `sec_url` (regex sections left out:
/// the startup check refuses them for tofu).
struct LocationSection {
    path: String,
    /// A wildcard path (`<Location /img*>`), matched by fnmatch rather than by prefix.
    wildcard: bool,
    vector: *mut ffi::ap_conf_vector_t,
}

/// The `<Location>` sections httpd's location walk merges for `server`, in its order (for a
/// virtual host: the main server's first, then its own).
///
/// # Safety
/// `server` is a live server whose configuration is read (post_config on).
unsafe fn location_sections(server: &ffi::server_rec) -> Vec<LocationSection> {
    // SAFETY: every server has core's server config.
    let core = unsafe { ffi::ap_get_core_module_config(server.module_config) }
        as *const ffi::core_server_config;
    // SAFETY: core's server config of a live server.
    let sections = unsafe { core.as_ref() }.map_or(std::ptr::null_mut(), |c| c.sec_url);
    // SAFETY: core's `sec_url` is an array of section config vectors.
    unsafe { array_elements(sections) }
        .iter()
        .filter_map(|&vector| {
            // SAFETY: a live section vector has core's per-directory config.
            let dir =
                unsafe { ffi::ap_get_core_module_config(vector) } as *const ffi::core_dir_config;
            // SAFETY: as above.
            let dir = unsafe { dir.as_ref() }?;
            if !dir.r.is_null() || dir.d.is_null() {
                return None;
            }
            // SAFETY: the section's path, NUL-terminated in pconf.
            let path = unsafe { CStr::from_ptr(dir.d) }
                .to_string_lossy()
                .into_owned();
            Some(LocationSection {
                path,
                wildcard: dir.d_is_fnmatch() != 0,
                vector,
            })
        })
        .collect()
}

/// The `<Location>` sections of `server` (its own and, for a virtual host, the main server's,
/// which its requests match too) that set `SetHandler tofu`, each with the config a request
/// there gets: the server's per-directory defaults, then every plain `<Location>` covering the
/// path, merged in file order as httpd's location walk merges them. For `tofu-health`.
///
/// # Safety
/// Only from `post_config`, after `mark_handler_sections` (whose marks say which sections
/// set the handler): `server` is a live server and no request runs.
pub unsafe fn tofu_locations(server: &ffi::server_rec) -> Vec<(String, DirConfig)> {
    let index = module_index();
    let ours = |vector: *mut ffi::ap_conf_vector_t| {
        // SAFETY: our slot of a live configuration vector: a DirConfig of ours, or null.
        unsafe { (ffi::module_config(vector, index) as *const DirConfig).as_ref() }
    };
    // Each plain section's path and vector, in the order httpd merges them.
    // SAFETY: the caller's promise.
    let plain: Vec<(String, bool, *mut ffi::ap_conf_vector_t)> =
        unsafe { location_sections(server) }
            .into_iter()
            .filter(|section| !section.wildcard)
            .map(|LocationSection { path, vector, .. }| {
                // SetHandler keeps an expression core evaluates per request, not a string: the
                // handler sections are the ones `mark_handler_sections` marked with their path.
                let tofu = ours(vector).and_then(|c| c.prefix.as_deref())
                    == Some(path.trim_end_matches('/'));
                (path, tofu, vector)
            })
            .collect();
    let defaults = ours(server.lookup_defaults).cloned().unwrap_or_default();
    let mut out: Vec<(String, DirConfig)> = Vec::new();
    for (path, _, _) in plain.iter().filter(|(_, tofu, _)| *tofu) {
        let prefix = path.trim_end_matches('/').to_string();
        if out.iter().any(|(p, _)| *p == prefix) {
            continue; // the main server's section, seen again through a virtual host
        }
        let merged = plain
            .iter()
            .filter(|(outer, _, _)| covers(outer, path))
            .filter_map(|(_, _, vector)| ours(*vector))
            .fold(defaults.clone(), |acc, section| {
                DirConfig::merge(&acc, section)
            });
        out.push((prefix, merged));
    }
    out
}

/// Whether a `<Location outer>` applies to URLs under `path`, as httpd's location walk
/// compares (a prefix ending at a `/` or at the end).
fn covers(outer: &str, path: &str) -> bool {
    path.strip_prefix(outer)
        .is_some_and(|rest| outer.ends_with('/') || rest.is_empty() || rest.starts_with('/'))
}

/// The elements of an APR array of configuration vectors (empty for a null array).
///
/// # Safety
/// `array` must be null or a live `apr_array_header_t` of `ap_conf_vector_t *`.
unsafe fn array_elements<'a>(
    array: *const ffi::apr_array_header_t,
) -> &'a [*mut ffi::ap_conf_vector_t] {
    // SAFETY: the caller's promise.
    match unsafe { array.as_ref() } {
        Some(a) if !a.elts.is_null() && a.nelts > 0 => {
            // SAFETY: `elts` holds `nelts` pointers, alive as long as the array.
            unsafe {
                std::slice::from_raw_parts(
                    a.elts as *const *mut ffi::ap_conf_vector_t,
                    a.nelts as usize,
                )
            }
        }
        _ => &[],
    }
}
