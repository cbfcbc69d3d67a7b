use super::*;
use std::collections::HashMap;

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

fn image(format: &'static str, bytes: u64, fetch_ms: u64) -> Observation {
    Observation {
        status: 200,
        content_type: Some(format),
        body_bytes: bytes,
        transformed: true,
        times: [ms(fetch_ms), ms(0), ms(3), ms(1), ms(2), ms(fetch_ms + 7)],
        ..Observation::default()
    }
}

/// The samples of an exposition as `name{labels}` → value, after checking that every family
/// has HELP and TYPE before its samples and that histograms are cumulative and add up.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut last_bucket: Option<(String, f64)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                typed.insert(name.to_string(), kind.to_string()).is_none(),
                "{name} typed twice"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap();
        let name = key.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains_key(*f)))
            .unwrap_or(name);
        let kind = typed
            .get(family)
            .unwrap_or_else(|| panic!("{name}: no TYPE"));
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name}");
        }
        let value: f64 = value.parse().unwrap();
        if name.ends_with("_bucket") {
            if let Some((previous_family, previous)) = &last_bucket {
                if previous_family == family {
                    assert!(value >= *previous, "{key} not cumulative");
                }
            }
            last_bucket = Some((family.to_string(), value));
        }
        assert!(out.insert(key.to_string(), value).is_none(), "{key} twice");
    }
    for (family, kind) in &typed {
        if kind == "histogram" {
            assert_eq!(
                out[&format!("{family}_bucket{{le=\"+Inf\"}}")],
                out[&format!("{family}_count")],
                "{family}"
            );
        }
    }
    out
}

#[test]
fn requests_from_many_threads_and_processes_add_up_exactly() {
    let shared = Metrics::default();
    let children: Vec<Metrics> = (1..=4)
        .map(|pid| shared.for_process(pid, |_| true))
        .collect();
    std::thread::scope(|scope| {
        for child in &children {
            for _ in 0..4 {
                scope.spawn(move || {
                    for i in 0..250u64 {
                        let o = match i % 5 {
                            0 => image("image/jpeg", 1000, 2),
                            1 => image("image/webp", 500, 40),
                            2 => image("image/avif", 10, 2_000),
                            3 => Observation {
                                status: 304,
                                times: [None, None, None, None, None, ms(0)],
                                ..Observation::default()
                            },
                            _ => Observation {
                                status: 503,
                                rejected: Some(Rejection::Queue),
                                times: [None, ms(2_000), None, None, None, ms(2_001)],
                                ..Observation::default()
                            },
                        };
                        child.record(&o);
                    }
                });
            }
        }
    });
    let s = samples(&prometheus(&shared, &|_| true, SystemTime::now()));
    // 4 processes × 4 threads × 250 requests.
    assert_eq!(s["tofu_requests_total{class=\"2xx\"}"], 2400.0);
    assert_eq!(s["tofu_requests_total{class=\"3xx\"}"], 800.0);
    assert_eq!(s["tofu_requests_total{class=\"5xx\"}"], 800.0);
    assert_eq!(s["tofu_responses_total{code=\"503\"}"], 800.0);
    assert_eq!(s["tofu_not_modified_total"], 800.0);
    assert_eq!(s["tofu_rejected_total{cause=\"queue\"}"], 800.0);
    assert_eq!(s["tofu_rejected_total{cause=\"breaker\"}"], 0.0);
    assert_eq!(s["tofu_transforms_total"], 2400.0);
    assert_eq!(s["tofu_images_total{format=\"jpeg\"}"], 800.0);
    assert_eq!(s["tofu_images_total{format=\"avif\"}"], 800.0);
    assert_eq!(s["tofu_response_bytes_total"], 800.0 * 1510.0);
    assert_eq!(s["tofu_request_duration_seconds_count"], 4000.0);
    assert_eq!(s["tofu_fetch_duration_seconds_count"], 2400.0);
    assert_eq!(s["tofu_queue_duration_seconds_count"], 3200.0);
    assert_eq!(s["tofu_decode_duration_seconds_count"], 2400.0);
    // 2 ms lands in the 2.5 ms bucket, 40 ms in 50 ms, 2 s in 2.5 s.
    assert_eq!(s["tofu_fetch_duration_seconds_bucket{le=\"0.001\"}"], 0.0);
    assert_eq!(
        s["tofu_fetch_duration_seconds_bucket{le=\"0.0025\"}"],
        800.0
    );
    assert_eq!(s["tofu_fetch_duration_seconds_bucket{le=\"0.05\"}"], 1600.0);
    assert_eq!(s["tofu_fetch_duration_seconds_bucket{le=\"1\"}"], 1600.0);
    assert_eq!(s["tofu_fetch_duration_seconds_bucket{le=\"2.5\"}"], 2400.0);
    let sum = s["tofu_fetch_duration_seconds_sum"];
    assert!((sum - 800.0 * 2.042).abs() < 1e-6, "{sum}");
    assert_eq!(s["tofu_processes"], 4.0);
}

#[test]
fn an_attached_array_is_laid_out_once_and_refused_by_another_layout() {
    let cells: &'static [AtomicU64] =
        Box::leak((0..CELLS).map(|_| AtomicU64::new(0)).collect::<Box<[_]>>());
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let first = Metrics::attach(cells, t0).unwrap();
    first.record(&image("image/png", 7, 1));
    first.register_storage("file:///srv");
    // The second configuration pass (and every restart) finds it as it was.
    let again = Metrics::attach(cells, t0 + Duration::from_secs(60)).unwrap();
    assert_eq!(again.started(), t0);
    assert_eq!(again.get(TRANSFORMS), 1);
    assert_eq!(again.storages(t0).len(), 1);
    cells[H_MAGIC].store(MAGIC + 1, Relaxed);
    assert!(Metrics::attach(cells, t0).is_err());
    let short: &'static [AtomicU64] = Box::leak(Box::new([AtomicU64::new(0)]));
    assert!(Metrics::attach(short, t0).is_err());
}

#[test]
fn a_dead_childs_slot_and_transforms_are_taken_back() {
    let m = Metrics::default();
    let alive = std::sync::Mutex::new(vec![10u32, 11]);
    let is_alive = |pid: u32| alive.lock().unwrap().contains(&pid);
    let a = m.for_process(10, is_alive);
    let b = m.for_process(11, is_alive);
    assert_ne!(a.process, b.process);
    let _one = a.transform_started();
    let two = b.transform_started();
    let three = b.transform_started();
    assert_eq!(m.in_flight(is_alive), (3, 2));
    drop(three);
    assert_eq!(m.in_flight(is_alive), (2, 2));
    // Child 11 crashes with a transform in flight: it stops counting at once…
    std::mem::forget(two);
    alive.lock().unwrap().retain(|&p| p != 11);
    assert_eq!(m.in_flight(is_alive), (1, 1));
    // …and a new child takes its slot back with nothing in flight.
    alive.lock().unwrap().push(12);
    let c = m.for_process(12, is_alive);
    assert_eq!(c.process, b.process);
    assert_eq!(m.in_flight(is_alive), (1, 2));
}

#[test]
fn past_the_process_slots_children_share_the_overflow_slot() {
    let m = Metrics::default();
    for pid in 1..=PROCESS_SLOTS as u32 {
        assert!(m.for_process(pid, |_| true).process < PROCESS_SLOTS);
    }
    let late = m.for_process(99_999, |_| true);
    assert_eq!(late.process, PROCESS_SLOTS);
    let _t = late.transform_started();
    assert_eq!(m.in_flight(|_| true), (1, PROCESS_SLOTS as u64));
}

#[test]
fn storages_are_labelled_without_secrets_and_overflow_into_one_row() {
    assert_eq!(
        storage_label("s3://AKIA:secret@bucket/prefix?token=x"),
        "s3://bucket/prefix"
    );
    assert_eq!(storage_label("file:///srv/images"), "file:///srv/images");
    let long = format!("file:///{}", "é".repeat(200));
    assert!(storage_label(&long).len() <= NAME_BYTES);
    let m = Metrics::default();
    assert!(m.register_storage("file:///a"));
    assert!(m.register_storage("file:///a"), "idempotent");
    for i in 0..STORAGE_ROWS - 2 {
        assert!(m.register_storage(&format!("file:///more/{i}")));
    }
    assert!(!m.register_storage("file:///one-too-many"));
    let now = SystemTime::now();
    assert_eq!(
        m.storages(now).len(),
        STORAGE_ROWS - 1,
        "overflow row hidden while unused"
    );
    m.storage("file:///one-too-many").fault();
    m.storage("file:///a").fault();
    m.storage("file:///a").fallback_used();
    let rows = m.storages(now);
    assert_eq!(rows.len(), STORAGE_ROWS);
    assert_eq!(rows[0].name, "file:///a");
    assert_eq!((rows[0].faults, rows[0].fallback_uses), (1, 1));
    assert_eq!(rows[STORAGE_ROWS - 1].name, OVERFLOW_STORAGE);
    assert_eq!(rows[STORAGE_ROWS - 1].faults, 1);
}

#[test]
fn a_breaker_row_stays_open_from_the_first_opening_until_an_answer_or_the_cooldown() {
    let m = Metrics::default();
    m.register_storage("s3://b/p");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let secs = |n| t0 + Duration::from_secs(n);
    let (child_a, child_b) = (m.storage("s3://b/p"), m.storage("s3://b/p"));
    child_a.opened(t0, secs(30));
    child_b.opened(secs(5), secs(35));
    let state = m.storage_state("s3://b/p", secs(10)).unwrap();
    assert_eq!(state.opens, 1, "one opening from closed");
    assert_eq!(state.open_since_ms, Some(unix_ms(t0)));
    assert_eq!(state.open_until_ms, Some(unix_ms(secs(35))));
    assert_eq!(
        m.storage_state("s3://b/p", secs(35)).unwrap().open_since_ms,
        None
    );
    child_b.answered(|| secs(11));
    assert_eq!(
        m.storage_state("s3://b/p", secs(12)).unwrap().open_since_ms,
        None
    );
    child_a.opened(secs(40), secs(70));
    let state = m.storage_state("s3://b/p", secs(41)).unwrap();
    assert_eq!(
        (state.opens, state.open_since_ms),
        (2, Some(unix_ms(secs(40))))
    );
}

#[test]
fn the_exposition_names_every_family_and_escapes_labels() {
    let m = Metrics::default();
    m.register_storage("file:///odd \"dir\"\\x");
    m.storage("file:///odd \"dir\"\\x").fault();
    let text = prometheus(&m, &|_| true, SystemTime::now());
    let s = samples(&text);
    assert_eq!(
        s["tofu_storage_faults_total{storage=\"file:///odd \\\"dir\\\"\\\\x\"}"],
        1.0
    );
    for family in [
        "tofu_requests_total",
        "tofu_responses_total",
        "tofu_not_modified_total",
        "tofu_transforms_total",
        "tofu_coalesced_followers_total",
        "tofu_rejected_total",
        "tofu_response_bytes_total",
        "tofu_images_total",
        "tofu_fetch_duration_seconds",
        "tofu_queue_duration_seconds",
        "tofu_decode_duration_seconds",
        "tofu_resize_duration_seconds",
        "tofu_encode_duration_seconds",
        "tofu_request_duration_seconds",
        "tofu_transforms_in_flight",
        "tofu_processes",
        "tofu_storage_faults_total",
        "tofu_storage_breaker_opens_total",
        "tofu_storage_breaker_open",
        "tofu_storage_fallback_uses_total",
        "tofu_metrics_start_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn the_status_views_show_the_totals() {
    let m = Metrics::default();
    m.record(&image("image/jpeg", 100, 1));
    m.register_storage("file:///<srv>");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    m.storage("file:///<srv>")
        .opened(t0, t0 + Duration::from_secs(30));
    let plain = status_plain(&m, &|_| true, t0);
    assert!(plain.contains("TofuRequests2xx: 1\n"), "{plain}");
    assert!(plain.contains("TofuTransforms: 1\n"), "{plain}");
    assert!(plain.contains("TofuRejectedQueue: 0\n"), "{plain}");
    assert!(
        plain.contains("TofuStorage1: file:///<srv> breaker=open faults=0 opens=1"),
        "{plain}"
    );
    assert!(plain.lines().all(|l| l.contains(": ")), "{plain}");
    let html = status_html(&m, &|_| true, t0);
    assert!(html.contains("<h2>mod_tofu</h2>"), "{html}");
    assert!(
        html.contains("file:///&lt;srv&gt;: breaker <b>open</b> since Tue, 14 Nov 2023"),
        "{html}"
    );
}
