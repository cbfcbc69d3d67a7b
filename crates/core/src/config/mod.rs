//! Per-directory configuration: the raw per-section values, the child-over-parent merge, and
//! one definition per directive (name, help, parser, default and tests together, in the file of
//! its concern), plus the startup check over the whole configuration tree (`tree`).
//!
//! Like httpd's own modules, a section's config starts "unset" and a merge builds a new value
//! without touching its inputs. Everything heavy (the storage backend, the key list) sits behind
//! an `Arc`, so the merge httpd runs on every request is a handful of pointer copies. Parsers run
//! when httpd reads the config: a bad value fails at startup with Apache's file:line message.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::TofuError;
use crate::ops::{Ops, OutputFormat};
use crate::signature::{Keys, DEFAULT_SIGNATURE_BYTES};
use crate::storage::breaker::BreakerSettings;
use crate::storage::{self, Location, S3Options, Storage, StorageSpec};

/// A `&'static CStr` from string literals and literal-producing macros (a directive's help with
/// its default written in), checked at compile time.
macro_rules! cstr {
    ($($part:expr),+ $(,)?) => {
        match ::std::ffi::CStr::from_bytes_with_nul(concat!($($part),+, "\0").as_bytes()) {
            Ok(text) => text,
            Err(_) => panic!("a help string with a NUL inside"),
        }
    };
}

mod admission;
mod cache_tags;
mod keys;
mod limits;
mod output;
mod presets;
mod sources;
pub mod tree;
mod values;

pub use admission::DEFAULT_QUEUE_TIMEOUT;
pub use keys::{parse_secret_file, secret_file_group_readable, MIN_KEY_BYTES};
pub use limits::{
    DEFAULT_MAX_OUTPUT_DIMENSION, DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_SOURCE_PIXELS,
    MAX_OUTPUT_DIMENSION_LIMIT, MAX_SOURCE_BYTES_LIMIT, MAX_SOURCE_PIXELS_LIMIT,
};
pub use output::{DEFAULT_CACHE_CONTROL, DEFAULT_ERROR_CACHE_CONTROL, DEFAULT_QUALITY};
pub use sources::DEFAULT_SOURCE_KEY;
pub use values::parse_seconds;

/// The values one configuration section set; `None` means "inherit".
#[derive(Clone, Default)]
pub struct DirConfig {
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
    /// `TofuCacheTag` lines, in order; a section that sets any replaces its parent's.
    cache_tags: Option<Arc<Vec<cache_tags::CacheTag>>>,
    /// Named ops (`TofuPreset NAME OPS`): name → ops text, checked at startup.
    presets: Option<Arc<BTreeMap<String, String>>>,
    presets_only: Option<bool>,
    /// `TofuAutoFormat`: the formats offered, in order of preference (empty: Off).
    auto_formats: Option<Arc<[OutputFormat]>>,
    concurrency: Option<usize>,
    queue_timeout: Option<Duration>,
    /// `TofuConcurrency`'s default, the CPUs this process may use: read once when the section
    /// is created, never per request.
    cpus: usize,
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
    /// A section's empty config.
    pub fn new() -> Self {
        DirConfig {
            cpus: admission::available_cpus(),
            ..DirConfig::default()
        }
    }

    /// The config of a section that sets `SetHandler tofu` at `path` (tests and tools: the
    /// adapter marks sections with [`DirConfig::set_handler_here`] once it knows which they are).
    pub fn serving(path: Option<&str>) -> Self {
        let mut config = DirConfig::new();
        config.set_handler_here(path);
        config
    }

    /// Records that this section, at `path`, sets `SetHandler tofu`: its path becomes the URL
    /// prefix of every request merged through it. At server or virtual-host level (no path)
    /// the prefix is empty.
    pub fn set_handler_here(&mut self, path: Option<&str>) {
        self.prefix = Some(Arc::from(path.unwrap_or("").trim_end_matches('/')));
    }

    /// The config of a section nested in (or applied after) `parent`: what the child sets wins.
    pub fn merge(parent: &DirConfig, child: &DirConfig) -> DirConfig {
        fn pick<T: Clone>(parent: &Option<T>, child: &Option<T>) -> Option<T> {
            child.as_ref().or(parent.as_ref()).cloned()
        }
        DirConfig {
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
            cache_tags: pick(&parent.cache_tags, &child.cache_tags),
            presets: presets::merge_presets(&parent.presets, &child.presets),
            presets_only: pick(&parent.presets_only, &child.presets_only),
            auto_formats: pick(&parent.auto_formats, &child.auto_formats),
            concurrency: pick(&parent.concurrency, &child.concurrency),
            queue_timeout: pick(&parent.queue_timeout, &child.queue_timeout),
            cpus: child.cpus.max(parent.cpus),
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

    /// The `TofuCacheTag` headers of an answer about the original `id` (decoded) stored under
    /// `key`: one per header name, the tags joined as its CDN expects.
    pub fn cache_tag_headers(&self, id: &str, key: &str) -> Vec<(Arc<str>, String)> {
        self.cache_tags
            .as_deref()
            .map(|tags| cache_tags::tag_headers(tags, id, key))
            .unwrap_or_default()
    }

    /// `TofuConcurrency`: transforms at once per child process (default: the CPU count).
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(self.cpus).max(1)
    }

    /// `TofuQueueTimeout`: how long a request waits for a transform slot.
    pub fn queue_timeout(&self) -> Duration {
        self.queue_timeout.unwrap_or(DEFAULT_QUEUE_TIMEOUT)
    }

    /// `TofuAutoFormat`: the formats a URL without an extension may get, in the operator's
    /// order of preference; empty when negotiation is off.
    pub fn auto_formats(&self) -> &[OutputFormat] {
        self.auto_formats.as_deref().unwrap_or(&[])
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

/// A directive's parser, by the arguments it takes (the adapter maps these to `TAKE1`, `TAKE2`,
/// `FLAG`, `RAW_ARGS`).
#[derive(Clone, Copy)]
pub enum Setter {
    One(fn(&mut DirConfig, &str) -> Result<(), String>),
    Two(fn(&mut DirConfig, &str, &str) -> Result<(), String>),
    Flag(fn(&mut DirConfig, bool) -> Result<(), String>),
    /// One file name, which the adapter resolves against ServerRoot when relative.
    Path(fn(&mut DirConfig, &Path) -> Result<(), String>),
    /// The rest of the line as written (`RAW_ARGS`), for a list of words: the parser splits it
    /// with [`tree::words`], as httpd would.
    Raw(fn(&mut DirConfig, &str) -> Result<(), String>),
}

/// One directive: its name, the help Apache prints on a syntax error, and its parser.
pub struct Directive {
    pub name: &'static CStr,
    pub help: &'static CStr,
    pub set: Setter,
}

impl Directive {
    /// A directive of one word (`TAKE1`).
    pub const fn one(
        name: &'static CStr,
        help: &'static CStr,
        set: fn(&mut DirConfig, &str) -> Result<(), String>,
    ) -> Directive {
        Directive {
            name,
            help,
            set: Setter::One(set),
        }
    }

    /// A directive of two words (`TAKE2`).
    pub const fn two(
        name: &'static CStr,
        help: &'static CStr,
        set: fn(&mut DirConfig, &str, &str) -> Result<(), String>,
    ) -> Directive {
        Directive {
            name,
            help,
            set: Setter::Two(set),
        }
    }

    /// An On/Off directive (`FLAG`).
    pub const fn flag(
        name: &'static CStr,
        help: &'static CStr,
        set: fn(&mut DirConfig, bool) -> Result<(), String>,
    ) -> Directive {
        Directive {
            name,
            help,
            set: Setter::Flag(set),
        }
    }

    /// A directive taking a list of words (`RAW_ARGS`).
    pub const fn raw(
        name: &'static CStr,
        help: &'static CStr,
        set: fn(&mut DirConfig, &str) -> Result<(), String>,
    ) -> Directive {
        Directive {
            name,
            help,
            set: Setter::Raw(set),
        }
    }

    /// A directive naming a file, resolved against ServerRoot by the adapter.
    pub const fn path(
        name: &'static CStr,
        help: &'static CStr,
        set: fn(&mut DirConfig, &Path) -> Result<(), String>,
    ) -> Directive {
        Directive {
            name,
            help,
            set: Setter::Path(set),
        }
    }
}

/// Every directive mod_tofu understands, in the order README documents them.
pub const DIRECTIVES: &[Directive] = &[
    sources::TOFU_STORAGE,
    sources::TOFU_FALLBACK_STORAGE,
    sources::TOFU_STORAGE_TIMEOUT,
    sources::TOFU_STORAGE_BREAKER,
    sources::TOFU_S3_ENDPOINT,
    sources::TOFU_S3_REGION,
    sources::TOFU_SOURCE_KEY,
    keys::TOFU_SECRET,
    keys::TOFU_SECRET_FILE,
    keys::TOFU_SIGNATURE_BYTES,
    limits::TOFU_MAX_SOURCE_BYTES,
    limits::TOFU_MAX_SOURCE_PIXELS,
    limits::TOFU_MAX_OUTPUT_DIMENSION,
    output::TOFU_DEFAULT_QUALITY,
    output::TOFU_CACHE_CONTROL,
    output::TOFU_ERROR_CACHE_CONTROL,
    cache_tags::TOFU_CACHE_TAG,
    presets::TOFU_PRESET,
    presets::TOFU_PRESETS_ONLY,
    output::TOFU_AUTO_FORMAT,
    admission::TOFU_CONCURRENCY,
    admission::TOFU_QUEUE_TIMEOUT,
];

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
            Setter::Raw(f) => f(c, args),
        }
    }

    /// A key long enough to be accepted.
    pub(crate) const SECRET: &str = "tofu-unit-test-secret";

    #[test]
    fn every_directive_is_in_the_table_once() {
        let mut names: Vec<&str> = DIRECTIVES
            .iter()
            .map(|d| d.name.to_str().unwrap())
            .collect();
        assert_eq!(names.len(), 22);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 22);
        assert!(names.iter().all(|n| n.starts_with("Tofu")));
    }

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
    fn merge_is_child_over_parent_and_leaves_inputs_alone() {
        let mut parent = DirConfig::new();
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
        let mut server = DirConfig::new();
        set(&mut server, "TofuSecret", SECRET).unwrap();
        let location = DirConfig::serving(Some("/img"));
        let merged = DirConfig::merge(&server, &location);
        assert_eq!(merged.prefix.as_deref(), Some("/img"));
        // `<Location /pics> TofuDefaultQuality 70` and `<Location /pics/thumbs> SetHandler
        // tofu`, in either file order: the handler's section gives the prefix.
        let mut pics = DirConfig::new();
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
        let mut everywhere = DirConfig::new();
        everywhere.set_handler_here(None);
        let merged = DirConfig::merge(&everywhere, &pics);
        assert_eq!(merged.prefix.as_deref(), Some(""));
    }

    #[test]
    fn a_location_without_storage_or_key_is_not_servable() {
        let err = DirConfig::new().check_servable().unwrap_err();
        assert!(
            err.contains("TofuStorage") && err.contains("TofuSecret"),
            "{err}"
        );
    }
}
