//! The counters as text: the Prometheus text exposition format (`SetHandler tofu-metrics`) and
//! mod_status's section (`/server-status`, HTML or `?auto`).

use std::fmt::Write;
use std::time::SystemTime;

use super::*;

/// The Content-Type of the Prometheus text exposition format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped, as the exposition format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Seconds, from microseconds, as Prometheus reads a float.
fn seconds(us: u64) -> String {
    format!("{}", us as f64 / 1e6)
}

/// The stable counters in the order the views show them.
struct Totals {
    classes: Vec<u64>,
    codes: Vec<u64>,
    formats: Vec<u64>,
    rejected: Vec<u64>,
    transforms: u64,
    followers: u64,
    bytes: u64,
    /// Per stage: cumulative bucket counts (+Inf last) and the sum in microseconds.
    histograms: Vec<(Vec<u64>, u64)>,
    in_flight: u64,
    processes: u64,
    storages: Vec<StorageState>,
}

fn totals(m: &Metrics, alive: &dyn Fn(u32) -> bool, now: SystemTime) -> Totals {
    let range = |start: usize, n: usize| (start..start + n).map(|c| m.get(c)).collect();
    let histograms = (0..STAGES.len())
        .map(|stage| {
            let base = HIST + stage * HIST_CELLS;
            let mut running = 0;
            let buckets = (0..=BUCKETS_US.len())
                .map(|b| {
                    running += m.get(base + b);
                    running
                })
                .collect();
            (buckets, m.get(base + HIST_CELLS - 1))
        })
        .collect();
    let (in_flight, processes) = m.in_flight(alive);
    Totals {
        classes: range(CLASS, STATUS_CLASSES.len()),
        codes: range(CODE, CODES.len() + 1),
        formats: range(FORMAT, FORMATS.len()),
        rejected: range(REJECT, REJECTIONS.len()),
        transforms: m.get(TRANSFORMS),
        followers: m.get(FOLLOWERS),
        bytes: m.get(BYTES),
        histograms,
        in_flight,
        processes,
        storages: m.storages(now),
    }
}

fn code_label(i: usize) -> String {
    CODES.get(i).map_or("other".to_string(), |c| c.to_string())
}

/// One metric family: `# HELP`, `# TYPE` and its samples (`labels` written with their braces).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: Vec<(String, u64)>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// Every metric in the Prometheus text exposition format (0.0.4): `# HELP`, `# TYPE`, then the
/// samples. `alive` tells which child processes still run (for the gauges).
pub fn prometheus(m: &Metrics, alive: &dyn Fn(u32) -> bool, now: SystemTime) -> String {
    let t = totals(m, alive, now);
    let mut out = String::with_capacity(8192);
    let labelled = |key: &str, names: Vec<String>, values: &[u64]| -> Vec<(String, u64)> {
        names
            .into_iter()
            .zip(values)
            .map(|(n, v)| (format!("{{{key}=\"{}\"}}", label(&n)), *v))
            .collect()
    };
    let strings = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    family(
        &mut out,
        "tofu_requests_total",
        "counter",
        "Requests answered by SetHandler tofu, by status class.",
        labelled("class", strings(&STATUS_CLASSES), &t.classes),
    );
    family(
        &mut out,
        "tofu_responses_total",
        "counter",
        "Requests answered by SetHandler tofu, by status code (the tofu-status note).",
        labelled(
            "code",
            (0..=CODES.len()).map(code_label).collect(),
            &t.codes,
        ),
    );
    family(
        &mut out,
        "tofu_not_modified_total",
        "counter",
        "304 answers, given from the original's validators alone (nothing fetched or decoded).",
        vec![(String::new(), t.codes[1])],
    );
    family(
        &mut out,
        "tofu_transforms_total",
        "counter",
        "Images rendered (decoded, resized and encoded).",
        vec![(String::new(), t.transforms)],
    );
    family(
        &mut out,
        "tofu_coalesced_followers_total",
        "counter",
        "Requests answered with the render of an identical concurrent request.",
        vec![(String::new(), t.followers)],
    );
    family(
        &mut out,
        "tofu_rejected_total",
        "counter",
        "503 answers, by cause: no transform slot in time, an open circuit breaker, a coalesced wait.",
        labelled("cause", strings(&REJECTIONS), &t.rejected),
    );
    family(
        &mut out,
        "tofu_response_bytes_total",
        "counter",
        "Bytes of image bodies handed to httpd.",
        vec![(String::new(), t.bytes)],
    );
    family(
        &mut out,
        "tofu_images_total",
        "counter",
        "Images answered (200), by output format.",
        labelled("format", strings(&FORMATS), &t.formats),
    );
    for (stage, (buckets, sum)) in STAGES.iter().zip(&t.histograms) {
        let name = format!("tofu_{stage}_duration_seconds");
        let help = match *stage {
            "request" => "Time from the handler's start to its answer, every request.",
            "queue" => "Wait for a transform slot (TofuConcurrency).",
            "fetch" => "Fetch of the original from the storage, retries and fallback included.",
            _ => "Time of this stage of a render.",
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (le, count) in BUCKETS_US
            .iter()
            .map(|&us| seconds(us))
            .chain(["+Inf".to_string()])
            .zip(buckets)
        {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
        }
        let count = buckets.last().copied().unwrap_or(0);
        let _ = writeln!(out, "{name}_sum {}\n{name}_count {count}", seconds(*sum));
    }
    family(
        &mut out,
        "tofu_transforms_in_flight",
        "gauge",
        "Transforms running now, in every child process.",
        vec![(String::new(), t.in_flight)],
    );
    family(
        &mut out,
        "tofu_processes",
        "gauge",
        "Child processes running mod_tofu now (of every generation).",
        vec![(String::new(), t.processes)],
    );
    let per_storage = |f: &dyn Fn(&StorageState) -> u64| {
        t.storages
            .iter()
            .map(|s| (format!("{{storage=\"{}\"}}", label(&s.name)), f(s)))
            .collect::<Vec<_>>()
    };
    family(
        &mut out,
        "tofu_storage_faults_total",
        "counter",
        "Faults of a primary storage (errors and timeouts, not answers about one object).",
        per_storage(&|s| s.faults),
    );
    family(
        &mut out,
        "tofu_storage_breaker_opens_total",
        "counter",
        "Times a child's circuit breaker opened for a storage that was closed.",
        per_storage(&|s| s.opens),
    );
    family(
        &mut out,
        "tofu_storage_breaker_open",
        "gauge",
        "1 while a circuit breaker for the storage is open (within its cooldown).",
        per_storage(&|s| u64::from(s.open_since_ms.is_some())),
    );
    family(
        &mut out,
        "tofu_storage_breaker_open_since_timestamp_seconds",
        "gauge",
        "When the open breaker opened, in Unix seconds (0 while closed).",
        per_storage(&|s| s.open_since_ms.unwrap_or(0) / 1000),
    );
    family(
        &mut out,
        "tofu_storage_fallback_uses_total",
        "counter",
        "Answers TofuFallbackStorage gave because this primary failed or its breaker was open.",
        per_storage(&|s| s.fallback_uses),
    );
    family(
        &mut out,
        "tofu_metrics_start_timestamp_seconds",
        "gauge",
        "When these counters started (httpd's start, or a module upgrade), in Unix seconds.",
        vec![(String::new(), unix_ms(m.started()) / 1000)],
    );
    out
}

/// The few lines of mod_status's `?auto` form: `Tofu<Name>: value`, storages numbered.
pub fn status_plain(m: &Metrics, alive: &dyn Fn(u32) -> bool, now: SystemTime) -> String {
    let t = totals(m, alive, now);
    let mut out = String::new();
    for (class, n) in STATUS_CLASSES.iter().zip(&t.classes) {
        let _ = writeln!(out, "TofuRequests{class}: {n}");
    }
    let _ = writeln!(
        out,
        "TofuTransforms: {}\nTofuTransformsInFlight: {}\nTofuProcesses: {}\n\
         TofuNotModified: {}\nTofuCoalescedFollowers: {}\nTofuResponseBytes: {}",
        t.transforms, t.in_flight, t.processes, t.codes[1], t.followers, t.bytes
    );
    for (cause, n) in REJECTIONS.iter().zip(&t.rejected) {
        let _ = writeln!(out, "TofuRejected{}: {n}", capitalised(cause));
    }
    for (i, s) in t.storages.iter().enumerate() {
        let _ = writeln!(
            out,
            "TofuStorage{}: {} breaker={} faults={} opens={} fallback_uses={}",
            i + 1,
            s.name,
            if s.open_since_ms.is_some() {
                "open"
            } else {
                "closed"
            },
            s.faults,
            s.opens,
            s.fallback_uses
        );
    }
    out
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// mod_status's HTML section: the totals and one line per storage.
pub fn status_html(m: &Metrics, alive: &dyn Fn(u32) -> bool, now: SystemTime) -> String {
    let t = totals(m, alive, now);
    let mut out = String::from("<hr />\n<h2>mod_tofu</h2>\n<dl>\n");
    let classes: Vec<String> = STATUS_CLASSES
        .iter()
        .zip(&t.classes)
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let rejected: Vec<String> = REJECTIONS
        .iter()
        .zip(&t.rejected)
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let request_count = t.histograms[Stage::Total as usize].0.last().copied();
    let request_sum = t.histograms[Stage::Total as usize].1;
    let mean_ms = match request_count {
        Some(n) if n > 0 => request_sum as f64 / n as f64 / 1000.0,
        _ => 0.0,
    };
    let _ = write!(
        out,
        "<dt>Requests: {} ({}), mean {mean_ms:.1} ms</dt>\n\
         <dt>Transforms: {}, in flight now: {} in {} processes</dt>\n\
         <dt>304 without decode: {}, coalesced followers: {}, bytes sent: {}</dt>\n\
         <dt>503 answers: {}</dt>\n",
        t.classes.iter().sum::<u64>(),
        classes.join(", "),
        t.transforms,
        t.in_flight,
        t.processes,
        t.codes[1],
        t.followers,
        t.bytes,
        rejected.join(", "),
    );
    for s in &t.storages {
        let state = match s.open_since_ms {
            Some(since) => format!(
                "breaker <b>open</b> since {}",
                crate::conditional::http_date(UNIX_EPOCH + Duration::from_millis(since))
            ),
            None => "breaker closed".to_string(),
        };
        let _ = writeln!(
            out,
            "<dt>Storage {}: {state}, {} faults, {} openings, {} fallback uses</dt>",
            html(&s.name),
            s.faults,
            s.opens,
            s.fallback_uses
        );
    }
    out.push_str("</dl>\n");
    out
}
