//! The one test suite every storage backend must pass, run against the file storage (as the
//! module runs it: behind its bounded I/O pool) and against S3 (a real s3s-fs server checking
//! SigV4 signatures, started by `scripts/test`).

use std::sync::Arc;
use std::time::Duration;

use super::io_pool::IoPool;
#[cfg(feature = "s3")]
use super::s3::{put_for_test, S3Runtime, S3Storage};
use super::{Bounded, FileStorage, Storage, StorageError};
#[cfg(feature = "s3")]
use super::{S3Location, S3Options};

/// The contract. `put(key, bytes)` creates or replaces an object below the storage's root.
fn contract(s: &dyn Storage, put: &dyn Fn(&str, &[u8])) {
    put("recipes/1.jpg", b"twelve bytes");

    // A hit: bytes and validators; stat agrees with get.
    let o = s.get("recipes/1.jpg", 100).expect("get");
    assert_eq!(o.bytes, b"twelve bytes");
    assert_eq!(o.validators.size, 12);
    assert!(o.validators.modified.is_some(), "Last-Modified");
    assert!(!o.validators.version.is_empty(), "a version for the ETag");
    assert_eq!(o.fallback_reason, None);
    let v = s.stat("recipes/1.jpg").expect("stat");
    assert_eq!(v, o.validators, "stat and get give the same validators");

    // A miss is NotFound, from get and from stat, under a missing "directory" too.
    for key in ["recipes/2.jpg", "nope/1.jpg", "recipes/1.jpg/x"] {
        assert!(
            matches!(s.get(key, 100), Err(StorageError::NotFound(_))),
            "get {key}"
        );
        assert!(
            matches!(s.stat(key), Err(StorageError::NotFound(_))),
            "stat {key}"
        );
    }

    // Keys that could escape the root are refused before any lookup.
    for key in ["../x.jpg", "/etc/passwd", "a//b", "recipes/./1.jpg", ""] {
        assert!(
            matches!(s.get(key, 100), Err(StorageError::KeyRefused(_))),
            "{key:?}"
        );
    }

    // The byte limit: refused above it, served at it.
    assert!(matches!(
        s.get("recipes/1.jpg", 11),
        Err(StorageError::TooLarge { size: 12, .. })
    ));
    assert_eq!(s.get("recipes/1.jpg", 12).unwrap().bytes.len(), 12);

    // Replacing the object changes its version (so the ETag changes).
    put("recipes/1.jpg", b"another version, longer");
    let replaced = s.get("recipes/1.jpg", 100).unwrap();
    assert_eq!(replaced.bytes, b"another version, longer");
    assert_ne!(replaced.validators.version, o.validators.version);

    // Odd but legal keys.
    put("odd names/a b+(1) café.jpg", b"odd");
    assert_eq!(
        s.get("odd names/a b+(1) café.jpg", 100).unwrap().bytes,
        b"odd"
    );
}

#[test]
fn file_storage_passes_the_contract() {
    let dir = std::env::temp_dir().join(format!("tofu-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let files = FileStorage::open(dir.to_str().unwrap()).unwrap();
    let pool = Arc::new(IoPool::new("t", 4, 64, Duration::from_secs(5)));
    let s = Bounded::new(Arc::new(files), pool, Duration::from_secs(5), "file://t");
    let root = dir.clone();
    contract(&s, &|key, bytes| {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A new file (new inode), as a deploy that replaces originals makes.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The endpoint of the test S3 server (`scripts/test` starts one and sets
/// `TOFU_TEST_S3_ENDPOINT` and the AWS credentials). Under CI its absence is a failure, never
/// a silent skip.
#[cfg(feature = "s3")]
pub(crate) fn test_s3_endpoint() -> Option<String> {
    match std::env::var("TOFU_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            // The credentials must come from the environment (never from instance metadata).
            assert!(
                std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
                    && std::env::var_os("AWS_EC2_METADATA_DISABLED").is_some(),
                "TOFU_TEST_S3_ENDPOINT needs AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and \
                 AWS_EC2_METADATA_DISABLED=true (scripts/test sets them)"
            );
            Some(endpoint)
        }
        _ if std::env::var_os("CI").is_some() => {
            panic!("TOFU_TEST_S3_ENDPOINT is not set under CI: run the tests through scripts/test")
        }
        _ => {
            eprintln!("SKIPPED: TOFU_TEST_S3_ENDPOINT is not set (scripts/test starts s3s-fs)");
            None
        }
    }
}

#[cfg(feature = "s3")]
fn s3_storage(endpoint: &str, bucket: &str, timeout: Duration) -> S3Storage {
    S3Storage::new(
        S3Location::parse(&format!("{bucket}/originals")).unwrap(),
        S3Options {
            endpoint: Some(endpoint.to_string()),
            region: None,
        },
        timeout,
        Arc::new(S3Runtime::default()),
    )
}

#[cfg(feature = "s3")]
#[test]
fn s3_storage_passes_the_contract() {
    let Some(endpoint) = test_s3_endpoint() else {
        return;
    };
    let bucket = format!("tofu-contract-{}", std::process::id());
    let s = s3_storage(&endpoint, &bucket, Duration::from_secs(10));
    contract(&s, &|key, bytes| {
        put_for_test(&s, &format!("originals/{key}"), bytes).expect("seeding S3")
    });
    // A missing bucket: AWS answers NoSuchBucket (a fault, 502; s3::tests checks that with a
    // canned server), s3s-fs answers NoSuchKey. Either way stat must say what get says.
    let nobucket = s3_storage(&endpoint, "tofu-no-such-bucket", Duration::from_secs(10));
    let got = nobucket.get("recipes/1.jpg", 100).unwrap_err();
    let stat = nobucket.stat("recipes/1.jpg").unwrap_err();
    assert_eq!(
        std::mem::discriminant(&got),
        std::mem::discriminant(&stat),
        "get: {got:?}, stat: {stat:?}"
    );
}

#[cfg(feature = "s3")]
#[test]
fn s3_that_never_answers_is_a_timeout_at_the_bound() {
    let Some(_) = test_s3_endpoint() else {
        return;
    };
    // A server that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(4) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let (e, took) = failed_get(&format!("http://{addr}"), Duration::from_secs(1));
    assert!(matches!(e, StorageError::Timeout(_)), "{e:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    drop(held);
}

#[cfg(feature = "s3")]
#[test]
fn s3_refused_port_is_a_fast_502() {
    let Some(_) = test_s3_endpoint() else {
        return;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (e, took) = failed_get(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5));
    assert!(matches!(e, StorageError::Failed(_)), "{e:?}");
    assert!(took < Duration::from_secs(4));
}

/// A GET from an S3 endpoint that cannot answer: its error, and how long it took.
#[cfg(feature = "s3")]
fn failed_get(endpoint: &str, timeout: Duration) -> (StorageError, Duration) {
    let s = s3_storage(endpoint, "tofu-unanswered", timeout);
    let started = std::time::Instant::now();
    let e = s.get("a.jpg", 100).unwrap_err();
    (e, started.elapsed())
}
