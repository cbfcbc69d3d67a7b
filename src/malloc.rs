//! glibc's allocator, tuned in each child before it starts its worker threads, so that what a
//! child keeps follows `TofuConcurrency` and not the number of threads (README, "Memory per
//! child"). An operator's own `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` (in Apache's
//! envvars) wins over each setting.

/// Arenas glibc may create. By default every thread that allocates under contention gets its
/// own arena, which keeps the freed buffers of its last transform: `bench/server 15 4` measured
/// 884 MB peak per event child with 16 arenas (glibc's default on 2 cores) against 216 MB with
/// two, at 104 vs 113 requests/s (no cost).
const ARENAS: i32 = 2;

/// Allocations from this size up get pages of their own (mmap), returned to the system when
/// freed. By default the threshold rises to the size of the largest block freed (up to 32 MiB),
/// after which originals and pixel buffers of many MB come from the arenas and stay there,
/// fragmented: `bench/burst` measured a 122 MB peak per child for two transforms at once on
/// 19 MB originals that way, 51 MB with the threshold fixed (33 MB for one transform).
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Applies both settings; returns what is in force for each, for the child's log line.
pub fn tune() -> (String, String) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let (arena_max, mmap_threshold) = (libc::M_ARENA_MAX, libc::M_MMAP_THRESHOLD);
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let (arena_max, mmap_threshold) = (0, 0);
    (
        set("MALLOC_ARENA_MAX", arena_max, ARENAS),
        set("MALLOC_MMAP_THRESHOLD_", mmap_threshold, MMAP_THRESHOLD),
    )
}

/// Sets one `mallopt` parameter unless the operator's environment variable `env` sets it.
fn set(env: &str, parameter: i32, value: i32) -> String {
    if let Ok(own) = std::env::var(env) {
        return format!("{own} ({env})");
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; called in child_init, before the
        // child's worker threads exist.
        if unsafe { libc::mallopt(parameter, value) } == 1 {
            return value.to_string();
        }
    }
    let _ = (parameter, value);
    "glibc default".to_string()
}
