//! HTTP to the registry: failover across base URLs, retries with exponential backoff and jitter on connection
//! errors and 5xx (never on 4xx), authentication, and the mapping of error codes to [`RegistryError`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::error::{ConfigError, RegistryError};

/// A password or token: shown as `***` in Debug output, never logged, never put in an error.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// HTTP basic authentication (Confluent's `basic.auth.user.info` = `user:password`).
    Basic { user: String, password: Secret },
    /// A bearer token.
    Bearer(Secret),
}

/// `raw` with any user info replaced by `***`, for Debug output of what the user configured.
pub(crate) fn redact_url(raw: &str) -> String {
    match raw.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => raw.to_string(),
            }
        }
        None if raw.contains('@') => "***".to_string(),
        None => raw.to_string(),
    }
}

/// A registry base URL, validated, without user info; the user info (percent-decoded) as basic auth, if any.
pub(crate) fn parse_url(raw: &str) -> Result<(Url, Option<Auth>), ConfigError> {
    let invalid = |reason: String| ConfigError::new("registry URL", format!("{}: {reason}", redact_url(raw)));
    let mut url = Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!("the scheme must be http or https, not {}", url.scheme())));
    }
    let credentials = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| invalid("the user info is not UTF-8 once percent-decoded".into()))
        };
        let user = decode(url.username())?;
        let password = decode(url.password().unwrap_or_default())?;
        Some(Auth::Basic { user, password: Secret::new(password) })
    };
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok((url, credentials))
}

/// The longest `Retry-After` honoured between two attempts.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Longest registry message an error keeps (the rest is cut, marked with `…`).
const MAX_MESSAGE_CHARS: usize = 512;

/// What the transport does besides sending: retries, limits, credentials.
#[derive(Clone)]
pub(crate) struct TransportConfig {
    pub(crate) urls: Vec<Url>,
    pub(crate) auth: Option<Auth>,
    pub(crate) max_retries: u32,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    /// The whole call, retries and pauses included.
    pub(crate) call_timeout: Duration,
    /// The largest response body read.
    pub(crate) max_response_bytes: usize,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    pub(crate) config: TransportConfig,
    /// Strings never to show: the password, the token and the basic auth header value.
    secrets: Vec<String>,
    preferred: AtomicUsize,
    /// Every HTTP request, redirects included (the redirect policy counts those).
    requests: Arc<AtomicU64>,
    rng: AtomicU64,
}

/// A redirect policy that follows at most 10 hops and counts each one as a request in `requests`.
pub(crate) fn counting_redirects(requests: Arc<AtomicU64>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            requests.fetch_add(1, Ordering::Relaxed);
            attempt.follow()
        }
    })
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("urls", &self.url_list())
            .field("auth", &self.config.auth)
            .field("max_retries", &self.config.max_retries)
            .field("call_timeout", &self.config.call_timeout)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error_code: Option<i64>,
    message: Option<String>,
}

enum Attempt {
    /// Give up with this error.
    Fatal(RegistryError),
    /// Try again (next URL, after a backoff, or after the registry's `Retry-After` if it is longer).
    Retry(RegistryError, Option<Duration>),
}

impl Transport {
    /// A transport over `http`, which must count its redirects into `requests` ([`counting_redirects`]).
    pub(crate) fn new(http: reqwest::Client, config: TransportConfig, requests: Arc<AtomicU64>) -> Transport {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
        let secrets = match &config.auth {
            Some(Auth::Basic { user, password }) => {
                let header = base64(format!("{user}:{}", password.expose()).as_bytes());
                vec![password.expose().to_string(), header]
            }
            Some(Auth::Bearer(token)) => vec![token.expose().to_string()],
            None => Vec::new(),
        };
        let secrets = secrets.into_iter().filter(|s| s.len() >= 3).collect();
        Transport { http, config, secrets, preferred: AtomicUsize::new(0), requests, rng: AtomicU64::new(seed) }
    }

    /// `text` with every credential replaced by `***` (a registry may echo the request's Authorization header in
    /// an error body), then cut to [`MAX_MESSAGE_CHARS`]: masked first, so that a cut cannot split a credential
    /// and leave most of it unmasked.
    fn scrub(&self, text: &str) -> String {
        let mut masked = std::borrow::Cow::Borrowed(text);
        for secret in &self.secrets {
            if masked.contains(secret.as_str()) {
                masked = std::borrow::Cow::Owned(masked.replace(secret.as_str(), "***"));
            }
        }
        let mut out: String = masked.chars().take(MAX_MESSAGE_CHARS).collect();
        if out.len() < masked.len() {
            out.push('…');
        }
        out
    }

    /// HTTP requests sent so far (every attempt counts).
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn url_list(&self) -> String {
        self.config.urls.iter().map(Url::as_str).collect::<Vec<_>>().join(", ")
    }

    /// A random number in `0..n` (xorshift; only for jitter).
    fn random(&self, n: u64) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        if n == 0 { 0 } else { x % n }
    }

    /// The pause before retry number `retry` (1-based): exponential, capped, with "equal jitter" (half fixed, half
    /// random) so that many clients do not retry in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self.config.backoff_initial.saturating_mul(1u32 << (retry - 1).min(16));
        let capped = exp.min(self.config.backoff_max).as_millis() as u64;
        Duration::from_millis(capped / 2 + self.random(capped / 2 + 1))
    }

    /// Sends `method path` (path already percent-encoded, starting with `/`) and parses the JSON answer, trying
    /// again on retriable failures, all within the call timeout. `subject` gives a 409 its subject.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        subject: Option<&str>,
    ) -> Result<T, RegistryError> {
        let request_name = format!("{method} {path}");
        let span = tracing::debug_span!("schema_registry", request = %request_name);
        let attempts = AtomicU32::new(0);
        let tries = self.tries(&method, path, query, body, subject, &request_name, &attempts);
        match tokio::time::timeout(self.config.call_timeout, tries).instrument(span).await {
            Ok(result) => result,
            Err(_) => Err(RegistryError::Timeout {
                request: request_name,
                after: self.config.call_timeout,
                attempts: attempts.load(Ordering::Relaxed),
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn tries<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        subject: Option<&str>,
        request_name: &str,
        attempts: &AtomicU32,
    ) -> Result<T, RegistryError> {
        let n = self.config.urls.len();
        loop {
            let done = attempts.fetch_add(1, Ordering::Relaxed);
            let index = (self.preferred.load(Ordering::Relaxed) + done as usize) % n;
            let attempts = done + 1;
            match self.attempt::<T>(method, index, path, query, body, subject, request_name).await {
                Ok(v) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(e, retry_after)) => {
                    if attempts > self.config.max_retries {
                        return Err(match e {
                            RegistryError::Server { status, code, message, .. } => {
                                RegistryError::Server { status, code, message, attempts }
                            }
                            RegistryError::Unreachable { reason, .. } => {
                                RegistryError::Unreachable { urls: self.url_list(), attempts, reason }
                            }
                            RegistryError::Throttled { status, retry_after, .. } => {
                                RegistryError::Throttled { status, retry_after, attempts }
                            }
                            other => other,
                        });
                    }
                    let pause = self.backoff(attempts).max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
                    tracing::debug!(error = %e, ?pause, attempt = attempts, "retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        index: usize,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        subject: Option<&str>,
        request_name: &str,
    ) -> Result<T, Attempt> {
        let base = &self.config.urls[index];
        let url = format!("{}{}", base.as_str().trim_end_matches('/'), path);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header("Accept", "application/vnd.schemaregistry.v1+json, application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/vnd.schemaregistry.v1+json").body(b.to_string());
        }
        req = match &self.config.auth {
            Some(Auth::Basic { user, password }) => req.basic_auth(user, Some(password.expose())),
            Some(Auth::Bearer(token)) => req.bearer_auth(token.expose()),
            None => req,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                // reqwest's error text carries the URL, which holds no credentials (they are stripped at build).
                let reason = self.scrub(&error_chain(&e));
                if e.is_redirect() {
                    // Following redirects again would loop again.
                    return Err(Attempt::Fatal(RegistryError::InvalidResponse {
                        request: request_name.to_string(),
                        reason,
                    }));
                }
                if reason.to_ascii_lowercase().contains("certificate") {
                    return Err(Attempt::Fatal(RegistryError::Tls { url: base.to_string(), reason }));
                }
                return Err(Attempt::Retry(
                    RegistryError::Unreachable { urls: base.to_string(), attempts: 1, reason },
                    None,
                ));
            }
        };
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let status = resp.status();
        let bytes = match self.read_body(resp, request_name).await {
            Ok(b) => b,
            Err(e @ RegistryError::ResponseTooLarge { .. }) => return Err(Attempt::Fatal(e)),
            Err(e) => return Err(Attempt::Retry(e, None)),
        };
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Attempt::Fatal(RegistryError::InvalidResponse {
                    request: request_name.to_string(),
                    reason: self.scrub(&format!("{e}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)]))),
                })
            });
        }
        if matches!(status.as_u16(), 408 | 429) {
            let err = RegistryError::Throttled { status: status.as_u16(), retry_after, attempts: 1 };
            return Err(Attempt::Retry(err, retry_after));
        }
        let err = map_error(status, &bytes, subject, |m| self.scrub(m));
        if status.is_server_error() { Err(Attempt::Retry(err, retry_after)) } else { Err(Attempt::Fatal(err)) }
    }
}

impl Transport {
    /// The response body, refused past `max_response_bytes` (by its Content-Length, or while it streams in).
    async fn read_body(&self, mut resp: reqwest::Response, request_name: &str) -> Result<Vec<u8>, RegistryError> {
        let limit = self.config.max_response_bytes;
        let too_large = || RegistryError::ResponseTooLarge { request: request_name.to_string(), limit };
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(resp.content_length().map_or(1024, |n| n as usize));
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    return Err(RegistryError::Unreachable {
                        urls: self.url_list(),
                        attempts: 1,
                        reason: format!("reading the response: {}", self.scrub(&error_chain(&e))),
                    });
                }
            }
        }
    }
}

/// Standard base64 (what a basic auth header carries), to recognise an echoed header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Maps an error answer to a typed error by the registry's `error_code` (or the HTTP status without one).
pub(crate) fn map_error(
    status: StatusCode,
    body: &[u8],
    subject: Option<&str>,
    scrub: impl Fn(&str) -> String,
) -> RegistryError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let message = match parsed.as_ref().and_then(|b| b.message.as_deref()) {
        Some(m) => scrub(m),
        // The whole body (bounded by `max_response_bytes`): masked before it is cut.
        None => scrub(&String::from_utf8_lossy(body)),
    };
    let code = parsed.as_ref().and_then(|b| b.error_code).unwrap_or(i64::from(status.as_u16()));
    match (status.as_u16(), code) {
        (_, 40401) => RegistryError::SubjectNotFound { message },
        (_, 40402) => RegistryError::VersionNotFound { message },
        (_, 40403) => RegistryError::SchemaNotFound { message },
        (409, _) | (_, 409) => RegistryError::Incompatible {
            subject: subject.unwrap_or_default().to_string(),
            reasons: message.split("; ").map(str::to_owned).collect(),
        },
        (_, 42201) => RegistryError::InvalidSchema { message },
        (_, 42202) => RegistryError::InvalidVersion { message },
        (_, 42203) => RegistryError::InvalidCompatibilityLevel { message },
        (_, c) if (42200..42300).contains(&c) => RegistryError::Unprocessable { code: c, message },
        (401 | 403, _) => RegistryError::Unauthorized { status: status.as_u16(), message },
        (s, code) if s >= 500 => RegistryError::Server { status: s, code, message, attempts: 1 },
        (s, code) => RegistryError::Http { status: s, code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_error_codes_map_to_typed_errors() {
        let m = |status: u16, body: &str| {
            map_error(StatusCode::from_u16(status).unwrap(), body.as_bytes(), Some("s"), str::to_owned)
        };
        assert!(matches!(m(404, r#"{"error_code":40401,"message":"x"}"#), RegistryError::SubjectNotFound { .. }));
        assert!(matches!(m(404, r#"{"error_code":40402,"message":"x"}"#), RegistryError::VersionNotFound { .. }));
        assert!(matches!(m(404, r#"{"error_code":40403,"message":"x"}"#), RegistryError::SchemaNotFound { .. }));
        assert!(matches!(m(409, r#"{"error_code":409,"message":"a; b"}"#),
            RegistryError::Incompatible { subject, reasons } if subject == "s" && reasons == ["a", "b"]));
        assert!(matches!(m(422, r#"{"error_code":42201,"message":"x"}"#), RegistryError::InvalidSchema { .. }));
        assert!(matches!(m(422, r#"{"error_code":42202,"message":"x"}"#), RegistryError::InvalidVersion { .. }));
        assert!(matches!(
            m(422, r#"{"error_code":42203,"message":"x"}"#),
            RegistryError::InvalidCompatibilityLevel { .. }
        ));
        assert!(matches!(
            m(422, r#"{"error_code":42205,"message":"x"}"#),
            RegistryError::Unprocessable { code: 42205, .. }
        ));
        assert!(matches!(
            m(500, r#"{"error_code":50001,"message":"store"}"#),
            RegistryError::Server { code: 50001, .. }
        ));
        assert!(matches!(m(503, "not json"), RegistryError::Server { code: 503, .. }));
        assert!(matches!(m(401, ""), RegistryError::Unauthorized { status: 401, .. }));
        assert!(matches!(m(400, "{}"), RegistryError::Http { status: 400, code: 400, .. }));
        assert!(m(500, "{}").is_retriable());
        assert!(!m(404, r#"{"error_code":40401}"#).is_retriable());
    }

    #[test]
    fn urls_are_redacted_and_user_info_is_decoded() {
        assert_eq!(redact_url("http://svc:pa55word@registry:8081/x"), "http://***@registry:8081/x");
        assert_eq!(redact_url("http://:pw@host"), "http://***@host");
        assert_eq!(redact_url("http://host/a@b"), "http://host/a@b");
        let (url, auth) = parse_url("http://svc:p%40ss@registry:8081").unwrap();
        assert_eq!(url.as_str(), "http://registry:8081/");
        assert_eq!(auth, Some(Auth::Basic { user: "svc".into(), password: Secret::new("p@ss") }));
        let (url, auth) = parse_url("http://:pw@registry").unwrap();
        assert_eq!(url.as_str(), "http://registry/");
        assert_eq!(auth, Some(Auth::Basic { user: String::new(), password: Secret::new("pw") }));
        let e = parse_url("ftp://u:secret@x").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let auth = Auth::Basic { user: "svc".into(), password: Secret::new("hunter2") };
        let text = format!("{auth:?} {:?}", Auth::Bearer(Secret::new("tok-123")));
        assert!(!text.contains("hunter2") && !text.contains("tok-123"), "{text}");
        assert!(text.contains("svc"));
    }
}

/// The transport's own rules (auth headers, which answers are retried) against a scripted local HTTP responder.
/// The real registry is exercised by the integration tests; this checks only our logic.
#[cfg(test)]
mod scripted {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::test_server::serve;

    /// Answers each connection with the next scripted `(status, body)` and records the request heads.
    fn responder(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in script {
                let Ok((mut conn, _)) = listener.accept() else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let len = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body_in = vec![0u8; len];
                let _ = conn.read_exact(&mut body_in);
                log.lock().unwrap().push(head);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, seen)
    }

    fn config(url: &str, auth: Option<Auth>, retries: u32) -> TransportConfig {
        TransportConfig {
            urls: vec![Url::parse(url).unwrap()],
            auth,
            max_retries: retries,
            backoff_initial: Duration::from_millis(5),
            backoff_max: Duration::from_millis(20),
            call_timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 20,
        }
    }

    fn with_config(config: TransportConfig) -> Transport {
        let requests = Arc::new(AtomicU64::new(0));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(counting_redirects(requests.clone()))
            .build()
            .unwrap();
        Transport::new(http, config, requests)
    }

    fn transport(url: &str, auth: Option<Auth>, retries: u32) -> Transport {
        with_config(config(url, auth, retries))
    }

    #[tokio::test]
    async fn response_bodies_are_capped_while_they_stream() {
        // A chunked answer that would never end: refused at the limit, not buffered, not retried.
        let (url, seen) = serve(4, |conn, _, _| {
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..1024 {
                if write!(conn, "{:x}\r\n", chunk.len()).is_err()
                    || conn.write_all(&chunk).is_err()
                    || conn.write_all(b"\r\n").is_err()
                {
                    return;
                }
            }
        });
        let t = transport(&url, None, 3);
        let e = t.call::<serde_json::Value>(Method::GET, "/schemas/ids/1", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::ResponseTooLarge { limit, .. } if limit == 1 << 20), "{e}");
        assert!(!e.is_retriable());
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        // A declared length over the limit is refused before reading.
        let (url, _) = serve(1, |conn, _, _| {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n{");
        });
        let e =
            transport(&url, None, 0).call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::ResponseTooLarge { .. }), "{e}");
    }

    #[tokio::test]
    async fn long_messages_are_cut_and_echoed_credentials_scrubbed() {
        let (url, _) = serve(1, |conn, _, _| {
            let body = format!(r#"{{"error_code":50001,"message":"{}"}}"#, "x".repeat(5 << 20));
            let _ = write!(conn, "HTTP/1.1 500 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        });
        let mut c = config(&url, None, 0);
        c.max_response_bytes = 16 << 20;
        let e = with_config(c).call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::Server { code: 50001, .. }));
        assert!(e.to_string().len() < 1024, "{} bytes", e.to_string().len());

        // A 401 whose body echoes the request's Authorization header.
        let echo = |conn: &mut std::net::TcpStream, head: &str, _: &str| {
            let auth = head.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization:")).unwrap_or("");
            let body = format!(r#"{{"error_code":401,"message":"denied: {auth}"}}"#);
            let _ = write!(conn, "HTTP/1.1 401 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        };
        let (url, _) = serve(2, echo);
        let basic = transport(&url, Some(Auth::Basic { user: "svc".into(), password: Secret::new("s3cret-pw") }), 0);
        let e = basic.call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(matches!(e, RegistryError::Unauthorized { status: 401, .. }));
        assert!(!text.contains("s3cret-pw") && !text.contains(&base64(b"svc:s3cret-pw")), "{text}");
        assert!(text.contains("Basic ***"), "{text}");
        let bearer = transport(&url, Some(Auth::Bearer(Secret::new("tok-9876"))), 0);
        let e = bearer.call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        assert!(!format!("{e} {e:?}").contains("tok-9876"), "{e}");
    }

    #[tokio::test]
    async fn an_echoed_credential_across_the_cut_is_masked_before_the_cut() {
        // The echo starts a few characters before the 512th: cut first, then masked, most of it showed.
        let secret = "s3cret-password-long-enough";
        for offset in [500, 505, 510, 511] {
            let answer = move |conn: &mut std::net::TcpStream, _: &str, _: &str| {
                let body =
                    format!(r#"{{"error_code":401,"message":"{}{secret}{}"}}"#, "x".repeat(offset), "y".repeat(100));
                let _ =
                    write!(conn, "HTTP/1.1 401 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            };
            let (url, _) = serve(1, answer);
            let basic = transport(&url, Some(Auth::Basic { user: "svc".into(), password: Secret::new(secret) }), 0);
            let e = basic.call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains(&secret[..4]), "offset {offset}: {text}");
        }
    }

    #[tokio::test]
    async fn one_deadline_bounds_a_call_and_its_retries() {
        // A registry that drips one byte a second: without a deadline, 4 attempts x the request timeout.
        let (url, seen) = serve(8, |conn, _, _| {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            for _ in 0..100 {
                if conn.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(1000));
            }
        });
        let mut c = config(&url, None, 3);
        c.call_timeout = Duration::from_millis(1500);
        let t = std::time::Instant::now();
        let e = with_config(c).call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(3), "took {:?}", t.elapsed());
        assert!(
            matches!(e, RegistryError::Timeout { after, attempts: 1, .. } if after == Duration::from_millis(1500)),
            "{e}"
        );
        assert!(e.is_retriable());
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_redirect_loop_is_not_retried_and_every_hop_is_counted() {
        let (url, seen) = serve(50, |conn, _, base| {
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\nLocation: {base}/loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        });
        let t = transport(&url, None, 3);
        let e = t.call::<serde_json::Value>(Method::GET, "/x", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::InvalidResponse { .. }), "{e}");
        assert!(!e.is_retriable());
        // The first request and 9 followed redirects; the 10th redirect is refused, not followed. The stats count
        // every one of them (they used to count 1 per attempt, and 4 attempts made 44 requests).
        assert_eq!(seen.load(Ordering::SeqCst), 10);
        assert_eq!(t.requests(), 10);
    }

    #[tokio::test]
    async fn basic_and_bearer_auth_headers_are_sent() {
        let (url, seen) = responder(vec![(200, r#"{"id":1}"#), (200, r#"{"id":2}"#)]);
        let basic = transport(&url, Some(Auth::Basic { user: "svc".into(), password: Secret::new("s3cret") }), 0);
        let _: serde_json::Value = basic.call(Method::GET, "/x", &[], None, None).await.unwrap();
        let bearer = transport(&url, Some(Auth::Bearer(Secret::new("tok-1"))), 0);
        let _: serde_json::Value = bearer.call(Method::GET, "/x", &[], None, None).await.unwrap();
        let heads = seen.lock().unwrap().clone();
        // base64("svc:s3cret") = c3ZjOnMzY3JldA==
        assert!(heads[0].to_ascii_lowercase().contains("authorization: basic c3zjonmzy3jlda=="), "{}", heads[0]);
        assert!(heads[1].contains("Bearer tok-1") || heads[1].contains("bearer tok-1"), "{}", heads[1]);
    }

    #[tokio::test]
    async fn server_errors_are_retried_and_client_errors_are_not() {
        let (url, seen) = responder(vec![(503, "{}"), (500, r#"{"error_code":50001,"message":"x"}"#), (200, "[1]")]);
        let t = transport(&url, None, 3);
        let v: Vec<i32> = t.call(Method::GET, "/subjects/s/versions", &[], None, None).await.unwrap();
        assert_eq!(v, [1]);
        assert_eq!(seen.lock().unwrap().len(), 3);

        let (url, seen) = responder(vec![(404, r#"{"error_code":40401,"message":"no"}"#), (200, "[1]")]);
        let t = transport(&url, None, 3);
        let e = t.call::<Vec<i32>>(Method::GET, "/subjects/s/versions", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::SubjectNotFound { .. }));
        assert_eq!(seen.lock().unwrap().len(), 1, "a 4xx is never retried");

        let (url, _) = responder(vec![(500, "{}"), (502, "{}"), (503, "{}")]);
        let t = transport(&url, None, 2);
        let e = t.call::<Vec<i32>>(Method::GET, "/subjects", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::Server { status: 503, attempts: 3, .. }), "{e}");
    }

    #[tokio::test]
    async fn throttling_is_retried_and_retriable() {
        let (url, seen) = responder(vec![(429, "{}"), (408, "{}"), (200, "[1]")]);
        let t = transport(&url, None, 3);
        let v: Vec<i32> = t.call(Method::GET, "/subjects/s/versions", &[], None, None).await.unwrap();
        assert_eq!(v, [1]);
        assert_eq!(seen.lock().unwrap().len(), 3);

        let (url, _) = responder(vec![(429, "{}"), (429, "{}")]);
        let t = transport(&url, None, 1);
        let e = t.call::<Vec<i32>>(Method::GET, "/subjects", &[], None, None).await.unwrap_err();
        assert!(matches!(e, RegistryError::Throttled { status: 429, attempts: 2, .. }), "{e}");
        assert!(e.is_retriable());
    }
}
