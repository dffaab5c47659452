//! A client for the Confluent Schema Registry API (and registries that implement it), with caches that make the
//! steady state free of I/O.

mod cache;
mod transport;
mod types;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use crate::codec::SchemaInfo;
use crate::error::RegistryError;
pub use transport::{Auth, Secret};
pub use types::{
    Compatibility, CompatibilityLevel, RegisteredSchema, SchemaById, SchemaReference, SchemaType, UnregisteredSchema,
    Version,
};

#[doc(hidden)]
pub use cache::Fnv as FnvHasher;
pub(crate) use cache::FnvMap;
use cache::{BoundedMap, SingleFlight};

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
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    urls: Vec<String>,
    auth: Option<Auth>,
    user_info: Option<Secret>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_retries: u32,
    backoff_initial: Duration,
    backoff_max: Duration,
    ca_pem: Vec<Vec<u8>>,
    id_cache_capacity: usize,
    subject_cache_capacity: usize,
    latest_ttl: Duration,
    missing_id_ttl: Duration,
}

impl ClientBuilder {
    /// Authenticates with HTTP basic auth.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic { user: user.into(), password: Secret::new(password) });
        self
    }

    /// Authenticates with HTTP basic auth given as Confluent's `USER_INFO`: `user:password`.
    pub fn basic_auth_user_info(mut self, user_info: impl Into<String>) -> Self {
        self.user_info = Some(Secret::new(user_info));
        self
    }

    /// Authenticates with a bearer token.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(Secret::new(token)));
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

    /// Time allowed for one request, answer included (default 30 s).
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
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

    /// Entries kept in the by-ID cache and in each by-subject cache (registered IDs, latest versions, missing IDs);
    /// default 1,000 each. Full caches drop expired entries first, then the oldest (by ID) or an arbitrary one.
    pub fn cache_capacity(mut self, by_id: usize, by_subject: usize) -> Self {
        self.id_cache_capacity = by_id;
        self.subject_cache_capacity = by_subject;
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
    pub fn build(self) -> Result<SchemaRegistryClient, RegistryError> {
        let config = |m: String| RegistryError::Config(m);
        if self.urls.is_empty() {
            return Err(config("at least one registry URL is required".into()));
        }
        let mut auth = self.auth;
        if let Some(info) = &self.user_info {
            let (user, password) = info
                .expose()
                .split_once(':')
                .ok_or_else(|| config("basic auth user info must be `user:password`".into()))?;
            auth = Some(Auth::Basic { user: user.to_string(), password: Secret::new(password) });
        }
        let mut urls = Vec::new();
        for raw in &self.urls {
            let mut url = Url::parse(raw.trim()).map_err(|e| config(format!("invalid registry URL: {e}")))?;
            if url.scheme() != "http" && url.scheme() != "https" {
                return Err(config(format!("registry URL scheme must be http or https, not {}", url.scheme())));
            }
            // Credentials in a URL become basic auth; the URL kept for requests and messages has none.
            if !url.username().is_empty() {
                let user = url.username().to_string();
                let password = url.password().unwrap_or_default().to_string();
                auth.get_or_insert(Auth::Basic { user, password: Secret::new(password) });
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            urls.push(url);
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(config("timeouts must be greater than zero".into()));
        }
        if self.backoff_initial > self.backoff_max {
            return Err(config("the initial backoff exceeds the largest backoff".into()));
        }
        let mut http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60));
        http = add_ca(http, &self.ca_pem)?;
        let http = http.build().map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        let transport =
            transport::Transport::new(http, urls, auth, self.max_retries, self.backoff_initial, self.backoff_max);
        Ok(SchemaRegistryClient {
            inner: Arc::new(Inner {
                transport,
                by_id: RwLock::new(BoundedMap::new(self.id_cache_capacity)),
                missing_ids: RwLock::new(FnvMap::default()),
                by_subject: RwLock::new(FnvMap::default()),
                subject_cache_capacity: self.subject_cache_capacity.max(1),
                latest: RwLock::new(FnvMap::default()),
                versions: RwLock::new(BoundedMap::new(self.subject_cache_capacity)),
                latest_ttl: self.latest_ttl,
                missing_id_ttl: self.missing_id_ttl,
                id_flights: SingleFlight::new(),
                subject_flights: SingleFlight::new(),
                latest_flights: SingleFlight::new(),
            }),
        })
    }
}

/// A Confluent Schema Registry client. Cheap to clone (an `Arc` inside); clones share caches and connections.
///
/// Cached lookups ([`schema_by_id`](Self::schema_by_id), [`register_cached`](Self::register_cached),
/// [`lookup_cached`](Self::lookup_cached), [`latest_cached`](Self::latest_cached)) answer from memory once an
/// entry is known: a read lock held for a hash lookup, no allocation. Concurrent misses for one key share one HTTP
/// request. The other methods always ask the registry.
#[derive(Clone)]
pub struct SchemaRegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SchemaRegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistryClient").field("transport", &self.inner.transport).finish_non_exhaustive()
    }
}

type SubjectKey = (String, u64);

struct Inner {
    transport: transport::Transport,
    by_id: RwLock<BoundedMap<u32, Arc<SchemaById>>>,
    missing_ids: RwLock<FnvMap<u32, Instant>>,
    /// subject → schema fingerprint → ID.
    by_subject: RwLock<FnvMap<String, FnvMap<u64, u32>>>,
    subject_cache_capacity: usize,
    latest: RwLock<FnvMap<String, (Arc<RegisteredSchema>, Instant)>>,
    /// (subject, version) → schema: versions never change.
    versions: RwLock<BoundedMap<(String, i32), Arc<RegisteredSchema>>>,
    latest_ttl: Duration,
    missing_id_ttl: Duration,
    id_flights: SingleFlight<u32, Arc<SchemaById>>,
    subject_flights: SingleFlight<SubjectKey, u32>,
    latest_flights: SingleFlight<String, Arc<RegisteredSchema>>,
}

/// Statistics of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (every retry counts).
    pub http_requests: u64,
    /// Schemas cached by ID.
    pub cached_ids: usize,
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

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
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
            user_info: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            ca_pem: Vec::new(),
            id_cache_capacity: 1000,
            subject_cache_capacity: 1000,
            latest_ttl: Duration::from_secs(300),
            missing_id_ttl: Duration::from_secs(10),
        }
    }

    /// How long [`latest_cached`](Self::latest_cached) answers from memory.
    pub fn latest_ttl(&self) -> Duration {
        self.inner.latest_ttl
    }

    /// Request and cache statistics.
    pub fn stats(&self) -> ClientStats {
        ClientStats { http_requests: self.inner.transport.requests(), cached_ids: read(&self.inner.by_id).len() }
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

    // ---- schemas ---------------------------------------------------------------------------------------------

    /// Registers `schema` under `subject` (`POST /subjects/{subject}/versions`) and returns its ID; registering a
    /// schema the subject has already returns the existing ID. `normalize` asks the registry to normalize it first.
    pub async fn register(
        &self,
        subject: &str,
        schema: &UnregisteredSchema,
        normalize: bool,
    ) -> Result<u32, RegistryError> {
        let body = serde_json::to_value(schema).map_err(|e| RegistryError::Config(e.to_string()))?;
        let query = if normalize { vec![("normalize", "true".to_string())] } else { Vec::new() };
        let r: IdResponse = self
            .call(Method::POST, &format!("/subjects/{}/versions", seg(subject)), &query, Some(&body), Some(subject))
            .await?;
        Ok(r.id)
    }

    /// Looks `schema` up under `subject` (`POST /subjects/{subject}`): its version and ID if registered there.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &UnregisteredSchema,
        normalize: bool,
    ) -> Result<RegisteredSchema, RegistryError> {
        let body = serde_json::to_value(schema).map_err(|e| RegistryError::Config(e.to_string()))?;
        let query = if normalize { vec![("normalize", "true".to_string())] } else { Vec::new() };
        self.call(Method::POST, &format!("/subjects/{}", seg(subject)), &query, Some(&body), Some(subject)).await
    }

    /// The schema with this ID (`GET /schemas/ids/{id}`), cached; a miss is remembered for the client's
    /// `missing_id_ttl`.
    pub async fn schema_by_id(&self, id: u32) -> Result<Arc<SchemaById>, RegistryError> {
        if let Some(s) = read(&self.inner.by_id).get(&id) {
            return Ok(s.clone());
        }
        if let Some(at) = read(&self.inner.missing_ids).get(&id)
            && at.elapsed() < self.inner.missing_id_ttl
        {
            return Err(RegistryError::SchemaNotFound {
                message: format!("schema {id} was not found less than {:?} ago", self.inner.missing_id_ttl),
            });
        }
        let result = self
            .inner
            .id_flights
            .run(id, || async {
                let s: SchemaById = self.call(Method::GET, &format!("/schemas/ids/{id}"), &[], None, None).await?;
                Ok(Arc::new(s))
            })
            .await;
        match &result {
            Ok(s) => {
                write(&self.inner.by_id).insert(id, s.clone());
                write(&self.inner.missing_ids).remove(&id);
            }
            Err(RegistryError::SchemaNotFound { .. }) => {
                let mut missing = write(&self.inner.missing_ids);
                if missing.len() >= self.inner.subject_cache_capacity {
                    let ttl = self.inner.missing_id_ttl;
                    missing.retain(|_, at| at.elapsed() < ttl);
                    if missing.len() >= self.inner.subject_cache_capacity {
                        missing.clear();
                    }
                }
                missing.insert(id, Instant::now());
            }
            Err(_) => {}
        }
        result
    }

    /// The schema with this ID as registered under `subject` (`GET /schemas/ids/{id}?subject=`); not cached.
    pub async fn schema_by_id_in_subject(&self, id: u32, subject: &str) -> Result<SchemaById, RegistryError> {
        self.call(Method::GET, &format!("/schemas/ids/{id}"), &[("subject", subject.to_string())], None, Some(subject))
            .await
    }

    /// A version of a subject (`GET /subjects/{subject}/versions/{version}`).
    pub async fn version(&self, subject: &str, version: Version) -> Result<RegisteredSchema, RegistryError> {
        self.call(Method::GET, &format!("/subjects/{}/versions/{version}", seg(subject)), &[], None, Some(subject))
            .await
    }

    /// The latest version of a subject, cached for the client's `latest_ttl`.
    pub async fn latest_cached(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        if let Some((s, at)) = read(&self.inner.latest).get(subject)
            && at.elapsed() < self.inner.latest_ttl
        {
            return Ok(s.clone());
        }
        let s = self
            .inner
            .latest_flights
            .run(subject.to_string(), || async { self.version(subject, Version::Latest).await.map(Arc::new) })
            .await?;
        let mut latest = write(&self.inner.latest);
        if !latest.contains_key(subject) && latest.len() >= self.inner.subject_cache_capacity {
            let ttl = self.inner.latest_ttl;
            latest.retain(|_, (_, at)| at.elapsed() < ttl);
            if latest.len() >= self.inner.subject_cache_capacity
                && let Some(k) = latest.keys().next().cloned()
            {
                latest.remove(&k);
            }
        }
        latest.insert(subject.to_string(), (s.clone(), Instant::now()));
        Ok(s)
    }

    /// A version of a subject, cached forever (a version's schema never changes).
    async fn version_cached(&self, subject: &str, version: i32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let key = (subject.to_string(), version);
        if let Some(s) = read(&self.inner.versions).get(&key) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.version(subject, Version::Number(version)).await?);
        write(&self.inner.versions).insert(key, s.clone());
        Ok(s)
    }

    /// Every subject (`GET /subjects`).
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.call(Method::GET, "/subjects", &[], None, None).await
    }

    /// The versions of a subject (`GET /subjects/{subject}/versions`).
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>, RegistryError> {
        self.call(Method::GET, &format!("/subjects/{}/versions", seg(subject)), &[], None, Some(subject)).await
    }

    /// Deletes a subject (`DELETE /subjects/{subject}`, `permanent=true` for a hard delete, which Confluent allows
    /// only after a soft delete). Returns the deleted versions.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>, RegistryError> {
        let query = if permanent { vec![("permanent", "true".to_string())] } else { Vec::new() };
        let out = self.call(Method::DELETE, &format!("/subjects/{}", seg(subject)), &query, None, Some(subject)).await;
        self.forget_subject(subject);
        out
    }

    /// Deletes one version of a subject (soft, or hard with `permanent`). Returns the deleted version.
    pub async fn delete_version(&self, subject: &str, version: i32, permanent: bool) -> Result<i32, RegistryError> {
        let query = if permanent { vec![("permanent", "true".to_string())] } else { Vec::new() };
        let path = format!("/subjects/{}/versions/{version}", seg(subject));
        let out = self.call(Method::DELETE, &path, &query, None, Some(subject)).await;
        self.forget_subject(subject);
        out
    }

    fn forget_subject(&self, subject: &str) {
        write(&self.inner.by_subject).remove(subject);
        write(&self.inner.latest).remove(subject);
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
        let body = serde_json::to_value(schema).map_err(|e| RegistryError::Config(e.to_string()))?;
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

    fn cached_subject_id(&self, subject: &str, fingerprint: u64) -> Option<u32> {
        read(&self.inner.by_subject).get(subject).and_then(|m| m.get(&fingerprint)).copied()
    }

    fn remember_subject_id(&self, subject: &str, fingerprint: u64, id: u32) {
        let mut map = write(&self.inner.by_subject);
        if !map.contains_key(subject) && map.len() >= self.inner.subject_cache_capacity {
            // Bounded: drop an arbitrary subject's entries (subjects per client are few in practice).
            if let Some(k) = map.keys().next().cloned() {
                map.remove(&k);
            }
        }
        map.entry(subject.to_string()).or_default().insert(fingerprint, id);
    }

    /// Registers a type's schema under `subject` once, then answers from memory (auto-register mode).
    pub async fn register_cached(
        &self,
        subject: &str,
        info: &SchemaInfo,
        normalize: bool,
    ) -> Result<u32, RegistryError> {
        self.subject_id_cached(subject, info, || async {
            self.register(subject, &UnregisteredSchema::avro(info.json()), normalize).await
        })
        .await
    }

    /// Finds a type's schema under `subject` without registering it, then answers from memory (lookup mode).
    pub async fn lookup_cached(&self, subject: &str, info: &SchemaInfo, normalize: bool) -> Result<u32, RegistryError> {
        self.subject_id_cached(subject, info, || async {
            self.lookup(subject, &UnregisteredSchema::avro(info.json()), normalize).await.map(|r| r.id)
        })
        .await
    }

    /// The ID of `info`'s schema under `subject`: from the (subject, fingerprint) cache, or from `fetch`, with
    /// concurrent misses sharing one fetch.
    async fn subject_id_cached<F, Fut>(&self, subject: &str, info: &SchemaInfo, fetch: F) -> Result<u32, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u32, RegistryError>>,
    {
        if let Some(id) = self.cached_subject_id(subject, info.fingerprint()) {
            return Ok(id);
        }
        let id = self.inner.subject_flights.run((subject.to_string(), info.fingerprint()), fetch).await?;
        self.remember_subject_id(subject, info.fingerprint(), id);
        Ok(id)
    }

    /// Parses a registry schema with its references resolved (fetched recursively, cached), giving its canonical
    /// form and fingerprint.
    pub async fn resolve(&self, schema: &SchemaById) -> Result<SchemaInfo, RegistryError> {
        let mut texts = Vec::new();
        let mut pending: Vec<SchemaReference> = schema.references.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = pending.pop() {
            if !seen.insert((r.subject.clone(), r.version)) {
                continue;
            }
            if seen.len() > 1000 {
                return Err(RegistryError::InvalidResponse {
                    request: "resolving schema references".into(),
                    reason: "more than 1,000 references".into(),
                });
            }
            let referenced = self.version_cached(&r.subject, r.version).await?;
            pending.extend(referenced.references.iter().cloned());
            texts.push(referenced.schema.clone());
        }
        Ok(SchemaInfo::with_references(schema.schema.clone(), &texts)?)
    }
}

#[cfg(feature = "rustls")]
fn add_ca(http: reqwest::ClientBuilder, pems: &[Vec<u8>]) -> Result<reqwest::ClientBuilder, RegistryError> {
    let mut certs = Vec::new();
    for pem in pems {
        certs.extend(
            reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| RegistryError::Config(format!("invalid CA certificate: {e}")))?,
        );
    }
    Ok(if certs.is_empty() { http } else { http.tls_certs_merge(certs) })
}

#[cfg(not(feature = "rustls"))]
fn add_ca(http: reqwest::ClientBuilder, pems: &[Vec<u8>]) -> Result<reqwest::ClientBuilder, RegistryError> {
    if pems.is_empty() {
        Ok(http)
    } else {
        Err(RegistryError::Config("a CA certificate needs the `rustls` feature of typed-kafka-registry".into()))
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

    #[test]
    fn builder_validates_and_hides_credentials() {
        assert!(matches!(SchemaRegistryClient::builder(Vec::<String>::new()).build(), Err(RegistryError::Config(_))));
        assert!(matches!(SchemaRegistryClient::builder(["ftp://x"]).build(), Err(RegistryError::Config(_))));
        assert!(matches!(
            SchemaRegistryClient::builder(["http://x"]).basic_auth_user_info("no-colon").build(),
            Err(RegistryError::Config(_))
        ));
        let c = SchemaRegistryClient::builder(["http://svc:pa55word@registry:8081"]).build().unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("pa55word"), "{debug}");
        assert!(debug.contains("http://registry:8081/"), "{debug}");
        assert!(debug.contains("svc"), "{debug}");
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_custom_ca_is_parsed_at_build_time() {
        let err =
            SchemaRegistryClient::builder(["https://registry:8081"]).ca_pem(b"not a certificate".to_vec()).build();
        // reqwest accepts a PEM bundle with no certificate in it; one that is malformed is a configuration error.
        let malformed = SchemaRegistryClient::builder(["https://registry:8081"])
            .ca_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_vec())
            .build();
        assert!(err.is_ok() || matches!(err, Err(RegistryError::Config(_))));
        assert!(matches!(malformed, Err(RegistryError::Config(m)) if m.contains("invalid CA certificate")));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("orders-value"), "orders-value");
        assert_eq!(seg("a/b c%"), "a%2Fb%20c%25");
    }
}
