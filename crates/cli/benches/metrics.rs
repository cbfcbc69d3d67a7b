//! `cargo bench -p tofu-cli --bench metrics`: what counting one request costs (issue 13): the
//! nanoseconds of `Metrics::record` for a typical render (200 with all six stage times), from one
//! thread and from two threads adding to the same counters at once (the cache lines then move
//! between cores, as between httpd children). Not a timed test: it asserts nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tofu_core::metrics::{Metrics, Observation};

const CALLS: u32 = 2_000_000;

fn render() -> Observation {
    let ms = |n| Some(Duration::from_millis(n));
    Observation {
        status: 200,
        content_type: Some("image/webp"),
        body_bytes: 12_345,
        transformed: true,
        times: [ms(3), ms(0), ms(12), ms(4), ms(9), ms(30)],
        ..Observation::default()
    }
}

fn run(metrics: &Metrics, observation: &Observation) -> Duration {
    let started = Instant::now();
    for _ in 0..CALLS {
        metrics.record(black_box(observation));
    }
    started.elapsed()
}

fn main() {
    let metrics = Metrics::default();
    let observation = render();
    run(&metrics, &observation);
    let one = run(&metrics, &observation);
    println!(
        "metrics: record, 1 thread:  {:.1} ns per request",
        one.as_nanos() as f64 / f64::from(CALLS)
    );
    let two = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&metrics, &observation)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .max()
            .unwrap()
    });
    println!(
        "metrics: record, 2 threads: {:.1} ns per request (each thread, same counters)",
        two.as_nanos() as f64 / f64::from(CALLS)
    );
}
