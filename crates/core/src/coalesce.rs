//! Request coalescing: identical concurrent misses inside one child do the work once.
//!
//! Behind a CDN, a new recipe page makes every edge ask for the same new thumbnails at once. The
//! first request for a key becomes the *leader* and computes; requests for the same key that
//! arrive meanwhile *follow*: they wait for the leader's result (bounded by a timeout) and share
//! it. Nothing is cached after the leader finishes — this is not a cache, only a merge of
//! simultaneous work — so memory stays bounded by the requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The slot followers wait on.
struct Flight<T> {
    result: Mutex<Option<T>>,
    done: Condvar,
}

/// How a call to [`Coalescer::run`] got its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// This request did the work.
    Leader,
    /// This request shared a concurrent identical request's result.
    Follower,
}

/// A set of in-flight computations keyed by `K`, sharing results of type `T`.
pub struct Coalescer<T> {
    flights: Mutex<HashMap<String, Arc<Flight<T>>>>,
}

impl<T> Default for Coalescer<T> {
    fn default() -> Self {
        Coalescer {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

/// Removes the leader's flight and wakes its followers even if the leader unwinds, so a panic
/// in one request never leaves others waiting.
struct LeaderGuard<'a, T: Clone, A: FnOnce() -> T> {
    coalescer: &'a Coalescer<T>,
    key: &'a str,
    flight: Arc<Flight<T>>,
    abandoned: Option<A>,
}

impl<T: Clone, A: FnOnce() -> T> Drop for LeaderGuard<'_, T, A> {
    fn drop(&mut self) {
        self.coalescer
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.key);
        let mut slot = self
            .flight
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = self.abandoned.take().map(|abandoned| abandoned());
        }
        self.flight.done.notify_all();
    }
}

impl<T: Clone> Coalescer<T> {
    /// Runs `work` for `key`, or waits up to `wait` for an identical run already in flight.
    /// `abandoned` makes what followers get if the leader dies without a result (called only
    /// then); `timed_out` what a follower gets when the leader takes longer than `wait`.
    pub fn run(
        &self,
        key: &str,
        wait: Duration,
        abandoned: impl FnOnce() -> T,
        timed_out: impl FnOnce() -> T,
        work: impl FnOnce() -> T,
    ) -> (T, Role) {
        let (flight, leader) = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            match flights.get(key) {
                Some(flight) => (Arc::clone(flight), false),
                None => {
                    let flight = Arc::new(Flight {
                        result: Mutex::new(None),
                        done: Condvar::new(),
                    });
                    flights.insert(key.to_string(), Arc::clone(&flight));
                    (flight, true)
                }
            }
        };
        if leader {
            let guard = LeaderGuard {
                coalescer: self,
                key,
                flight: Arc::clone(&flight),
                abandoned: Some(abandoned),
            };
            let value = work();
            *flight.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(value.clone());
            drop(guard);
            return (value, Role::Leader);
        }
        let deadline = Instant::now() + wait;
        let mut slot = flight.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(value) = slot.as_ref() {
                return (value.clone(), Role::Follower);
            }
            let now = Instant::now();
            if now >= deadline {
                return (timed_out(), Role::Follower);
            }
            slot = flight
                .done
                .wait_timeout(slot, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// How many distinct keys are being computed right now.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;

    #[test]
    fn concurrent_identical_requests_run_once() {
        let c: Arc<Coalescer<u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (c, runs, barrier) = (c.clone(), runs.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    c.run(
                        "k",
                        Duration::from_secs(5),
                        || 0,
                        || 1,
                        || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            42
                        },
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(results.iter().all(|(v, _)| *v == 42));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            results.iter().filter(|(_, r)| *r == Role::Leader).count(),
            1
        );
        assert_eq!(c.in_flight(), 0, "nothing is kept after the flight");
    }

    #[test]
    fn different_keys_and_later_requests_run_again() {
        let c: Coalescer<u32> = Coalescer::default();
        assert_eq!(c.run("a", Duration::ZERO, || 0, || 1, || 5).0, 5);
        assert_eq!(
            c.run("a", Duration::ZERO, || 0, || 1, || 6),
            (6, Role::Leader)
        );
        assert_eq!(c.run("b", Duration::ZERO, || 0, || 1, || 7).0, 7);
    }

    #[test]
    fn a_panicking_leader_releases_its_followers() {
        let c: Arc<Coalescer<u32>> = Arc::default();
        let c2 = c.clone();
        let leader = std::thread::spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                c2.run(
                    "k",
                    Duration::from_secs(5),
                    || 99,
                    || 1,
                    || {
                        std::thread::sleep(Duration::from_millis(200));
                        panic!("bug in the leader")
                    },
                )
            }));
        });
        std::thread::sleep(Duration::from_millis(50));
        let (value, role) = c.run("k", Duration::from_secs(5), || 0, || 1, || 7);
        leader.join().unwrap();
        assert_eq!(role, Role::Follower);
        assert_eq!(value, 99);
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn followers_stop_waiting_at_the_bound() {
        let c: Arc<Coalescer<u32>> = Arc::default();
        let c2 = c.clone();
        let slow_three = || {
            std::thread::sleep(Duration::from_millis(500));
            3
        };
        let leader =
            std::thread::spawn(move || c2.run("k", Duration::from_secs(5), || 0, || 1, slow_three));
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let (value, _) = c.run("k", Duration::from_millis(50), || 0, || 2, || 7);
        assert_eq!(value, 2);
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(leader.join().unwrap().0, 3);
    }
}
