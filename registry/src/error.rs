//! Errors, one type per layer: [`RegistryError`] for what the registry (or the way to it) answered,
//! [`ConfigError`] for a client or serializer built wrongly, [`SerializeError`] and [`DeserializeError`] for
//! turning one record into framed bytes and back. None of them ever contains a password or token.

use std::time::Duration;

use typed_kafka_avro::{DecodeError, EncodeError, FramingError, SchemaError, SchemaId, SchemaRef};

/// What the schema registry answered, or why it could not be asked. Cheap to clone, so that concurrent callers
/// sharing one request each get the error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// 40401: the subject does not exist.
    #[error("subject not found (40401): {message}")]
    SubjectNotFound {
        /// The registry's message.
        message: String,
    },
    /// 40402: the subject has no such version.
    #[error("version not found (40402): {message}")]
    VersionNotFound {
        /// The registry's message.
        message: String,
    },
    /// 40403: no schema has that ID (possibly remembered from a recent miss, see the client's `missing_id_ttl`).
    #[error("schema not found (40403): {message}")]
    SchemaNotFound {
        /// The registry's message.
        message: String,
    },
    /// 409: the schema is incompatible with the subject's earlier versions under its compatibility level.
    #[error("schema incompatible with subject {subject} (409): {}", reasons.join("; "))]
    Incompatible {
        /// The subject.
        subject: String,
        /// The reasons the registry gave.
        reasons: Vec<String>,
    },
    /// 42201: the registry rejected the schema as invalid.
    #[error("invalid schema (42201): {message}")]
    InvalidSchema {
        /// The registry's message.
        message: String,
    },
    /// 42202: invalid version.
    #[error("invalid version (42202): {message}")]
    InvalidVersion {
        /// The registry's message.
        message: String,
    },
    /// 42203: invalid compatibility level.
    #[error("invalid compatibility level (42203): {message}")]
    InvalidCompatibilityLevel {
        /// The registry's message.
        message: String,
    },
    /// Another 422xx code.
    #[error("unprocessable request ({code}): {message}")]
    Unprocessable {
        /// The registry's error code.
        code: i64,
        /// The registry's message.
        message: String,
    },
    /// 401 or 403: missing or refused credentials.
    #[error("not authorized (HTTP {status}): {message}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
    /// 429 (too many requests) or 408 (request timeout), still answered after the retries.
    #[error("registry asks to slow down (HTTP {status}) after {attempts} attempt(s){}", retry_after.map(|d| format!("; retry after {d:?}")).unwrap_or_default())]
    Throttled {
        /// The HTTP status.
        status: u16,
        /// The registry's `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
        /// How many requests were made.
        attempts: u32,
    },
    /// A 5xx answer (50001 store error, 50002 operation timeout, 50003 forwarding error, ...), after the retries.
    #[error("registry server error (HTTP {status}, code {code}) after {attempts} attempt(s): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The registry's error code (the HTTP status when it gave none).
        code: i64,
        /// The registry's message.
        message: String,
        /// How many requests were made.
        attempts: u32,
    },
    /// Another HTTP error status.
    #[error("registry answered HTTP {status} (code {code}): {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The registry's error code (the HTTP status when it gave none).
        code: i64,
        /// The registry's message.
        message: String,
    },
    /// No registry URL could be reached (connection refused, timeout), after the retries.
    #[error("schema registry unreachable after {attempts} attempt(s) over {urls}: {reason}")]
    Unreachable {
        /// The base URLs tried (without credentials).
        urls: String,
        /// How many requests were made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The registry's TLS certificate was refused (unknown issuer, wrong host name, expired). Not retried: trying
    /// again cannot fix it.
    #[error("TLS handshake with the schema registry at {url} failed: {reason}")]
    Tls {
        /// The base URL (without credentials).
        url: String,
        /// Why the certificate was refused.
        reason: String,
    },
    /// The call (every attempt, retries and pauses included) did not finish within the client's `call_timeout`.
    #[error("schema registry call {request} did not finish within {after:?} ({attempts} attempt(s))")]
    Timeout {
        /// The request, e.g. `GET /schemas/ids/7`.
        request: String,
        /// The call timeout.
        after: Duration,
        /// Attempts started.
        attempts: u32,
    },
    /// The registry's answer is larger than the client's `max_response_bytes`; it was not read further.
    #[error("the registry's answer to {request} exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The request.
        request: String,
        /// The limit.
        limit: usize,
    },
    /// The registry's answer could not be understood.
    #[error("unexpected registry response for {request}: {reason}")]
    InvalidResponse {
        /// The request, e.g. `GET /schemas/ids/7`.
        request: String,
        /// What was wrong.
        reason: String,
    },
    /// A schema the registry holds is not a valid Avro schema (or its references cannot be resolved).
    #[error("the registry's {schema} is unusable: {source}")]
    UnusableSchema {
        /// Whose schema, e.g. `schema 42` or `subject orders-value version 3`.
        schema: String,
        /// What is wrong with it.
        source: SchemaError,
    },
}

impl RegistryError {
    /// Whether trying again later may succeed: the registry was unreachable, overloaded or failed on its side.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable { .. }
                | RegistryError::Server { .. }
                | RegistryError::Throttled { .. }
                | RegistryError::Timeout { .. }
        )
    }
}

/// A client or serializer configured wrongly; found when it is built, never later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting}: {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting, e.g. `registry URL` or `basic auth user info`.
    pub setting: &'static str,
    /// What is wrong with it (never the secret itself).
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError { setting, reason: reason.into() }
    }
}

/// The registry's schema for a subject or ID is not the Rust type's schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the registry's schema {id} (fingerprint {registry_fingerprint:016x}) is not the schema of {type_name} \
     (fingerprint {type_fingerprint:016x})"
)]
#[non_exhaustive]
pub struct SchemaMismatch {
    /// The registry's schema ID.
    pub id: SchemaId,
    /// The Rust type's schema name.
    pub type_name: String,
    /// Rabin fingerprint of the type's canonical form.
    pub type_fingerprint: u64,
    /// Rabin fingerprint of the registry schema's canonical form.
    pub registry_fingerprint: u64,
}

/// Why a record could not be written as a framed payload. Nothing was written to the output buffer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SerializeError {
    /// The value breaks data-contract rules (`#[kafka(rule(...))]`, the schema's `confluent:rules`): every rule
    /// broken, with its name, doc, expression and path.
    #[error("record for topic {topic} breaks {} rule(s): {}", violations.len(), typed_kafka_avro::RuleViolation::list(violations))]
    RuleViolation {
        /// The topic.
        topic: String,
        /// Every rule broken, in the order they ran (never empty).
        violations: Vec<typed_kafka_avro::RuleViolation>,
    },
    /// The value violates its schema: every violation, each with its field path.
    #[error("record for topic {topic} violates its schema {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The topic.
        topic: String,
        /// Every violation in the value, with its path, in field order (never empty).
        violations: Vec<EncodeError>,
    },
    /// The subject's schema ID could not be resolved through the registry.
    #[error("resolving the schema of topic {topic} (subject {subject}): {source}")]
    Registry {
        /// The topic.
        topic: String,
        /// The subject.
        subject: String,
        /// What the registry answered.
        source: RegistryError,
    },
    /// The registered schema (use-latest or pinned ID) differs from the type's, and no value of the type could be
    /// written in it; every break is listed.
    #[error("topic {topic} (subject {subject}): the type cannot be written in the registered schema {id}: {source}")]
    NotProjectable {
        /// The topic.
        topic: String,
        /// The subject.
        subject: String,
        /// The registered schema's ID.
        id: SchemaId,
        /// Every break.
        source: typed_kafka_avro::resolve::Unresolvable,
    },
    /// The registered schema carries data-contract rules the type does not, and some cannot be evaluated (outside
    /// the supported CEL, wrong for the schema's types, or reading a value rules cannot read):
    /// every such rule is listed. [`RegisteredRulesPolicy::Ignore`](crate::RegisteredRulesPolicy::Ignore) leaves
    /// them to other clients.
    #[error("topic {topic} (subject {subject}): the registered schema {id} carries rules that cannot be evaluated: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    UnusableRules {
        /// The topic.
        topic: String,
        /// The subject.
        subject: String,
        /// The registered schema's ID.
        id: SchemaId,
        /// Every rule that cannot be evaluated, and why.
        errors: Vec<typed_kafka_avro::registered_rules::RegisteredRuleError>,
    },
    /// This value has parts the registered schema (which differs from the type's) has no place for; nothing was
    /// written.
    #[error("record for topic {topic} cannot be written in the registered schema {id}: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NotInRegisteredSchema {
        /// The topic.
        topic: String,
        /// The registered schema's ID.
        id: SchemaId,
        /// Every violation in the value, with its path.
        violations: Vec<typed_kafka_avro::resolve::Violation>,
    },
    /// The subject name strategy could not name a subject for this topic and type.
    #[error("no subject for topic {topic}: {reason}")]
    Subject {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The Rust type's own schema is unusable.
    #[error("the schema generated for {type_name} is unusable: {source}")]
    Schema {
        /// The Rust type.
        type_name: &'static str,
        /// What is wrong.
        source: SchemaError,
    },
}

impl SerializeError {
    /// Whether the same record may succeed later (the registry was unreachable or failed on its side).
    pub fn is_retriable(&self) -> bool {
        matches!(self, SerializeError::Registry { source, .. } if source.is_retriable())
    }

    /// The topic, when the error concerns one.
    pub fn topic(&self) -> Option<&str> {
        match self {
            SerializeError::Invalid { topic, .. }
            | SerializeError::RuleViolation { topic, .. }
            | SerializeError::Registry { topic, .. }
            | SerializeError::NotProjectable { topic, .. }
            | SerializeError::UnusableRules { topic, .. }
            | SerializeError::NotInRegisteredSchema { topic, .. }
            | SerializeError::Subject { topic, .. } => Some(topic),
            SerializeError::Schema { .. } => None,
        }
    }
}

/// Why a framed payload could not be read back into the Rust type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeserializeError {
    /// The value read breaks data-contract rules (checked on read when the deserializer was asked to): every rule
    /// broken, with its name, doc, expression and path.
    #[error("payload from topic {topic} (schema {schema}) breaks {} rule(s): {}", violations.len(), typed_kafka_avro::RuleViolation::list(violations))]
    RuleViolation {
        /// The topic.
        topic: String,
        /// The writer's schema.
        schema: SchemaRef,
        /// Every rule broken, in the order they ran (never empty).
        violations: Vec<typed_kafka_avro::RuleViolation>,
    },
    /// Not in the Confluent wire format.
    #[error("payload from topic {topic}: {source}")]
    Framing {
        /// The topic.
        topic: String,
        /// What is wrong with the frame.
        source: FramingError,
    },
    /// The writer's schema could not be fetched or verified.
    #[error("payload from topic {topic}: fetching its schema {schema}: {source}")]
    Registry {
        /// The topic.
        topic: String,
        /// The schema the record names (its frame's ID, or its schema-ID header's GUID or ID).
        schema: SchemaRef,
        /// What the registry answered.
        source: RegistryError,
    },
    /// The writer's schema is not the type's own.
    #[error("payload from topic {topic}: {source}")]
    SchemaMismatch {
        /// The topic.
        topic: String,
        /// Both fingerprints.
        source: SchemaMismatch,
    },
    /// The writer's schema is not one the type's schema can read; every break is listed.
    #[error("payload from topic {topic} was written with schema {schema}, which {type_name} cannot read: {source}")]
    Incompatible {
        /// The topic.
        topic: String,
        /// The writer's schema (by ID, or by GUID).
        schema: SchemaRef,
        /// The reading type's schema name.
        type_name: String,
        /// The incompatibilities, with their paths (the first 100; the rest counted), shared by every refusal
        /// of this schema ID.
        source: std::sync::Arc<typed_kafka_avro::resolve::Unresolvable>,
    },
    /// The body is not a valid Avro value of the schema.
    #[error("payload from topic {topic} (schema {schema}) does not decode: {source}")]
    Decode {
        /// The topic.
        topic: String,
        /// The writer's schema (by ID, or by GUID).
        schema: SchemaRef,
        /// Where and why decoding failed.
        source: DecodeError,
    },
    /// The Rust type's own schema is unusable.
    #[error("the schema generated for {type_name} is unusable: {source}")]
    Schema {
        /// The Rust type.
        type_name: &'static str,
        /// What is wrong.
        source: SchemaError,
    },
}

impl DeserializeError {
    /// Whether the same payload may be read later (the registry was unreachable or failed on its side).
    pub fn is_retriable(&self) -> bool {
        matches!(self, DeserializeError::Registry { source, .. } if source.is_retriable())
    }
}
