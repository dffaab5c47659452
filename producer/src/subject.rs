//! How a typed topic's Avro parts are named in the registry: its keys under TopicName (`<topic>-key`), its values
//! under TopicName (`<topic>-value`) when the topic carries one record type, TopicRecordName
//! (`<topic>-<record full name>`) when it carries several.

use typed_kafka_avro::{KafkaRecord, SchemaError, SchemaInfo};
use typed_kafka_registry::{RecordPart, SubjectNameStrategy};

/// How the values of a topic with `value_types` record types are named in the registry: TopicName for one type,
/// TopicRecordName for several.
pub(crate) fn value_strategy(value_types: usize) -> SubjectNameStrategy {
    if value_types > 1 { SubjectNameStrategy::TopicRecordName } else { SubjectNameStrategy::TopicName }
}

/// The subject of `topic`'s Avro keys (TopicName: `<topic>-key`).
pub(crate) fn key_subject(topic: &str) -> String {
    format!("{topic}-key")
}

/// The subject and schema of a topic's Avro key type (generated code calls it).
#[doc(hidden)]
pub fn key_subject_of(
    topic: &str,
    type_name: &'static str,
    info: Result<&'static SchemaInfo, SchemaError>,
) -> (&'static str, Result<(String, &'static SchemaInfo), SchemaError>) {
    (type_name, info.map(|info| (key_subject(topic), info)))
}

/// The subject and schema of a topic's value type `V`, by the topic's [`value_strategy`] (generated code calls it).
#[doc(hidden)]
pub fn value_subject<V: KafkaRecord>(
    topic: &str,
    value_types: usize,
) -> (&'static str, Result<(String, &'static SchemaInfo), SchemaError>) {
    let subject = V::schema().and_then(|info| {
        value_strategy(value_types)
            .subject(topic, RecordPart::Value, info.full_name().as_deref())
            .map(|subject| (subject, info))
            .map_err(|reason| SchemaError::Invalid { reason })
    });
    (std::any::type_name::<V>(), subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key subject is TopicName's, as the registry crate's strategy names it.
    #[test]
    fn the_key_subject_is_topic_names() {
        let by_strategy = SubjectNameStrategy::TopicName.subject("orders", RecordPart::Key, None).unwrap();
        assert_eq!(key_subject("orders"), by_strategy);
        assert!(matches!(value_strategy(1), SubjectNameStrategy::TopicName));
        assert!(matches!(value_strategy(2), SubjectNameStrategy::TopicRecordName));
    }
}
