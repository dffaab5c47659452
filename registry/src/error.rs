//! Errors of the registry client and the serializer.

use crate::codec::{DecodeError, EncodeError, SchemaError};

/// Everything the registry client and the framed serializer can fail with. Cheap to clone, so that concurrent
/// callers sharing one request (single flight) each get the error. Never contains a password or token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// No registry URL could be reached (connection refused, timeout, TLS failure), after the retries.
    #[error("schema registry unreachable after {attempts} attempt(s) over {urls}: {reason}")]
    Unreachable {
        /// The base URLs tried (without credentials).
        urls: String,
        /// How many requests were made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The registry's answer could not be understood.
    #[error("unexpected registry response for {request}: {reason}")]
    InvalidResponse {
        /// The request, e.g. `GET /schemas/ids/7`.
        request: String,
        /// What was wrong.
        reason: String,
    },
    /// Invalid client or serializer configuration.
    #[error("invalid schema registry configuration: {0}")]
    Config(String),
    /// The registry's schema for the chosen mode is not the type's own schema (different canonical forms).
    #[error(
        "the registry's schema for subject {subject} (id {id}, fingerprint {registry_fingerprint:016x}) is not the \
         schema of {type_name} (fingerprint {type_fingerprint:016x})"
    )]
    SchemaMismatch {
        /// The subject (or `id <n>` for a pinned ID).
        subject: String,
        /// The registry's schema ID.
        id: u32,
        /// The Rust type's schema name.
        type_name: String,
        /// Rabin fingerprint of the type's canonical form.
        type_fingerprint: u64,
        /// Rabin fingerprint of the registry schema's canonical form.
        registry_fingerprint: u64,
    },
    /// The type's own schema is unusable.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The value violates its schema; nothing was written to the output.
    #[error("value for topic {1} violates its schema {0}")]
    Encode(EncodeError, String),
    /// The payload is not a valid Avro body of the type's schema.
    #[error("cannot decode a record from topic {1}: {0}")]
    Decode(DecodeError, String),
    /// The payload is not in the Confluent wire format.
    #[error("not a Confluent-framed payload: {0}")]
    Framing(String),
}

impl RegistryError {
    /// Whether trying again later may succeed (the registry was unreachable or failed on its side).
    pub fn is_retriable(&self) -> bool {
        matches!(self, RegistryError::Unreachable { .. } | RegistryError::Server { .. })
    }
}
