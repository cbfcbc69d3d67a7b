//! `TofuConcurrency` / `TofuQueueTimeout`: at most N transforms at once per child process.
//!
//! A burst of misses must not become a pile of decoders fighting over two cores and a few
//! hundred MB each. A request waits for a slot at most the queue timeout, then gets 503 with
//! Retry-After; memory per process is bounded by N times the per-request limits.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The transform slots of one process.
#[derive(Default)]
pub struct Admission {
    in_use: Mutex<usize>,
    freed: Condvar,
}

/// A held slot; dropping it frees the slot (also when the holder unwinds).
pub struct Permit<'a> {
    admission: &'a Admission,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut in_use = self
            .admission
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_use = in_use.saturating_sub(1);
        // Every waiter re-checks: waiters may come from locations with different
        // `TofuConcurrency`, and the one `notify_one` would pick may still be over its own
        // limit while another, which could run now, sleeps on until its 503.
        self.admission.freed.notify_all();
    }
}

impl Admission {
    /// A slot if fewer than `capacity` are taken, waiting up to `wait` for one; `None` when the
    /// queue timeout passes first. `capacity` comes from the request's location, so a location
    /// with a smaller limit is admitted only while the whole process is below that limit.
    pub fn acquire(&self, capacity: usize, wait: Duration) -> Option<Permit<'_>> {
        let deadline = Instant::now() + wait;
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use >= capacity.max(1) {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            in_use = self
                .freed
                .wait_timeout(in_use, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *in_use += 1;
        Some(Permit { admission: self })
    }

    /// Slots taken right now.
    pub fn in_use(&self) -> usize {
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn admits_up_to_capacity_then_waits_then_refuses() {
        let a = Admission::default();
        let p1 = a.acquire(2, Duration::ZERO).unwrap();
        let _p2 = a.acquire(2, Duration::ZERO).unwrap();
        assert_eq!(a.in_use(), 2);
        let started = Instant::now();
        assert!(a.acquire(2, Duration::from_millis(50)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(p1);
        assert!(a.acquire(2, Duration::ZERO).is_some());
    }

    #[test]
    fn a_freed_slot_wakes_a_waiter() {
        let a = Arc::new(Admission::default());
        let held = a.acquire(1, Duration::ZERO).unwrap();
        let a2 = a.clone();
        let waiter = std::thread::spawn(move || a2.acquire(1, Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
        assert_eq!(a.in_use(), 0);
    }

    #[test]
    fn a_freed_slot_wakes_a_waiter_that_can_use_it() {
        // Two slots taken by a location allowing 2. A location allowing 1 starts waiting
        // first, then one allowing 2. When one slot frees, only the second may run: it must
        // be woken, not left asleep while the first re-checks and sleeps again.
        let a = Arc::new(Admission::default());
        let first = a.acquire(2, Duration::ZERO).unwrap();
        let _second = a.acquire(2, Duration::ZERO).unwrap();
        let strict = {
            let a = a.clone();
            std::thread::spawn(move || a.acquire(1, Duration::from_millis(1500)).is_some())
        };
        std::thread::sleep(Duration::from_millis(100));
        let roomy = {
            let a = a.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let got = a.acquire(2, Duration::from_millis(1500)).is_some();
                (got, started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(first);
        let (got, waited) = roomy.join().unwrap();
        assert!(got, "the waiter that fits was never woken");
        assert!(
            waited < Duration::from_millis(1000),
            "woken late: {waited:?}"
        );
        assert!(
            !strict.join().unwrap(),
            "1 slot in use: the strict location stays out"
        );
    }

    #[test]
    fn a_panicking_holder_frees_its_slot() {
        let a = Admission::default();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _p = a.acquire(1, Duration::ZERO).unwrap();
            panic!("bug while transforming");
        }));
        assert_eq!(a.in_use(), 0);
    }
}
