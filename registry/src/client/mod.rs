//! A client for the Confluent Schema Registry API (and registries that implement it), with caches that make the
//! steady state free of I/O.

mod transport;
mod types;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use typed_kafka_avro::{SchemaGuid, SchemaId, SchemaInfo, SchemaRef};

use crate::cache::{CachePolicy, LoadingCache};
use crate::error::{ConfigError, RegistryError};
use transport::{Auth, Secret};
pub use types::{
    Compatibility, CompatibilityLevel, DeleteMode, Normalization, RegisteredSchema, SchemaById, SchemaReference,
    SchemaType, UnregisteredSchema, Version,
};

/// Builds a [`SchemaRegistryClient`] with validated configuration.
///
/// ```
/// use std::time::Duration;
/// use typed_kafka_registry::client::SchemaRegistryClient;
///
/// let client = SchemaRegistryClient::builder(["http://registry-a:8081", "http://registry-b:8081"])
///     .basic_auth_user_info("svc:s3cret")
///     .request_timeout(Duration::from_secs(5))
///     .max_retries(2)
///     .build()?;
/// assert!(!format!("{client:?}").contains("s3cret"));
/// # Ok::<(), typed_kafka_registry::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    urls: Vec<String>,
    /// The last authentication call wins; user info is split at `build`.
    auth: Option<AuthSetting>,
    connect_timeout: Duration,
    request_timeout: Duration,
    call_timeout: Duration,
    max_response_bytes: usize,
    max_retries: u32,
    backoff_initial: Duration,
    backoff_max: Duration,
    ca_pem: Vec<Vec<u8>>,
    id_cache_capacity: usize,
    subject_cache_capacity: usize,
    cache_max_bytes: usize,
    latest_ttl: Duration,
    missing_id_ttl: Duration,
}

#[derive(Clone)]
enum AuthSetting {
    Basic(Auth),
    UserInfo(Secret),
    Bearer(Auth),
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| transport::redact_url(u)).collect();
        let auth = match &self.auth {
            None => "none",
            Some(AuthSetting::Basic(_) | AuthSetting::UserInfo(_)) => "basic",
            Some(AuthSetting::Bearer(_)) => "bearer",
        };
        f.debug_struct("ClientBuilder")
            .field("urls", &urls)
            .field("auth", &auth)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticates with HTTP basic auth. The last authentication call wins.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(AuthSetting::Basic(Auth::Basic { user: user.into(), password: Secret::new(password) }));
        self
    }

    /// Authenticates with HTTP basic auth given as Confluent's `basic.auth.user.info`: `user:password` (split at
    /// the first colon; without one, [`build`](Self::build) fails). The last authentication call wins.
    pub fn basic_auth_user_info(mut self, user_info: impl Into<String>) -> Self {
        self.auth = Some(AuthSetting::UserInfo(Secret::new(user_info)));
        self
    }

    /// Authenticates with a bearer token. The last authentication call wins.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(AuthSetting::Bearer(Auth::Bearer(Secret::new(token))));
        self
    }

    /// Trusts this PEM certificate (bundle) in addition to the system's roots.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }

    /// Time allowed to open a connection (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Time allowed for one request, answer included (default 10 s).
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Time allowed for one call of the client, every retry and pause included (default 30 s); past it the call
    /// fails with [`RegistryError::Timeout`], which is retriable.
    pub fn call_timeout(mut self, t: Duration) -> Self {
        self.call_timeout = t;
        self
    }

    /// The largest answer read from the registry (default 16 MiB, far above real schemas); a larger one fails with
    /// [`RegistryError::ResponseTooLarge`] without being read further.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Retries after a connection error or a 5xx answer, moving to the next URL each time (default 3; 4xx answers
    /// are never retried).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// First and largest pause between retries (default 100 ms and 5 s), doubled each retry, with jitter.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// Entries kept in the by-ID cache (missing IDs included) and in each by-subject cache (registered IDs,
    /// latest versions, versions); default 1,000 each. A full cache drops its oldest entry.
    pub fn cache_capacity(mut self, by_id: usize, by_subject: usize) -> Self {
        self.id_cache_capacity = by_id;
        self.subject_cache_capacity = by_subject;
        self
    }

    /// Bytes of schema text each cache holds at most (default 64 MiB); a full cache drops its oldest entries.
    pub fn cache_max_bytes(mut self, bytes: usize) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// How long a subject's latest version is cached (default 5 min).
    pub fn latest_ttl(mut self, ttl: Duration) -> Self {
        self.latest_ttl = ttl;
        self
    }

    /// How long a schema ID the registry did not have is answered from memory (default 10 s).
    pub fn missing_id_ttl(mut self, ttl: Duration) -> Self {
        self.missing_id_ttl = ttl;
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<SchemaRegistryClient, ConfigError> {
        if self.urls.is_empty() {
            return Err(ConfigError::new("registry URLs", "at least one registry URL is required"));
        }
        let mut auth = match self.auth {
            None => None,
            Some(AuthSetting::Basic(a) | AuthSetting::Bearer(a)) => Some(a),
            Some(AuthSetting::UserInfo(info)) => {
                let (user, password) = info.expose().split_once(':').ok_or_else(|| {
                    ConfigError::new("basic auth user info", "expected `user:password` (no colon found)")
                })?;
                Some(Auth::Basic { user: user.to_string(), password: Secret::new(password) })
            }
        };
        let mut urls = Vec::new();
        for raw in &self.urls {
            let (url, credentials) = transport::parse_url(raw)?;
            // Credentials in a URL become basic auth unless set explicitly; the URL kept has none.
            if let Some(c) = credentials {
                auth.get_or_insert(c);
            }
            urls.push(url);
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() || self.call_timeout.is_zero() {
            return Err(ConfigError::new("timeouts", "must be greater than zero"));
        }
        if self.backoff_initial > self.backoff_max {
            return Err(ConfigError::new("backoff", "the initial backoff exceeds the largest backoff"));
        }
        let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(transport::counting_redirects(requests.clone()))
            .pool_idle_timeout(Duration::from_secs(60));
        http = add_ca(http, &self.ca_pem)?;
        let http = http.build().map_err(|e| ConfigError::new("HTTP client", e.to_string()))?;
        let config = transport::TransportConfig {
            urls,
            auth,
            max_retries: self.max_retries,
            backoff_initial: self.backoff_initial,
            backoff_max: self.backoff_max,
            call_timeout: self.call_timeout,
            max_response_bytes: self.max_response_bytes,
        };
        let transport = transport::Transport::new(http, config, requests);
        let policy = |capacity: usize, ttl: Option<Duration>, negative_ttl: Duration| CachePolicy {
            capacity,
            max_bytes: self.cache_max_bytes,
            ttl,
            negative_ttl,
        };
        let by_subject = policy(self.subject_cache_capacity, None, Duration::ZERO);
        Ok(SchemaRegistryClient {
            inner: Arc::new(Inner {
                transport,
                by_id: LoadingCache::new(policy(self.id_cache_capacity, None, self.missing_id_ttl), |s| s.schema.len()),
                by_guid: LoadingCache::new(policy(self.id_cache_capacity, None, self.missing_id_ttl), |s| {
                    s.schema.len()
                }),
                by_subject: LoadingCache::new(by_subject, |_| 0),
                latest: LoadingCache::new(
                    policy(self.subject_cache_capacity, Some(self.latest_ttl), Duration::ZERO),
                    |s| s.schema.len(),
                ),
                versions: LoadingCache::new(by_subject, |s| s.schema.len()),
                latest_ttl: self.latest_ttl,
                call_timeout: self.call_timeout,
                max_schema_bytes: self.max_response_bytes,
                cache_max_bytes: self.cache_max_bytes,
            }),
        })
    }
}

/// A Confluent Schema Registry client. Cheap to clone (an `Arc` inside); clones share caches and connections.
///
/// Cached lookups ([`schema_by_id_cached`](Self::schema_by_id_cached), [`register_cached`](Self::register_cached),
/// [`lookup_cached`](Self::lookup_cached), [`latest_version_cached`](Self::latest_version_cached),
/// [`version_cached`](Self::version_cached)) answer from memory once an entry is known (a short lock around a hash
/// lookup). Concurrent misses for one key share one HTTP request. The other methods always ask the registry. The
/// per-record path of a serializer does not come here at all: it keeps its topics' IDs itself.
#[derive(Clone)]
pub struct SchemaRegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SchemaRegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistryClient").field("transport", &self.inner.transport).finish_non_exhaustive()
    }
}

struct Inner {
    transport: transport::Transport,
    /// ID → schema; IDs the registry did not have are remembered for `missing_id_ttl`.
    by_id: LoadingCache<SchemaId, Arc<SchemaById>, RegistryError>,
    /// GUID → schema, as `by_id`.
    by_guid: LoadingCache<SchemaGuid, Arc<SchemaById>, RegistryError>,
    /// (subject, schema fingerprint) → ID, for auto-register and lookup.
    by_subject: LoadingCache<(String, u64), SchemaId, RegistryError>,
    /// subject → latest version, for `latest_ttl`.
    latest: LoadingCache<String, Arc<RegisteredSchema>, RegistryError>,
    /// (subject, version) → schema: a version never changes.
    versions: LoadingCache<(String, i32), Arc<RegisteredSchema>, RegistryError>,
    latest_ttl: Duration,
    /// One deadline for a call made of several requests (a schema and its references).
    call_timeout: Duration,
    /// Most bytes of schema text one schema and its references may take together.
    max_schema_bytes: usize,
    /// What each cache may hold, in bytes (the deserializers' plans included).
    cache_max_bytes: usize,
}

/// Statistics of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (every retry counts).
    pub http_requests: u64,
    /// Entries in the by-ID cache (IDs remembered as missing included).
    pub cached_ids: usize,
    /// Bytes of schema text the by-ID cache holds.
    pub cached_id_bytes: usize,
}

/// Percent-encodes a path segment (subjects may contain any character).
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize)]
struct IdResponse {
    id: SchemaId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigResponse {
    compatibility_level: Option<CompatibilityLevel>,
    compatibility: Option<CompatibilityLevel>,
}

#[derive(Deserialize)]
struct CompatibilityResponse {
    is_compatible: bool,
    #[serde(default)]
    messages: Vec<String>,
}

impl SchemaRegistryClient {
    /// A builder for a client of the registry at `urls` (tried in order, failing over on errors).
    pub fn builder<I, S>(urls: I) -> ClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientBuilder {
            urls: urls.into_iter().map(Into::into).collect(),
            auth: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            max_response_bytes: 16 << 20,
            max_retries: 3,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            ca_pem: Vec::new(),
            id_cache_capacity: 1000,
            subject_cache_capacity: 1000,
            cache_max_bytes: 64 << 20,
            latest_ttl: Duration::from_secs(300),
            missing_id_ttl: Duration::from_secs(10),
        }
    }

    /// How long [`latest_version_cached`](Self::latest_version_cached) answers from memory.
    pub fn latest_ttl(&self) -> Duration {
        self.inner.latest_ttl
    }

    /// Request and cache statistics.
    pub fn stats(&self) -> ClientStats {
        let (cached_ids, cached_id_bytes) = self.inner.by_id.usage();
        ClientStats { http_requests: self.inner.transport.requests(), cached_ids, cached_id_bytes }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        subject: Option<&str>,
    ) -> Result<T, RegistryError> {
        self.inner.transport.call(method, path, query, body, subject).await
    }

    // ---- schemas ----------------------------------------------------------------------------------------------
    //
    // Naming: a method named after the request always asks the registry; its `_cached` twin answers from memory
    // when it can, sharing one request among concurrent misses.

    /// Registers `schema` under `subject` (`POST /subjects/{subject}/versions`) and returns its ID; registering a
    /// schema the subject has already returns the existing ID.
    pub async fn register(
        &self,
        subject: &str,
        schema: &UnregisteredSchema,
        normalization: Normalization,
    ) -> Result<SchemaId, RegistryError> {
        let body = json_body(schema);
        let path = format!("/subjects/{}/versions", seg(subject));
        let r: IdResponse = self.call(Method::POST, &path, &normalization.query(), Some(&body), Some(subject)).await?;
        Ok(r.id)
    }

    /// Looks `schema` up under `subject` (`POST /subjects/{subject}`): its version and ID if registered there.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &UnregisteredSchema,
        normalization: Normalization,
    ) -> Result<RegisteredSchema, RegistryError> {
        let body = json_body(schema);
        let path = format!("/subjects/{}", seg(subject));
        self.call(Method::POST, &path, &normalization.query(), Some(&body), Some(subject)).await
    }

    /// The schema with this ID (`GET /schemas/ids/{id}`).
    pub async fn schema_by_id(&self, id: SchemaId) -> Result<SchemaById, RegistryError> {
        self.call(Method::GET, &format!("/schemas/ids/{id}"), &[], None, None).await
    }

    /// [`schema_by_id`](Self::schema_by_id), cached; an ID the registry did not have is remembered for the
    /// client's `missing_id_ttl`.
    pub async fn schema_by_id_cached(&self, id: SchemaId) -> Result<Arc<SchemaById>, RegistryError> {
        let not_found = |e: &RegistryError| matches!(e, RegistryError::SchemaNotFound { .. });
        self.inner.by_id.get_or_load(&id, not_found, || async { self.schema_by_id(id).await.map(Arc::new) }).await
    }

    /// The schema with this ID, parsed with its references resolved (its canonical form and fingerprint), fetched
    /// through [`schema_by_id_cached`](Self::schema_by_id_cached). The schema and all its references are fetched
    /// within one `call_timeout`, not one each.
    pub async fn parsed_schema_by_id_cached(&self, id: SchemaId) -> Result<SchemaInfo, RegistryError> {
        self.parsed_schema_cached(SchemaRef::Id(id)).await
    }

    /// The schema with this GUID (`GET /schemas/guids/{guid}`, Confluent Platform 8.1+): what a record framed by
    /// header names. A registry without the endpoint answers 404, a [`RegistryError::SchemaNotFound`].
    pub async fn schema_by_guid(&self, guid: SchemaGuid) -> Result<SchemaById, RegistryError> {
        self.call(Method::GET, &format!("/schemas/guids/{guid}"), &[], None, None).await.map_err(|e| match e {
            // A registry without GUIDs (Apicurio, Confluent before 8.1) answers a bare 404: say what that means.
            RegistryError::Http { status: 404, .. } => RegistryError::SchemaNotFound {
                message: format!("no schema with GUID {guid}, or the registry does not serve schemas by GUID"),
            },
            other => other,
        })
    }

    /// [`schema_by_guid`](Self::schema_by_guid), cached as [`schema_by_id_cached`](Self::schema_by_id_cached) is.
    pub async fn schema_by_guid_cached(&self, guid: SchemaGuid) -> Result<Arc<SchemaById>, RegistryError> {
        let not_found = |e: &RegistryError| matches!(e, RegistryError::SchemaNotFound { .. });
        self.inner
            .by_guid
            .get_or_load(&guid, not_found, || async { self.schema_by_guid(guid).await.map(Arc::new) })
            .await
    }

    /// The schema a record names (by ID or by GUID), parsed with its references resolved, all within one
    /// `call_timeout`.
    pub async fn parsed_schema_cached(&self, schema: SchemaRef) -> Result<SchemaInfo, RegistryError> {
        let (whose, request) = match schema {
            SchemaRef::Id(id) => (format!("schema {id}"), format!("GET /schemas/ids/{id}")),
            SchemaRef::Guid(guid) => (format!("schema GUID {guid}"), format!("GET /schemas/guids/{guid}")),
        };
        let fetch = async {
            let text = match schema {
                SchemaRef::Id(id) => self.schema_by_id_cached(id).await?,
                SchemaRef::Guid(guid) => self.schema_by_guid_cached(guid).await?,
            };
            self.fetch_references(&text, &whose).await.map(|texts| (text, texts))
        };
        let (text, texts) = self.within_one_deadline(&format!("{request} with its references"), fetch).await?;
        Self::parse_fetched(&text, &texts, &whose)
    }

    /// The schema with this ID as registered under `subject` (`GET /schemas/ids/{id}?subject=`).
    pub async fn schema_by_id_in_subject(&self, id: SchemaId, subject: &str) -> Result<SchemaById, RegistryError> {
        self.call(Method::GET, &format!("/schemas/ids/{id}"), &[("subject", subject.to_string())], None, Some(subject))
            .await
    }

    /// A version of a subject (`GET /subjects/{subject}/versions/{version}`).
    pub async fn version(&self, subject: &str, version: Version) -> Result<RegisteredSchema, RegistryError> {
        self.call(Method::GET, &format!("/subjects/{}/versions/{version}", seg(subject)), &[], None, Some(subject))
            .await
    }

    /// A numbered version of a subject, cached (a version's schema never changes).
    pub async fn version_cached(&self, subject: &str, version: i32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let key = (subject.to_string(), version);
        self.inner
            .versions
            .get_or_load(
                &key,
                |_| false,
                || async { self.version(subject, Version::Number(version)).await.map(Arc::new) },
            )
            .await
    }

    /// The latest version of a subject, cached for the client's `latest_ttl`.
    pub async fn latest_version_cached(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.inner
            .latest
            .get_or_load(
                &subject.to_string(),
                |_| false,
                || async { self.version(subject, Version::Latest).await.map(Arc::new) },
            )
            .await
    }

    /// Every subject (`GET /subjects`).
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.call(Method::GET, "/subjects", &[], None, None).await
    }

    /// The versions of a subject (`GET /subjects/{subject}/versions`).
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>, RegistryError> {
        self.call(Method::GET, &format!("/subjects/{}/versions", seg(subject)), &[], None, Some(subject)).await
    }

    /// Deletes a subject (`DELETE /subjects/{subject}`). Returns the deleted versions.
    pub async fn delete_subject(&self, subject: &str, mode: DeleteMode) -> Result<Vec<i32>, RegistryError> {
        let path = format!("/subjects/{}", seg(subject));
        let out = self.call(Method::DELETE, &path, &mode.query(), None, Some(subject)).await;
        self.forget_subject(subject);
        out
    }

    /// Deletes one version of a subject. Returns the deleted version.
    pub async fn delete_version(&self, subject: &str, version: i32, mode: DeleteMode) -> Result<i32, RegistryError> {
        let path = format!("/subjects/{}/versions/{version}", seg(subject));
        let out = self.call(Method::DELETE, &path, &mode.query(), None, Some(subject)).await;
        self.forget_subject(subject);
        out
    }

    fn forget_subject(&self, subject: &str) {
        self.inner.by_subject.remove_if(|(s, _)| s == subject);
        self.inner.latest.remove(&subject.to_string());
        self.inner.versions.remove_if(|(s, _)| s == subject);
    }

    // ---- compatibility ---------------------------------------------------------------------------------------

    /// Tests `schema` against one version of the subject (`POST /compatibility/subjects/{s}/versions/{v}`).
    pub async fn test_compatibility(
        &self,
        subject: &str,
        version: Version,
        schema: &UnregisteredSchema,
    ) -> Result<Compatibility, RegistryError> {
        let path = format!("/compatibility/subjects/{}/versions/{version}", seg(subject));
        self.compatibility(&path, subject, schema).await
    }

    /// Tests `schema` against every version the subject's level considers (`POST /compatibility/subjects/{s}/versions`).
    pub async fn test_compatibility_all(
        &self,
        subject: &str,
        schema: &UnregisteredSchema,
    ) -> Result<Compatibility, RegistryError> {
        let path = format!("/compatibility/subjects/{}/versions", seg(subject));
        self.compatibility(&path, subject, schema).await
    }

    async fn compatibility(
        &self,
        path: &str,
        subject: &str,
        schema: &UnregisteredSchema,
    ) -> Result<Compatibility, RegistryError> {
        let body = json_body(schema);
        let r: CompatibilityResponse =
            self.call(Method::POST, path, &[("verbose", "true".to_string())], Some(&body), Some(subject)).await?;
        Ok(Compatibility { is_compatible: r.is_compatible, messages: r.messages })
    }

    /// The registry's global compatibility level (`GET /config`).
    pub async fn global_compatibility(&self) -> Result<CompatibilityLevel, RegistryError> {
        let r: ConfigResponse = self.call(Method::GET, "/config", &[], None, None).await?;
        level(r, "GET /config")
    }

    /// Sets the global compatibility level (`PUT /config`).
    pub async fn set_global_compatibility(&self, level: CompatibilityLevel) -> Result<(), RegistryError> {
        let _: serde_json::Value =
            self.call(Method::PUT, "/config", &[], Some(&json!({ "compatibility": level })), None).await?;
        Ok(())
    }

    /// The subject's own compatibility level (`GET /config/{subject}`); `None` when it has none and follows the
    /// global level.
    pub async fn subject_compatibility(&self, subject: &str) -> Result<Option<CompatibilityLevel>, RegistryError> {
        let path = format!("/config/{}", seg(subject));
        match self.call::<ConfigResponse>(Method::GET, &path, &[], None, Some(subject)).await {
            Ok(r) => level(r, "GET /config/{subject}").map(Some),
            // Confluent answers 40408 (or 40401 for an unknown subject) when no subject-level config exists.
            Err(RegistryError::SubjectNotFound { .. }) => Ok(None),
            Err(RegistryError::Http { code: 40408, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The level that applies to the subject: its own, else the global one (`GET /config/{subject}?defaultToGlobal=
    /// true`). Ask this, not [`subject_compatibility`](Self::subject_compatibility), to know which checks a new
    /// version faces: some registries (Apicurio) answer `NONE` for a subject without a level of its own while the
    /// global level still applies.
    pub async fn effective_compatibility(&self, subject: &str) -> Result<CompatibilityLevel, RegistryError> {
        let path = format!("/config/{}", seg(subject));
        let query = [("defaultToGlobal", "true".to_string())];
        match self.call::<ConfigResponse>(Method::GET, &path, &query, None, Some(subject)).await {
            Ok(r) => level(r, "GET /config/{subject}?defaultToGlobal=true"),
            Err(RegistryError::SubjectNotFound { .. } | RegistryError::Http { code: 40408, .. }) => {
                self.global_compatibility().await
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the subject's compatibility level (`PUT /config/{subject}`).
    pub async fn set_subject_compatibility(
        &self,
        subject: &str,
        level: CompatibilityLevel,
    ) -> Result<(), RegistryError> {
        let path = format!("/config/{}", seg(subject));
        let _: serde_json::Value =
            self.call(Method::PUT, &path, &[], Some(&json!({ "compatibility": level })), Some(subject)).await?;
        Ok(())
    }

    /// Removes the subject's own level, so that the global one applies (`DELETE /config/{subject}`).
    pub async fn delete_subject_compatibility(&self, subject: &str) -> Result<(), RegistryError> {
        let path = format!("/config/{}", seg(subject));
        let _: serde_json::Value = self.call(Method::DELETE, &path, &[], None, Some(subject)).await?;
        Ok(())
    }

    // ---- cached paths for the serializer ---------------------------------------------------------------------

    /// Registers a type's schema under `subject` once, then answers from memory (auto-register mode).
    pub async fn register_cached(
        &self,
        subject: &str,
        info: &SchemaInfo,
        normalization: Normalization,
    ) -> Result<SchemaId, RegistryError> {
        self.subject_id_cached(subject, info, || async {
            self.register(subject, &UnregisteredSchema::avro(info.json()), normalization).await
        })
        .await
    }

    /// Finds a type's schema under `subject` without registering it, then answers from memory (lookup mode).
    pub async fn lookup_cached(
        &self,
        subject: &str,
        info: &SchemaInfo,
        normalization: Normalization,
    ) -> Result<SchemaId, RegistryError> {
        self.subject_id_cached(subject, info, || async {
            self.lookup(subject, &UnregisteredSchema::avro(info.json()), normalization).await.map(|r| r.id)
        })
        .await
    }

    async fn subject_id_cached<F, Fut>(
        &self,
        subject: &str,
        info: &SchemaInfo,
        fetch: F,
    ) -> Result<SchemaId, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SchemaId, RegistryError>>,
    {
        self.inner.by_subject.get_or_load(&(subject.to_string(), info.fingerprint()), |_| false, fetch).await
    }

    /// Parses a registry schema with its references resolved (fetched recursively through
    /// [`version_cached`](Self::version_cached), all within one `call_timeout`), giving its canonical form and
    /// fingerprint. `whose` names the schema in errors, e.g. `schema 42`. At most 1,000 references, and at most
    /// `max_response_bytes` of schema text with them all together.
    pub async fn parse_schema(&self, schema: &SchemaById, whose: &str) -> Result<SchemaInfo, RegistryError> {
        let request = format!("the references of {whose}");
        let texts = self.within_one_deadline(&request, self.fetch_references(schema, whose)).await?;
        Self::parse_fetched(schema, &texts, whose)
    }

    /// `call` within the client's `call_timeout`, as one call however many requests it makes.
    async fn within_one_deadline<T>(
        &self,
        request: &str,
        call: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let after = self.inner.call_timeout;
        let before = self.inner.transport.requests();
        match tokio::time::timeout(after, call).await {
            Ok(result) => result,
            Err(_) => Err(RegistryError::Timeout {
                request: request.to_string(),
                after,
                attempts: (self.inner.transport.requests() - before) as u32,
            }),
        }
    }

    /// Every schema `schema` refers to, directly or not, each once.
    async fn fetch_references(
        &self,
        schema: &SchemaById,
        whose: &str,
    ) -> Result<Vec<Arc<RegisteredSchema>>, RegistryError> {
        let unusable = |reason: String| RegistryError::UnusableSchema {
            schema: whose.to_string(),
            source: typed_kafka_avro::SchemaError::Invalid { reason },
        };
        let mut texts = Vec::new();
        let mut bytes = schema.schema.len();
        let mut pending: Vec<SchemaReference> = schema.references.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = pending.pop() {
            if !seen.insert((r.subject.clone(), r.version)) {
                continue;
            }
            if seen.len() > MAX_REFERENCES {
                return Err(unusable(format!("more than {MAX_REFERENCES} references")));
            }
            let referenced = self.version_cached(&r.subject, r.version).await?;
            bytes = bytes.saturating_add(referenced.schema.len());
            if bytes > self.inner.max_schema_bytes {
                return Err(unusable(format!(
                    "with its references, more than {} bytes of schema text",
                    self.inner.max_schema_bytes
                )));
            }
            pending.extend(referenced.references.iter().cloned());
            texts.push(referenced);
        }
        Ok(texts)
    }

    fn parse_fetched(
        schema: &SchemaById,
        texts: &[Arc<RegisteredSchema>],
        whose: &str,
    ) -> Result<SchemaInfo, RegistryError> {
        let refs: Vec<&str> = texts.iter().map(|t| t.schema.as_str()).collect();
        SchemaInfo::parse_with_references(schema.schema.as_str(), &refs)
            .map_err(|source| RegistryError::UnusableSchema { schema: whose.to_string(), source })
    }

    /// The bytes each of the client's caches may hold (the deserializers' plan caches use it too).
    pub(crate) fn cache_max_bytes(&self) -> usize {
        self.inner.cache_max_bytes
    }
}

/// Most schemas one schema may refer to, directly or not.
const MAX_REFERENCES: usize = 1000;

fn json_body(schema: &UnregisteredSchema) -> serde_json::Value {
    json!({
        "schema": schema.schema,
        "schemaType": schema.schema_type,
        "references": schema.references,
    })
}

#[cfg(feature = "rustls")]
fn add_ca(http: reqwest::ClientBuilder, pems: &[Vec<u8>]) -> Result<reqwest::ClientBuilder, ConfigError> {
    let mut certs = Vec::new();
    for pem in pems {
        certs.extend(
            reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ConfigError::new("CA certificate", e.to_string()))?,
        );
    }
    Ok(if certs.is_empty() { http } else { http.tls_certs_merge(certs) })
}

#[cfg(not(feature = "rustls"))]
fn add_ca(http: reqwest::ClientBuilder, pems: &[Vec<u8>]) -> Result<reqwest::ClientBuilder, ConfigError> {
    if pems.is_empty() {
        Ok(http)
    } else {
        Err(ConfigError::new("CA certificate", "needs the `rustls` feature of typed-kafka-registry"))
    }
}

fn level(r: ConfigResponse, request: &str) -> Result<CompatibilityLevel, RegistryError> {
    r.compatibility_level.or(r.compatibility).ok_or_else(|| RegistryError::InvalidResponse {
        request: request.to_string(),
        reason: "no compatibility level in the answer".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_err(b: ClientBuilder) -> ConfigError {
        b.build().unwrap_err()
    }

    #[test]
    fn builder_validates_and_hides_credentials() {
        assert_eq!(config_err(SchemaRegistryClient::builder(Vec::<String>::new())).setting, "registry URLs");
        assert_eq!(config_err(SchemaRegistryClient::builder(["ftp://x"])).setting, "registry URL");
        let e = config_err(SchemaRegistryClient::builder(["http://x"]).basic_auth_user_info("no-colon"));
        assert_eq!(e.setting, "basic auth user info");
        assert!(!e.to_string().contains("no-colon"), "the secret is not echoed: {e}");
        let c = SchemaRegistryClient::builder(["http://svc:pa55word@registry:8081"]).build().unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("pa55word"), "{debug}");
        assert!(debug.contains("http://registry:8081/"), "{debug}");
        assert!(debug.contains("svc"), "{debug}");
    }

    #[tokio::test]
    async fn credentials_never_show_in_builders_clients_or_errors() {
        // The reported cases: a builder's Debug, a password-only URL, and the Unreachable error listing URLs.
        let builder = SchemaRegistryClient::builder(["http://svc:pa55word@registry:8081"]);
        assert!(!format!("{builder:?}").contains("pa55word"), "{builder:?}");
        let builder = SchemaRegistryClient::builder(["http://:pw-only-secret@127.0.0.1:9"]).max_retries(0);
        assert!(!format!("{builder:?}").contains("pw-only-secret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("pw-only-secret"), "{client:?}");
        let err = client.subjects().await.unwrap_err();
        assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
        assert!(!format!("{err} {err:?}").contains("pw-only-secret"), "{err}");
        let token = SchemaRegistryClient::builder(["http://registry"]).bearer_token("tok-secret-1");
        assert!(!format!("{token:?}").contains("tok-secret-1"));
    }

    #[test]
    fn the_last_authentication_call_wins() {
        let basic = |b: ClientBuilder| match b.build().unwrap().inner.transport.config.auth.clone() {
            Some(Auth::Basic { user, password }) => format!("basic {user}:{}", password.expose()),
            Some(Auth::Bearer(t)) => format!("bearer {}", t.expose()),
            None => "none".into(),
        };
        let b = || SchemaRegistryClient::builder(["http://registry:8081"]);
        assert_eq!(basic(b().basic_auth_user_info("a:1").bearer_token("t")), "bearer t");
        assert_eq!(basic(b().bearer_token("t").basic_auth_user_info("a:1")), "basic a:1");
        assert_eq!(basic(b().basic_auth_user_info("a:1").basic_auth("b", "2")), "basic b:2");
        assert_eq!(basic(b().basic_auth("b", "2").basic_auth_user_info("a:1:x")), "basic a:1:x");
        // Explicit auth wins over credentials in the URL.
        let url = || SchemaRegistryClient::builder(["http://u:p@registry:8081"]);
        assert_eq!(basic(url()), "basic u:p");
        assert_eq!(basic(url().bearer_token("t")), "bearer t");
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_custom_ca_is_parsed_at_build_time() {
        // reqwest accepts a PEM bundle with no certificate in it (there is nothing to trust and nothing wrong).
        let empty = SchemaRegistryClient::builder(["https://registry:8081"]).ca_pem(b"not a certificate".to_vec());
        assert!(empty.build().is_ok());
        let malformed = SchemaRegistryClient::builder(["https://registry:8081"])
            .ca_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_vec());
        assert_eq!(config_err(malformed).setting, "CA certificate");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("orders-value"), "orders-value");
        assert_eq!(seg("a/b c%"), "a%2Fb%20c%25");
    }
}
