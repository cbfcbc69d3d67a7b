//! Per-directory configuration: one definition per directive (name, arguments, help, parser),
//! the raw per-section values, and the child-over-parent merge.
//!
//! Like httpd's own modules, a section's config starts "unset" and a merge builds a new value
//! without touching its inputs. Everything heavy (the storage backend, the key list) sits behind
//! an `Arc`, so the merge httpd runs on every request is a handful of pointer copies. Parsers run
//! when httpd reads the config: a bad value fails at startup with Apache's file:line message.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::TofuError;
use crate::ops::Ops;
use crate::signature::{Keys, DEFAULT_SIGNATURE_BYTES, MAX_SIGNATURE_BYTES, MIN_SIGNATURE_BYTES};
use crate::storage::breaker::BreakerSettings;
use crate::storage::{self, Location, S3Options, Storage, StorageSpec};

/// `TofuMaxSourceBytes` default: 32 MiB.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = 32 << 20;
/// `TofuMaxSourcePixels` default.
pub const DEFAULT_MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// `TofuMaxOutputDimension` default.
pub const DEFAULT_MAX_OUTPUT_DIMENSION: u32 = 4096;
/// `TofuDefaultQuality` default.
pub const DEFAULT_QUALITY: u8 = 82;
/// `TofuCacheControl` default: a signed URL's output never changes, so cache it for a year.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// `TofuErrorCacheControl` default: 4xx answers are cached briefly, so a fixed original shows up.
pub const DEFAULT_ERROR_CACHE_CONTROL: &str = "public, max-age=60";
/// `TofuSourceKey` default.
pub const DEFAULT_SOURCE_KEY: &str = "{id}";
/// `TofuQueueTimeout` default.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest value `TofuMaxSourceBytes` accepts: a whole original is held in memory, and the
/// arithmetic on sizes must never overflow.
pub const MAX_SOURCE_BYTES_LIMIT: u64 = 4 << 30;
/// Largest value `TofuMaxSourcePixels` accepts (4 GB of RGBA pixels).
pub const MAX_SOURCE_PIXELS_LIMIT: u64 = 1_000_000_000;
/// Largest value `TofuMaxOutputDimension` accepts (JPEG's own limit).
pub const MAX_OUTPUT_DIMENSION_LIMIT: u32 = 65_500;

/// The values one configuration section set; `None` means "inherit".
#[derive(Clone, Default)]
pub struct DirConfig {
    /// The path of the section this config was created for (`<Location /img>` → `/img`).
    section: Option<Arc<str>>,
    /// The URL prefix of the grammar: the path of the `<Location>` that sets `SetHandler tofu`,
    /// wherever the other directives are. Set only on that section (see
    /// [`DirConfig::set_handler_here`]) and inherited by merges, so the sections merged after
    /// it (another `<Location>` covering the same URL, in any file order) keep it.
    pub prefix: Option<Arc<str>>,
    storage: Option<(Arc<str>, Location)>,
    fallback_storage: Option<(Arc<str>, Location)>,
    storage_timeout: Option<Duration>,
    breaker: Option<BreakerSettings>,
    s3_endpoint: Option<Arc<str>>,
    s3_region: Option<Arc<str>>,
    source_key: Option<Arc<str>>,
    keys: Option<Arc<Keys>>,
    signature_bytes: Option<usize>,
    max_source_bytes: Option<u64>,
    max_source_pixels: Option<u64>,
    max_output_dimension: Option<u32>,
    default_quality: Option<u8>,
    cache_control: Option<Arc<str>>,
    error_cache_control: Option<Arc<str>>,
    /// Named ops (`TofuPreset NAME OPS`): name → ops text, checked at startup.
    presets: Option<Arc<BTreeMap<String, String>>>,
    presets_only: Option<bool>,
    auto_format: Option<bool>,
    concurrency: Option<usize>,
    queue_timeout: Option<Duration>,
}

impl fmt::Debug for DirConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirConfig")
            .field("prefix", &self.prefix)
            .field("storage", &self.storage.as_ref().map(|(url, _)| url))
            .field("source_key", &self.source_key)
            .field("keys", &self.keys)
            .field("signature_bytes", &self.signature_bytes)
            .finish_non_exhaustive()
    }
}

impl DirConfig {
    /// A section's empty config; `path` is the section's argument (`<Location /img>` → `/img`).
    pub fn new(path: Option<&str>) -> Self {
        DirConfig {
            section: path.map(|p| Arc::from(p.trim_end_matches('/'))),
            ..DirConfig::default()
        }
    }

    /// The config of a section that sets `SetHandler tofu` (tests and tools: the adapter marks
    /// sections with [`DirConfig::set_handler_here`] once it knows which they are).
    pub fn serving(path: Option<&str>) -> Self {
        let mut config = DirConfig::new(path);
        config.set_handler_here();
        config
    }

    /// Records that this section sets `SetHandler tofu`: its path becomes the URL prefix of
    /// every request merged through it. At server or virtual-host level the prefix is empty.
    pub fn set_handler_here(&mut self) {
        self.prefix = Some(self.section.clone().unwrap_or_else(|| Arc::from("")));
    }

    /// The path of the section this config was created for.
    pub fn section(&self) -> Option<&str> {
        self.section.as_deref()
    }

    /// The config of a section nested in (or applied after) `parent`: what the child sets wins.
    pub fn merge(parent: &DirConfig, child: &DirConfig) -> DirConfig {
        fn pick<T: Clone>(parent: &Option<T>, child: &Option<T>) -> Option<T> {
            child.as_ref().or(parent.as_ref()).cloned()
        }
        DirConfig {
            section: pick(&parent.section, &child.section),
            prefix: pick(&parent.prefix, &child.prefix),
            storage: pick(&parent.storage, &child.storage),
            fallback_storage: pick(&parent.fallback_storage, &child.fallback_storage),
            storage_timeout: pick(&parent.storage_timeout, &child.storage_timeout),
            breaker: pick(&parent.breaker, &child.breaker),
            s3_endpoint: pick(&parent.s3_endpoint, &child.s3_endpoint),
            s3_region: pick(&parent.s3_region, &child.s3_region),
            source_key: pick(&parent.source_key, &child.source_key),
            keys: pick(&parent.keys, &child.keys),
            signature_bytes: pick(&parent.signature_bytes, &child.signature_bytes),
            max_source_bytes: pick(&parent.max_source_bytes, &child.max_source_bytes),
            max_source_pixels: pick(&parent.max_source_pixels, &child.max_source_pixels),
            max_output_dimension: pick(&parent.max_output_dimension, &child.max_output_dimension),
            default_quality: pick(&parent.default_quality, &child.default_quality),
            cache_control: pick(&parent.cache_control, &child.cache_control),
            error_cache_control: pick(&parent.error_cache_control, &child.error_cache_control),
            presets: merge_presets(&parent.presets, &child.presets),
            presets_only: pick(&parent.presets_only, &child.presets_only),
            auto_format: pick(&parent.auto_format, &child.auto_format),
            concurrency: pick(&parent.concurrency, &child.concurrency),
            queue_timeout: pick(&parent.queue_timeout, &child.queue_timeout),
        }
    }

    /// Why a location served by tofu cannot serve with this config (checked at startup).
    pub fn check_servable(&self) -> Result<(), String> {
        let mut missing = Vec::new();
        if self.storage.is_none() {
            missing.push("TofuStorage");
        }
        if self.keys.as_ref().is_none_or(|k| k.is_empty()) {
            missing.push("TofuSecret or TofuSecretFile");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "SetHandler tofu needs {} (secure by default: nothing is served unsigned)",
                missing.join(" and ")
            ))
        }
    }

    /// Why this (merged) config would refuse what its own presets promise: a preset larger than
    /// the location's `TofuMaxOutputDimension` would answer every request 400. Checked at
    /// startup for every location serving tofu.
    pub fn check_presets(&self) -> Result<(), String> {
        let max = self.max_output_dimension();
        for (name, ops) in self.presets.iter().flat_map(|p| p.iter()) {
            if let Err(e) = crate::url::parse_ops(ops, max) {
                return Err(format!(
                    "TofuPreset {name} {ops} cannot be served here: {e} (TofuMaxOutputDimension {max})"
                ));
            }
        }
        Ok(())
    }

    /// Uses `backend` as this section's storage (what `TofuStorage` does after opening a URL);
    /// lets tests and tools plug in any implementation of the storage interface.
    pub fn set_storage_backend(&mut self, url: &str, backend: Arc<dyn Storage>) {
        self.storage = Some((Arc::from(url), Location::Given(backend)));
    }

    /// Everything a child needs to build this location's storage stack (primary, fallback,
    /// breaker, timeouts, S3 options), if a storage is configured. Plain data: the backends
    /// themselves are built per child by `storage::Stacks`.
    pub fn storage_spec(&self) -> Option<StorageSpec> {
        let primary = self.storage.clone()?;
        Some(StorageSpec {
            primary,
            fallback: self.fallback_storage.clone(),
            s3: S3Options {
                endpoint: self.s3_endpoint.as_deref().map(str::to_string),
                region: self.s3_region.as_deref().map(str::to_string),
            },
            timeout: self.storage_timeout(),
            breaker: self.breaker.unwrap_or_default(),
        })
    }

    /// `TofuStorageTimeout`: the bound of one fetch from one backend, retries included.
    pub fn storage_timeout(&self) -> Duration {
        self.storage_timeout
            .unwrap_or(storage::DEFAULT_STORAGE_TIMEOUT)
    }

    /// The `TofuStorage` URL as configured, for log lines.
    pub fn storage_url(&self) -> Option<&str> {
        self.storage.as_ref().map(|(url, _)| &**url)
    }

    /// The storage key of an (already decoded) id: `TofuSourceKey` with `{id}` substituted.
    pub fn source_key(&self, id: &str) -> String {
        self.source_key
            .as_deref()
            .unwrap_or(DEFAULT_SOURCE_KEY)
            .replace("{id}", id)
    }

    /// The verification keys (empty when none is configured).
    pub fn keys(&self) -> Option<&Keys> {
        self.keys.as_deref()
    }

    pub fn signature_bytes(&self) -> usize {
        self.signature_bytes.unwrap_or(DEFAULT_SIGNATURE_BYTES)
    }

    pub fn max_source_bytes(&self) -> u64 {
        self.max_source_bytes.unwrap_or(DEFAULT_MAX_SOURCE_BYTES)
    }

    pub fn max_source_pixels(&self) -> u64 {
        self.max_source_pixels.unwrap_or(DEFAULT_MAX_SOURCE_PIXELS)
    }

    pub fn max_output_dimension(&self) -> u32 {
        self.max_output_dimension
            .unwrap_or(DEFAULT_MAX_OUTPUT_DIMENSION)
    }

    pub fn default_quality(&self) -> u8 {
        self.default_quality.unwrap_or(DEFAULT_QUALITY)
    }

    pub fn cache_control(&self) -> &str {
        self.cache_control
            .as_deref()
            .unwrap_or(DEFAULT_CACHE_CONTROL)
    }

    pub fn error_cache_control(&self) -> &str {
        self.error_cache_control
            .as_deref()
            .unwrap_or(DEFAULT_ERROR_CACHE_CONTROL)
    }

    /// `TofuConcurrency`: transforms at once per child process (default: the CPU count).
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    /// `TofuQueueTimeout`: how long a request waits for a transform slot.
    pub fn queue_timeout(&self) -> Duration {
        self.queue_timeout.unwrap_or(DEFAULT_QUEUE_TIMEOUT)
    }

    /// `TofuAutoFormat`: negotiate WebP for URLs without an extension.
    pub fn auto_format(&self) -> bool {
        self.auto_format.unwrap_or(false)
    }

    /// A digest of every setting of this location that changes the answer to a URL beyond the
    /// URL itself: the resolved ops (a preset's definition, not just its name), the default
    /// quality, the limits, where originals come from (storages, S3 endpoint and region, key
    /// template). It goes into the ETag, so that changing `TofuDefaultQuality` or a `TofuPreset`
    /// makes a revalidating CDN fetch the new bytes instead of getting a 304, and into the
    /// coalescing key, so that two locations sharing a store never answer each other's
    /// requests (a 422 under one location's limits handed to another).
    pub fn answer_settings(&self, ops: &Ops) -> String {
        use sha2::{Digest, Sha256};
        let described = format!(
            "{ops:?}|q{}|px{}|b{}|d{}|s{}|f{}|e{}|r{}|k{}",
            self.default_quality(),
            self.max_source_pixels(),
            self.max_source_bytes(),
            self.max_output_dimension(),
            self.storage_url().unwrap_or_default(),
            self.fallback_storage
                .as_ref()
                .map(|(url, _)| &**url)
                .unwrap_or_default(),
            self.s3_endpoint.as_deref().unwrap_or_default(),
            self.s3_region.as_deref().unwrap_or_default(),
            self.source_key.as_deref().unwrap_or(DEFAULT_SOURCE_KEY),
        );
        hex::encode(&Sha256::digest(described.as_bytes())[..12])
    }

    /// The ops a URL's ops segment stands for: a preset's, or (unless `TofuPresetsOnly`) the
    /// segment itself. Presets only serve what the operator named, which caps what anyone
    /// holding a leaked key can order.
    pub fn resolve_ops(&self, segment: &str) -> Result<Ops, TofuError> {
        let max = self.max_output_dimension();
        if let Some(ops) = self.presets.as_ref().and_then(|p| p.get(segment)) {
            return crate::url::parse_ops(ops, max);
        }
        if self.presets_only.unwrap_or(false) {
            return Err(TofuError::NoRoute(format!(
                "{segment:?} is not a preset and TofuPresetsOnly is on"
            )));
        }
        crate::url::parse_ops(segment, max)
    }
}

/// Presets merge by name, child over parent: a location adds to the server's presets. The
/// common case (only one level defines presets) is a pointer copy.
fn merge_presets(
    parent: &Option<Arc<BTreeMap<String, String>>>,
    child: &Option<Arc<BTreeMap<String, String>>>,
) -> Option<Arc<BTreeMap<String, String>>> {
    match (parent, child) {
        (Some(p), Some(c)) => {
            let mut all = (**p).clone();
            all.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(Arc::new(all))
        }
        (p, c) => c.as_ref().or(p.as_ref()).cloned(),
    }
}

/// A directive's parser, by the arguments it takes (the adapter maps these to `TAKE1`, `TAKE2`,
/// `FLAG`).
#[derive(Clone, Copy)]
pub enum Setter {
    One(fn(&mut DirConfig, &str) -> Result<(), String>),
    Two(fn(&mut DirConfig, &str, &str) -> Result<(), String>),
    Flag(fn(&mut DirConfig, bool) -> Result<(), String>),
    /// One file name, which the adapter resolves against ServerRoot when relative.
    Path(fn(&mut DirConfig, &Path) -> Result<(), String>),
}

/// One directive: its name, the help Apache prints on a syntax error, and its parser.
pub struct Directive {
    pub name: &'static CStr,
    pub help: &'static CStr,
    pub set: Setter,
}

/// Every directive mod_tofu understands, in the order README documents them.
pub const DIRECTIVES: &[Directive] = &[
    Directive {
        name: c"TofuStorage",
        help: c"where originals live: file:///absolute/path or s3://bucket/prefix",
        set: Setter::One(set_storage),
    },
    Directive {
        name: c"TofuFallbackStorage",
        help: c"tried when TofuStorage errors or times out (never on 404): file:///path or s3://bucket/prefix",
        set: Setter::One(set_fallback_storage),
    },
    Directive {
        name: c"TofuStorageTimeout",
        help: c"seconds one fetch may take, retries included, before 504 or the fallback (default 5)",
        set: Setter::One(set_storage_timeout),
    },
    Directive {
        name: c"TofuStorageBreaker",
        help: c"TofuStorageBreaker FAILURES SECONDS: after FAILURES consecutive storage faults skip the primary for SECONDS (default 5 30; 0 disables)",
        set: Setter::Two(set_breaker),
    },
    Directive {
        name: c"TofuS3Endpoint",
        help: c"URL of an S3-compatible endpoint (path-style requests); default: AWS",
        set: Setter::One(set_s3_endpoint),
    },
    Directive {
        name: c"TofuS3Region",
        help: c"S3 signing region (default: AWS_REGION or the profile's, else us-east-1)",
        set: Setter::One(set_s3_region),
    },
    Directive {
        name: c"TofuSourceKey",
        help: c"storage key template of an original; {id} is replaced by the URL's id",
        set: Setter::One(set_source_key),
    },
    Directive {
        name: c"TofuSecret",
        help: c"an HMAC key (repeatable: the first signs, all verify)",
        set: Setter::One(set_secret),
    },
    Directive {
        name: c"TofuSecretFile",
        help: c"a file of HMAC keys, one per line (the first signs, all verify)",
        set: Setter::Path(set_secret_file),
    },
    Directive {
        name: c"TofuSignatureBytes",
        help: c"length of the truncated signature in bytes, 8..32 (default 16)",
        set: Setter::One(set_signature_bytes),
    },
    Directive {
        name: c"TofuMaxSourceBytes",
        help: c"largest original accepted, in bytes (K, M, G suffixes allowed; default 32M)",
        set: Setter::One(set_max_source_bytes),
    },
    Directive {
        name: c"TofuMaxSourcePixels",
        help: c"largest original accepted, in width x height pixels (default 50000000)",
        set: Setter::One(set_max_source_pixels),
    },
    Directive {
        name: c"TofuMaxOutputDimension",
        help: c"largest width or height a URL may ask for (default 4096)",
        set: Setter::One(set_max_output_dimension),
    },
    Directive {
        name: c"TofuDefaultQuality",
        help: c"JPEG/WebP quality when the URL has no q option, 1..100 (default 82)",
        set: Setter::One(set_default_quality),
    },
    Directive {
        name: c"TofuCacheControl",
        help: c"Cache-Control of successful answers",
        set: Setter::One(set_cache_control),
    },
    Directive {
        name: c"TofuErrorCacheControl",
        help: c"Cache-Control of 404 and other 4xx answers (5xx are always no-store)",
        set: Setter::One(set_error_cache_control),
    },
    Directive {
        name: c"TofuPreset",
        help: c"TofuPreset NAME OPS: a name usable in place of ops in URLs (still signed)",
        set: Setter::Two(set_preset),
    },
    Directive {
        name: c"TofuPresetsOnly",
        help: c"On: serve only preset names, never free-form ops",
        set: Setter::Flag(|c, on| {
            c.presets_only = Some(on);
            Ok(())
        }),
    },
    Directive {
        name: c"TofuAutoFormat",
        help: c"On: URLs without an extension get WebP where the Accept header allows it",
        set: Setter::Flag(|c, on| {
            c.auto_format = Some(on);
            Ok(())
        }),
    },
    Directive {
        name: c"TofuConcurrency",
        help: c"transforms at once per child process (default: the number of CPUs)",
        set: Setter::One(set_concurrency),
    },
    Directive {
        name: c"TofuQueueTimeout",
        help: c"seconds a request waits for a transform slot before 503 (default 2)",
        set: Setter::One(set_queue_timeout),
    },
];

fn set_concurrency(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = positive(parse_count(arg, false)?)?;
    if n > 1024 {
        return Err(format!("{n} is above 1024"));
    }
    c.concurrency = Some(n as usize);
    Ok(())
}

fn set_queue_timeout(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.queue_timeout = Some(parse_seconds(arg)?);
    Ok(())
}

/// Seconds, decimals allowed (`0.5`), at most an hour.
pub fn parse_seconds(arg: &str) -> Result<Duration, String> {
    match arg.parse::<f64>() {
        Ok(s) if (0.0..=3600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{arg:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

fn set_preset(c: &mut DirConfig, name: &str, ops: &str) -> Result<(), String> {
    if !crate::url::is_preset_name(name) {
        return Err(format!(
            "preset name {name:?} must be lowercase letters, digits and _ and must not look like ops"
        ));
    }
    crate::url::parse_ops(ops, MAX_OUTPUT_DIMENSION_LIMIT)
        .map_err(|e| format!("preset {name}: ops {ops:?}: {e}"))?;
    let mut presets = c.presets.as_deref().cloned().unwrap_or_default();
    if presets.insert(name.to_string(), ops.to_string()).is_some() {
        return Err(format!("preset {name} is defined twice in this section"));
    }
    c.presets = Some(Arc::new(presets));
    Ok(())
}

fn set_storage(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.storage = Some((Arc::from(arg), storage::parse_url(arg)?));
    Ok(())
}

fn set_fallback_storage(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.fallback_storage = Some((Arc::from(arg), storage::parse_url(arg)?));
    Ok(())
}

fn set_storage_timeout(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let timeout = parse_seconds(arg)?;
    if timeout < Duration::from_millis(10) {
        return Err(format!(
            "{arg}: a storage timeout below 0.01 s would fail every fetch"
        ));
    }
    c.storage_timeout = Some(timeout);
    Ok(())
}

fn set_breaker(c: &mut DirConfig, failures: &str, seconds: &str) -> Result<(), String> {
    let failures = parse_count(failures, false)?;
    if failures > 1_000_000 {
        return Err(format!("{failures} failures is above 1000000"));
    }
    c.breaker = Some(BreakerSettings {
        failures: failures as u32,
        cooldown: parse_seconds(seconds)?,
    });
    Ok(())
}

fn set_s3_endpoint(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let rest = arg
        .strip_prefix("http://")
        .or_else(|| arg.strip_prefix("https://"))
        .ok_or_else(|| format!("{arg:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!("{arg:?} has no host"));
    }
    c.s3_endpoint = Some(Arc::from(arg.trim_end_matches('/')));
    Ok(())
}

fn set_s3_region(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("{arg:?} is not a region name (like eu-west-1)"));
    }
    c.s3_region = Some(Arc::from(arg));
    Ok(())
}

fn set_source_key(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    if !arg.contains("{id}") {
        return Err(format!("{arg:?} does not contain {{id}}"));
    }
    // Every key it makes must stay inside the storage: no leading `/`, no `.`/`..` or empty
    // segment of its own (the id's own segments are checked per request).
    if storage::key_segments(&arg.replace("{id}", "id")).is_err() {
        return Err(format!(
            "{arg:?} would make keys outside the storage (a leading /, or a ., .. or empty segment)"
        ));
    }
    c.source_key = Some(Arc::from(arg));
    Ok(())
}

/// Shortest HMAC key accepted: a shorter one can be found by brute force from a single signed
/// URL, after which anyone can order any transform.
pub const MIN_KEY_BYTES: usize = 16;

/// Appends keys: repeated directives in one section accumulate, in order.
fn add_keys(c: &mut DirConfig, new: Vec<Vec<u8>>) {
    let mut all: Vec<Vec<u8>> = Vec::new();
    if let Some(existing) = &c.keys {
        all.extend(existing.iter_keys().map(<[u8]>::to_vec));
    }
    all.extend(new);
    c.keys = Some(Arc::new(Keys::new(all)));
}

/// Refuses a key too short to resist brute force (`what` names it in the message).
fn check_key_length(key: &[u8], what: &str) -> Result<(), String> {
    if key.len() < MIN_KEY_BYTES {
        return Err(format!(
            "{what} is {} bytes; a key needs at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
            key.len()
        ));
    }
    Ok(())
}

fn set_secret(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    check_key_length(arg.as_bytes(), "the key")?;
    add_keys(c, vec![arg.as_bytes().to_vec()]);
    Ok(())
}

/// `TofuSecretFile`: the adapter hands over the path resolved against ServerRoot, as httpd
/// resolves every relative file name in its configuration.
fn set_secret_file(c: &mut DirConfig, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.permissions().mode() & 0o004 != 0 {
        return Err(format!(
            "{shown} is world-readable: anyone on the machine could sign URLs (chmod 600; httpd \
             reads it as root before it drops privileges)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    let keys = parse_secret_file(&bytes);
    if keys.is_empty() {
        return Err(format!("{shown}: no key in the file"));
    }
    for (line, key) in keys.iter().enumerate() {
        check_key_length(key, &format!("{shown}: key {}", line + 1))?;
    }
    add_keys(c, keys);
    Ok(())
}

/// True when a key file may be read by its group (not refused, but worth a warning at startup).
pub fn secret_file_group_readable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o040 != 0)
}

/// One key per line; blank lines and a trailing `\r` are ignored. Every other byte is key: a
/// key file holds bytes, not necessarily UTF-8.
pub fn parse_secret_file(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn set_signature_bytes(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = parse_count(arg, false)?;
    let range = MIN_SIGNATURE_BYTES as u64..=MAX_SIGNATURE_BYTES as u64;
    if !range.contains(&n) {
        return Err(format!(
            "{n} is outside {MIN_SIGNATURE_BYTES}..{MAX_SIGNATURE_BYTES}"
        ));
    }
    c.signature_bytes = Some(n as usize);
    Ok(())
}

fn set_max_source_bytes(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = positive(parse_count(arg, true)?)?;
    if n > MAX_SOURCE_BYTES_LIMIT {
        return Err(format!("{n} is above {MAX_SOURCE_BYTES_LIMIT} (4G)"));
    }
    c.max_source_bytes = Some(n);
    Ok(())
}

fn set_max_source_pixels(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = positive(parse_count(arg, false)?)?;
    if n > MAX_SOURCE_PIXELS_LIMIT {
        return Err(format!("{n} is above {MAX_SOURCE_PIXELS_LIMIT}"));
    }
    c.max_source_pixels = Some(n);
    Ok(())
}

fn set_max_output_dimension(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = positive(parse_count(arg, false)?)?;
    if n > u64::from(MAX_OUTPUT_DIMENSION_LIMIT) {
        return Err(format!("{n} is above {MAX_OUTPUT_DIMENSION_LIMIT}"));
    }
    c.max_output_dimension = Some(n as u32);
    Ok(())
}

fn set_default_quality(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let q = parse_count(arg, false)?;
    if !(1..=100).contains(&q) {
        return Err(format!("{q} is outside 1..100"));
    }
    c.default_quality = Some(q as u8);
    Ok(())
}

fn set_cache_control(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.cache_control = Some(header_value(arg)?);
    Ok(())
}

fn set_error_cache_control(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.error_cache_control = Some(header_value(arg)?);
    Ok(())
}

/// A header value must be one line of visible characters (no header injection via config).
fn header_value(arg: &str) -> Result<Arc<str>, String> {
    if arg.is_empty() || arg.chars().any(|ch| ch.is_control()) {
        return Err(format!("{arg:?} is not a valid header value"));
    }
    Ok(Arc::from(arg))
}

fn positive(n: u64) -> Result<u64, String> {
    if n == 0 {
        Err("must be at least 1".to_string())
    } else {
        Ok(n)
    }
}

/// A decimal count, optionally (when `suffixes`) with K, M or G for binary multiples.
fn parse_count(arg: &str, suffixes: bool) -> Result<u64, String> {
    let (digits, multiplier) = match arg.as_bytes().last() {
        Some(b'K' | b'k') if suffixes => (&arg[..arg.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') if suffixes => (&arg[..arg.len() - 1], 1 << 20),
        Some(b'G' | b'g') if suffixes => (&arg[..arg.len() - 1], 1 << 30),
        _ => (arg, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{arg:?} is not a whole number"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Applies a directive as httpd would, from its words.
    pub(crate) fn set(c: &mut DirConfig, name: &str, args: &str) -> Result<(), String> {
        let d = DIRECTIVES
            .iter()
            .find(|d| d.name.to_str() == Ok(name))
            .unwrap_or_else(|| panic!("no directive {name}"));
        match d.set {
            Setter::One(f) => f(c, args),
            Setter::Two(f) => {
                let (a, b) = args.split_once(' ').expect("two arguments");
                f(c, a, b)
            }
            Setter::Flag(f) => f(c, args.eq_ignore_ascii_case("on")),
            Setter::Path(f) => f(c, Path::new(args)),
        }
    }

    /// A key long enough to be accepted.
    pub(crate) const SECRET: &str = "tofu-unit-test-secret";

    #[test]
    fn defaults_follow_the_design() {
        let c = DirConfig::serving(Some("/img/"));
        assert_eq!(c.prefix.as_deref(), Some("/img"));
        assert_eq!(c.signature_bytes(), 16);
        assert_eq!(c.max_source_bytes(), 32 * 1024 * 1024);
        assert_eq!(c.max_source_pixels(), 50_000_000);
        assert_eq!(c.max_output_dimension(), 4096);
        assert_eq!(c.default_quality(), 82);
        assert_eq!(c.cache_control(), "public, max-age=31536000, immutable");
        assert_eq!(c.error_cache_control(), "public, max-age=60");
        assert_eq!(c.source_key("a/b"), "a/b");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let mut c = DirConfig::default();
        for (name, arg) in [
            ("TofuSignatureBytes", "7"),
            ("TofuSignatureBytes", "33"),
            ("TofuSignatureBytes", "16x"),
            ("TofuMaxSourceBytes", "0"),
            ("TofuMaxSourceBytes", "-1"),
            ("TofuMaxSourceBytes", "99999999999G"),
            ("TofuMaxSourcePixels", "10M"),
            ("TofuMaxOutputDimension", "70000"),
            ("TofuDefaultQuality", "0"),
            ("TofuDefaultQuality", "101"),
            ("TofuMaxSourceBytes", "18446744073709551615"),
            ("TofuMaxSourceBytes", "5G"),
            ("TofuMaxSourcePixels", "2000000000"),
            ("TofuSourceKey", "originals/id.jpg"),
            ("TofuSourceKey", "../{id}"),
            ("TofuSourceKey", "/x/{id}"),
            ("TofuSourceKey", "a//{id}"),
            ("TofuSourceKey", "a/./{id}"),
            ("TofuSecret", ""),
            ("TofuSecret", "fifteen-bytes!!"),
            ("TofuSecretFile", "/nonexistent/tofu/keys"),
            ("TofuStorage", "ftp://x"),
            ("TofuStorage", "file:///nonexistent/tofu"),
            ("TofuCacheControl", "public\r\nSet-Cookie: x=1"),
            ("TofuConcurrency", "0"),
            ("TofuQueueTimeout", "-1"),
            ("TofuQueueTimeout", "forever"),
            ("TofuStorage", "s3://x"),
            ("TofuFallbackStorage", "nfs://x"),
            ("TofuFallbackStorage", "file:///nonexistent/tofu"),
            ("TofuStorageTimeout", "0"),
            ("TofuStorageTimeout", "soon"),
            ("TofuStorageBreaker", "-1 30"),
            ("TofuStorageBreaker", "5 never"),
            ("TofuS3Endpoint", "127.0.0.1:9000"),
            ("TofuS3Endpoint", "http://"),
            ("TofuS3Region", "eu west"),
        ] {
            let err = set(&mut c, name, arg).expect_err(&format!("{name} {arg}"));
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn key_files_are_bytes_private_and_long_enough() {
        let dir = std::env::temp_dir().join(format!("tofu-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: &[u8], mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path.to_str().unwrap().to_string()
        };
        let mut c = DirConfig::default();
        let binary = write("binary", b"\xff\x00\x01 not UTF-8 at all \xfe\n", 0o600);
        set(&mut c, "TofuSecretFile", &binary).unwrap();
        assert_eq!(c.keys().unwrap().len(), 1);
        let public = write("public", b"a-long-enough-key-for-hmac\n", 0o644);
        let err = set(&mut c, "TofuSecretFile", &public).unwrap_err();
        assert!(err.contains("world-readable"), "{err}");
        let short = write("short", b"a-long-enough-key-for-hmac\nshort\n", 0o600);
        let err = set(&mut c, "TofuSecretFile", &short).unwrap_err();
        assert!(err.contains("key 2 is 5 bytes"), "{err}");
        let group = write("group", b"a-long-enough-key-for-hmac\n", 0o640);
        assert!(set(&mut c, "TofuSecretFile", &group).is_ok());
        assert!(secret_file_group_readable(Path::new(&group)));
        assert!(!secret_file_group_readable(Path::new(&binary)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn good_values_are_kept() {
        let mut c = DirConfig::default();
        set(&mut c, "TofuMaxSourceBytes", "8M").unwrap();
        set(&mut c, "TofuSignatureBytes", "8").unwrap();
        set(&mut c, "TofuSourceKey", "originals/{id}.jpg").unwrap();
        set(&mut c, "TofuStorage", "file:///").unwrap();
        set(&mut c, "TofuQueueTimeout", "0.5").unwrap();
        set(&mut c, "TofuConcurrency", "3").unwrap();
        assert_eq!(c.queue_timeout(), Duration::from_millis(500));
        assert_eq!(c.concurrency(), 3);
        assert_eq!(c.max_source_bytes(), 8 << 20);
        assert_eq!(c.signature_bytes(), 8);
        assert_eq!(c.source_key("12/3"), "originals/12/3.jpg");
        assert_eq!(c.storage_url(), Some("file:///"));
    }

    #[test]
    fn storage_directives_build_a_spec_of_plain_data() {
        let mut server = DirConfig::default();
        set(&mut server, "TofuS3Endpoint", "http://127.0.0.1:9000/").unwrap();
        set(&mut server, "TofuStorageTimeout", "1.5").unwrap();
        let mut location = DirConfig::new(Some("/img"));
        set(&mut location, "TofuStorage", "s3://tofu-originals/photos").unwrap();
        set(&mut location, "TofuFallbackStorage", "file:///").unwrap();
        set(&mut location, "TofuStorageBreaker", "3 10").unwrap();
        set(&mut location, "TofuS3Region", "eu-west-1").unwrap();
        let spec = DirConfig::merge(&server, &location).storage_spec().unwrap();
        assert!(matches!(spec.primary.1, Location::S3(_)));
        assert!(matches!(spec.fallback, Some((_, Location::File(_)))));
        assert_eq!(spec.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(spec.s3.region.as_deref(), Some("eu-west-1"));
        assert_eq!(spec.timeout, Duration::from_millis(1500));
        assert_eq!(spec.breaker.failures, 3);
        assert_eq!(spec.breaker.cooldown, Duration::from_secs(10));
        // Parsing and merging built no client: a child builds the stack on first use.
        let stacks = crate::storage::Stacks::default();
        let _stack = stacks.get(&spec);
        assert!(!stacks.s3_started(), "no runtime before the first request");

        let defaults = DirConfig::new(None);
        assert_eq!(defaults.storage_timeout(), Duration::from_secs(5));
        assert!(defaults.storage_spec().is_none());
    }

    #[test]
    fn secrets_accumulate_in_order_within_a_section() {
        let mut c = DirConfig::default();
        set(&mut c, "TofuSecret", "first-key-of-16-bytes").unwrap();
        set(&mut c, "TofuSecret", "second-key-of-16-bytes").unwrap();
        let keys = c.keys().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            keys.sign("a/1x", 16),
            Some(crate::signature::sign(b"first-key-of-16-bytes", "a/1x", 16))
        );
        assert_eq!(
            parse_secret_file(b"k1\r\n\nk 2\n\xff\xfe"),
            vec![b"k1".to_vec(), b"k 2".to_vec(), b"\xff\xfe".to_vec()]
        );
    }

    #[test]
    fn merge_is_child_over_parent_and_leaves_inputs_alone() {
        let mut parent = DirConfig::new(None);
        set(&mut parent, "TofuSecret", SECRET).unwrap();
        set(&mut parent, "TofuDefaultQuality", "70").unwrap();
        set(&mut parent, "TofuStorage", "file:///").unwrap();
        let mut child = DirConfig::serving(Some("/img"));
        set(&mut child, "TofuDefaultQuality", "90").unwrap();
        let merged = DirConfig::merge(&parent, &child);
        assert_eq!(merged.default_quality(), 90);
        assert_eq!(merged.prefix.as_deref(), Some("/img"));
        assert!(merged.keys().is_some());
        assert!(merged.check_servable().is_ok());
        assert_eq!(parent.default_quality(), 70);
        assert!(child.keys().is_none());
        assert!(child.check_servable().is_err());
    }

    #[test]
    fn the_prefix_is_the_path_of_the_section_that_sets_the_handler() {
        // Directives at server level, a bare `<Location /img> SetHandler tofu`.
        let mut server = DirConfig::new(None);
        set(&mut server, "TofuSecret", SECRET).unwrap();
        let location = DirConfig::serving(Some("/img"));
        let merged = DirConfig::merge(&server, &location);
        assert_eq!(merged.prefix.as_deref(), Some("/img"));
        // `<Location /pics> TofuDefaultQuality 70` and `<Location /pics/thumbs> SetHandler
        // tofu`, in either file order: the handler's section gives the prefix.
        let mut pics = DirConfig::new(Some("/pics"));
        set(&mut pics, "TofuDefaultQuality", "70").unwrap();
        let thumbs = DirConfig::serving(Some("/pics/thumbs"));
        for merged in [
            DirConfig::merge(&pics, &thumbs),
            DirConfig::merge(&thumbs, &pics),
        ] {
            assert_eq!(merged.prefix.as_deref(), Some("/pics/thumbs"));
            assert_eq!(merged.default_quality(), 70);
        }
        // SetHandler tofu at server level: the whole URL space, no prefix.
        let mut everywhere = DirConfig::new(None);
        everywhere.set_handler_here();
        let merged = DirConfig::merge(&everywhere, &pics);
        assert_eq!(merged.prefix.as_deref(), Some(""));
    }

    #[test]
    fn presets_resolve_merge_and_restrict() {
        let mut server = DirConfig::default();
        set(&mut server, "TofuPreset", "thumb 280x210c-q80").unwrap();
        assert!(
            set(&mut server, "TofuPreset", "thumb 100x").is_err(),
            "defined twice"
        );
        assert!(
            set(&mut server, "TofuPreset", "x100 100x").is_err(),
            "looks like ops"
        );
        assert!(
            set(&mut server, "TofuPreset", "big 100x-q0").is_err(),
            "bad ops"
        );
        let mut location = DirConfig::new(Some("/img"));
        set(&mut location, "TofuPreset", "hero 1600x").unwrap();
        let merged = DirConfig::merge(&server, &location);
        let thumb = merged.resolve_ops("thumb").unwrap();
        assert_eq!(thumb.quality, Some(80));
        assert_eq!(merged.resolve_ops("hero").unwrap().size.width, Some(1600));
        assert_eq!(merged.resolve_ops("100x").unwrap().size.width, Some(100));
        assert_eq!(merged.resolve_ops("nope").unwrap_err().status(), 404);
        set(&mut location, "TofuPresetsOnly", "On").unwrap();
        let only = DirConfig::merge(&server, &location);
        assert_eq!(only.resolve_ops("100x").unwrap_err().status(), 404);
        assert!(only.resolve_ops("thumb").is_ok());
    }

    #[test]
    fn a_location_without_storage_or_key_is_not_servable() {
        let err = DirConfig::new(Some("/img")).check_servable().unwrap_err();
        assert!(
            err.contains("TofuStorage") && err.contains("TofuSecret"),
            "{err}"
        );
    }
}
