//! State shared by every thread of one child process: the transform slots, the in-flight
//! table of request coalescing and the storage stacks (S3 clients, I/O pools, breakers).
//!
//! It holds no thread, runtime or connection until a request needs one; the adapter creates it lazily in each child (never
//! in the parent before fork) and keeps it in a pool, not in a Rust static.

use std::sync::Arc;

use crate::admission::Admission;
use crate::coalesce::Coalescer;
use crate::error::TofuError;
use crate::metrics::Metrics;
use crate::storage::{Stacks, Validators};
use crate::transform::Encoded;

/// A finished transform and the version of the original it came from, shared between
/// coalesced requests.
#[derive(Debug)]
pub struct Rendered {
    pub encoded: Encoded,
    pub validators: Validators,
}

/// The per-process state every request of a child sees.
#[derive(Default)]
pub struct ProcessState {
    pub admission: Admission,
    pub coalescer: Coalescer<Result<Arc<Rendered>, TofuError>>,
    /// Built on first use per location spec; threads and connections only ever exist here.
    pub storages: Stacks,
    /// The counters every request adds to (shared by all children under httpd).
    pub metrics: Metrics,
}

impl ProcessState {
    /// The state of a child that counts into `metrics` (bound to its process slot), its
    /// storages reporting their faults and breakers there too.
    pub fn with_metrics(metrics: Metrics) -> Self {
        ProcessState {
            storages: Stacks::with_metrics(metrics.clone()),
            metrics,
            ..ProcessState::default()
        }
    }
}
