//! mod_tofu: the Apache httpd 2.4 module (`LoadModule tofu_module …/mod_tofu.so`) that answers
//! signed image URLs with resized images. This crate is the Apache adapter and nothing else: it
//! touches httpd, APR and `unsafe`, and hands every request to `tofu_core`, which knows nothing
//! of Apache (DESIGN.md, "Layers").
//!
//! `ffi` is the bindgen layer (`build.rs`); `pool`, `request` and `log` are thin safe wrappers
//! whose lifetimes are tied to the pool or request httpd lends; `directives`, `hooks` and
//! `sections` are the `extern "C"` entry points and what they do with the configuration (each
//! entry point under `catch_unwind`); `process` keeps this child's state; `metrics` the counters all children share and the
//! `tofu-metrics`/`tofu-health` handlers; `module` is the exported `tofu_module` that `LoadModule`
//! finds.

mod directives;
mod ffi;
mod hooks;
mod log;
mod malloc;
mod metrics;
mod module;
mod pool;
mod process;
mod request;
mod sections;

/// Runs an entry point's body; a panic becomes `on_panic()` instead of unwinding into C.
fn guard<T>(on_panic: impl FnOnce(String) -> T, body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => on_panic(tofu_core::handler::panic_message(&*payload)),
    }
}
