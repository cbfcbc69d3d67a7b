//! A circuit breaker for one primary storage, per child process.
//!
//! Closed: every request goes to the primary and consecutive faults are counted. After
//! `failures` of them in a row it opens for `cooldown`: requests skip the primary (fallback, or
//! 503 with Retry-After) instead of each paying a timeout against a store that is down. Then it
//! half-opens: exactly one request (the probe) tries the primary; success closes it, a fault
//! opens it for another cooldown. Time is passed in, so the state machine is tested without
//! sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `TofuStorageBreaker` defaults: 5 consecutive faults open it for 30 seconds.
pub const DEFAULT_FAILURES: u32 = 5;
/// See [`DEFAULT_FAILURES`].
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);

/// When the breaker opens and for how long (`TofuStorageBreaker FAILURES SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BreakerSettings {
    /// Consecutive primary faults that open it; 0 never opens it.
    pub failures: u32,
    pub cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failures: DEFAULT_FAILURES,
            cooldown: DEFAULT_COOLDOWN,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        consecutive: u32,
    },
    Open {
        until: Instant,
    },
    /// The cooldown is over and one probe is on its way to the primary.
    Probing,
}

/// Where the breaker sends a request now (named apart from the transform slots of
/// `crate::admission`, which are another thing).
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Use the primary; report the outcome with [`Breaker::record`].
    Primary,
    /// Use the primary as the one probe of a half-open breaker; report the outcome.
    Probe,
    /// Skip the primary; it is presumed down for about this long.
    Skip { retry_after: Duration },
}

/// One breaker: a small state machine behind a mutex, shared by every thread of a child.
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: Mutex::new(State::Closed { consecutive: 0 }),
        }
    }

    /// May a request that starts at `now` use the primary?
    pub fn admit(&self, now: Instant) -> Route {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Route::Primary,
            State::Open { until } if now >= until => {
                *state = State::Probing;
                Route::Probe
            }
            State::Open { until } => Route::Skip {
                retry_after: until - now,
            },
            // Others wait for the probe's verdict; a probe takes at most the storage timeout.
            State::Probing => Route::Skip {
                retry_after: Duration::from_secs(1),
            },
        }
    }

    /// The primary's outcome for a request admitted at `now`: `fault` is true for errors and
    /// timeouts (a 404 is an answer, not a fault). Returns the cooldown when this outcome
    /// opened the breaker (from closed or probing), for the shared counters.
    pub fn record(&self, fault: bool, now: Instant) -> Option<Duration> {
        let mut state = self.lock();
        if !fault {
            *state = State::Closed { consecutive: 0 };
            return None;
        }
        let was_open = matches!(*state, State::Open { .. });
        let consecutive = match *state {
            State::Closed { consecutive } => consecutive + 1,
            // A failed probe reopens at once; an Open state only gets reports from requests
            // admitted before it opened, which count like any other fault.
            State::Probing | State::Open { .. } => self.settings.failures,
        };
        if self.settings.failures > 0 && consecutive >= self.settings.failures {
            *state = State::Open {
                until: now + self.settings.cooldown,
            };
            (!was_open).then_some(self.settings.cooldown)
        } else {
            *state = State::Closed { consecutive };
            None
        }
    }

    /// True while requests skip the primary (for tests and logs).
    pub fn is_open(&self, now: Instant) -> bool {
        match *self.lock() {
            State::Closed { .. } => false,
            State::Open { until } => now < until,
            State::Probing => true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value, valid whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32, cooldown_secs: u64) -> Breaker {
        Breaker::new(BreakerSettings {
            failures,
            cooldown: Duration::from_secs(cooldown_secs),
        })
    }

    #[test]
    fn opens_after_consecutive_faults_only() {
        let b = breaker(3, 30);
        let t = Instant::now();
        b.record(true, t);
        b.record(true, t);
        b.record(false, t); // a success (or a 404) resets the count
        b.record(true, t);
        b.record(true, t);
        assert_eq!(b.admit(t), Route::Primary);
        assert_eq!(b.record(true, t), Some(Duration::from_secs(30)), "opened");
        assert_eq!(b.record(true, t), None, "already open");
        assert!(b.is_open(t));
        assert_eq!(
            b.admit(t + Duration::from_secs(10)),
            Route::Skip {
                retry_after: Duration::from_secs(20)
            }
        );
    }

    #[test]
    fn half_opens_one_probe_that_closes_or_reopens_it() {
        let b = breaker(1, 30);
        let t = Instant::now();
        b.record(true, t);
        let later = t + Duration::from_secs(30);
        assert_eq!(b.admit(later), Route::Probe);
        assert!(
            matches!(b.admit(later), Route::Skip { .. }),
            "only one probe at a time"
        );
        b.record(true, later);
        assert!(b.is_open(later + Duration::from_secs(29)));
        let again = later + Duration::from_secs(30);
        assert_eq!(b.admit(again), Route::Probe);
        b.record(false, again);
        assert!(!b.is_open(again));
        assert_eq!(b.admit(again), Route::Primary);
    }

    #[test]
    fn zero_failures_never_opens() {
        let b = breaker(0, 30);
        let t = Instant::now();
        for _ in 0..100 {
            b.record(true, t);
        }
        assert_eq!(b.admit(t), Route::Primary);
    }
}
