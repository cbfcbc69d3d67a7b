//! The one error type of the request path, and the one place that maps it to HTTP.
//!
//! Every failure a request can meet is a variant here; `status`, `log_level` and `public_message`
//! are the single table DESIGN.md's status codes come from, so the adapter never decides a status.

use std::fmt;

/// How loud the error-log line for an outcome is (mapped to `APLOG_*` by the adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Why a request did not get an image. The `String`s are for the error log (operator-facing);
/// what a client may see comes from [`TofuError::public_message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TofuError {
    /// The path does not match the URL grammar or is not in canonical form.
    #[error("no route: {0}")]
    NoRoute(String),
    /// Only GET and HEAD are served.
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// The grammar matched but a value is out of range (q0, a size above the maximum, a region
    /// outside the image).
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// Signature missing, malformed or wrong.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The storage has no original under that key.
    #[error("source not found: {0}")]
    SourceNotFound(String),
    /// The URL's `e` time has passed. Answered exactly like a missing original (404, the error
    /// Cache-Control, Apache's page): a client learns nothing more.
    #[error("expired: {0}")]
    Expired(String),
    /// The storage works but will not give this original (a file the server may not read, not
    /// a regular file; S3's per-key AccessDenied). Answered like a missing original, so a client
    /// learns nothing and a CDN keeps it briefly, but logged at warn: the operator can fix it.
    #[error("source unreadable (answered as not found): {0}")]
    SourceDenied(String),
    /// The original exists but we will not process it (too many bytes or pixels, not an image
    /// we decode, corrupt).
    #[error("unprocessable source: {0}")]
    Unprocessable(String),
    /// The storage answered with an error or could not be reached.
    #[error("storage failed: {0}")]
    StorageFailed(String),
    /// The storage did not answer within TofuStorageTimeout.
    #[error("storage timed out: {0}")]
    StorageTimeout(String),
    /// No transform slot became free within TofuQueueTimeout (or a breaker is open); the client
    /// may retry after the given number of seconds.
    #[error("overloaded: {reason}")]
    Overloaded {
        reason: String,
        retry_after_secs: u32,
    },
    /// The location is served by tofu but its configuration cannot serve (should have failed at
    /// startup; kept as a safety net).
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// A bug: a panic or an invariant broken inside the module.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TofuError {
    /// The HTTP status of this outcome (DESIGN.md, "Status codes").
    pub fn status(&self) -> u16 {
        match self {
            TofuError::NoRoute(_)
            | TofuError::SourceNotFound(_)
            | TofuError::SourceDenied(_)
            | TofuError::Expired(_) => 404,
            TofuError::OutOfRange(_) => 400,
            TofuError::BadSignature(_) => 403,
            TofuError::MethodNotAllowed(_) => 405,
            TofuError::Unprocessable(_) => 422,
            TofuError::StorageFailed(_) => 502,
            TofuError::StorageTimeout(_) => 504,
            TofuError::Overloaded { .. } => 503,
            TofuError::Misconfigured(_) | TofuError::Internal(_) => 500,
        }
    }

    /// The level of the error-log line: client mistakes are `info` (they are not the operator's
    /// problem and an attacker must not be able to flood the log at `error`), storage faults and
    /// bugs are `error`.
    pub fn log_level(&self) -> LogLevel {
        match self {
            TofuError::NoRoute(_)
            | TofuError::OutOfRange(_)
            | TofuError::BadSignature(_)
            | TofuError::MethodNotAllowed(_)
            | TofuError::SourceNotFound(_)
            | TofuError::Expired(_) => LogLevel::Info,
            TofuError::Unprocessable(_)
            | TofuError::Overloaded { .. }
            | TofuError::SourceDenied(_) => LogLevel::Warn,
            TofuError::StorageFailed(_)
            | TofuError::StorageTimeout(_)
            | TofuError::Misconfigured(_)
            | TofuError::Internal(_) => LogLevel::Error,
        }
    }

    /// The one line a client may read in the body, where DESIGN.md gives one (400 and 422).
    /// Everything else gets Apache's own error page: a 403 must not help an attacker, and a 5xx
    /// must not leak storage details.
    pub fn public_message(&self) -> Option<&str> {
        match self {
            TofuError::OutOfRange(m) | TofuError::Unprocessable(m) => Some(m),
            _ => None,
        }
    }

    /// Seconds for a `Retry-After` header, on answers that invite a retry.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            TofuError::Overloaded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// `text` made safe for one error-log line: control characters (a newline that would start a
/// forged line, an escape sequence for the operator's terminal) become `%XX` per UTF-8 byte, as
/// in the percent-encoded paths beside them. Everything logged goes through here, because ids,
/// paths and storage messages come from clients and stores. (httpd's own error-log file escapes
/// messages too, but not every build, and not what an `error_log` hook or syslog receives; its
/// escaping would double a backslash notation, hence `%XX`.)
pub fn escape_for_log(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_design_table() {
        let s = |e: TofuError| e.status();
        assert_eq!(s(TofuError::NoRoute("x".into())), 404);
        assert_eq!(s(TofuError::OutOfRange("x".into())), 400);
        assert_eq!(s(TofuError::BadSignature("x".into())), 403);
        assert_eq!(s(TofuError::SourceNotFound("x".into())), 404);
        assert_eq!(s(TofuError::SourceDenied("x".into())), 404);
        assert_eq!(s(TofuError::Unprocessable("x".into())), 422);
        assert_eq!(s(TofuError::StorageFailed("x".into())), 502);
        assert_eq!(s(TofuError::StorageTimeout("x".into())), 504);
        let busy = TofuError::Overloaded {
            reason: "queue".into(),
            retry_after_secs: 2,
        };
        assert_eq!(busy.retry_after(), Some(2));
        assert_eq!(s(busy), 503);
        assert_eq!(s(TofuError::Internal("x".into())), 500);
    }

    #[test]
    fn only_400_and_422_explain_themselves_to_clients() {
        assert_eq!(
            TofuError::OutOfRange("quality 0 is outside 1..100".into()).public_message(),
            Some("quality 0 is outside 1..100")
        );
        assert_eq!(
            TofuError::BadSignature("key 2 mismatch".into()).public_message(),
            None
        );
        assert_eq!(
            TofuError::StorageFailed("s3: connection refused".into()).public_message(),
            None
        );
        assert_eq!(
            TofuError::SourceDenied("a.jpg: permission denied".into()).public_message(),
            None,
            "an unreadable original looks missing to the client"
        );
    }

    #[test]
    fn log_lines_cannot_be_forged() {
        assert_eq!(escape_for_log("plain id/1.jpg"), "plain id/1.jpg");
        assert_eq!(
            escape_for_log("a\n[error] forged\r\x1b[31m\\x0a\u{85}é"),
            "a%0A[error] forged%0D%1B[31m\\x0a%C2%85é"
        );
    }

    #[test]
    fn bad_signatures_log_at_info_storage_faults_at_error() {
        assert_eq!(
            TofuError::BadSignature(String::new()).log_level(),
            LogLevel::Info
        );
        assert_eq!(
            TofuError::StorageFailed(String::new()).log_level(),
            LogLevel::Error
        );
        assert_eq!(
            TofuError::SourceDenied(String::new()).log_level(),
            LogLevel::Warn,
            "an original the server may not read is the operator's to fix, not a client mistake"
        );
    }
}
