//! Where originals live. A narrow interface — get an object's bytes and validators by key — that
//! every backend implements, so the handler never knows whether it reads NFS or S3.

mod bounded;
pub mod breaker;
#[cfg(test)]
mod contract;
mod file;
pub mod io_pool;
mod resilient;
#[cfg(feature = "s3")]
mod s3;
mod s3_location;
mod stack;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub use bounded::Bounded;
pub use file::FileStorage;
pub use resilient::Resilient;
#[cfg(feature = "s3")]
pub use s3::S3Storage;
pub use s3_location::{S3Location, S3Options};
pub use stack::{Stacks, StorageSpec, DEFAULT_STORAGE_TIMEOUT};

use crate::error::TofuError;

/// What identifies a version of an original, for ETag/Last-Modified and conditional requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Validators {
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when the backend knows it.
    pub modified: Option<SystemTime>,
    /// A backend-specific version tag: `inode-mtime_ns-size` for files, the ETag for S3.
    pub version: String,
}

/// An original: its bytes and what identifies this version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub validators: Validators,
    /// Set when `TofuFallbackStorage` served it: why the primary did not (for the error log).
    pub fallback_reason: Option<String>,
}

/// Why a fetch failed, in terms the status table understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// No object under that key (404).
    #[error("{0}: not found")]
    NotFound(String),
    /// The key is not one this backend will look up (absolute, `..`, escapes the root): 404.
    #[error("{0}: key refused")]
    KeyRefused(String),
    /// The store works but will not give this one object (EACCES on one file, a FIFO or device,
    /// a symlink loop; S3's per-key 403 AccessDenied): 404, as for a missing key, logged at warn
    /// with what the operator should check. Never a fault: one object cannot open the breaker.
    #[error("{0}")]
    Denied(String),
    /// The object is larger than TofuMaxSourceBytes (422).
    #[error("{key}: {size} bytes, above the limit of {limit}")]
    TooLarge { key: String, size: u64, limit: u64 },
    /// The backend failed (I/O error, unreachable, 5xx): 502.
    #[error("{0}")]
    Failed(String),
    /// The backend did not answer in time: 504.
    #[error("{0}")]
    Timeout(String),
    /// The primary is skipped (circuit breaker open) and there is no fallback: 503 with
    /// Retry-After.
    #[error("{reason}")]
    Unavailable {
        reason: String,
        retry_after_secs: u32,
    },
}

impl StorageError {
    /// A fault of the storage itself (error, timeout, breaker open), as opposed to an answer
    /// about one object (not found, refused key, denied, too large): faults trip the circuit
    /// breaker and send requests to the fallback.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            StorageError::Failed(_) | StorageError::Timeout(_) | StorageError::Unavailable { .. }
        )
    }

    /// The same error with more words after its message (e.g. what the fallback said).
    pub fn with_context(self, context: &str) -> StorageError {
        match self {
            StorageError::Failed(m) => StorageError::Failed(format!("{m}; {context}")),
            StorageError::Timeout(m) => StorageError::Timeout(format!("{m}; {context}")),
            StorageError::Unavailable {
                reason,
                retry_after_secs,
            } => StorageError::Unavailable {
                reason: format!("{reason}; {context}"),
                retry_after_secs,
            },
            other => other,
        }
    }
}

impl From<StorageError> for TofuError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) | StorageError::KeyRefused(_) => {
                TofuError::SourceNotFound(e.to_string())
            }
            StorageError::Denied(m) => TofuError::SourceDenied(m),
            StorageError::TooLarge { size, limit, .. } => TofuError::Unprocessable(format!(
                "source is {size} bytes, above the limit of {limit}"
            )),
            StorageError::Failed(m) => TofuError::StorageFailed(m),
            StorageError::Timeout(m) => TofuError::StorageTimeout(m),
            StorageError::Unavailable {
                reason,
                retry_after_secs,
            } => TofuError::Overloaded {
                reason,
                retry_after_secs,
            },
        }
    }
}

/// A place originals are read from. Implementations are shared by every thread of a child.
pub trait Storage: Send + Sync + fmt::Debug {
    /// The object under `key`, refusing (without reading it whole) one above `max_bytes`.
    fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError>;

    /// The validators of the object under `key`, without its bytes (a stat, a HEAD): enough to
    /// answer a conditional request with 304.
    fn stat(&self, key: &str) -> Result<Validators, StorageError>;
}

/// A storage URL (`TofuStorage`, `TofuFallbackStorage`) checked at startup. It is plain data:
/// no thread, runtime or connection exists until a child builds the backend from it
/// ([`Stacks`]), so nothing crosses httpd's fork.
#[derive(Debug, Clone)]
pub enum Location {
    /// `file:///root`, the root canonicalised and checked to be a directory.
    File(FileStorage),
    /// `s3://bucket/prefix`.
    S3(S3Location),
    /// A backend handed over as is (tests and tools): used without timeout or pool.
    Given(Arc<dyn Storage>),
}

/// Parses a storage URL. Fails (at startup) on an unknown scheme, a file root that does not
/// exist or an invalid bucket name.
pub fn parse_url(url: &str) -> Result<Location, String> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Location::File(FileStorage::open(path)?));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let location = S3Location::parse(rest)?;
        if cfg!(feature = "s3") {
            return Ok(Location::S3(location));
        }
        return Err(format!(
            "{url}: this build has no S3 support (cargo feature \"s3\", on by default)"
        ));
    }
    Err(format!(
        "{url}: unknown storage URL (expected file:///absolute/path or s3://bucket/prefix)"
    ))
}

/// Splits a key into its `/`-separated parts, refusing anything that could name a parent or the
/// filesystem root. Shared by backends so that every one applies the same confinement rules.
pub fn key_segments(key: &str) -> Result<Vec<&str>, StorageError> {
    let refused = || StorageError::KeyRefused(key.to_string());
    if key.is_empty() || key.starts_with('/') || key.contains('\0') {
        return Err(refused());
    }
    let segments: Vec<&str> = key.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(refused());
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LogLevel;

    #[test]
    fn keys_that_could_escape_are_refused() {
        for key in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a/./b",
            "a//b",
            "a/",
            "a\0b",
        ] {
            assert!(
                matches!(key_segments(key), Err(StorageError::KeyRefused(_))),
                "{key:?}"
            );
        }
        assert_eq!(key_segments("a/b.jpg").unwrap(), vec!["a", "b.jpg"]);
        assert_eq!(key_segments("..a/b..").unwrap(), vec!["..a", "b.."]);
    }

    #[test]
    fn storage_errors_map_to_the_status_table() {
        let status = |e: StorageError| TofuError::from(e).status();
        assert_eq!(status(StorageError::NotFound("k".into())), 404);
        assert_eq!(status(StorageError::KeyRefused("k".into())), 404);
        let denied = StorageError::Denied("k: permission denied".into());
        assert!(
            !denied.is_fault(),
            "one object's answer never trips the breaker"
        );
        let answer = TofuError::from(denied);
        assert_eq!((answer.status(), answer.log_level()), (404, LogLevel::Warn));
        let big = StorageError::TooLarge {
            key: "k".into(),
            size: 10,
            limit: 5,
        };
        assert_eq!(status(big), 422);
        assert_eq!(status(StorageError::Failed("x".into())), 502);
        assert_eq!(status(StorageError::Timeout("x".into())), 504);
        let open = StorageError::Unavailable {
            reason: "breaker".into(),
            retry_after_secs: 7,
        };
        assert_eq!(TofuError::from(open.clone()).retry_after(), Some(7));
        assert_eq!(status(open), 503);
    }

    #[test]
    fn unknown_schemes_fail_at_startup() {
        assert!(parse_url("http://example/x").is_err());
        assert!(parse_url("/srv/images").is_err());
        assert!(parse_url("file:///nonexistent/tofu-root").is_err());
        assert!(parse_url("s3://").is_err());
        assert!(parse_url("s3://Bad_Bucket/x").is_err());
        assert!(matches!(
            parse_url("s3://tofu-originals/photos"),
            Ok(Location::S3(_))
        ));
    }
}
