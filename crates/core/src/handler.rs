//! One request through the core: route → verify → admit → fetch → transform → response.
//!
//! Plain Rust: it takes the merged config and what the request said, and returns a [`Reply`] that
//! the Apache adapter writes out. Keeping httpd out of here is what lets unit tests drive the
//! whole flow.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::coalesce::Role;
use crate::conditional;
use crate::config::DirConfig;
use crate::error::{LogLevel, TofuError};
use crate::expiry;
use crate::metrics::{Observation, Rejection, Stage};
use crate::negotiate::{self, FormatChoice};
use crate::process::{ProcessState, Rendered};
use crate::storage::{Storage, StorageError, Validators};
use crate::transform::{self, Job, Limits};
use crate::url::{self, ImageRequest};

/// The parts of an HTTP request the handler reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestInfo<'a> {
    /// `GET`, `HEAD`, …
    pub method: &'a str,
    /// The path as the client sent it: not percent-decoded, no query string.
    pub raw_path: &'a str,
    pub accept: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
}

/// What to send back. On an error the adapter returns `status` to httpd (so `ErrorDocument`
/// applies) instead of writing `body`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Content-Type of `body` (success only).
    pub content_type: Option<&'static str>,
    /// The ETag of a 200 or 304.
    pub etag: Option<String>,
    /// The other response headers, in order (`TofuCacheTag`'s names come from the config).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The rendered image (success only), shared with coalesced requests: never copied.
    pub image: Option<Arc<Rendered>>,
    /// One line a client may read (400/422), shown unless an ErrorDocument takes over.
    pub error_message: Option<String>,
    /// The error-log line of a non-2xx answer, with its level.
    pub log: Option<(LogLevel, String)>,
    /// Values for `r->notes` (`%{tofu-…}n` in a LogFormat): outcome and timings.
    pub notes: Vec<(&'static str, String)>,
}

/// The validators and cache headers of a 200 or a 304 of one URL (RFC 9110 wants them repeated
/// on the 304).
struct Validated {
    etag: String,
    headers: Vec<(Cow<'static, str>, String)>,
}

impl Reply {
    /// A 200 with the rendered image.
    fn ok(rendered: Arc<Rendered>, validated: Validated) -> Reply {
        Reply {
            status: 200,
            content_type: Some(rendered.encoded.format.mime_type()),
            etag: Some(validated.etag),
            headers: validated.headers,
            image: Some(rendered),
            error_message: None,
            log: None,
            notes: Vec::new(),
        }
    }

    /// A 304: the client's copy is current; nothing was fetched or decoded.
    fn not_modified(validated: Validated, raw_path: &str) -> Reply {
        Reply {
            status: 304,
            content_type: None,
            etag: Some(validated.etag),
            headers: validated.headers,
            image: None,
            error_message: None,
            log: Some((LogLevel::Debug, format!("304 not modified [{raw_path}]"))),
            notes: Vec::new(),
        }
    }

    /// The answer to a failure: status, cache policy by status class, log line.
    pub fn from_error(config: &DirConfig, request: RequestInfo<'_>, error: &TofuError) -> Reply {
        let status = error.status();
        let cache_control = if status >= 500 {
            // A storage blip must never be pinned in a CDN.
            "no-store".to_string()
        } else {
            config.error_cache_control().to_string()
        };
        let mut headers = vec![("Cache-Control".into(), cache_control)];
        if let Some(seconds) = error.retry_after() {
            headers.push(("Retry-After".into(), seconds.to_string()));
        }
        if matches!(error, TofuError::MethodNotAllowed(_)) {
            headers.push(("Allow".into(), "GET, HEAD".to_string()));
        }
        Reply {
            status,
            content_type: None,
            etag: None,
            headers,
            image: None,
            error_message: error.public_message().map(str::to_string),
            log: Some((
                error.log_level(),
                format!("{status} {error} [{}]", request.raw_path),
            )),
            notes: vec![("tofu-error", error.to_string())],
        }
    }

    /// The bytes to send (empty for anything but a 200).
    pub fn body(&self) -> &[u8] {
        self.image
            .as_ref()
            .map(|r| r.encoded.bytes.as_slice())
            .unwrap_or_default()
    }

    /// The value of the response header called `name` (the ETag included).
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("ETag") {
            return self.etag.as_deref();
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How long a coalesced follower waits for its leader beyond the queue timeout.
pub const FOLLOWER_EXTRA_WAIT: Duration = Duration::from_secs(30);

/// Where a request's time went, for the notes.
#[derive(Debug, Default, Clone)]
struct Timings {
    fetch: Option<Duration>,
    queue: Option<Duration>,
    transform: Option<Duration>,
    /// Decode, resize and encode inside `transform` (for the leader that rendered).
    stages: Option<transform::StageTimes>,
    /// Why the primary storage did not serve, when TofuFallbackStorage did.
    fallback: Option<String>,
}

/// Serves one request with the merged config of its location and its process's state.
pub fn handle(config: &DirConfig, process: &ProcessState, request: RequestInfo<'_>) -> Reply {
    let started = Instant::now();
    let mut exchange = Exchange {
        config,
        process,
        request,
        timings: Timings::default(),
        role: None,
        cache_tags: Vec::new(),
        rejected: None,
    };
    // A bug in one request is that request's 500 (no-store, like every 5xx), never a crashed
    // worker; the adapter's own guard is only the last resort for its glue code.
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exchange.serve()));
    let mut reply = match served {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => Reply::from_error(config, request, &error),
        Err(panic) => {
            let reason = format!(
                "panic: {}; the worker keeps serving",
                panic_message(&*panic)
            );
            Reply::from_error(config, request, &TofuError::Internal(reason))
        }
    };
    let Exchange {
        timings,
        role,
        cache_tags,
        rejected,
        ..
    } = exchange;
    // Every answer about a verified URL's original that a cache may keep (200, 304, 404, 422,
    // a 400 found after the fetch) carries its purge tags; a 5xx is no-store, nothing to purge.
    // Not part of the ETag: the bytes are the same with or without them.
    if reply.status < 500 {
        reply.headers.extend(
            cache_tags
                .into_iter()
                .map(|(h, v)| (Cow::Owned(h.to_string()), v)),
        );
    }
    if let Some(reason) = &timings.fallback {
        // Served, but the primary storage is failing: the operator must hear of it.
        if reply.log.is_none() {
            reply.log = Some((
                LogLevel::Warn,
                format!(
                    "{} served by the fallback storage, the primary failed: {reason} [{}]",
                    reply.status, request.raw_path
                ),
            ));
        }
        reply.notes.push(("tofu-storage", "fallback".to_string()));
    }
    if reply.log.is_none() {
        // Served, but the source's colour profile was ignored (taken as sRGB): why, for
        // `LogLevel tofu:debug`.
        if let Some(note) = reply
            .image
            .as_ref()
            .and_then(|r| r.encoded.colour_note.as_ref())
        {
            reply.log = Some((LogLevel::Debug, format!("{note} [{}]", request.raw_path)));
        }
    }
    let total = started.elapsed();
    process.metrics.record(&observation(
        &reply, request, &timings, role, rejected, total,
    ));
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    reply.notes.push(("tofu-status", reply.status.to_string()));
    if let Some(stages) = timings.stages {
        reply
            .notes
            .push(("tofu-decoder", stages.decoder.to_string()));
    }
    if let Some(role) = role {
        let name = match role {
            Role::Leader => "leader",
            Role::Follower => "follower",
        };
        reply.notes.push(("tofu-coalesced", name.to_string()));
    }
    for (name, value) in [
        ("tofu-fetch-ms", timings.fetch),
        ("tofu-queue-ms", timings.queue),
        ("tofu-transform-ms", timings.transform),
        ("tofu-decode-ms", timings.stages.map(|s| s.decode)),
        ("tofu-resize-ms", timings.stages.map(|s| s.resize)),
        ("tofu-encode-ms", timings.stages.map(|s| s.encode)),
        ("tofu-total-ms", Some(total)),
    ] {
        if let Some(value) = value {
            reply.notes.push((name, ms(value)));
        }
    }
    reply
}

/// What the shared counters learn from one answer (`metrics`). A follower's 503 counts as
/// `coalesced`, whatever refused the identical request it waited on.
fn observation(
    reply: &Reply,
    request: RequestInfo<'_>,
    timings: &Timings,
    role: Option<Role>,
    rejected: Option<Rejection>,
    total: Duration,
) -> Observation {
    let follower = role == Some(Role::Follower);
    let stages = timings.stages;
    let mut times = [None; 6];
    times[Stage::Fetch as usize] = timings.fetch;
    times[Stage::Queue as usize] = timings.queue;
    times[Stage::Decode as usize] = stages.map(|s| s.decode);
    times[Stage::Resize as usize] = stages.map(|s| s.resize);
    times[Stage::Encode as usize] = stages.map(|s| s.encode);
    times[Stage::Total as usize] = Some(total);
    Observation {
        status: reply.status,
        content_type: reply.content_type.filter(|_| reply.status == 200),
        body_bytes: if request.method == "HEAD" {
            0
        } else {
            reply.body().len() as u64
        },
        rejected: match (reply.status, follower) {
            (503, true) => Some(Rejection::Coalesced),
            (503, false) => rejected,
            _ => None,
        },
        follower,
        transformed: stages.is_some(),
        times,
    }
}

/// The cause to count when a storage answer is a 503: the primary's breaker is open.
fn breaker_rejection(error: &StorageError) -> Option<Rejection> {
    matches!(error, StorageError::Unavailable { .. }).then_some(Rejection::Breaker)
}

/// The words of a panic's payload, for the log line (the handler's and the adapter's guards).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// One request on its way through the core, and what it learnt on the way (for the notes).
struct Exchange<'a> {
    config: &'a DirConfig,
    process: &'a ProcessState,
    request: RequestInfo<'a>,
    timings: Timings,
    /// Whether this request rendered or shared a concurrent identical request's result.
    role: Option<Role>,
    /// The `TofuCacheTag` headers, known once the signature is verified: never from an id
    /// nobody signed.
    cache_tags: Vec<(Arc<str>, String)>,
    /// What refused this request with a 503, for the counters.
    rejected: Option<Rejection>,
}

impl Exchange<'_> {
    fn serve(&mut self) -> Result<Reply, TofuError> {
        let (config, process, request) = (self.config, self.process, self.request);
        if request.method != "GET" && request.method != "HEAD" {
            return Err(TofuError::MethodNotAllowed(request.method.to_string()));
        }
        config.check_servable().map_err(TofuError::Misconfigured)?;
        let rest = strip_prefix(config, request.raw_path)?;
        let image = url::parse_with(rest, |ops| config.resolve_ops(ops))?;
        verify(config, &image)?;
        // Past its expiry a URL is 404 before anything is looked up: no 304 either, whatever
        // the client holds.
        if let Some(expires) = image.expires {
            expiry::check(expires, SystemTime::now())?;
        }
        let spec = config
            .storage_spec()
            .ok_or_else(|| TofuError::Misconfigured("no storage".into()))?;
        let storage = process.storages.get(&spec);
        let key = config.source_key(&image.id);
        self.cache_tags = config.cache_tag_headers(&image.id, &key);
        let choice = format_choice(config, &image, request.accept);
        let negotiable = image.format.is_none() && !config.auto_formats().is_empty();
        let settings = config.answer_settings(&image.ops);
        let validated = |version: &Validators| {
            validated(config, &image, &settings, choice, version, negotiable)
        };

        if request.if_none_match.is_some() || request.if_modified_since.is_some() {
            let version = storage
                .stat(&key)
                .inspect_err(|e| self.rejected = breaker_rejection(e))?;
            let validated = validated(&version);
            if conditional::not_modified(
                request.if_none_match,
                request.if_modified_since,
                &validated.etag,
                version.modified,
            ) {
                return Ok(Reply::not_modified(validated, request.raw_path));
            }
        }

        let job = Job {
            ops: image.ops,
            format: choice.requested(),
            default_quality: config.default_quality(),
        };
        // Identical concurrent misses (same settings and storage, original, URL and format
        // choice) render once.
        let flight = format!("{settings}\0{key}\0{}\0{choice:?}", image.signed_string());
        let (rendered, role) = process.coalescer.run(
            &flight,
            config.queue_timeout() + FOLLOWER_EXTRA_WAIT,
            || {
                Err(TofuError::Internal(
                    "the coalesced request rendering this image failed".into(),
                ))
            },
            || {
                Err(TofuError::Overloaded {
                    reason: "an identical request is still rendering".into(),
                    retry_after_secs: 1,
                })
            },
            || self.render(&*storage, &key, &job),
        );
        self.role = Some(role);
        let rendered = rendered?;
        let validated = validated(&rendered.validators);
        Ok(Reply::ok(rendered, validated))
    }

    /// Takes one of the process's transform slots, then fetches the original and transforms it.
    ///
    /// The slot comes first (DESIGN.md step 3) so that memory follows `TofuConcurrency`: a burst
    /// of distinct misses holds at most that many originals per child, and the requests that
    /// cannot get a slot are answered 503 before anything is downloaded.
    fn render(
        &mut self,
        storage: &dyn Storage,
        key: &str,
        job: &Job,
    ) -> Result<Arc<Rendered>, TofuError> {
        let (config, process) = (self.config, self.process);
        let queued = Instant::now();
        let capacity = config.concurrency();
        let Some(_slot) = process.admission.acquire(capacity, config.queue_timeout()) else {
            self.rejected = Some(Rejection::Queue);
            return Err(TofuError::Overloaded {
                reason: format!(
                    "all {capacity} transform slots stayed busy for {:?}",
                    config.queue_timeout()
                ),
                retry_after_secs: config.queue_timeout().as_secs().max(1) as u32,
            });
        };
        let _in_flight = process.metrics.transform_started();
        self.timings.queue = Some(queued.elapsed());

        let started = Instant::now();
        let original = storage
            .get(key, config.max_source_bytes())
            .inspect_err(|e| self.rejected = breaker_rejection(e))?;
        self.timings.fetch = Some(started.elapsed());
        self.timings.fallback = original.fallback_reason;
        let source = original.bytes;

        let transforming = Instant::now();
        let limits = Limits {
            max_source_pixels: config.max_source_pixels(),
        };
        let encoded = transform::run(&source, job, &limits)?;
        // The original is freed before the slot, so that a waiting request's download never
        // overlaps it.
        drop(source);
        self.timings.transform = Some(transforming.elapsed());
        self.timings.stages = Some(encoded.stages);
        Ok(Arc::new(Rendered {
            encoded,
            validators: original.validators,
        }))
    }
}

/// Which output format this request gets, and why (the ETag depends on the reason too).
fn format_choice(config: &DirConfig, image: &ImageRequest, accept: Option<&str>) -> FormatChoice {
    match image.format {
        Some(format) => FormatChoice::Explicit(format),
        None => match negotiate::choose(config.auto_formats(), accept) {
            Some(format) => FormatChoice::Negotiated(format),
            None => FormatChoice::Source,
        },
    }
}

/// The ETag and the headers of a 200 or 304: Cache-Control (capped to the seconds left for an
/// expiring URL), Last-Modified, Vary.
fn validated(
    config: &DirConfig,
    image: &ImageRequest,
    settings: &str,
    choice: FormatChoice,
    version: &Validators,
    negotiable: bool,
) -> Validated {
    let cache_control = match image.expires {
        // Now, not when the request came in: a render may have taken seconds.
        Some(expires) => expiry::cache_control(
            config.cache_control(),
            expiry::seconds_left(expires, SystemTime::now()),
        ),
        None => config.cache_control().to_string(),
    };
    let mut headers = vec![("Cache-Control".into(), cache_control)];
    if let Some(modified) = version.modified {
        headers.push(("Last-Modified".into(), conditional::http_date(modified)));
    }
    if negotiable {
        // Every answer to a negotiable URL varies by Accept, the non-converted ones included,
        // or a shared cache would hand WebP to a client that cannot decode it.
        headers.push(("Vary".into(), "Accept".to_string()));
    }
    Validated {
        etag: conditional::etag(&version.version, &image.signed_string(), settings, choice),
        headers,
    }
}

/// The path after `<prefix>/`; a path outside the prefix has no route here.
fn strip_prefix<'p>(config: &DirConfig, raw_path: &'p str) -> Result<&'p str, TofuError> {
    let prefix = config.prefix.as_deref().unwrap_or("");
    raw_path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            TofuError::NoRoute(format!(
                "path is not below the location prefix {prefix:?} (use SetHandler tofu inside <Location>)"
            ))
        })
}

fn verify(config: &DirConfig, image: &ImageRequest) -> Result<(), TofuError> {
    let keys = config
        .keys()
        .ok_or_else(|| TofuError::Misconfigured("no key".into()))?;
    if image.signature.is_empty() {
        return Err(TofuError::BadSignature("signature missing".into()));
    }
    if keys.verify(
        &image.signed_string(),
        &image.signature,
        config.signature_bytes(),
    ) {
        Ok(())
    } else {
        Err(TofuError::BadSignature(
            "signature does not match any key".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{set, SECRET};

    fn config(storage_dir: &str) -> DirConfig {
        let mut c = DirConfig::serving(Some("/img"));
        set(&mut c, "TofuSecret", SECRET).unwrap();
        set(&mut c, "TofuStorage", &format!("file://{storage_dir}")).unwrap();
        c
    }

    fn get(c: &DirConfig, path: &str) -> Reply {
        get_in(c, &ProcessState::default(), path)
    }

    /// A GET with an Accept header (or none), for the negotiation tests.
    fn get_accepting(c: &DirConfig, path: &str, accept: Option<&str>) -> Reply {
        handle(
            c,
            &ProcessState::default(),
            RequestInfo {
                method: "GET",
                raw_path: path,
                accept,
                ..RequestInfo::default()
            },
        )
    }

    fn signed(id: &str, ops: &str, ext: &str) -> String {
        let signed = format!("{id}/{ops}{ext}");
        let sig = crate::signature::sign(SECRET.as_bytes(), &signed, 16);
        format!("/img/{id}/{ops}/{sig}{ext}")
    }

    fn testdata() -> String {
        crate::TESTDATA.to_string()
    }

    const LANDSCAPE: &str = "exif-orientation/Landscape_1.jpg";

    #[test]
    fn refuses_before_touching_storage() {
        let c = config("/");
        let r = get(&c, "/img/a/100x/00112233445566778899aabbccddeeff.jpg");
        assert_eq!(r.status, 403);
        assert_eq!(r.error_message, None, "403 must not explain itself");
        assert_eq!(r.log.as_ref().unwrap().0, LogLevel::Info);
        assert_eq!(get(&c, "/img/a/100x/.jpg").status, 403);
        assert_eq!(get(&c, "/other/a/100x/00.jpg").status, 404);
        assert_eq!(get(&c, "/img/a/0100x/00.jpg").status, 404);
        let r = get(&c, &signed("a", "100x-q0", ".jpg"));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.error_message.as_deref(),
            Some("quality 0 is outside 1..100")
        );
        assert_eq!(r.header("Cache-Control"), Some("public, max-age=60"));
        let post = handle(
            &c,
            &ProcessState::default(),
            RequestInfo {
                method: "POST",
                raw_path: "/img/a/100x/00",
                ..RequestInfo::default()
            },
        );
        assert_eq!(post.status, 405);
        assert_eq!(post.header("Allow"), Some("GET, HEAD"));
    }

    #[test]
    fn missing_originals_are_404_and_cacheable_briefly() {
        let c = config(&testdata());
        let r = get(&c, &signed("nope", "100x", ".jpg"));
        assert_eq!(r.status, 404);
        assert_eq!(r.header("Cache-Control"), Some("public, max-age=60"));
    }

    #[test]
    fn serves_a_signed_image_with_validators() {
        let c = config(&testdata());
        let path = signed(LANDSCAPE, "280x210c-q80", ".png");
        let r = get(&c, &path);
        assert_eq!(r.status, 200, "{:?}", r.log);
        assert_eq!(r.content_type, Some("image/png"));
        assert!(r.body().starts_with(b"\x89PNG"));
        assert_eq!(
            r.header("Cache-Control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.header("Last-Modified").is_some());
        assert_eq!(r.header("Vary"), None);
        let again = get(&c, &path);
        assert_eq!(r.header("ETag"), again.header("ETag"));
        assert_eq!(r.body(), again.body(), "output is deterministic");
        // A baseline JPEG: libjpeg, at a DCT scale.
        let decoder = r.notes.iter().find(|(n, _)| *n == "tofu-decoder");
        assert!(
            decoder.is_some_and(|(_, v)| v.starts_with("libjpeg 1/")),
            "{decoder:?}"
        );
        for stage in [
            "tofu-transform-ms",
            "tofu-decode-ms",
            "tofu-resize-ms",
            "tofu-encode-ms",
        ] {
            assert!(r.notes.iter().any(|(n, _)| *n == stage), "{stage}");
        }
    }

    /// A GET with If-None-Match and/or If-Modified-Since.
    fn conditional_get(c: &DirConfig, path: &str, inm: Option<&str>, ims: Option<&str>) -> Reply {
        handle(
            c,
            &ProcessState::default(),
            RequestInfo {
                method: "GET",
                raw_path: path,
                if_none_match: inm,
                if_modified_since: ims,
                ..RequestInfo::default()
            },
        )
    }

    /// Storage that can stat but whose bodies fail: a 304 from it proves nothing was fetched
    /// or decoded.
    #[derive(Debug)]
    struct StatOnly(crate::storage::FileStorage);

    impl crate::storage::Storage for StatOnly {
        fn get(
            &self,
            key: &str,
            _: u64,
        ) -> Result<crate::storage::Object, crate::storage::StorageError> {
            Err(crate::storage::StorageError::Failed(format!(
                "{key}: body fetched"
            )))
        }
        fn stat(&self, key: &str) -> Result<Validators, crate::storage::StorageError> {
            self.0.stat(key)
        }
    }

    #[test]
    fn revalidation_is_answered_from_validators_alone() {
        let c = config(&testdata());
        let path = signed(LANDSCAPE, "100x", ".jpg");
        let first = get(&c, &path);
        assert_eq!(first.status, 200);
        let etag = first.header("ETag").unwrap().to_string();
        let modified = first.header("Last-Modified").unwrap().to_string();

        let mut stat_only = c.clone();
        let files = crate::storage::FileStorage::open(&testdata()).unwrap();
        // The same storage URL: the settings, and so the ETag, are those of the first answer.
        let url = c.storage_url().unwrap().to_string();
        stat_only.set_storage_backend(&url, std::sync::Arc::new(StatOnly(files)));
        let conditional =
            |inm: Option<&str>, ims: Option<&str>| conditional_get(&stat_only, &path, inm, ims);
        let r = conditional(Some(&etag), None);
        assert_eq!(r.status, 304, "{:?}", r.log);
        assert!(r.body().is_empty());
        assert_eq!(r.header("ETag"), Some(etag.as_str()));
        assert_eq!(r.header("Cache-Control"), first.header("Cache-Control"));
        assert_eq!(conditional(None, Some(&modified)).status, 304);
        // A stale tag falls through to the fetch, which this storage refuses: 502.
        assert_eq!(conditional(Some("\"other\""), Some(&modified)).status, 502);
    }

    /// Unix seconds `delta` seconds from now (negative: in the past).
    fn from_now(delta: i64) -> u64 {
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        now.checked_add_signed(delta).unwrap()
    }

    /// The number after `name=` in a Cache-Control value.
    fn directive(cache_control: &str, name: &str) -> Option<u64> {
        cache_control
            .split(", ")
            .find_map(|d| d.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.parse().unwrap())
    }

    #[test]
    fn an_expiring_url_is_cached_no_longer_than_it_lives() {
        let mut c = config(&testdata());
        let forever = get(&c, &signed(LANDSCAPE, "100x", ".jpg"));
        let path = signed(LANDSCAPE, &format!("100x-e{}", from_now(3600)), ".jpg");
        let r = get(&c, &path);
        assert_eq!(r.status, 200, "{:?}", r.log);
        let cc = r.header("Cache-Control").unwrap().to_string();
        assert!(!cc.contains("immutable"), "{cc}");
        let max_age = directive(&cc, "max-age").unwrap();
        assert!((3590..=3600).contains(&max_age), "{cc}");
        assert_eq!(
            r.body(),
            forever.body(),
            "the expiry changes nothing in the image"
        );
        // Another URL, so another ETag (and another coalescing flight), for the same bytes.
        assert_ne!(r.header("ETag"), forever.header("ETag"));
        let later = get(
            &c,
            &signed(LANDSCAPE, &format!("100x-e{}", from_now(7200)), ".jpg"),
        );
        assert_ne!(r.header("ETag"), later.header("ETag"));

        // A revalidation gets the 304 with the same capped Cache-Control.
        let etag = r.header("ETag").unwrap().to_string();
        let revalidated = conditional_get(&c, &path, Some(&etag), None);
        assert_eq!(revalidated.status, 304, "{:?}", revalidated.log);
        let cc304 = revalidated.header("Cache-Control").unwrap();
        assert!(!cc304.contains("immutable"), "{cc304}");
        assert!(directive(cc304, "max-age").unwrap() <= max_age, "{cc304}");

        // The location's own policy: the shorter of its max-age and the time left wins, and
        // s-maxage is capped likewise.
        set(
            &mut c,
            "TofuCacheControl",
            "public, max-age=600, s-maxage=86400, stale-while-revalidate=30",
        )
        .unwrap();
        let r = get(&c, &path);
        let cc = r.header("Cache-Control").unwrap();
        assert_eq!(directive(cc, "max-age"), Some(600), "{cc}");
        let s_maxage = directive(cc, "s-maxage").unwrap();
        assert!((3590..=3600).contains(&s_maxage), "{cc}");
        assert!(!cc.contains("stale-while-revalidate"), "{cc}");
        let soon = get(
            &c,
            &signed(LANDSCAPE, &format!("100x-e{}", from_now(100)), ".jpg"),
        );
        let cc = soon.header("Cache-Control").unwrap();
        assert!(directive(cc, "max-age").unwrap() <= 100, "{cc}");
        assert!(directive(cc, "s-maxage").unwrap() <= 100, "{cc}");
    }

    #[test]
    fn an_expired_url_is_the_404_of_a_missing_original() {
        let c = config(&testdata());
        let expired = |delta: i64| signed(LANDSCAPE, &format!("100x-e{}", from_now(delta)), ".jpg");
        let missing = get(&c, &signed("nope", "100x", ".jpg"));
        for path in [
            expired(-1),
            expired(0),
            signed(LANDSCAPE, "100x-e0", ".jpg"),
        ] {
            let r = get(&c, &path);
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(r.header("Cache-Control"), missing.header("Cache-Control"));
            assert_eq!(r.header("Cache-Control"), Some("public, max-age=60"));
            assert_eq!(
                (r.error_message.as_deref(), r.etag.as_deref()),
                (None, None)
            );
            let (level, line) = r.log.clone().unwrap();
            assert_eq!(level, LogLevel::Info);
            assert!(
                line.starts_with("404 expired: the URL expired at "),
                "{line}"
            );
            assert!(line.contains(" GMT (e"), "{line}");
        }

        // Conditional requests too: 404, never 304, and nothing is looked up (a storage that
        // panics on every call would make it a 500).
        let path = expired(-10);
        let mut panicking = c.clone();
        panicking.set_storage_backend("test:", Arc::new(Panicking));
        let fresh = get(&c, &signed(LANDSCAPE, "100x", ".jpg"));
        for (inm, ims) in [
            (Some("*"), None),
            (fresh.header("ETag"), None),
            (None, fresh.header("Last-Modified")),
        ] {
            let r = conditional_get(&panicking, &path, inm, ims);
            assert_eq!(r.status, 404, "{inm:?} {ims:?}: {:?}", r.log);
        }
        // The signature is checked first: an expired URL that was never signed is a 403.
        let forged = format!("/img/{LANDSCAPE}/100x-e1/00112233445566778899aabbccddeeff.jpg");
        assert_eq!(get(&c, &forged).status, 403);
    }

    #[test]
    fn presets_expire_too() {
        let mut c = config(&testdata());
        set(&mut c, "TofuPreset", "thumb 64x48c").unwrap();
        set(&mut c, "TofuPresetsOnly", "On").unwrap();
        let r = get(
            &c,
            &signed(LANDSCAPE, &format!("thumb-e{}", from_now(600)), ".png"),
        );
        assert_eq!(r.status, 200, "{:?}", r.log);
        assert!(directive(r.header("Cache-Control").unwrap(), "max-age").unwrap() <= 600);
        let thumb = get(&c, &signed(LANDSCAPE, "thumb", ".png"));
        assert_eq!(r.body(), thumb.body());
        let old = get(
            &c,
            &signed(LANDSCAPE, &format!("thumb-e{}", from_now(-1)), ".png"),
        );
        assert_eq!(old.status, 404);
        // PresetsOnly still refuses free-form ops, with or without an expiry.
        let ops = get(
            &c,
            &signed(LANDSCAPE, &format!("64x48c-e{}", from_now(600)), ".png"),
        );
        assert_eq!(ops.status, 404);
    }

    #[test]
    fn cache_tags_go_on_every_cacheable_answer_about_a_signed_original() {
        let plain = config(&testdata());
        let mut c = plain.clone();
        set(&mut c, "TofuCacheTag", "Edge-Cache-Tag photo-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Surrogate-Key photo-{id} {key}").unwrap_err();
        set(&mut c, "TofuCacheTag", "Surrogate-Key photo-{id}").unwrap();
        set(&mut c, "TofuCacheTag", "Surrogate-Key key-{key}").unwrap();
        let tags = |r: &Reply| {
            format!(
                "{} {} | {}",
                r.status,
                r.header("Edge-Cache-Tag").unwrap_or("-"),
                r.header("Surrogate-Key").unwrap_or("-")
            )
        };
        let escaped = "exif-orientation%2FLandscape_1.jpg";
        let path = signed(LANDSCAPE, "100x", ".jpg");
        let ok = get(&c, &path);
        assert_eq!(
            tags(&ok),
            format!("200 photo-{escaped} | photo-{escaped} key-{escaped}")
        );
        // The same bytes and the same ETag as without tags: purging changes nothing cached.
        let untagged = get(&plain, &path);
        assert_eq!(ok.header("ETag"), untagged.header("ETag"));
        assert_eq!(ok.body(), untagged.body());
        let revalidated = handle(
            &c,
            &ProcessState::default(),
            RequestInfo {
                method: "GET",
                raw_path: &path,
                if_none_match: ok.header("ETag"),
                ..RequestInfo::default()
            },
        );
        assert_eq!(
            tags(&revalidated),
            format!("304 photo-{escaped} | photo-{escaped} key-{escaped}")
        );
        // A missing original: its 404 is purged with the photo once it is uploaded.
        assert_eq!(
            tags(&get(&c, &signed("new%20photo,1", "100x", ".jpg"))),
            "404 photo-new%20photo%2C1 | photo-new%20photo%2C1 key-new%20photo%2C1"
        );
        // A region outside the image is found after the fetch: tagged like the original.
        assert_eq!(
            tags(&get(&c, &signed(LANDSCAPE, "100x-r0,0,9000,9000", ".jpg"))),
            format!("400 photo-{escaped} | photo-{escaped} key-{escaped}")
        );
        // No id anybody signed: no tag (not canonical, bad signature, out of range before the
        // signature is checked, another method).
        for (path, status) in [
            ("/img/a/0100x/00.jpg".to_string(), 404),
            (
                "/img/a/100x/00112233445566778899aabbccddeeff.jpg".to_string(),
                403,
            ),
            (signed("a", "100x-q0", ".jpg"), 400),
        ] {
            assert_eq!(tags(&get(&c, &path)), format!("{status} - | -"), "{path}");
        }
        // A 5xx is no-store: nothing to purge.
        let mut failing = c.clone();
        failing.set_storage_backend("test:", Arc::new(Panicking));
        assert_eq!(tags(&get(&failing, &path)), "500 - | -");
    }

    #[test]
    fn a_failing_primary_is_served_from_the_fallback_and_logged() {
        let mut c = config(&testdata());
        let files = crate::storage::FileStorage::open(&testdata()).unwrap();
        c.set_storage_backend("test:", std::sync::Arc::new(StatOnly(files)));
        let path = signed(LANDSCAPE, "100x", ".jpg");
        assert_eq!(get(&c, &path).status, 502, "no fallback yet");
        set(
            &mut c,
            "TofuFallbackStorage",
            &format!("file://{}", testdata()),
        )
        .unwrap();
        let r = get(&c, &path);
        assert_eq!(r.status, 200, "{:?}", r.log);
        let (level, line) = r.log.clone().expect("a log line");
        assert_eq!(level, LogLevel::Warn);
        assert!(
            line.contains("fallback") && line.contains("body fetched"),
            "{line}"
        );
        assert!(r.notes.contains(&("tofu-storage", "fallback".to_string())));
        // A missing original is a 404 from the primary: the fallback is not asked.
        let mut files_only = config(&testdata());
        set(&mut files_only, "TofuFallbackStorage", "file:///").unwrap();
        assert_eq!(
            get(&files_only, &signed("nope", "100x", ".jpg")).status,
            404
        );
    }

    #[test]
    fn auto_format_negotiates_webp_and_varies() {
        let mut c = config(&testdata());
        set(&mut c, "TofuAutoFormat", "On").unwrap();
        let path = signed(LANDSCAPE, "100x", "");
        let with = |accept: Option<&str>| get_accepting(&c, &path, accept);
        let webp = with(Some("image/webp,*/*"));
        assert_eq!(webp.content_type, Some("image/webp"));
        assert_eq!(webp.header("Vary"), Some("Accept"));
        let jpeg = with(Some("image/*"));
        assert_eq!(jpeg.content_type, Some("image/jpeg"));
        assert_eq!(jpeg.header("Vary"), Some("Accept"));
        assert_ne!(webp.header("ETag"), jpeg.header("ETag"));
        let explicit = get(&c, &signed(LANDSCAPE, "100x", ".jpg"));
        assert_eq!(
            explicit.header("Vary"),
            None,
            "an extension is not negotiable"
        );
    }

    #[test]
    fn auto_format_offers_the_operators_first_choice_the_client_names() {
        let mut c = config(&testdata());
        set(&mut c, "TofuAutoFormat", "avif webp").unwrap();
        let path = signed(LANDSCAPE, "100x", "");
        let with = |c: &DirConfig, accept: Option<&str>| get_accepting(c, &path, accept);
        let chrome = Some("image/avif,image/webp,image/apng,image/*,*/*;q=0.8");
        let avif = with(&c, chrome);
        assert_eq!(avif.content_type, Some("image/avif"));
        assert_eq!(avif.header("Vary"), Some("Accept"));
        let webp = with(&c, Some("image/avif;q=0,image/webp"));
        assert_eq!(webp.content_type, Some("image/webp"));
        let jpeg = with(&c, Some("*/*"));
        assert_eq!(jpeg.content_type, Some("image/jpeg"));
        assert_eq!(jpeg.header("Vary"), Some("Accept"));
        let etags = [&avif, &webp, &jpeg].map(|r| r.header("ETag").unwrap().to_string());
        assert!(
            etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
            "{etags:?}"
        );
        // A location that offers only WebP never encodes AVIF, whatever the client accepts.
        let mut webp_only = config(&testdata());
        set(&mut webp_only, "TofuAutoFormat", "On").unwrap();
        assert_eq!(with(&webp_only, chrome).content_type, Some("image/webp"));
        set(&mut webp_only, "TofuAutoFormat", "Off").unwrap();
        let off = with(&webp_only, chrome);
        assert_eq!(off.content_type, Some("image/jpeg"));
        assert_eq!(
            off.header("Vary"),
            None,
            "nothing to negotiate, nothing to vary"
        );
    }

    #[test]
    fn presets_are_signed_like_ops() {
        let mut c = config(&testdata());
        set(&mut c, "TofuPreset", "thumb 64x48c").unwrap();
        set(&mut c, "TofuPresetsOnly", "On").unwrap();
        let r = get(&c, &signed(LANDSCAPE, "thumb", ".png"));
        assert_eq!(r.status, 200, "{:?}", r.log);
        assert_eq!(get(&c, &signed(LANDSCAPE, "64x48c", ".png")).status, 404);
        assert_eq!(
            get(&c, "/img/a/thumb/00112233445566778899aabbccddeeff.png").status,
            403
        );
    }

    #[test]
    fn identical_concurrent_requests_render_once() {
        let c = config(&testdata());
        let process = ProcessState::default();
        let path = signed(LANDSCAPE, "300x", ".webp");
        let barrier = std::sync::Barrier::new(6);
        let replies: Vec<Reply> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        get_in(&c, &process, &path)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(replies.iter().all(|r| r.status == 200));
        let leaders = replies
            .iter()
            .filter(|r| r.notes.contains(&("tofu-coalesced", "leader".to_string())))
            .count();
        let renders = replies
            .iter()
            .filter(|r| r.notes.iter().any(|(n, _)| *n == "tofu-transform-ms"))
            .count();
        // Threads that arrive after the leader finished lead a flight of their own; with a
        // barrier start and a ~50 ms transform nearly all follow. At least one must have.
        assert!(leaders < 6, "no request was coalesced");
        assert_eq!(leaders, renders, "only leaders transform");
        assert!(replies.iter().all(|r| r.body() == replies[0].body()));
        assert_eq!(process.admission.in_use(), 0);
    }

    /// File storage whose fetches take `delay` and are counted, with the most that ran at once.
    #[derive(Debug)]
    struct Slow {
        files: crate::storage::FileStorage,
        delay: Duration,
        calls: std::sync::atomic::AtomicUsize,
        running: std::sync::atomic::AtomicUsize,
        most_at_once: std::sync::atomic::AtomicUsize,
    }

    impl Slow {
        fn new(delay: Duration) -> Arc<Slow> {
            Arc::new(Slow {
                files: crate::storage::FileStorage::open(&testdata()).unwrap(),
                delay,
                calls: Default::default(),
                running: Default::default(),
                most_at_once: Default::default(),
            })
        }
    }

    impl crate::storage::Storage for Slow {
        fn get(
            &self,
            key: &str,
            max: u64,
        ) -> Result<crate::storage::Object, crate::storage::StorageError> {
            use std::sync::atomic::Ordering::SeqCst;
            self.calls.fetch_add(1, SeqCst);
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.most_at_once.fetch_max(now, SeqCst);
            std::thread::sleep(self.delay);
            self.running.fetch_sub(1, SeqCst);
            self.files.get(key, max)
        }
        fn stat(&self, key: &str) -> Result<Validators, crate::storage::StorageError> {
            self.files.stat(key)
        }
    }

    /// A location whose original takes `delay` to fetch, and its storage's counters.
    fn slow_location(delay: Duration) -> (Arc<Slow>, DirConfig) {
        let slow = Slow::new(delay);
        let mut c = config(&testdata());
        c.set_storage_backend("test:", slow.clone());
        (slow, c)
    }

    #[test]
    fn originals_are_fetched_only_inside_a_transform_slot() {
        use std::sync::atomic::Ordering::SeqCst;
        let (slow, mut c) = slow_location(Duration::from_millis(30));
        set(&mut c, "TofuConcurrency", "1").unwrap();
        set(&mut c, "TofuQueueTimeout", "10").unwrap();
        let process = ProcessState::default();
        std::thread::scope(|scope| {
            for width in 0..6 {
                let (c, process) = (&c, &process);
                scope.spawn(move || {
                    let path = signed(LANDSCAPE, &format!("{}x", 40 + width), ".png");
                    let r = get_in(c, process, &path);
                    assert_eq!(r.status, 200, "{:?}", r.log);
                });
            }
        });
        assert_eq!(slow.calls.load(SeqCst), 6);
        assert_eq!(
            slow.most_at_once.load(SeqCst),
            1,
            "with TofuConcurrency 1 one original at a time is held"
        );

        // A request that cannot get a slot is refused before anything is downloaded.
        set(&mut c, "TofuQueueTimeout", "0.05").unwrap();
        let _busy = process.admission.acquire(1, Duration::ZERO).unwrap();
        let r = get_in(&c, &process, &signed(LANDSCAPE, "41x", ".jpg"));
        assert_eq!(r.status, 503);
        assert_eq!(slow.calls.load(SeqCst), 6, "no fetch for a refused request");
    }

    fn get_in(c: &DirConfig, process: &ProcessState, path: &str) -> Reply {
        handle(
            c,
            process,
            RequestInfo {
                method: "GET",
                raw_path: path,
                ..RequestInfo::default()
            },
        )
    }

    #[test]
    fn locations_sharing_a_store_never_answer_each_others_requests() {
        // Same store, same key, same URL; only the limits differ. The strict location's
        // request starts first and is still fetching when the other one arrives.
        let (_slow, mut strict) = slow_location(Duration::from_millis(300));
        set(&mut strict, "TofuMaxSourcePixels", "1000").unwrap();
        let mut roomy = strict.clone();
        set(&mut roomy, "TofuMaxSourcePixels", "50000000").unwrap();
        let process = ProcessState::default();
        let path = signed(LANDSCAPE, "100x", ".jpg");
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| get_in(&strict, &process, &path));
            std::thread::sleep(Duration::from_millis(80));
            let second = scope.spawn(|| get_in(&roomy, &process, &path));
            (first.join().unwrap(), second.join().unwrap())
        });
        assert_eq!(first.status, 422);
        assert_eq!(second.status, 200, "{:?}", second.log);
        assert!(second
            .notes
            .contains(&("tofu-coalesced", "leader".to_string())));
    }

    #[test]
    fn etags_follow_the_settings_that_change_the_bytes() {
        let mut c = config(&testdata());
        set(&mut c, "TofuPreset", "thumb 64x48c").unwrap();
        let etag = |c: &DirConfig, ops: &str| {
            let r = get(c, &signed(LANDSCAPE, ops, ".jpg"));
            assert_eq!(r.status, 200, "{:?}", r.log);
            r.header("ETag").unwrap().to_string()
        };
        let before = etag(&c, "thumb");
        assert_eq!(before, etag(&c, "thumb"), "stable");
        // Another default quality: other bytes, another tag.
        let mut quality = c.clone();
        set(&mut quality, "TofuDefaultQuality", "50").unwrap();
        assert_ne!(before, etag(&quality, "thumb"));
        // The same preset name with another definition (the URL does not change).
        let mut location = DirConfig::serving(Some("/img"));
        set(&mut location, "TofuPreset", "thumb 64x48").unwrap();
        let redefined = DirConfig::merge(&c, &location);
        assert_ne!(before, etag(&redefined, "thumb"));
        // A revalidation with the old tag is not a 304 after the change.
        let r = conditional_get(
            &quality,
            &signed(LANDSCAPE, "thumb", ".jpg"),
            Some(&before),
            None,
        );
        assert_eq!(r.status, 200);
    }

    #[test]
    fn every_answer_is_counted_once_with_the_stages_it_went_through() {
        let mut c = config(&testdata());
        set(&mut c, "TofuConcurrency", "1").unwrap();
        set(&mut c, "TofuQueueTimeout", "0.05").unwrap();
        let process = ProcessState::default();
        let path = signed(LANDSCAPE, "100x", ".webp");
        let ok = get_in(&c, &process, &path);
        assert_eq!(ok.status, 200, "{:?}", ok.log);
        let revalidated = handle(
            &c,
            &process,
            RequestInfo {
                method: "GET",
                raw_path: &path,
                if_none_match: ok.header("ETag"),
                ..RequestInfo::default()
            },
        );
        assert_eq!(revalidated.status, 304);
        assert_eq!(get_in(&c, &process, "/img/a/0100x/00.jpg").status, 404);
        let busy = process.admission.acquire(1, Duration::ZERO).unwrap();
        assert_eq!(
            get_in(&c, &process, &signed(LANDSCAPE, "101x", ".jpg")).status,
            503
        );
        drop(busy);
        let text = crate::metrics::prometheus(&process.metrics, &|_| true, SystemTime::now());
        for line in [
            "tofu_requests_total{class=\"2xx\"} 1".to_string(),
            "tofu_requests_total{class=\"3xx\"} 1".to_string(),
            "tofu_requests_total{class=\"4xx\"} 1".to_string(),
            "tofu_responses_total{code=\"503\"} 1".to_string(),
            "tofu_rejected_total{cause=\"queue\"} 1".to_string(),
            "tofu_not_modified_total 1".to_string(),
            "tofu_transforms_total 1".to_string(),
            "tofu_images_total{format=\"webp\"} 1".to_string(),
            format!("tofu_response_bytes_total {}", ok.body().len()),
            "tofu_request_duration_seconds_count 4".to_string(),
            "tofu_fetch_duration_seconds_count 1".to_string(),
            "tofu_queue_duration_seconds_count 1".to_string(),
            "tofu_encode_duration_seconds_count 1".to_string(),
            "tofu_transforms_in_flight 0".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn a_full_process_answers_503_with_retry_after() {
        let mut c = config(&testdata());
        set(&mut c, "TofuConcurrency", "1").unwrap();
        set(&mut c, "TofuQueueTimeout", "0.05").unwrap();
        let process = ProcessState::default();
        let _busy = process.admission.acquire(1, Duration::ZERO).unwrap();
        let r = get_in(&c, &process, &signed(LANDSCAPE, "100x", ".jpg"));
        assert_eq!(r.status, 503);
        assert_eq!(r.header("Retry-After"), Some("1"));
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
    }

    /// A backend with a bug.
    #[derive(Debug)]
    struct Panicking;

    impl crate::storage::Storage for Panicking {
        fn get(
            &self,
            _: &str,
            _: u64,
        ) -> Result<crate::storage::Object, crate::storage::StorageError> {
            panic!("bug in a backend")
        }
        fn stat(&self, _: &str) -> Result<Validators, crate::storage::StorageError> {
            panic!("bug in a backend")
        }
    }

    #[test]
    fn a_panic_is_a_500_that_no_cache_keeps() {
        let mut c = config(&testdata());
        c.set_storage_backend("test:", Arc::new(Panicking));
        let process = ProcessState::default();
        let r = get_in(&c, &process, &signed(LANDSCAPE, "100x", ".jpg"));
        assert_eq!(r.status, 500);
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
        let (level, line) = r.log.unwrap();
        assert_eq!(level, LogLevel::Error);
        assert!(line.contains("bug in a backend"), "{line}");
        assert_eq!(process.admission.in_use(), 0, "the slot was given back");
    }

    #[test]
    fn unconfigured_locations_are_500_no_store() {
        let c = DirConfig::serving(Some("/img"));
        let r = get(&c, "/img/a/100x/00");
        assert_eq!(r.status, 500);
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
    }
}
