//! The Apache adapter: the only place that touches httpd, APR or `unsafe`.
//!
//! `ffi` is the bindgen layer; `pool`, `request` and `log` are thin safe wrappers whose
//! lifetimes are tied to the pool or request httpd lends; `directives` and `hooks` are the
//! `extern "C"` entry points (each one under `catch_unwind`); `module` is the exported
//! `tofu_module` that `LoadModule` finds.

pub(crate) mod directives;
mod ffi;
mod hooks;
mod log;
mod module;
mod pool;
mod request;
mod sections;

/// Runs an entry point's body; a panic becomes `on_panic()` instead of unwinding into C.
fn guard<T>(on_panic: impl FnOnce(String) -> T, body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            on_panic(message)
        }
    }
}
