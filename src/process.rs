//! This child's process state (`tofu_core::process::ProcessState`: transform slots, coalescing,
//! storage stacks), kept in the main server's per-server config slot rather than in a Rust
//! static, so it lives exactly as long as the configuration generation (DESIGN.md, "Inside a
//! worker").

use std::sync::OnceLock;

use super::ffi;
use super::module::module_index;
use tofu_core::process::ProcessState;

/// What `create_server_config` places for every server. Only the main server's is used: it is
/// filled lazily in each child, so the parent only ever holds the empty cell and nothing crosses
/// a fork.
#[derive(Default)]
pub struct ServerSlot {
    process: OnceLock<ProcessState>,
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
    Some(slot.process.get_or_init(ProcessState::default))
}
