//! The shared counters (`tofu_core::metrics`) as httpd sees them: one anonymous shared mapping
//! made by the parent in `post_config`, before any child forks, and the two views of it:
//! `SetHandler tofu-metrics` (Prometheus text) and a section of mod_status's `/server-status`.
//!
//! Lifetime: the mapping is made once per httpd parent and kept in the *process* pool's user
//! data (not pconf), so httpd's second configuration pass at startup and every restart,
//! graceful or not, find the same segment: totals carry over, the children of the old
//! generation keep adding to it while they finish, and the new ones add to it too. It is never
//! unmapped (the kernel frees it when the last process of this httpd exits), which is what makes
//! handing `&'static` cells to the core sound. A module whose counter layout differs
//! (`LAYOUT_VERSION`, a module upgrade under a graceful restart) keys another segment and starts
//! from zero; the old one stays mapped for the old children.

use std::ffi::{c_void, CString};
use std::os::raw::c_int;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use super::ffi;
use super::log::{self, Server};
use super::module::module_index;
use super::process::ServerSlot;
use super::request::{HeaderTable, Request};
use super::sections;
use tofu_core::health::Target;
use tofu_core::metrics::{self, Metrics, CELLS, LAYOUT_VERSION};

/// `AP_STATUS_SHORT` of mod_status.h: the `?auto` form.
const AP_STATUS_SHORT: c_int = 0x1;

/// True while process `pid` exists (signal 0 delivers nothing; EPERM means it exists).
pub fn alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The shared segment of this httpd: found in the process pool, or mapped now.
///
/// # Safety
/// From `post_config` in httpd's parent: `server` is the live main server.
unsafe fn segment(server: &Server) -> Result<&'static [AtomicU64], String> {
    // SAFETY: the main server's process record lives as long as httpd's parent.
    let pool = unsafe { (*(*server.as_ptr()).process).pool };
    let key = CString::new(format!("mod_tofu shared counters, layout {LAYOUT_VERSION}"))
        .expect("no NUL in the key");
    let mut data: *mut c_void = std::ptr::null_mut();
    // SAFETY: a live pool; APR writes the pointer stored under the key, or null.
    unsafe { ffi::apr_pool_userdata_get(&mut data, key.as_ptr(), pool) };
    if data.is_null() {
        let bytes = CELLS * std::mem::size_of::<AtomicU64>();
        // SAFETY: a fresh anonymous mapping; nothing else is at the address the kernel picks.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(format!(
                "mmap of {bytes} bytes: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a live pool; APR copies the key; no cleanup: the mapping is never unmapped.
        unsafe { ffi::apr_pool_userdata_set(mapped, key.as_ptr(), None, pool) };
        data = mapped;
    }
    // SAFETY: `data` is the page-aligned start of a MAP_SHARED mapping of CELLS u64s, zero
    // when made, never unmapped while this process runs; AtomicU64 has u64's layout, and its
    // lock-free operations work across processes sharing the mapping.
    Ok(unsafe { std::slice::from_raw_parts(data as *const AtomicU64, CELLS) })
}

/// `post_config`: the counters of this httpd (shared by its children) and the tofu locations
/// of every server, each location's storage given a row, kept in the servers' slots for the
/// children. Runs at both configuration passes and every restart.
///
/// # Safety
/// From `post_config` in httpd's parent, before any child of this generation forks.
pub unsafe fn setup(main: &Server) {
    let now = SystemTime::now();
    // SAFETY: the caller's promise.
    let metrics = match unsafe { segment(main) }.and_then(|cells| Metrics::attach(cells, now)) {
        Ok(m) => m,
        Err(e) => {
            main.log(log::startup(ffi::APLOG_ERR), || {
                format!("mod_tofu: no shared counters ({e}): tofu-metrics counts per child")
            });
            Metrics::default()
        }
    };
    let mut server: *const ffi::server_rec = main.as_ptr();
    let mut full = Vec::new();
    // SAFETY: httpd's list of servers, each live for the configuration generation.
    while let Some(s) = unsafe { server.as_ref() } {
        // SAFETY: post_config: the sections and configs live in pconf, nothing else runs.
        let locations = unsafe { sections::tofu_locations(s) };
        let targets: Vec<Target> = locations
            .into_iter()
            .filter_map(|(prefix, config)| {
                let spec = config.storage_spec()?;
                Some(Target {
                    prefix,
                    primary: spec.primary.0.to_string(),
                    fallback: spec.fallback.map(|f| f.0.to_string()),
                })
            })
            .collect();
        for t in &targets {
            if !metrics.register_storage(&t.primary) {
                full.push(t.primary.clone());
            }
        }
        if let Some(slot) = server_slot(s) {
            let _ = slot.health.set(targets);
        }
        server = s.next;
    }
    if !full.is_empty() {
        main.log(log::startup(ffi::APLOG_WARNING), || {
            format!(
                "mod_tofu: more than {} storages: {full:?} share the metrics row {:?}",
                metrics::STORAGE_ROWS - 1,
                metrics::OVERFLOW_STORAGE
            )
        });
    }
    main.log(ffi::APLOG_DEBUG as i32, || {
        format!("mod_tofu: shared counters since {:?}", metrics.started())
    });
    if let Some(slot) = server_slot(main.as_ptr()) {
        let _ = slot.metrics.set(metrics);
    }
}

/// Our slot in a server's config vector.
fn server_slot<'a>(s: *const ffi::server_rec) -> Option<&'a ServerSlot> {
    // SAFETY: a live server; our slot holds a ServerSlot placed by create_server_config in
    // pconf, which outlives every request and child of the generation.
    unsafe {
        let s = s.as_ref()?;
        (ffi::module_config(s.module_config, module_index()) as *const ServerSlot).as_ref()
    }
}

/// The counters of this httpd (the main server's slot).
pub fn shared<'a>() -> Option<&'a Metrics> {
    // SAFETY: ap_server_conf is the main server for the life of the configuration generation.
    server_slot(unsafe { ffi::ap_server_conf }).and_then(|slot| slot.metrics.get())
}

/// The tofu locations of the request's server, for `tofu-health`.
pub fn targets_of(request: &Request) -> &[Target] {
    server_slot(request.server())
        .and_then(|slot| slot.health.get())
        .map_or(&[], Vec::as_slice)
}

/// Runs one of the two views with the counters: GET and HEAD only, answers nobody caches.
fn view(
    request: &mut Request,
    answer: impl FnOnce(&mut Request, &Metrics) -> (u16, &'static str, String),
) -> c_int {
    if !matches!(request.method(), "GET" | "HEAD") {
        request.set_header(HeaderTable::Always, "Allow", "GET, HEAD");
        return ffi::HTTP_METHOD_NOT_ALLOWED as c_int;
    }
    let Some(metrics) = shared() else {
        request.log(ffi::APLOG_ERR as i32, || "no mod_tofu counters".to_string());
        return ffi::HTTP_INTERNAL_SERVER_ERROR as c_int;
    };
    let (status, content_type, body) = answer(request, metrics);
    request.set_status(status);
    request.set_header(HeaderTable::Always, "Cache-Control", "no-store");
    request.set_content_type(content_type);
    request.set_content_length(body.len());
    if !request.header_only() {
        request.write(body.as_bytes());
    }
    ffi::OK as c_int
}

/// `SetHandler tofu-metrics`: every counter in the Prometheus text exposition format.
pub fn serve_metrics(request: &mut Request) -> c_int {
    view(request, |_, metrics| {
        let text = metrics::prometheus(metrics, &alive, SystemTime::now());
        (200, metrics::PROMETHEUS_CONTENT_TYPE, text)
    })
}

/// `SetHandler tofu-health`: 200 while every tofu location of this virtual host can serve,
/// else 503 naming the storages whose breaker is open.
pub fn serve_health(request: &mut Request) -> c_int {
    view(request, |request, metrics| {
        let health = tofu_core::health::check(metrics, targets_of(request), SystemTime::now());
        if let Some(seconds) = health.retry_after {
            request.set_header(HeaderTable::Always, "Retry-After", &seconds.to_string());
        }
        (health.status, "text/plain; charset=utf-8", health.text)
    })
}

/// mod_status's `status_hook`: the counters as a section of `/server-status` (HTML), or as
/// `Tofu…: value` lines in its `?auto` form.
pub unsafe extern "C" fn status_hook(r: *mut ffi::request_rec, flags: c_int) -> c_int {
    super::guard(
        |_| ffi::OK as c_int,
        || {
            // SAFETY: mod_status passes the live request it is answering.
            let request = unsafe { Request::from_ptr(r) };
            if let Some(metrics) = shared() {
                let now = SystemTime::now();
                let text = if flags & AP_STATUS_SHORT != 0 {
                    metrics::status_plain(metrics, &alive, now)
                } else {
                    metrics::status_html(metrics, &alive, now)
                };
                request.write(text.as_bytes());
            }
            ffi::OK as c_int
        },
    )
}
