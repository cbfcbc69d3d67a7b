//! The hooks httpd calls: startup checks, the version line, child init and the handler.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use super::ffi;
use super::log::{self, Server};
use super::malloc;
use super::metrics;
use super::module::module_index;
use super::pool::Pool;
use super::process;
use super::request::{HeaderTable, Request};
use super::sections;
use tofu_core::config::tree::{self as config_tree, Node};
use tofu_core::config::DirConfig;
use tofu_core::error::TofuError;
use tofu_core::handler::{self, Reply, RequestInfo};

const OK: c_int = ffi::OK as c_int;
const DECLINED: c_int = ffi::DECLINED as c_int;
const SERVER_ERROR: c_int = ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// `check_config`: runs at every start and for `apachectl -t`. Fails the start when a place
/// serving `SetHandler tofu` cannot serve (no storage or no key, a preset its limits refuse);
/// warns about what is only risky.
pub unsafe extern "C" fn check_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    // SAFETY: httpd passes the live main server.
    let Some(server) = (unsafe { Server::from_ptr(s) }) else {
        return SERVER_ERROR;
    };
    super::guard(
        |panic| startup_panic(server, "startup check", &panic),
        || {
            let report = config_tree::check(&config_tree(), &server_root());
            for warning in &report.warnings {
                server.log(log::startup(ffi::APLOG_WARNING), || {
                    format!("mod_tofu: {warning}")
                });
            }
            for problem in &report.problems {
                server.log(log::startup(ffi::APLOG_CRIT), || {
                    format!("mod_tofu: {problem}")
                });
            }
            if report.problems.is_empty() {
                OK
            } else {
                SERVER_ERROR
            }
        },
    )
}

/// A startup hook's answer to a panic: a critical line, and the start fails.
fn startup_panic(server: &Server, hook: &str, panic: &str) -> c_int {
    server.log(log::startup(ffi::APLOG_CRIT), || {
        format!("{hook} panicked: {panic}")
    });
    SERVER_ERROR
}

/// httpd's parsed configuration as plain Rust nodes.
fn config_tree() -> Vec<Node> {
    // SAFETY: the tree is complete once the configuration is read, lives in pconf, and is not
    // modified while the configuration hooks run (mod_info reads it at request time too).
    unsafe { nodes(ffi::ap_conftree) }
}

/// httpd's ServerRoot, against which relative file names in the configuration resolve.
fn server_root() -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: ap_server_root is set while the configuration is read and stays valid.
    let root = unsafe { ffi::ap_server_root };
    if root.is_null() {
        return std::path::PathBuf::from("/");
    }
    // SAFETY: a NUL-terminated string owned by httpd.
    let bytes = unsafe { CStr::from_ptr(root) }.to_bytes();
    std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

/// Copies httpd's directive list (siblings from `current`) into plain Rust nodes.
///
/// # Safety
/// `current` must be null or a live `ap_directive_t` whose siblings and children are live.
unsafe fn nodes(mut current: *const ffi::ap_directive_t) -> Vec<Node> {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: httpd's directive strings are NUL-terminated and live in pconf.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let mut out = Vec::new();
    // SAFETY: the caller's promise, for this node and (recursively) its siblings and children.
    while let Some(d) = unsafe { current.as_ref() } {
        out.push(Node {
            name: text(d.directive),
            args: text(d.args),
            file: text(d.filename),
            line: d.line_num.max(0) as u32,
            // SAFETY: as above.
            children: unsafe { nodes(d.first_child) },
        });
        current = d.next;
    }
    out
}

/// `post_config`: tells every `<Location>` that sets `SetHandler tofu` that its path is the URL
/// prefix (see `sections`), sets up the shared counters and each server's health targets
/// (`metrics`), and logs one version line per (re)start, so the error log says what is running.
pub unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    // SAFETY: httpd passes the live main server and its configuration pool.
    let (Some(server), Some(pconf)) = (unsafe { Server::from_ptr(s) }, unsafe {
        Pool::from_raw(pconf)
    }) else {
        return SERVER_ERROR;
    };
    super::guard(
        |panic| startup_panic(server, "post_config", &panic),
        || {
            let paths = config_tree::handler_locations(&config_tree());
            // SAFETY: post_config, before any request: the sections live in pconf.
            let marked = unsafe { sections::mark_handler_sections(server, pconf, &paths) };
            server.log(ffi::APLOG_DEBUG as i32, || {
                format!("mod_tofu: URL prefixes of SetHandler tofu: {paths:?} ({marked} sections)")
            });
            // SAFETY: post_config in the parent, before the children of this generation fork.
            unsafe { metrics::setup(server) };
            server.log(ffi::APLOG_NOTICE as i32, || {
                format!(
                    "mod_tofu {} (image pipeline {}) configured",
                    env!("CARGO_PKG_VERSION"),
                    tofu_core::PIPELINE_VERSION
                )
            });
            OK
        },
    )
}

/// `child_init`: creates this child's process state (transform slots, coalescing table) —
/// here, after fork, never in the parent — and tunes its allocator.
pub unsafe extern "C" fn child_init(_pchild: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    // SAFETY: httpd passes the live main server.
    let Some(server) = (unsafe { Server::from_ptr(s) }) else {
        return;
    };
    super::guard(
        |_| (),
        || {
            let ready = process::state().is_some();
            let (arenas, mmap) = malloc::tune();
            server.log(ffi::APLOG_DEBUG as i32, || {
                format!(
                    "mod_tofu child {} ready (state: {ready}; malloc arenas: {arenas}; \
                     mmap threshold: {mmap})",
                    std::process::id()
                )
            });
        },
    )
}

/// `map_to_storage`: a tofu URL names an object in TofuStorage, not a file under
/// DocumentRoot, so core's directory walk (a stat per path component, `.htaccess` lookups,
/// and a 403 when DocumentRoot is not searchable by the worker user) is skipped for it, the
/// way mod_proxy skips it for proxied URLs. Everything else is DECLINED to core unchanged.
pub unsafe extern "C" fn map_to_storage(r: *mut ffi::request_rec) -> c_int {
    super::guard(
        |_| DECLINED,
        || {
            // SAFETY: httpd passes a live request, ours for this call.
            let request = unsafe { Request::from_ptr(r) };
            let ours = |r: &mut Request| {
                matches!(
                    r.forced_handler(),
                    Some("tofu" | "tofu-metrics" | "tofu-health")
                )
            };
            match request.peek_location_config(ours) {
                Ok(true) => OK,
                Ok(false) => DECLINED,
                Err(status) => status,
            }
        },
    )
}

/// The content handler: DECLINED unless `SetHandler tofu` (or `tofu-metrics`, `tofu-health`,
/// answered by `metrics`); otherwise one request through `tofu_core::handler`, written back
/// here. A panic becomes a 500 and the worker keeps serving.
pub unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> c_int {
    // SAFETY: httpd passes a live request, ours for this call.
    let request = unsafe { Request::from_ptr(r) };
    let view: fn(&mut Request) -> c_int = match request.handler() {
        Some("tofu") => serve,
        Some("tofu-metrics") => metrics::serve_metrics,
        Some("tofu-health") => metrics::serve_health,
        _ => return DECLINED,
    };
    super::guard(
        |panic| {
            // SAFETY: the live request of this call; `serve` has unwound and holds no borrow.
            let request = unsafe { Request::from_ptr(r) };
            request.log(ffi::APLOG_ERR as i32, || {
                format!("500 internal error (panic: {panic}); the worker keeps serving")
            });
            // Like every 5xx: a CDN must never keep a bug's answer.
            request.set_header(HeaderTable::Always, "Cache-Control", "no-store");
            SERVER_ERROR
        },
        || view(request),
    )
}

fn serve(request: &mut Request) -> c_int {
    let info = RequestInfo {
        method: request.method(),
        raw_path: request.raw_path(),
        accept: request.header_in(c"Accept"),
        if_none_match: request.header_in(c"If-None-Match"),
        if_modified_since: request.header_in(c"If-Modified-Since"),
    };
    let reply = match (
        request.dir_config::<DirConfig>(module_index()),
        process::state(),
    ) {
        (Some(config), Some(process)) => handler::handle(config, process, info),
        _ => Reply::from_error(
            &DirConfig::default(),
            info,
            &TofuError::Misconfigured("no mod_tofu config for this request".into()),
        ),
    };
    respond(request, reply)
}

fn respond(request: &mut Request, reply: Reply) -> c_int {
    for (name, value) in &reply.notes {
        request.set_note(name, value);
    }
    if let Some((level, line)) = &reply.log {
        request.log(log::aplog(*level), || line.clone());
    }
    if let Some(etag) = &reply.etag {
        request.set_header(HeaderTable::Normal, "ETag", etag);
    }
    if reply.status == 304 {
        // httpd sends 304 without a body and keeps headers_out (RFC 9110 wants the validators
        // and Cache-Control repeated).
        for (name, value) in &reply.headers {
            request.set_header(HeaderTable::Normal, name, value);
        }
        return 304;
    }
    if reply.status != 200 {
        for (name, value) in &reply.headers {
            request.set_header(HeaderTable::Always, name, value);
        }
        if let Some(message) = &reply.error_message {
            request.set_error_text(reply.status, message);
        }
        return c_int::from(reply.status);
    }
    for (name, value) in &reply.headers {
        request.set_header(HeaderTable::Normal, name, value);
    }
    if let Some(mime) = reply.content_type {
        request.set_content_type(mime);
    }
    request.set_content_length(reply.body().len());
    if !request.header_only() {
        request.write(reply.body());
    }
    OK
}
