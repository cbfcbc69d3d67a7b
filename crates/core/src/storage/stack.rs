//! Builds, once per child process, the storage stack a location's merged config describes:
//! primary and fallback backends (S3 clients, bounded file pools) under a circuit breaker.
//!
//! The config only holds a [`StorageSpec`] — plain data, merged per request — so nothing that
//! owns a thread or a connection exists in httpd's parent. A child looks the spec up in its
//! [`Stacks`] and builds the stack on first use; every later request (any thread) of that child
//! reuses it, with its breaker state, S3 connections and I/O threads. File roots get one pool
//! each, shared by every location reading that root, so a hung mount only starves itself.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bounded::{Bounded, IO_QUEUE_PER_ROOT, IO_THREADS_PER_ROOT};
use super::breaker::BreakerSettings;
use super::io_pool::IoPool;
#[cfg(feature = "s3")]
use super::s3::{S3Runtime, S3Storage};
use super::s3_location::S3Options;
use super::{Location, Resilient, Storage};
use crate::metrics::Metrics;

/// `TofuStorageTimeout` default (DESIGN.md).
pub const DEFAULT_STORAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything that decides a location's storage stack, from its merged config.
#[derive(Debug, Clone)]
pub struct StorageSpec {
    /// `TofuStorage`: its URL (for keys and logs) and what it names.
    pub primary: (Arc<str>, Location),
    /// `TofuFallbackStorage`.
    pub fallback: Option<(Arc<str>, Location)>,
    /// `TofuS3Endpoint`, `TofuS3Region`.
    pub s3: S3Options,
    /// `TofuStorageTimeout`: bound of one fetch from one backend, retries included.
    pub timeout: Duration,
    /// `TofuStorageBreaker`.
    pub breaker: BreakerSettings,
}

impl StorageSpec {
    /// Identifies the stack this spec builds (two locations with equal specs share one).
    fn id(&self) -> String {
        let location = |(url, l): &(Arc<str>, Location)| match l {
            Location::Given(s) => format!("{url}@{:p}", Arc::as_ptr(s)),
            _ => url.to_string(),
        };
        format!(
            "{}\0{}\0{:?}\0{:?}\0{:?}",
            location(&self.primary),
            self.fallback.as_ref().map(location).unwrap_or_default(),
            self.s3,
            self.timeout,
            self.breaker
        )
    }
}

/// The storage stacks of one child process, built on first use.
#[derive(Debug, Default)]
pub struct Stacks {
    built: Mutex<HashMap<String, Arc<Resilient>>>,
    file_pools: Mutex<HashMap<PathBuf, Arc<IoPool>>>,
    #[cfg(feature = "s3")]
    runtime: Arc<S3Runtime>,
    /// Where each stack's primary reports faults and breaker changes (its row by URL).
    metrics: Metrics,
}

impl Stacks {
    /// Stacks whose breakers and faults count into `metrics`.
    pub fn with_metrics(metrics: Metrics) -> Self {
        Stacks {
            metrics,
            ..Stacks::default()
        }
    }

    /// The stack for `spec`, built now if this child has not built it yet.
    pub fn get(&self, spec: &StorageSpec) -> Arc<Resilient> {
        let id = spec.id();
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        built
            .entry(id)
            .or_insert_with(|| {
                let primary = self.backend(&spec.primary, spec);
                let fallback = spec.fallback.as_ref().map(|f| self.backend(f, spec));
                let meter = self.metrics.storage(&spec.primary.0);
                Arc::new(Resilient::new(primary, fallback, spec.breaker).metered(meter))
            })
            .clone()
    }

    /// True once an S3 runtime exists in this process (never after config parsing alone).
    #[cfg(test)]
    pub fn s3_started(&self) -> bool {
        #[cfg(feature = "s3")]
        return self.runtime.started();
        #[cfg(not(feature = "s3"))]
        false
    }

    fn backend(
        &self,
        (url, location): &(Arc<str>, Location),
        spec: &StorageSpec,
    ) -> Arc<dyn Storage> {
        match location {
            Location::File(files) => {
                let pool = self
                    .file_pools
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(files.root().to_path_buf())
                    .or_insert_with(|| {
                        Arc::new(IoPool::new(
                            url,
                            IO_THREADS_PER_ROOT,
                            IO_QUEUE_PER_ROOT,
                            spec.timeout,
                        ))
                    })
                    .clone();
                Arc::new(Bounded::new(
                    Arc::new(files.clone()),
                    pool,
                    spec.timeout,
                    url,
                ))
            }
            #[cfg(feature = "s3")]
            Location::S3(s3) => Arc::new(S3Storage::new(
                s3.clone(),
                spec.s3.clone(),
                spec.timeout,
                self.runtime.clone(),
            )),
            // parse_url refuses s3:// in a build without S3.
            #[cfg(not(feature = "s3"))]
            Location::S3(_) => unreachable!("s3:// storage in a build without the s3 feature"),
            Location::Given(storage) => storage.clone(),
        }
    }
}
