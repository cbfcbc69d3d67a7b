//! `SetHandler tofu-health`: can this server serve images now? For load balancers and
//! Kubernetes probes, answered from the shared storage rows of `metrics` alone: no transform
//! slot, no decode, no request to a storage, so it answers in microseconds even while every
//! transform slot is busy.
//!
//! A location cannot serve while its primary storage's circuit breaker is open (some child saw
//! `TofuStorageBreaker` consecutive faults, within the cooldown) and it has no fallback: then
//! the answer is 503 with one line per such storage. With a `TofuFallbackStorage` the location
//! still serves: 200, with a "degraded" line. Breakers are per child process; the row in shared
//! memory is open from the first child's opening until the cooldown ends or any child's
//! request gets an answer from the storage, so every child answers the same.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::conditional::http_date;
use crate::metrics::{storage_label, Metrics};

/// One `SetHandler tofu` location of a virtual host and its storages (from its merged config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The location's path (its URL prefix).
    pub prefix: String,
    /// `TofuStorage`.
    pub primary: String,
    /// `TofuFallbackStorage`.
    pub fallback: Option<String>,
}

/// The answer: 200 or 503, a short text, and for a 503 when to ask again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: u16,
    pub text: String,
    /// Seconds until the first open breaker's cooldown ends (503 only).
    pub retry_after: Option<u64>,
}

fn date(ms: u64) -> String {
    http_date(UNIX_EPOCH + Duration::from_millis(ms))
}

/// The health of the locations `targets` at `now`.
pub fn check(metrics: &Metrics, targets: &[Target], now: SystemTime) -> Health {
    // One line per storage, naming the locations that read it.
    let mut storages: BTreeMap<String, (Vec<&str>, bool)> = BTreeMap::new();
    for t in targets {
        let entry = storages
            .entry(storage_label(&t.primary))
            .or_insert_with(|| (Vec::new(), true));
        entry.0.push(&t.prefix);
        // Served while the primary is skipped only if every location reading it has a fallback.
        entry.1 &= t.fallback.is_some();
    }
    let now_ms = crate::metrics::unix_ms(now);
    let (mut down, mut degraded) = (String::new(), String::new());
    let mut retry_after: Option<u64> = None;
    for (name, (prefixes, covered)) in &storages {
        let Some(state) = metrics.storage_state(name, now) else {
            continue;
        };
        let (Some(since), Some(until)) = (state.open_since_ms, state.open_until_ms) else {
            continue;
        };
        let line = format!(
            "storage {name} (location {}): circuit breaker open since {} ({} s), \
             probed again from {}\n",
            prefixes.join(", "),
            date(since),
            now_ms.saturating_sub(since) / 1000,
            date(until)
        );
        if *covered {
            degraded.push_str(&line);
        } else {
            down.push_str(&line);
            let left = until.saturating_sub(now_ms).div_ceil(1000).max(1);
            retry_after = Some(retry_after.map_or(left, |r| r.min(left)));
        }
    }
    if !down.is_empty() {
        return Health {
            status: 503,
            text: down,
            retry_after,
        };
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "OK: {} tofu location(s), {} storage(s) answering",
        targets.len(),
        storages.len()
    );
    if !degraded.is_empty() {
        text.push_str("degraded, served by TofuFallbackStorage: ");
        text.push_str(&degraded);
    }
    Health {
        status: 200,
        text,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(prefix: &str, primary: &str, fallback: Option<&str>) -> Target {
        Target {
            prefix: prefix.into(),
            primary: primary.into(),
            fallback: fallback.map(str::to_string),
        }
    }

    #[test]
    fn an_open_breaker_without_fallback_is_503_naming_the_storage() {
        let m = Metrics::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for url in ["file:///srv/a", "s3://bucket/b"] {
            assert!(m.register_storage(url));
        }
        let targets = [
            target("/img", "file:///srv/a", None),
            target("/thumbs", "file:///srv/a", None),
            target("/s3", "s3://bucket/b", Some("file:///srv/a")),
        ];
        let ok = check(&m, &targets, t0);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.text, "OK: 3 tofu location(s), 2 storage(s) answering\n");

        m.storage("file:///srv/a")
            .opened(t0, t0 + Duration::from_secs(30));
        let later = t0 + Duration::from_secs(12);
        let down = check(&m, &targets, later);
        assert_eq!(down.status, 503);
        assert_eq!(
            down.text,
            "storage file:///srv/a (location /img, /thumbs): circuit breaker open since \
             Fri, 15 Jan 2027 08:00:00 GMT (12 s), probed again from Fri, 15 Jan 2027 08:00:30 GMT\n"
        );
        assert_eq!(down.retry_after, Some(18));

        // After the cooldown the next request probes the storage: healthy again meanwhile.
        assert_eq!(
            check(&m, &targets, t0 + Duration::from_secs(30)).status,
            200
        );
        // An answer from the storage in any child closes the row at once.
        m.storage("file:///srv/a").answered(|| later);
        assert_eq!(check(&m, &targets, later).status, 200);
    }

    #[test]
    fn a_fallback_keeps_the_location_serving_but_degraded() {
        let m = Metrics::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        m.register_storage("s3://bucket/b");
        m.storage("s3://bucket/b")
            .opened(t0, t0 + Duration::from_secs(30));
        let h = check(
            &m,
            &[target("/s3", "s3://bucket/b", Some("file:///srv/a"))],
            t0,
        );
        assert_eq!(h.status, 200);
        assert!(
            h.text.contains("degraded") && h.text.contains("s3://bucket/b"),
            "{}",
            h.text
        );
    }

    #[test]
    fn no_location_is_healthy() {
        let h = check(&Metrics::default(), &[], SystemTime::now());
        assert_eq!(h.status, 200);
        assert_eq!(h.text, "OK: 0 tofu location(s), 0 storage(s) answering\n");
    }
}
