//! This child's process state (`tofu_core::process::ProcessState`: transform slots, coalescing,
//! storage stacks), kept in the main server's per-server config slot rather than in a Rust
//! static, so it lives exactly as long as the configuration generation (DESIGN.md, "Inside a
//! worker").

use std::sync::OnceLock;

use super::ffi;
use super::metrics;
use super::module::module_index;
use tofu_core::health::Target;
use tofu_core::metrics::Metrics;
use tofu_core::process::ProcessState;

/// What `create_server_config` places for every server. The process state is the main
/// server's, filled lazily in each child, so the parent only ever holds the empty cell and no
/// thread crosses a fork; `post_config` fills the rest in the parent.
#[derive(Default)]
pub struct ServerSlot {
    process: OnceLock<ProcessState>,
    /// The shared counters (main server only): plain data over a shared mapping.
    pub metrics: OnceLock<Metrics>,
    /// This server's tofu locations and their storages, for `tofu-health`.
    pub health: OnceLock<Vec<Target>>,
}

/// This child's process state (created on first use).
pub fn state<'a>() -> Option<&'a ProcessState> {
    // SAFETY: ap_server_conf is the main server for the life of the configuration generation.
    let main = unsafe { ffi::ap_server_conf.as_ref() }?;
    // SAFETY: our slot in a live server's config vector holds a ServerSlot placed by
    // create_server_config in pconf, which outlives every request and child of the generation.
    let slot = unsafe {
        (ffi::module_config(main.module_config, module_index()) as *const ServerSlot).as_ref()
    }?;
    Some(slot.process.get_or_init(|| {
        // This child's own slot of the shared gauges.
        let metrics = slot.metrics.get().cloned().unwrap_or_default();
        ProcessState::with_metrics(metrics.for_process(std::process::id(), metrics::alive))
    }))
}
