//! A primary storage guarded by a circuit breaker, with an optional fallback
//! (`TofuFallbackStorage`): what makes an S3 outage something users do not notice.
//!
//! - The fallback is tried when the primary errors or times out, never when it answers about
//!   the object itself (404, a refused key, an object it may not read).
//! - A miss in the fallback while the primary is failing is answered as the primary's failure
//!   (5xx, `no-store`): a transient fault never becomes a cacheable 404.
//! - After `TofuStorageBreaker` consecutive primary faults the breaker opens: requests go
//!   straight to the fallback, or get 503 with Retry-After when there is none; after the
//!   cooldown one probe tries the primary again.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::breaker::{Breaker, BreakerSettings, Route};
use super::{Object, Storage, StorageError, Validators};
use crate::metrics::StorageMeter;

/// The storage stack of a location in one child: primary, breaker, fallback.
#[derive(Debug)]
pub struct Resilient {
    primary: Arc<dyn Storage>,
    fallback: Option<Arc<dyn Storage>>,
    breaker: Breaker,
    /// The primary's row in the shared counters: faults, openings, fallback uses, and the
    /// breaker state `SetHandler tofu-health` reads.
    meter: StorageMeter,
}

/// Reports a fault if dropped before an outcome was recorded (a panicking backend), so a
/// half-open breaker never waits forever for its probe.
struct Outcome<'a> {
    stack: &'a Resilient,
    recorded: bool,
}

impl Outcome<'_> {
    fn record(mut self, fault: bool) {
        self.recorded = true;
        self.stack.record(fault);
    }
}

impl Drop for Outcome<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.stack.record(true);
        }
    }
}

impl Resilient {
    pub fn new(
        primary: Arc<dyn Storage>,
        fallback: Option<Arc<dyn Storage>>,
        breaker: BreakerSettings,
    ) -> Self {
        Resilient {
            primary,
            fallback,
            breaker: Breaker::new(breaker),
            meter: StorageMeter::default(),
        }
    }

    /// The same stack, counting into `meter` (the primary's row of the shared counters).
    pub fn metered(mut self, meter: StorageMeter) -> Self {
        self.meter = meter;
        self
    }

    /// One outcome of the primary, into the breaker and the shared row.
    fn record(&self, fault: bool) {
        if !fault {
            self.meter.answered(SystemTime::now);
        } else {
            self.meter.fault();
        }
        if let Some(cooldown) = self.breaker.record(fault, Instant::now()) {
            let now = SystemTime::now();
            self.meter.opened(now, now + cooldown);
        }
    }

    /// True while the primary is being skipped (for tests).
    #[cfg(test)]
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open(Instant::now())
    }

    /// Runs `op` against the primary or the fallback, as the breaker and the outcome decide;
    /// `on_fallback` marks a value the fallback produced with the reason the primary did not.
    fn route<T>(
        &self,
        op: impl Fn(&dyn Storage) -> Result<T, StorageError>,
        on_fallback: impl FnOnce(&mut T, String),
    ) -> Result<T, StorageError> {
        let primary_error = match self.breaker.admit(Instant::now()) {
            Route::Primary | Route::Probe => {
                let outcome = Outcome {
                    stack: self,
                    recorded: false,
                };
                match op(self.primary.as_ref()) {
                    Err(e) if e.is_fault() => {
                        outcome.record(true);
                        e
                    }
                    answer => {
                        outcome.record(false);
                        return answer;
                    }
                }
            }
            Route::Skip { retry_after } => {
                let secs = retry_after.as_secs_f64().ceil().max(1.0) as u32;
                StorageError::Unavailable {
                    reason: "the circuit breaker is open after repeated primary storage faults"
                        .to_string(),
                    retry_after_secs: secs,
                }
            }
        };
        let Some(fallback) = &self.fallback else {
            return Err(primary_error);
        };
        match op(fallback.as_ref()) {
            Ok(mut value) => {
                self.meter.fallback_used();
                on_fallback(&mut value, primary_error.to_string());
                Ok(value)
            }
            Err(e @ (StorageError::KeyRefused(_) | StorageError::TooLarge { .. })) => Err(e),
            Err(e) => Err(primary_error.with_context(&format!("fallback: {e}"))),
        }
    }
}

impl Storage for Resilient {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        self.route(
            |s| s.get(key, max_bytes),
            |o: &mut Object, why| o.fallback_reason = Some(why),
        )
    }

    fn stat(&self, key: &str) -> Result<Validators, StorageError> {
        self.route(|s| s.stat(key), |_, _| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A fake storage answering what it is told to, counting calls.
    #[derive(Debug)]
    struct Fake {
        answer: Mutex<Result<&'static [u8], StorageError>>,
        calls: AtomicUsize,
    }

    impl Fake {
        fn new(answer: Result<&'static [u8], StorageError>) -> Arc<Self> {
            Arc::new(Fake {
                answer: Mutex::new(answer),
                calls: AtomicUsize::new(0),
            })
        }
        fn set(&self, answer: Result<&'static [u8], StorageError>) {
            *self.answer.lock().unwrap() = answer;
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Storage for Fake {
        fn get(&self, _key: &str, _max: u64) -> Result<Object, StorageError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answer.lock().unwrap().clone().map(|b| Object {
                bytes: b.to_vec(),
                validators: Validators::default(),
                fallback_reason: None,
            })
        }
        fn stat(&self, key: &str) -> Result<Validators, StorageError> {
            self.get(key, u64::MAX).map(|o| o.validators)
        }
    }

    fn down() -> StorageError {
        StorageError::Failed("s3: connection refused".into())
    }

    fn settings(failures: u32, cooldown_ms: u64) -> BreakerSettings {
        BreakerSettings {
            failures,
            cooldown: Duration::from_millis(cooldown_ms),
        }
    }

    #[test]
    fn fallback_serves_when_the_primary_fails_or_times_out() {
        for fault in [down(), StorageError::Timeout("slow".into())] {
            let primary = Fake::new(Err(fault));
            let fallback = Fake::new(Ok(b"from files"));
            let s = Resilient::new(primary.clone(), Some(fallback.clone()), settings(5, 1000));
            let o = s.get("k", 100).unwrap();
            assert_eq!(o.bytes, b"from files");
            assert!(o.fallback_reason.is_some());
        }
    }

    /// A 404, and an object the store will not give (EACCES, a FIFO, S3's per-key
    /// AccessDenied): final, never sent to the fallback, never counted by the breaker.
    #[test]
    fn answers_about_the_object_are_final_and_never_counted() {
        for answer in [
            StorageError::NotFound("k".into()),
            StorageError::Denied("k: permission denied".into()),
        ] {
            let primary = Fake::new(Err(answer.clone()));
            let fallback = Fake::new(Ok(b"stale copy"));
            let s = Resilient::new(primary.clone(), Some(fallback.clone()), settings(2, 30_000));
            for _ in 0..5 {
                assert_eq!(s.get("k", 100).unwrap_err(), answer);
                assert_eq!(s.stat("k").unwrap_err(), answer);
            }
            assert_eq!(fallback.calls(), 0, "never asked: {answer:?}");
            assert!(!s.breaker_open(), "not a fault: {answer:?}");
            primary.set(Ok(b"healthy"));
            assert_eq!(s.get("other", 100).unwrap().bytes, b"healthy");
        }
    }

    /// The real file storage: a FIFO, a symlink loop and (where file modes apply to this user)
    /// a mode-000 file, each asked many times, leave the breaker closed for the rest.
    #[test]
    fn odd_files_in_a_real_store_never_open_the_breaker() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tofu-resilient-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("good.jpg"), b"good").unwrap();
        std::fs::write(dir.join("secret.jpg"), b"secret").unwrap();
        std::fs::set_permissions(dir.join("secret.jpg"), PermissionsExt::from_mode(0o000)).unwrap();
        std::os::unix::fs::symlink("loop.jpg", dir.join("loop.jpg")).unwrap();
        let fifo = dir.join("pipe.jpg");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let files = crate::storage::FileStorage::open(dir.to_str().unwrap()).unwrap();
        let s = Resilient::new(Arc::new(files), None, settings(2, 30_000));
        for _ in 0..5 {
            for key in ["pipe.jpg", "loop.jpg", "secret.jpg"] {
                match s.get(key, 100) {
                    Err(StorageError::Denied(_)) => {}
                    // Root (CI) reads a mode-000 file anyway.
                    Ok(o) if key == "secret.jpg" => assert_eq!(o.bytes, b"secret"),
                    other => panic!("{key}: {other:?}"),
                }
            }
        }
        assert!(!s.breaker_open());
        assert_eq!(s.get("good.jpg", 100).unwrap().bytes, b"good");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fallback_miss_during_an_outage_is_a_5xx_not_a_404() {
        let primary = Fake::new(Err(down()));
        let fallback = Fake::new(Err(StorageError::NotFound("k".into())));
        let s = Resilient::new(primary, Some(fallback), settings(5, 1000));
        let e = s.get("k", 100).unwrap_err();
        assert!(matches!(e, StorageError::Failed(_)), "{e:?}");
        assert!(e.to_string().contains("fallback"), "{e}");
    }

    #[test]
    fn the_breaker_skips_the_primary_then_probes_it() {
        let primary = Fake::new(Err(down()));
        let fallback = Fake::new(Ok(b"files"));
        let s = Resilient::new(primary.clone(), Some(fallback.clone()), settings(3, 200));
        for _ in 0..3 {
            assert!(s.get("k", 100).is_ok());
        }
        assert_eq!(primary.calls(), 3);
        assert!(s.breaker_open());
        for _ in 0..10 {
            assert_eq!(s.get("k", 100).unwrap().bytes, b"files");
        }
        assert_eq!(primary.calls(), 3, "open: the primary is not asked");
        primary.set(Ok(b"s3"));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(s.get("k", 100).unwrap().bytes, b"s3", "the probe");
        assert!(!s.breaker_open());
        assert_eq!(s.get("k", 100).unwrap().bytes, b"s3");
        assert_eq!(primary.calls(), 5);
    }

    #[test]
    fn without_fallback_an_open_breaker_is_503_with_retry_after() {
        let primary = Fake::new(Err(down()));
        let s = Resilient::new(primary.clone(), None, settings(2, 10_000));
        for _ in 0..2 {
            assert!(matches!(s.get("k", 100), Err(StorageError::Failed(_))));
        }
        let e = s.get("k", 100).unwrap_err();
        let status = crate::error::TofuError::from(e.clone());
        assert_eq!(status.status(), 503, "{e:?}");
        assert_eq!(status.retry_after(), Some(10));
        assert_eq!(primary.calls(), 2);
        assert!(matches!(s.stat("k"), Err(StorageError::Unavailable { .. })));
    }

    #[test]
    fn faults_openings_and_fallback_uses_reach_the_shared_row() {
        let metrics = crate::metrics::Metrics::default();
        metrics.register_storage("s3://b/p");
        let primary = Fake::new(Err(down()));
        let fallback = Fake::new(Ok(b"files"));
        let s = Resilient::new(primary.clone(), Some(fallback), settings(2, 10_000))
            .metered(metrics.storage("s3://b/p"));
        for _ in 0..4 {
            assert!(s.get("k", 100).is_ok());
        }
        let now = std::time::SystemTime::now();
        let state = metrics.storage_state("s3://b/p", now).unwrap();
        // Two faults opened it; the next two skipped the primary (no fault) for the fallback.
        assert_eq!((state.faults, state.opens, state.fallback_uses), (2, 1, 4));
        assert!(state.open_since_ms.is_some());
    }

    #[test]
    fn a_failed_probe_reopens_for_another_cooldown() {
        let primary = Fake::new(Err(down()));
        let s = Resilient::new(primary.clone(), None, settings(1, 100));
        assert!(s.get("k", 100).is_err());
        std::thread::sleep(Duration::from_millis(120));
        assert!(matches!(s.get("k", 100), Err(StorageError::Failed(_))));
        assert_eq!(primary.calls(), 2, "the probe went to the primary");
        assert!(matches!(
            s.get("k", 100),
            Err(StorageError::Unavailable { .. })
        ));
    }
}
