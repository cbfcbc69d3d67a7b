//! Where originals come from: `TofuStorage`, `TofuFallbackStorage`, `TofuStorageTimeout`,
//! `TofuStorageBreaker`, `TofuS3Endpoint`, `TofuS3Region`, `TofuSourceKey`. Parsing builds no
//! client and opens no connection: a child builds the stack on first use (`storage::Stacks`).

use std::sync::Arc;
use std::time::Duration;

use super::values::{parse_count, parse_seconds};
use super::{DirConfig, Directive};
use crate::storage::{self, breaker::BreakerSettings};

/// `TofuSourceKey` default.
pub const DEFAULT_SOURCE_KEY: &str = "{id}";

/// `TofuStorage URL`.
pub(super) const TOFU_STORAGE: Directive = Directive::one(
    c"TofuStorage",
    c"where originals live: file:///absolute/path or s3://bucket/prefix",
    set_storage,
);

fn set_storage(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.storage = Some((Arc::from(arg), storage::parse_url(arg)?));
    Ok(())
}

fn set_fallback_storage(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    c.fallback_storage = Some((Arc::from(arg), storage::parse_url(arg)?));
    Ok(())
}

/// `TofuFallbackStorage URL`.
pub(super) const TOFU_FALLBACK_STORAGE: Directive = Directive::one(c"TofuFallbackStorage", c"tried when TofuStorage errors or times out (never on 404): file:///path or s3://bucket/prefix", set_fallback_storage);

/// `TofuStorageTimeout SECONDS`.
pub(super) const TOFU_STORAGE_TIMEOUT: Directive = Directive::one(
    c"TofuStorageTimeout",
    c"seconds one fetch may take, retries included, before 504 or the fallback (default 5)",
    set_storage_timeout,
);

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

/// `TofuStorageBreaker FAILURES SECONDS`.
pub(super) const TOFU_STORAGE_BREAKER: Directive = Directive::two(c"TofuStorageBreaker", c"TofuStorageBreaker FAILURES SECONDS: after FAILURES consecutive storage faults skip the primary for SECONDS (default 5 30; 0 disables)", set_breaker);

/// `TofuS3Endpoint URL`.
pub(super) const TOFU_S3_ENDPOINT: Directive = Directive::one(
    c"TofuS3Endpoint",
    c"URL of an S3-compatible endpoint (path-style requests); default: AWS",
    set_s3_endpoint,
);

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

/// `TofuS3Region NAME`.
pub(super) const TOFU_S3_REGION: Directive = Directive::one(
    c"TofuS3Region",
    c"S3 signing region (default: AWS_REGION or the profile's, else us-east-1)",
    set_s3_region,
);

fn set_s3_region(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("{arg:?} is not a region name (like eu-west-1)"));
    }
    c.s3_region = Some(Arc::from(arg));
    Ok(())
}

/// `TofuSourceKey TEMPLATE`.
pub(super) const TOFU_SOURCE_KEY: Directive = Directive::one(
    c"TofuSourceKey",
    c"storage key template of an original; {id} is replaced by the URL's id (default {id})",
    set_source_key,
);

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

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;
    use crate::storage::Location;

    #[test]
    fn help_states_the_defaults() {
        let timeout = TOFU_STORAGE_TIMEOUT.help.to_str().unwrap();
        assert!(timeout.contains(&format!(
            "(default {})",
            storage::DEFAULT_STORAGE_TIMEOUT.as_secs()
        )));
        let breaker = TOFU_STORAGE_BREAKER.help.to_str().unwrap();
        let defaults = BreakerSettings::default();
        assert!(breaker.contains(&format!(
            "(default {} {};",
            defaults.failures,
            defaults.cooldown.as_secs()
        )));
        assert!(TOFU_SOURCE_KEY
            .help
            .to_str()
            .unwrap()
            .contains(&format!("(default {DEFAULT_SOURCE_KEY})")));
    }

    #[test]
    fn bad_storage_values_are_refused() {
        let mut c = DirConfig::default();
        for (name, arg) in [
            ("TofuStorage", "ftp://x"),
            ("TofuStorage", "file:///nonexistent/tofu"),
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
            ("TofuSourceKey", "originals/id.jpg"),
            ("TofuSourceKey", "../{id}"),
            ("TofuSourceKey", "/x/{id}"),
            ("TofuSourceKey", "a//{id}"),
            ("TofuSourceKey", "a/./{id}"),
        ] {
            let err = set(&mut c, name, arg).expect_err(&format!("{name} {arg}"));
            assert!(!err.is_empty());
        }
        set(&mut c, "TofuSourceKey", "originals/{id}.jpg").unwrap();
        assert_eq!(c.source_key("12/3"), "originals/12/3.jpg");
        set(&mut c, "TofuStorage", "file:///").unwrap();
        assert_eq!(c.storage_url(), Some("file:///"));
    }

    #[test]
    fn storage_directives_build_a_spec_of_plain_data() {
        let mut server = DirConfig::default();
        set(&mut server, "TofuS3Endpoint", "http://127.0.0.1:9000/").unwrap();
        set(&mut server, "TofuStorageTimeout", "1.5").unwrap();
        let mut location = DirConfig::new();
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

        let defaults = DirConfig::new();
        assert_eq!(defaults.storage_timeout(), Duration::from_secs(5));
        assert!(defaults.storage_spec().is_none());
    }
}
