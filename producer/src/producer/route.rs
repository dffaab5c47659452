//! Where a record goes: an explicit partition, else the value type's custom partitioner, else (with
//! [`KeyHashing::AvroBody`]) murmur2 of the Avro key's body; otherwise the choice is left to the batching core,
//! whose partitioner is Java's (murmur2 of the serialized key, sticky for null keys).
//!
//! The partition count a custom partitioner sees is the bound topic's cell, which the transport refreshes every
//! `metadata.max.age.ms`: one atomic load per record, no lock and no clock.

use std::sync::atomic::{AtomicI32, Ordering};

use typed_kafka_avro::wire;

use super::encode::PartitionerFn;
use super::error::SendErrorKind;
use crate::partition::java_partition;

/// Which bytes of an Avro key the default partitioner hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyHashing {
    /// The whole serialized key, the 5-byte Confluent frame included, as Java's producer with
    /// `KafkaAvroSerializer` does: the same partitions as Java producers of the same key schema ID.
    #[default]
    Framed,
    /// The Avro body only, without the frame: a key keeps its partition across key schema versions, but Java
    /// producers of the topic put it elsewhere. An explicit choice for topics only this producer writes.
    AvroBody,
}

/// A bound topic's partition count, as last read.
pub(crate) fn count(partitions: &AtomicI32) -> i32 {
    partitions.load(Ordering::Relaxed).max(1)
}

/// The bytes the default partitioner hashes for a serialized key.
pub(crate) fn hashed(key: &[u8], hashing: KeyHashing, avro_key: bool) -> &[u8] {
    if hashing == KeyHashing::AvroBody && avro_key { key.get(wire::HEADER_LEN..).unwrap_or(key) } else { key }
}

/// The partition chosen on this side, or `None` to leave it to the batching core's partitioner.
#[allow(clippy::too_many_arguments)]
pub(crate) fn choose<K, V>(
    explicit: Option<i32>,
    partitioner: Option<&PartitionerFn<K, V>>,
    key: Option<&K>,
    value: Option<&V>,
    key_bytes: Option<&[u8]>,
    hashing: KeyHashing,
    avro_key: bool,
    partitions: &AtomicI32,
) -> Result<Option<i32>, SendErrorKind> {
    if let Some(p) = explicit {
        // The batching core checks it against its own metadata; a negative one it would take as "any".
        if p < 0 {
            return Err(SendErrorKind::UnknownPartition { partition: p, partitions: Some(count(partitions)) });
        }
        return Ok(Some(p));
    }
    if let Some(f) = partitioner {
        let n = count(partitions);
        let p = f(key, value, n);
        if !(0..n).contains(&p) {
            return Err(SendErrorKind::UnknownPartition { partition: p, partitions: Some(n) });
        }
        return Ok(Some(p));
    }
    match key_bytes {
        Some(bytes) if hashing == KeyHashing::AvroBody && avro_key => {
            Ok(Some(java_partition(hashed(bytes, hashing, avro_key), count(partitions) as u32) as i32))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_custom_then_body_hashing_then_the_core() {
        let partitions = AtomicI32::new(6);
        let none: Option<&PartitionerFn<String, u8>> = None;
        let k = "k".to_string();
        let framed = [0u8, 0, 0, 0, 9, 2, b'k'];
        assert_eq!(
            choose(Some(4), none, Some(&k), None, None, KeyHashing::Framed, false, &partitions).unwrap(),
            Some(4)
        );
        assert!(matches!(
            choose(Some(-1), none, None, None, None, KeyHashing::Framed, false, &partitions),
            Err(SendErrorKind::UnknownPartition { partition: -1, partitions: Some(6) })
        ));
        let f: PartitionerFn<String, u8> = Box::new(|k, v, n| if k.is_some() { n - 1 } else { i32::from(*v.unwrap()) });
        assert_eq!(
            choose(None, Some(&f), Some(&k), Some(&1), None, KeyHashing::Framed, false, &partitions).unwrap(),
            Some(5)
        );
        assert!(matches!(
            choose(None, Some(&f), None, Some(&9), None, KeyHashing::Framed, false, &partitions),
            Err(SendErrorKind::UnknownPartition { partition: 9, partitions: Some(6) })
        ));
        // The count a partitioner sees is the cell's, as the metadata refreshes it.
        partitions.store(12, Ordering::Relaxed);
        assert_eq!(
            choose(None, Some(&f), None, Some(&9), None, KeyHashing::Framed, false, &partitions).unwrap(),
            Some(9)
        );
        let body = java_partition(&framed[5..], 12) as i32;
        assert_eq!(
            choose(None, none, Some(&k), None, Some(&framed), KeyHashing::AvroBody, true, &partitions).unwrap(),
            Some(body)
        );
        assert_eq!(
            choose(None, none, Some(&k), None, Some(&framed), KeyHashing::Framed, true, &partitions).unwrap(),
            None
        );
    }
}
