//! A blocking backend (the file storage) run on a bounded I/O pool with a deadline, so a hung
//! NFS mount costs a few threads and a 504, not the whole server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::io_pool::{IoPool, PoolError};
use super::{Object, Storage, StorageError, Validators};

/// I/O threads per storage root per child: enough for parallel reads of a healthy mount, and
/// the most a mount that hangs can take.
pub const IO_THREADS_PER_ROOT: usize = 4;
/// Jobs that may wait for a thread of one root before new ones are refused.
pub const IO_QUEUE_PER_ROOT: usize = 64;

/// `inner` behind a pool: every call is bounded by `timeout` (`TofuStorageTimeout`).
#[derive(Debug)]
pub struct Bounded {
    inner: Arc<dyn Storage>,
    pool: Arc<IoPool>,
    timeout: Duration,
    /// Names the storage in error messages (`file:///srv/images`).
    label: String,
}

impl Bounded {
    /// Runs `inner` on `pool` (shared by every location of the same root in a child).
    pub fn new(inner: Arc<dyn Storage>, pool: Arc<IoPool>, timeout: Duration, label: &str) -> Self {
        Bounded {
            inner,
            pool,
            timeout,
            label: label.to_string(),
        }
    }

    fn call<T: Send + 'static>(
        &self,
        key: &str,
        op: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = self.inner.clone();
        let deadline = Instant::now() + self.timeout;
        match self.pool.run(deadline, move || op(inner.as_ref())) {
            Ok(result) => result,
            Err(PoolError::Timeout) => Err(StorageError::Timeout(format!(
                "{}: {key}: no answer within {:?} (hung mount?)",
                self.label, self.timeout
            ))),
            Err(PoolError::Wedged { threads }) => Err(StorageError::Timeout(format!(
                "{}: {key}: refused at once: all {threads} I/O threads of this storage are \
                 stuck on reads older than {:?} (hung mount?)",
                self.label, self.timeout
            ))),
            Err(PoolError::Panicked) => Err(StorageError::Failed(format!(
                "{}: {key}: the read panicked",
                self.label
            ))),
        }
    }
}

impl Storage for Bounded {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        let owned = key.to_string();
        self.call(key, move |s| s.get(&owned, max_bytes))
    }

    fn stat(&self, key: &str) -> Result<Validators, StorageError> {
        let owned = key.to_string();
        self.call(key, move |s| s.stat(&owned))
    }
}
