//! Originals in an S3 bucket (`TofuStorage s3://bucket/prefix`), through the official AWS SDK.
//!
//! Inside httpd nothing may exist before fork: [`S3Location`] is plain data parsed at startup;
//! the tokio runtime ([`S3Runtime`]) and the SDK client are created on first use, in the child,
//! and then shared by every request and thread of that child (connections are pooled by the
//! SDK's hyper client). Calls block the httpd worker thread on the runtime, bounded as a whole —
//! retries with backoff and the body download included — by `TofuStorageTimeout`.
//!
//! Answers about one object are final and never count toward the circuit breaker: a missing key
//! (404 `NoSuchKey`) is 404, and so is a per-key 403 `AccessDenied` ([`StorageError::Denied`],
//! logged at warn): without `s3:ListBucket` S3 answers 403 AccessDenied for a missing key, and
//! a policy may deny one prefix; the client cannot tell it from a miss (which tells an attacker
//! nothing) and a CDN keeps it briefly. If every key is denied, the policy lacks
//! `s3:GetObject`, which the log line says. Every other 403 is about the store, not the key —
//! `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`, `InvalidToken`,
//! `AccountProblem`, `RequestTimeTooSkewed`, `AllAccessDisabled` and any code we do not know —
//! and is a fault (502, counted by the breaker, the fallback asked). So is a missing bucket
//! (`NoSuchBucket`). Unreachable, 5xx and `SlowDown` (after the SDK's retries) are 502; running
//! out of time is 504.
//!
//! A HEAD (`stat`, for conditional requests) has no body and so no error code: its 404 cannot
//! tell NoSuchKey from NoSuchBucket, nor its 403 AccessDenied from wrong credentials. On a HEAD
//! 403 or 404, one `GET Range: bytes=0-0` asks again and its code decides, so `stat` answers
//! what `get` answers (a missing bucket is a 502 on both, never a cacheable 404).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::s3_location::{S3Location, S3Options, DEFAULT_REGION};
use super::{key_segments, Object, Storage, StorageError, Validators};

/// Attempts per request (the first and two retries, with exponential backoff from 100 ms).
const MAX_ATTEMPTS: u32 = 3;

/// The tokio runtime of a child's S3 clients: one small multi-thread runtime (one worker runs
/// the pooled connections), created on first use — in the child, never before fork.
#[derive(Default)]
pub struct S3Runtime {
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
}

impl std::fmt::Debug for S3Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Runtime")
            .field("started", &self.runtime.get().is_some())
            .finish()
    }
}

impl S3Runtime {
    fn get(&self) -> Result<&tokio::runtime::Runtime, StorageError> {
        self.runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .max_blocking_threads(4)
                    .thread_name("tofu-s3")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the S3 runtime: {e}"))
            })
            .as_ref()
            .map_err(|e| StorageError::Failed(e.clone()))
    }

    /// True once a runtime exists (tests check that config parsing never starts one).
    #[cfg(test)]
    pub fn started(&self) -> bool {
        self.runtime.get().is_some()
    }
}

impl Drop for S3Runtime {
    fn drop(&mut self) {
        // Never wait for a stuck DNS lookup or connection when a child's pool is destroyed.
        if let Some(Ok(runtime)) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One bucket/prefix with its lazily built client.
pub struct S3Storage {
    location: S3Location,
    options: S3Options,
    timeout: Duration,
    runtime: Arc<S3Runtime>,
    client: OnceLock<aws_sdk_s3::Client>,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage")
            .field("location", &self.location)
            .field("options", &self.options)
            .field("timeout", &self.timeout)
            .field("connected", &self.client.get().is_some())
            .finish()
    }
}

impl S3Storage {
    /// A storage for `location`; builds nothing until the first request.
    pub fn new(
        location: S3Location,
        options: S3Options,
        timeout: Duration,
        runtime: Arc<S3Runtime>,
    ) -> Self {
        S3Storage {
            location,
            options,
            timeout,
            runtime,
            client: OnceLock::new(),
        }
    }

    /// True once the client has been built (by the first request).
    #[cfg(test)]
    pub fn has_client(&self) -> bool {
        self.client.get().is_some()
    }

    fn url(&self, key: &str) -> String {
        format!(
            "s3://{}/{}",
            self.location.bucket,
            self.location.object_key(key)
        )
    }

    /// Runs `request` with the client, on the runtime, within `TofuStorageTimeout`.
    fn call<T, F, Fut>(&self, key: &str, request: F) -> Result<T, StorageError>
    where
        F: FnOnce(aws_sdk_s3::Client, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, StorageError>>,
    {
        key_segments(key)?;
        let runtime = self.runtime.get()?;
        let object_key = self.location.object_key(key);
        let timeout = self.timeout;
        runtime.block_on(async {
            let work = async {
                let client = match self.client.get() {
                    Some(client) => client.clone(),
                    None => {
                        let built = build_client(&self.options, timeout).await;
                        self.client.get_or_init(|| built).clone()
                    }
                };
                request(client, object_key).await
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(result) => result,
                Err(_) => Err(StorageError::Timeout(format!(
                    "{}: no complete answer from S3 within {timeout:?}",
                    self.url(key)
                ))),
            }
        })
    }

    /// Maps an SDK error to what the status table understands.
    fn error<E>(&self, key: &str, err: &SdkError<E>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let url = self.url(key);
        match err {
            SdkError::ServiceError(service) => answer(
                &url,
                key,
                service.raw().status().as_u16(),
                err.code().unwrap_or(""),
                err.message().unwrap_or(""),
            ),
            SdkError::TimeoutError(_) => {
                StorageError::Timeout(format!("{url}: S3 timed out: {}", DisplayErrorContext(err)))
            }
            _ => StorageError::Failed(format!(
                "{url}: S3 request failed: {}",
                DisplayErrorContext(err)
            )),
        }
    }

    /// A HEAD answered 403 or 404, which without a body says nothing of why: the code of a
    /// one-byte GET decides.
    async fn ask_why(
        &self,
        client: &aws_sdk_s3::Client,
        key: &str,
        object_key: &str,
        head_status: u16,
    ) -> StorageError {
        let sent = client
            .get_object()
            .bucket(&self.location.bucket)
            .key(object_key)
            .range("bytes=0-0")
            .send()
            .await;
        match sent {
            Err(e) => self.error(key, &e),
            // The object appeared between the two requests (or the store answers HEAD and GET
            // differently): nothing a cache may keep.
            Ok(_) => StorageError::Failed(format!(
                "{}: S3 answered HEAD {head_status} but GET found the object; try again",
                self.url(key)
            )),
        }
    }
}

/// What an S3 error answer (status and code) means for one key (see the module comment).
fn answer(url: &str, key: &str, status: u16, code: &str, message: &str) -> StorageError {
    match (status, code) {
        (404, "NoSuchBucket") => StorageError::Failed(format!(
            "{url}: S3 answered 404 NoSuchBucket: check TofuStorage"
        )),
        (404, _) => StorageError::NotFound(key.to_string()),
        (403, "AccessDenied") => StorageError::Denied(format!(
            "{url}: S3 answered 403 AccessDenied {message}: without s3:ListBucket S3 answers \
             403 AccessDenied for a missing key; if every key is denied, the policy lacks \
             s3:GetObject"
        )),
        (403, _) => StorageError::Failed(format!(
            "{url}: S3 refused access (403 {code} {message}): check the credentials \
             (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile or instance role), the clock and \
             the account"
        )),
        _ => StorageError::Failed(format!(
            "{url}: S3 answered {status} {code} {message} (after {MAX_ATTEMPTS} attempts)"
        )),
    }
}

/// The SDK client: the standard credential chain (environment, shared profile and credentials
/// files, web identity, ECS, EC2 instance metadata), rustls on ring, the SDK's standard retries
/// (bounded together with everything else by the caller's timeout).
async fn build_client(options: &S3Options, timeout: Duration) -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    // Without TofuS3Region the loader's own chain (AWS_REGION, profile, instance metadata)
    // decides, sharing our HTTP client; us-east-1 when it finds nothing.
    let shared = loader
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .operation_timeout(timeout)
                .build(),
        )
        .load()
        .await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if shared.region().is_none() {
        config = config.region(Region::new(DEFAULT_REGION));
    }
    if let Some(endpoint) = &options.endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

fn modified(time: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    time.and_then(|t| SystemTime::try_from(*t).ok())
}

impl Storage for S3Storage {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        self.call(key, |client, object_key| async move {
            let sent = client
                .get_object()
                .bucket(&self.location.bucket)
                .key(&object_key)
                .send()
                .await;
            let mut output = sent.map_err(|e| self.error(key, &e))?;
            let too_large = |size: u64| StorageError::TooLarge {
                key: key.to_string(),
                size,
                limit: max_bytes,
            };
            let declared = output.content_length().and_then(|n| u64::try_from(n).ok());
            if let Some(size) = declared.filter(|&n| n > max_bytes) {
                // Refused from the header: the body is dropped unread (its connection with it).
                return Err(too_large(size));
            }
            let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
            while let Some(chunk) = output.body.next().await {
                let chunk = chunk.map_err(|e| {
                    StorageError::Failed(format!(
                        "{}: reading the body failed: {}",
                        self.url(key),
                        DisplayErrorContext(&e)
                    ))
                })?;
                if (bytes.len() + chunk.len()) as u64 > max_bytes {
                    return Err(too_large((bytes.len() + chunk.len()) as u64));
                }
                bytes.extend_from_slice(&chunk);
            }
            let validators = Validators {
                size: bytes.len() as u64,
                modified: modified(output.last_modified()),
                version: output.e_tag().unwrap_or_default().to_string(),
            };
            Ok(Object {
                bytes,
                validators,
                fallback_reason: None,
            })
        })
    }

    fn stat(&self, key: &str) -> Result<Validators, StorageError> {
        self.call(key, |client, object_key| async move {
            let sent = client
                .head_object()
                .bucket(&self.location.bucket)
                .key(&object_key)
                .send()
                .await;
            let head = match sent {
                Ok(head) => head,
                Err(SdkError::ServiceError(e))
                    if matches!(e.raw().status().as_u16(), 403 | 404) =>
                {
                    let status = e.raw().status().as_u16();
                    return Err(self.ask_why(&client, key, &object_key, status).await);
                }
                Err(e) => return Err(self.error(key, &e)),
            };
            Ok(Validators {
                size: head
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                modified: modified(head.last_modified()),
                version: head.e_tag().unwrap_or_default().to_string(),
            })
        })
    }
}

/// Seeds a bucket through the same SDK (test fixtures only).
#[cfg(test)]
pub(crate) fn put_for_test(
    storage: &S3Storage,
    object_key: &str,
    body: &[u8],
) -> Result<(), StorageError> {
    let body = body.to_vec();
    let bucket = storage.location.bucket.clone();
    storage.call("seed", |client, _| async move {
        let _ = client.create_bucket().bucket(&bucket).send().await;
        client
            .put_object()
            .bucket(&bucket)
            .key(object_key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::Failed(DisplayErrorContext(&e).to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_at_startup() {
        let l = S3Location::parse("tofu-originals/photos/2024/").unwrap();
        assert_eq!(l.bucket, "tofu-originals");
        assert_eq!(l.prefix, "photos/2024");
        assert_eq!(l.object_key("a/b.jpg"), "photos/2024/a/b.jpg");
        let root = S3Location::parse("bucket").unwrap();
        assert_eq!(root.object_key("a.jpg"), "a.jpg");
        for bad in ["", "ab", "Upper", "-x-bucket", "bucket/../x", "b_u_c"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_per_key_access_denied_is_an_answer_about_the_object() {
        let a = |status, code| answer("s3://b/k", "k", status, code, "");
        let denied = a(403, "AccessDenied");
        assert!(matches!(denied, StorageError::Denied(_)), "{denied:?}");
        assert!(denied.to_string().contains("s3:ListBucket"), "{denied}");
        assert!(denied.to_string().contains("s3:GetObject"), "{denied}");
        for code in [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "InvalidToken",
            "AccountProblem",
            "RequestTimeTooSkewed",
            "AllAccessDisabled",
            "",
        ] {
            assert!(a(403, code).is_fault(), "403 {code:?}");
        }
        assert!(a(404, "NoSuchBucket").is_fault());
        assert!(matches!(a(404, "NoSuchKey"), StorageError::NotFound(_)));
        assert!(matches!(a(404, ""), StorageError::NotFound(_)));
        assert!(a(503, "SlowDown").is_fault());
    }

    /// A stand-in for S3 that gives every request the same error: `status` and, except to a
    /// HEAD (which S3 answers without a body), an XML error with `code`. Returns its endpoint
    /// and the request lines it saw.
    fn canned_s3(status: u16, code: &'static str) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        let mut first = String::new();
                        if reader.read_line(&mut first).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut headers = Vec::new();
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            headers.push(line.trim().to_ascii_lowercase());
                        }
                        let range = headers.iter().any(|h| h.starts_with("range:"));
                        let request = first.trim().to_string();
                        log.lock().unwrap().push(format!("{request} range={range}"));
                        let body = format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                             <Message>canned</Message></Error>"
                        );
                        let head = request.starts_with("HEAD ");
                        let answer = format!(
                            "HTTP/1.1 {status} Canned\r\nContent-Type: application/xml\r\n\
                             Content-Length: {}\r\n\r\n{}",
                            body.len(),
                            if head { "" } else { body.as_str() }
                        );
                        if writer.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (endpoint, seen)
    }

    fn storage_at(endpoint: &str) -> S3Storage {
        S3Storage::new(
            S3Location::parse("bucket/p").unwrap(),
            S3Options {
                endpoint: Some(endpoint.to_string()),
                region: None,
            },
            Duration::from_secs(5),
            Arc::new(S3Runtime::default()),
        )
    }

    /// What `get` and `stat` answer when every request gets `status` and `code`, and the
    /// requests the stand-in saw.
    fn get_and_stat(status: u16, code: &'static str) -> (StorageError, StorageError, Vec<String>) {
        let (endpoint, seen) = canned_s3(status, code);
        let s = storage_at(&endpoint);
        let got = s.get("a.jpg", 100).unwrap_err();
        let stat = s.stat("a.jpg").unwrap_err();
        let seen = seen.lock().unwrap().clone();
        (got, stat, seen)
    }

    #[test]
    fn access_denied_is_a_404_from_get_and_from_stat() {
        if crate::storage::contract::test_s3_endpoint().is_none() {
            return;
        }
        let (got, stat, seen) = get_and_stat(403, "AccessDenied");
        assert!(matches!(got, StorageError::Denied(_)), "get: {got:?}");
        assert!(matches!(stat, StorageError::Denied(_)), "stat: {stat:?}");
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(
            seen[1].starts_with("HEAD ") && seen[2].starts_with("GET "),
            "{seen:?}"
        );
        assert!(seen[2].ends_with("range=true"), "a one-byte GET: {seen:?}");
    }

    #[test]
    fn store_faults_behind_a_403_or_404_are_faults_from_stat_too() {
        if crate::storage::contract::test_s3_endpoint().is_none() {
            return;
        }
        // Wrong credentials, and what AWS answers for a missing bucket: codes a HEAD lacks.
        for (status, code) in [
            (403, "InvalidAccessKeyId"),
            (403, "SignatureDoesNotMatch"),
            (404, "NoSuchBucket"),
        ] {
            let (got, stat, _) = get_and_stat(status, code);
            for e in [got, stat] {
                assert!(
                    matches!(e, StorageError::Failed(ref m) if m.contains(code)),
                    "{status} {code}: {e:?}"
                );
            }
        }
        // A missing key stays a 404 (NoSuchKey from the one-byte GET).
        let (_, stat, _) = get_and_stat(404, "NoSuchKey");
        assert!(matches!(stat, StorageError::NotFound(_)), "{stat:?}");
    }

    #[test]
    fn nothing_runs_until_the_first_request() {
        // Its first request resolves credentials through the real chain: only with the test
        // environment of scripts/test (test keys, instance metadata disabled), so that no
        // developer's machine ever asks an instance-metadata address.
        if crate::storage::contract::test_s3_endpoint().is_none() {
            return;
        }
        let runtime = Arc::new(S3Runtime::default());
        let s = S3Storage::new(
            S3Location::parse("bucket/p").unwrap(),
            S3Options {
                // A port nothing listens on: the first request fails fast.
                endpoint: Some("http://127.0.0.1:9".into()),
                region: None,
            },
            Duration::from_secs(5),
            runtime.clone(),
        );
        assert!(!runtime.started() && !s.has_client());
        assert!(matches!(
            s.get("../x", 10),
            Err(StorageError::KeyRefused(_))
        ));
        assert!(!runtime.started(), "a refused key starts nothing");
        let e = s.get("a.jpg", 10).unwrap_err();
        assert!(e.is_fault(), "{e:?}");
        assert!(runtime.started() && s.has_client());
    }
}
