//! Counters that every child process of one httpd adds to: the layout of a flat array of
//! `AtomicU64` cells, what one request adds to it, and (in `render`) the text operators read.
//!
//! The adapter maps the array as shared memory in httpd's parent before the children fork
//! (`src/metrics.rs`); here it is only a `&[AtomicU64]`, so the layout, the recording and the
//! rendering are plain safe Rust, tested without httpd. A request adds with relaxed atomic
//! additions (no lock, no system call); a reader sums what it finds. Counters only grow; the
//! two gauges (transforms in flight, live processes) are kept per process slot so that a
//! child that dies in the middle of a transform stops counting as soon as it is gone.

mod render;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed, Ordering::Release};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use render::{prometheus, status_html, status_plain, PROMETHEUS_CONTENT_TYPE};

/// The first cell of a laid-out array: "tofumet" and the layout version.
const MAGIC: u64 = u64::from_le_bytes(*b"tofumet\0") | (LAYOUT_VERSION << 56);
/// Bumped whenever a cell moves: a module of another layout never reads this one's array (the
/// adapter keys the shared segment by it).
pub const LAYOUT_VERSION: u64 = 1;

/// Status classes of `tofu_requests_total{class}`.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// The status codes mod_tofu answers (DESIGN.md's table), for `tofu_responses_total{code}`;
/// anything else counts as `other`.
pub const CODES: [u16; 11] = [200, 304, 400, 403, 404, 405, 422, 500, 502, 503, 504];
/// Output formats of `tofu_images_total{format}`, named after their media type
/// (`image/<name>`); another type counts as `other`.
pub const FORMATS: [&str; 6] = ["jpeg", "png", "webp", "avif", "gif", "other"];

/// Why a request was answered 503 (`tofu_rejected_total{cause}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No transform slot within TofuQueueTimeout.
    Queue,
    /// The primary storage's circuit breaker is open and there is no fallback.
    Breaker,
    /// A coalesced follower waited too long for the identical request it joined.
    Coalesced,
}

/// Label values of [`Rejection`], in cell order.
pub const REJECTIONS: [&str; 3] = ["queue", "breaker", "coalesced"];

/// The stages timed by a histogram each, in cell order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Fetch,
    Queue,
    Decode,
    Resize,
    Encode,
    Total,
}

/// Metric name stems of [`Stage`] (`tofu_<stem>_duration_seconds`), in cell order.
pub const STAGES: [&str; 6] = ["fetch", "queue", "decode", "resize", "encode", "request"];

/// Upper bounds of the histogram buckets, in microseconds (+Inf is the last cell): from half a
/// millisecond (a 304, a small resize) to 10 s (a storage timeout).
pub const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// Child processes that get a slot of their own for the gauges; more than this share one
/// overflow slot (which a crashed child's transforms would then stay counted in).
pub const PROCESS_SLOTS: usize = 1024;
/// Storages (by URL) with a row of their own; more share the last row, labelled
/// [`OVERFLOW_STORAGE`].
pub const STORAGE_ROWS: usize = 64;
/// The label of the row shared by storages beyond [`STORAGE_ROWS`]` - 1`.
pub const OVERFLOW_STORAGE: &str = "(other storages)";
/// Bytes of a storage name kept (longer URLs are cut at a character boundary).
pub const NAME_BYTES: usize = 248;

// The layout: one flat array of cells.
const H_MAGIC: usize = 0;
const H_CELLS: usize = 1;
const H_CREATED_MS: usize = 2;
const CLASS: usize = 4;
const CODE: usize = CLASS + STATUS_CLASSES.len();
const FORMAT: usize = CODE + CODES.len() + 1;
const REJECT: usize = FORMAT + FORMATS.len();
const TRANSFORMS: usize = REJECT + REJECTIONS.len();
const FOLLOWERS: usize = TRANSFORMS + 1;
const BYTES: usize = FOLLOWERS + 1;
const HIST: usize = BYTES + 1;
/// Per histogram: one cell per bucket, +Inf, then the sum in microseconds.
const HIST_CELLS: usize = BUCKETS_US.len() + 2;
const PROC: usize = HIST + STAGES.len() * HIST_CELLS;
/// Per process slot: its pid (0 = free) and its transforms in flight; the overflow slot last.
const PROC_CELLS: usize = 2;
const STORAGE: usize = PROC + (PROCESS_SLOTS + 1) * PROC_CELLS;
/// Per storage row: name length + 1 (0 = unused), the name, then the fields below.
const NAME_WORDS: usize = NAME_BYTES / 8;
const ROW_FAULTS: usize = 1 + NAME_WORDS;
const ROW_OPENS: usize = ROW_FAULTS + 1;
const ROW_FALLBACK: usize = ROW_OPENS + 1;
const ROW_OPEN: usize = ROW_FALLBACK + 1;
const ROW_SINCE_MS: usize = ROW_OPEN + 1;
const ROW_UNTIL_MS: usize = ROW_SINCE_MS + 1;
const ROW_CELLS: usize = ROW_UNTIL_MS + 1;

/// Cells a laid-out array has (about 40 KB of shared memory).
pub const CELLS: usize = STORAGE + STORAGE_ROWS * ROW_CELLS;

// The layout, checked when compiling: one cell per label value, a small segment.
const _: () = assert!(STAGES.len() == Stage::Total as usize + 1);
const _: () = assert!(REJECTIONS.len() == Rejection::Coalesced as usize + 1);
const _: () = assert!(NAME_WORDS * 8 == NAME_BYTES);
const _: () = assert!(CELLS * 8 < 64 * 1024);

/// The cells: the shared segment the adapter mapped, or a private array (tests, the CLI, a
/// child whose segment could not be made).
#[derive(Clone)]
enum Cells {
    Shared(&'static [AtomicU64]),
    Private(Arc<[AtomicU64]>),
}

/// A handle on the counters, cheap to clone. Bound to one process slot once the child has
/// claimed one ([`Metrics::for_process`]).
#[derive(Clone)]
pub struct Metrics {
    cells: Cells,
    process: usize,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.cells {
            Cells::Shared(_) => "shared",
            Cells::Private(_) => "private",
        };
        write!(f, "Metrics({kind}, process slot {})", self.process)
    }
}

impl Default for Metrics {
    /// Counters of this process alone, laid out and zero.
    fn default() -> Self {
        let cells: Arc<[AtomicU64]> = (0..CELLS).map(|_| AtomicU64::new(0)).collect();
        init(&cells, SystemTime::now());
        Metrics {
            cells: Cells::Private(cells),
            process: PROCESS_SLOTS,
        }
    }
}

/// Lays out a zeroed array (header, the overflow storage row); the magic is written last.
fn init(cells: &[AtomicU64], now: SystemTime) {
    cells[H_CELLS].store(CELLS as u64, Relaxed);
    cells[H_CREATED_MS].store(unix_ms(now), Relaxed);
    write_name(&cells[row(STORAGE_ROWS - 1)..], OVERFLOW_STORAGE);
    cells[H_MAGIC].store(MAGIC, Release);
}

fn row(index: usize) -> usize {
    STORAGE + index * ROW_CELLS
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn write_name(row: &[AtomicU64], name: &str) {
    let bytes = name.as_bytes();
    for (i, word) in row[1..=NAME_WORDS].iter().enumerate() {
        let mut w = [0u8; 8];
        for (j, b) in w.iter_mut().enumerate() {
            *b = bytes.get(i * 8 + j).copied().unwrap_or(0);
        }
        word.store(u64::from_le_bytes(w), Relaxed);
    }
    row[0].store(bytes.len() as u64 + 1, Release);
}

fn read_name(row: &[AtomicU64]) -> Option<String> {
    let len = row[0].load(std::sync::atomic::Ordering::Acquire);
    if len == 0 {
        return None;
    }
    let bytes: Vec<u8> = row[1..=NAME_WORDS]
        .iter()
        .flat_map(|w| w.load(Relaxed).to_le_bytes())
        .take((len - 1) as usize)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The label a storage URL is shown under: no user information (`user:secret@`), no query
/// string, at most [`NAME_BYTES`] bytes.
pub fn storage_label(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let label = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    };
    let mut end = label.len().min(NAME_BYTES);
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    label[..end].to_string()
}

/// What one request did, for [`Metrics::record`] (built by the handler).
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub status: u16,
    /// The Content-Type of a 200.
    pub content_type: Option<&'static str>,
    /// Body bytes handed to httpd (0 for HEAD and errors).
    pub body_bytes: u64,
    pub rejected: Option<Rejection>,
    /// Shared an identical request's render instead of rendering.
    pub follower: bool,
    /// Rendered an image (decode, resize, encode ran).
    pub transformed: bool,
    /// Time per [`Stage`], where the request went through it.
    pub times: [Option<Duration>; 6],
}

impl Metrics {
    /// A handle on a shared array: lays it out if it is all zero (just mapped), else checks
    /// that this layout made it. Only httpd's parent attaches, before any child runs.
    pub fn attach(cells: &'static [AtomicU64], now: SystemTime) -> Result<Metrics, String> {
        if cells.len() < CELLS {
            return Err(format!("{} cells, {CELLS} needed", cells.len()));
        }
        match cells[H_MAGIC].load(std::sync::atomic::Ordering::Acquire) {
            0 => init(cells, now),
            MAGIC => {}
            other => {
                return Err(format!(
                    "laid out by another version of mod_tofu ({other:#x})"
                ))
            }
        }
        Ok(Metrics {
            cells: Cells::Shared(cells),
            process: PROCESS_SLOTS,
        })
    }

    fn cells(&self) -> &[AtomicU64] {
        match &self.cells {
            Cells::Shared(c) => c,
            Cells::Private(c) => c,
        }
    }

    fn add(&self, cell: usize, n: u64) {
        self.cells()[cell].fetch_add(n, Relaxed);
    }

    fn get(&self, cell: usize) -> u64 {
        self.cells()[cell].load(Relaxed)
    }

    /// When the counters started (the segment was laid out).
    pub fn started(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.get(H_CREATED_MS))
    }

    /// Adds one request: its status class and code, format, bytes, cause of a 503, role and
    /// the time of every stage it went through. About a dozen relaxed atomic additions.
    pub fn record(&self, o: &Observation) {
        let class = usize::from(o.status / 100).clamp(1, 5) - 1;
        self.add(CLASS + class, 1);
        let code = CODES
            .iter()
            .position(|&c| c == o.status)
            .unwrap_or(CODES.len());
        self.add(CODE + code, 1);
        if let Some(mime) = o.content_type {
            let name = mime.strip_prefix("image/").unwrap_or("");
            let format = FORMATS
                .iter()
                .position(|&f| f == name)
                .unwrap_or(FORMATS.len() - 1);
            self.add(FORMAT + format, 1);
        }
        if o.body_bytes > 0 {
            self.add(BYTES, o.body_bytes);
        }
        if let Some(cause) = o.rejected {
            self.add(REJECT + cause as usize, 1);
        }
        if o.follower {
            self.add(FOLLOWERS, 1);
        }
        if o.transformed {
            self.add(TRANSFORMS, 1);
        }
        for (stage, time) in o.times.iter().enumerate() {
            if let Some(time) = time {
                self.observe(stage, *time);
            }
        }
    }

    /// Two additions: the bucket the time falls in, and the sum (counts are read as the sum of
    /// the buckets, so `_count` and the `+Inf` bucket always agree).
    fn observe(&self, stage: usize, time: Duration) {
        let us = time.as_micros().min(u128::from(u64::MAX)) as u64;
        let bucket = BUCKETS_US
            .iter()
            .position(|&le| us <= le)
            .unwrap_or(BUCKETS_US.len());
        let base = HIST + stage * HIST_CELLS;
        self.add(base + bucket, 1);
        self.add(base + HIST_CELLS - 1, us);
    }

    /// This handle bound to a process slot of its own for `pid`: a free one, or one whose
    /// process `alive` says is gone. Without a free slot, the shared overflow slot.
    pub fn for_process(&self, pid: u32, alive: impl Fn(u32) -> bool) -> Metrics {
        let cells = self.cells();
        let pid = u64::from(pid);
        let claimed = (0..PROCESS_SLOTS).find(|&slot| {
            let owner = &cells[PROC + slot * PROC_CELLS];
            let current = owner.load(Relaxed);
            let free = current == 0 || current == pid || !alive(current as u32);
            if free
                && owner
                    .compare_exchange(current, pid, Relaxed, Relaxed)
                    .is_ok()
            {
                // A dead child's transforms are no longer in flight.
                cells[PROC + slot * PROC_CELLS + 1].store(0, Relaxed);
                true
            } else {
                false
            }
        });
        Metrics {
            cells: self.cells.clone(),
            process: claimed.unwrap_or(PROCESS_SLOTS),
        }
    }

    /// Counts a transform in flight in this process until the guard is dropped.
    pub fn transform_started(&self) -> InFlight<'_> {
        let cell = &self.cells()[PROC + self.process * PROC_CELLS + 1];
        cell.fetch_add(1, Relaxed);
        InFlight(cell)
    }

    /// Transforms in flight in the processes `alive` says still run, and how many of those
    /// processes there are (the overflow slot counts as none).
    pub fn in_flight(&self, alive: impl Fn(u32) -> bool) -> (u64, u64) {
        let cells = self.cells();
        let (mut transforms, mut processes) = (self.get(PROC + PROCESS_SLOTS * PROC_CELLS + 1), 0);
        for slot in 0..PROCESS_SLOTS {
            let pid = cells[PROC + slot * PROC_CELLS].load(Relaxed);
            if pid != 0 && alive(pid as u32) {
                processes += 1;
                transforms += cells[PROC + slot * PROC_CELLS + 1].load(Relaxed);
            }
        }
        (transforms, processes)
    }

    /// Gives `url`'s storage a row (httpd's parent, at startup and on every restart; one
    /// writer, before the children of that generation fork). Idempotent; false when the table
    /// is full and the storage shares the overflow row.
    pub fn register_storage(&self, url: &str) -> bool {
        let label = storage_label(url);
        let cells = self.cells();
        for index in 0..STORAGE_ROWS - 1 {
            let r = &cells[row(index)..row(index + 1)];
            match read_name(r) {
                Some(name) if name == label => return true,
                Some(_) => {}
                None => {
                    write_name(r, &label);
                    return true;
                }
            }
        }
        false
    }

    /// The meter of `url`'s storage (its row, or the overflow row): what a storage stack of a
    /// child reports its faults and breaker changes to.
    pub fn storage(&self, url: &str) -> StorageMeter {
        let label = storage_label(url);
        let cells = self.cells();
        let index = (0..STORAGE_ROWS - 1)
            .find(|&i| read_name(&cells[row(i)..row(i + 1)]).as_deref() == Some(label.as_str()))
            .unwrap_or(STORAGE_ROWS - 1);
        StorageMeter {
            metrics: self.clone(),
            row: row(index),
        }
    }

    /// Every storage row in use, in registration order.
    pub fn storages(&self, now: SystemTime) -> Vec<StorageState> {
        let cells = self.cells();
        let now_ms = unix_ms(now);
        (0..STORAGE_ROWS)
            .filter_map(|i| {
                let r = &cells[row(i)..row(i + 1)];
                let name = read_name(r)?;
                let field = |f: usize| r[f].load(Relaxed);
                let open = (field(ROW_OPEN) == 1 && now_ms < field(ROW_UNTIL_MS))
                    .then(|| (field(ROW_SINCE_MS), field(ROW_UNTIL_MS)));
                let overflow = i == STORAGE_ROWS - 1;
                if overflow && field(ROW_FAULTS) + field(ROW_FALLBACK) + field(ROW_OPENS) == 0 {
                    return None;
                }
                Some(StorageState {
                    name,
                    faults: field(ROW_FAULTS),
                    opens: field(ROW_OPENS),
                    fallback_uses: field(ROW_FALLBACK),
                    open_since_ms: open.map(|o| o.0),
                    open_until_ms: open.map(|o| o.1),
                })
            })
            .collect()
    }

    /// The state of `url`'s storage (None when it has no row of its own).
    pub fn storage_state(&self, url: &str, now: SystemTime) -> Option<StorageState> {
        let label = storage_label(url);
        self.storages(now).into_iter().find(|s| s.name == label)
    }
}

/// Keeps a transform counted in flight; drop it when the transform ends.
pub struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// One storage's row, as a child's storage stack updates it.
#[derive(Debug, Clone)]
pub struct StorageMeter {
    metrics: Metrics,
    row: usize,
}

impl Default for StorageMeter {
    /// A meter on counters of its own (nobody reads them).
    fn default() -> Self {
        Metrics::default().storage("")
    }
}

impl StorageMeter {
    /// A fault of the store (error, timeout) on the primary.
    pub fn fault(&self) {
        self.metrics.add(self.row + ROW_FAULTS, 1);
    }

    /// A fallback served what the primary did not.
    pub fn fallback_used(&self) {
        self.metrics.add(self.row + ROW_FALLBACK, 1);
    }

    /// This child's breaker for the storage opened at `now` until `until`. The row stays open
    /// since the first opening while any child's breaker keeps it open.
    pub fn opened(&self, now: SystemTime, until: SystemTime) {
        let cells = self.metrics.cells();
        if cells[self.row + ROW_OPEN].load(Relaxed) == 0 {
            cells[self.row + ROW_SINCE_MS].store(unix_ms(now), Relaxed);
            cells[self.row + ROW_OPEN].store(1, Relaxed);
            self.metrics.add(self.row + ROW_OPENS, 1);
        }
        cells[self.row + ROW_UNTIL_MS].fetch_max(unix_ms(until), Relaxed);
    }

    /// The primary answered (a fault-free answer, a 404 included): the storage works, whatever
    /// another child's breaker still thinks. One relaxed load when the row is closed (the
    /// clock is read only to close it).
    pub fn answered(&self, now: impl FnOnce() -> SystemTime) {
        let cells = self.metrics.cells();
        if cells[self.row + ROW_OPEN].load(Relaxed) == 1 {
            cells[self.row + ROW_OPEN].store(0, Relaxed);
            cells[self.row + ROW_SINCE_MS].store(unix_ms(now()), Relaxed);
            cells[self.row + ROW_UNTIL_MS].store(0, Relaxed);
        }
    }
}

/// What a storage row says, read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageState {
    /// Its URL as [`storage_label`] shows it.
    pub name: String,
    pub faults: u64,
    /// Times a breaker opened for it (from closed).
    pub opens: u64,
    pub fallback_uses: u64,
    /// While a breaker is open (within its cooldown): since when, in Unix milliseconds.
    pub open_since_ms: Option<u64>,
    pub open_until_ms: Option<u64>,
}

#[cfg(test)]
mod tests;
