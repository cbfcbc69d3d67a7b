//! What `TofuStorage s3://bucket/prefix`, `TofuS3Endpoint` and `TofuS3Region` say, checked at
//! startup: plain data, compiled in every build. The client that uses it (`s3.rs`) exists only
//! with the `s3` feature, so builds that never talk to S3 (the fuzz targets) skip the AWS SDK.

use super::key_segments;

/// `TofuS3Region` default, when neither the directive nor the AWS environment names one.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub const DEFAULT_REGION: &str = "us-east-1";

/// `s3://bucket/prefix`, validated at startup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (empty: the bucket's root).
    pub prefix: String,
}

impl S3Location {
    /// Parses what follows `s3://`.
    pub fn parse(rest: &str) -> Result<Self, String> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && !bucket.starts_with(['.', '-'])
            && !bucket.ends_with(['.', '-']);
        if !valid {
            return Err(format!(
                "s3://{rest}: {bucket:?} is not a valid bucket name (3-63 of a-z 0-9 . -)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            key_segments(prefix).map_err(|_| {
                format!("s3://{rest}: the prefix has an empty, '.' or '..' segment")
            })?;
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The object key of a storage key (below the prefix).
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(super) fn object_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

/// `TofuS3Endpoint` and `TofuS3Region`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct S3Options {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); requests are then path-style.
    pub endpoint: Option<String>,
    /// The signing region; unset: `AWS_REGION`/profile, else `us-east-1`.
    pub region: Option<String>,
}
