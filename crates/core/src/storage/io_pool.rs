//! A small, bounded pool of I/O threads, so that a read that never returns (a hung NFS mount)
//! costs at most `max_threads` threads of a child instead of every worker of httpd.
//!
//! Callers wait for their job with a deadline and give up on time; the job's thread stays
//! stuck, but the pool never grows past its bound. When every thread has been stuck on one job
//! for longer than `stuck_after`, the pool is "wedged" and new jobs are refused at once rather
//! than queued behind reads that will not come back. Threads are spawned on demand (never
//! before the first job, so never in httpd's parent) and live as long as the pool.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

/// Why a job did not run to completion in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The deadline passed while the job was queued or running.
    Timeout,
    /// Every thread has been stuck for longer than `stuck_after`, or the queue is full: refused
    /// without waiting.
    Wedged { threads: usize },
    /// The job panicked.
    Panicked,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Per spawned thread: since when it has been running its current job (None: idle).
    busy_since: Vec<Option<Instant>>,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

/// A bounded pool; cheap to create (no thread until the first job).
pub struct IoPool {
    name: String,
    max_threads: usize,
    max_queue: usize,
    stuck_after: Duration,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IoPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoPool")
            .field("name", &self.name)
            .field("max_threads", &self.max_threads)
            .finish_non_exhaustive()
    }
}

impl IoPool {
    /// A pool named `name` (threads are called `tofu-io`) of at most `max_threads` threads, with
    /// at most `max_queue` jobs waiting; a thread busy for longer than `stuck_after` is stuck.
    pub fn new(name: &str, max_threads: usize, max_queue: usize, stuck_after: Duration) -> Self {
        IoPool {
            name: name.to_string(),
            max_threads: max_threads.max(1),
            max_queue,
            stuck_after,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
            }),
        }
    }

    /// Runs `job` on a pool thread and waits for its result until `deadline`.
    pub fn run<T, F>(&self, deadline: Instant, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let abandoned = Arc::new(AtomicBool::new(false));
        let skip = abandoned.clone();
        let wrapped: Job = Box::new(move || {
            // A job whose caller already gave up is not started: on a hung mount it would only
            // get stuck too.
            if skip.load(Ordering::Acquire) {
                return;
            }
            if let Ok(value) = catch_unwind(AssertUnwindSafe(job)) {
                let _ = tx.send(value);
            }
        });
        self.submit(wrapped)?;
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(value) => Ok(value),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                abandoned.store(true, Ordering::Release);
                // It may have finished in the meantime.
                rx.try_recv().map_err(|_| PoolError::Timeout)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(PoolError::Panicked),
        }
    }

    /// Threads spawned so far (at most `max_threads`).
    pub fn threads(&self) -> usize {
        self.lock().busy_since.len()
    }

    fn submit(&self, job: Job) -> Result<(), PoolError> {
        let now = Instant::now();
        let mut state = self.lock();
        let threads = state.busy_since.len();
        let idle = state.busy_since.iter().filter(|b| b.is_none()).count();
        let stuck = state
            .busy_since
            .iter()
            .filter(|b| b.is_some_and(|since| now.duration_since(since) > self.stuck_after))
            .count();
        if threads == self.max_threads && stuck == threads {
            return Err(PoolError::Wedged { threads });
        }
        if state.queue.len() >= self.max_queue + idle {
            return Err(PoolError::Wedged { threads });
        }
        state.queue.push_back(job);
        if idle < state.queue.len() && threads < self.max_threads {
            state.busy_since.push(None);
            let index = threads;
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("tofu-io".to_string())
                .spawn(move || worker(&shared, index));
            if spawned.is_err() {
                state.busy_since.pop();
            }
        }
        drop(state);
        self.shared.ready.notify_one();
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn worker(shared: &Shared, index: usize) {
    let lock = || shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = lock();
    loop {
        let Some(job) = state.queue.pop_front() else {
            state = shared.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        state.busy_since[index] = Some(Instant::now());
        drop(state);
        job();
        state = lock();
        state.busy_since[index] = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn runs_jobs_and_returns_their_results() {
        let pool = IoPool::new("t", 2, 8, Duration::from_secs(1));
        assert_eq!(pool.threads(), 0, "no thread before the first job");
        assert_eq!(pool.run(soon(1000), || 6 * 7), Ok(42));
        for i in 0..20 {
            assert_eq!(pool.run(soon(1000), move || i), Ok(i));
        }
        assert!(pool.threads() <= 2);
        assert_eq!(
            pool.run(soon(1000), || -> u8 { panic!("boom") }),
            Err(PoolError::Panicked)
        );
        assert_eq!(pool.run(soon(1000), || 1), Ok(1), "a panic kills no thread");
    }

    #[test]
    fn stuck_jobs_cost_a_bounded_number_of_threads_and_wedge_the_pool() {
        let pool = IoPool::new("t", 2, 2, Duration::from_millis(100));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release = Arc::new(Mutex::new(release_rx));
        let hang = || {
            let r = release.clone();
            move || {
                let _ = r.lock().unwrap().recv();
            }
        };
        let started = Instant::now();
        for _ in 0..2 {
            assert_eq!(pool.run(soon(150), hang()), Err(PoolError::Timeout));
        }
        assert_eq!(pool.threads(), 2, "never more threads than the bound");
        // Both threads are now stuck for longer than stuck_after: refused at once.
        let refused_at = Instant::now();
        assert_eq!(
            pool.run(soon(5000), || 1),
            Err(PoolError::Wedged { threads: 2 })
        );
        assert!(refused_at.elapsed() < Duration::from_millis(50));
        assert!(started.elapsed() < Duration::from_secs(2));
        // Unstuck, the pool serves again (the abandoned queued jobs are skipped).
        drop(release_tx);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(pool.run(soon(1000), || 7), Ok(7));
        assert_eq!(pool.threads(), 2);
    }
}
