//! Dead-letter topics, as Confluent's `DLQ` rule action writes them: a record refused for breaking a data-contract
//! rule is also written to the dead-letter topic its typed topic was bound with, and still handed back to the caller
//! ("tee, not swallow").
//!
//! The dead-letter record carries:
//! - the key: an Avro key in Avro's JSON encoding, any other key in the bytes its topic carries (a `String` key's
//!   UTF-8, an `i64` key's 8 big-endian bytes, as Confluent's clients write them);
//! - the value in Avro's JSON encoding ([`typed_kafka_avro::json`]), readable without the registry;
//! - the record's headers (after the interceptors), then Confluent's: [`RULE_NAME`] (the first rule broken),
//!   [`RULE_MODE`] (`WRITE`), [`RULE_SUBJECT`] (the subject of the part that broke it), [`RULE_TOPIC`] (the
//!   record's topic) and [`RULE_EXCEPTION`] (the error, every broken rule with its path).
//!
//! It goes through the same producer (its acks, retries and idempotence, its byte budget, its `flush` and
//! `close`); a dead letter that cannot be enqueued or delivered is logged and counted in
//! [`ProducerMetrics::dead_letters_lost`](super::ProducerMetrics::dead_letters_lost), never retried into the
//! caller's record.

use std::sync::Arc;

use typed_kafka_avro::KafkaRecord;

use super::accounting::Accounting;
use super::completion::{self, Meta, Waiter};
use super::error::SendErrorKind;
use super::report;
use super::transport::{Outgoing, Sink};
use crate::record::Headers;

/// The header naming the (first) rule the record broke. A Confluent deserializer reading the record back skips
/// that rule.
pub const RULE_NAME: &str = "__rule.name";
/// The header giving the rule mode: `WRITE` for a record refused on send.
pub const RULE_MODE: &str = "__rule.mode";
/// The header naming the registry subject of the part (key or value) that broke the rule.
pub const RULE_SUBJECT: &str = "__rule.subject";
/// The header naming the topic the record was sent to.
pub const RULE_TOPIC: &str = "__rule.topic";
/// The header holding the error: every rule broken, with its path.
pub const RULE_EXCEPTION: &str = "__rule.exception";

/// A typed topic's dead-letter topic, bound with it.
pub(crate) struct DeadLetters {
    pub(crate) topic: Arc<str>,
    pub(crate) topic_index: u32,
    pub(crate) sink: Box<dyn Sink>,
}

/// A dead-letter record, as written (what [`MockProducer::dead_letters`](crate::mock::MockProducer::dead_letters)
/// returns).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The dead-letter topic.
    pub topic: Arc<str>,
    /// The key: an Avro key in Avro's JSON encoding, any other key as its topic carries it.
    pub key: Option<Vec<u8>>,
    /// The value in Avro's JSON encoding (`None` for a tombstone).
    pub value: Option<Vec<u8>>,
    /// The record's headers, then the `__rule.*` ones.
    pub headers: Headers,
}

impl DeadLetter {
    /// A header's value as text (the last one of that name), e.g. [`RULE_NAME`].
    pub fn header(&self, name: &str) -> Option<&str> {
        let last = self.headers.iter().filter(|(n, _)| *n == name).filter_map(|(_, v)| v).last();
        last.and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// What a dead-letter record is made of, before it is enqueued.
pub(crate) struct Letter {
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Headers,
}

impl Letter {
    /// The letter of a record refused with `refusal` (a rule violation of `part`, whose registry subject is
    /// `subject`) on `topic`.
    pub(crate) fn new(
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        mut headers: Headers,
        topic: &str,
        subject: &str,
        refusal: &SendErrorKind,
    ) -> Letter {
        let rule = match refusal {
            SendErrorKind::RuleViolation { violations, .. } => violations.first().map_or("", |v| v.rule),
            _ => "",
        };
        headers
            .insert(RULE_NAME, rule)
            .insert(RULE_MODE, "WRITE")
            .insert(RULE_SUBJECT, subject)
            .insert(RULE_TOPIC, topic)
            .insert(RULE_EXCEPTION, refusal.to_string());
        Letter { key, value, headers }
    }

    /// Key, value and header bytes (at least 1), what it takes from the byte budget.
    pub(crate) fn size(&self) -> u32 {
        let n = self.key.as_ref().map_or(0, Vec::len) + self.value.as_ref().map_or(0, Vec::len) + self.headers.size();
        n.clamp(1, u32::MAX as usize) as u32
    }
}

/// A value in Avro's JSON encoding, for a dead letter.
pub(crate) fn avro_json<V: KafkaRecord>(value: &V) -> Result<Vec<u8>, String> {
    let info = V::schema().map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    value.encode_body(&mut body).map_err(|e| e.to_string())?;
    typed_kafka_avro::json::body_to_json(info.schema(), &body).map(String::into_bytes).map_err(|e| e.to_string())
}

/// Enqueues `letter` on the dead-letter topic, its bytes already taken from the budget. Its delivery is followed
/// by the counters and, on failure, a log line; nothing waits for it.
pub(crate) fn enqueue(accounting: &Arc<Accounting>, to: &DeadLetters, letter: Letter) {
    let size = letter.size();
    let record_id = accounting.issue();
    let meta = Meta::quiet(record_id, size);
    let (counts, topic) = (accounting.clone(), to.topic.clone());
    let callback = completion::callback(move |result| {
        if let Err(e) = result {
            counts.dead_letter_lost();
            tracing::error!(topic = %topic, error = %e, "a dead-letter record was not delivered");
        }
    });
    let ticket = report::ticket(accounting, meta, to.topic_index, Waiter::Callback(callback));
    let Letter { key, value, headers } = letter;
    let outgoing = Outgoing {
        key: key.as_deref(),
        value: value.as_deref(),
        partition: None,
        timestamp: None,
        headers: &headers,
        ticket,
    };
    let mut keep = || -> Arc<dyn std::any::Any + Send + Sync> {
        Arc::new(DeadLetter {
            topic: to.topic.clone(),
            key: key.clone(),
            value: value.clone(),
            headers: headers.clone(),
        })
    };
    match to.sink.send(outgoing, &mut keep) {
        Ok(()) => accounting.dead_lettered(),
        Err(kind) => {
            report::not_enqueued(accounting, ticket, size);
            accounting.dead_letter_lost();
            tracing::error!(topic = %to.topic, reason = %kind, "a dead-letter record could not be enqueued");
        }
    }
}
