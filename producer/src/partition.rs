//! Partitioning like Java's `KafkaProducer`, so that a Rust and a Java producer send each key to the same
//! partition and per-key order holds across a mixed fleet: `toPositive(murmur2(key bytes)) % partitions` over the
//! exact serialized key (for an Avro key, the 5-byte Confluent frame included, as Java's serializer output is). An
//! empty key is hashed like any other; only a missing key is left to the producer's sticky choice.

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as the Java client computes it: a 32-bit
/// MurmurHash2 with seed `0x9747b28c`, returned as Java's signed `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner gives a record with these key bytes: `toPositive(murmur2(key)) %
/// partitions` (`toPositive` clears the sign bit; it is not `abs`). `partitions` must be at least 1.
pub fn java_partition(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_java_clients_test_vectors() {
        // Values librdkafka's murmur2 test checks against the Java client.
        assert_eq!(murmur2(b"kafka") as u32, 0xd067_cf64);
        assert_eq!(murmur2(b"giberish123456789") as u32, 0x8f55_2b0c);
        assert_eq!(murmur2(b"") as u32, 0x106e_08d9);
    }

    #[test]
    fn to_positive_clears_the_sign_bit_rather_than_negating() {
        // A key whose hash is negative: `abs` would give another partition than Java's `toPositive`.
        let key = (0u32..).map(|i| i.to_le_bytes()).find(|k| murmur2(k) < 0).unwrap_or_default();
        let h = murmur2(&key);
        assert!(h < 0);
        assert_eq!(java_partition(&key, 1000), (h as u32 & 0x7fff_ffff) % 1000);
        assert_eq!(java_partition(&key, 1), 0);
    }
}
