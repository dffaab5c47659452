//! Record keys in the formats of Kafka's standard serializers, byte for byte as the Java client writes them, for
//! topics shared with services that use `StringSerializer`, `LongSerializer` and friends rather than Avro keys.
//! These bytes are what partitioning hashes, so the same key lands on the same partition as a Java producer's.

/// A key written in a Kafka standard serializer's format.
///
/// ```
/// use typed_kafka::key::PlainKey;
///
/// let mut buf = Vec::new();
/// 42i64.write_key(&mut buf); // LongSerializer: 8 bytes, big-endian
/// assert_eq!(buf, [0, 0, 0, 0, 0, 0, 0, 42]);
/// ```
pub trait PlainKey {
    /// The Java serializer whose format this is.
    const JAVA_SERIALIZER: &'static str;

    /// Appends the key's bytes.
    fn write_key(&self, out: &mut Vec<u8>);
}

impl PlainKey for str {
    const JAVA_SERIALIZER: &'static str = "org.apache.kafka.common.serialization.StringSerializer";
    /// UTF-8, the `StringSerializer`'s default encoding.
    fn write_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl PlainKey for String {
    const JAVA_SERIALIZER: &'static str = <str as PlainKey>::JAVA_SERIALIZER;
    fn write_key(&self, out: &mut Vec<u8>) {
        self.as_str().write_key(out);
    }
}

impl PlainKey for [u8] {
    const JAVA_SERIALIZER: &'static str = "org.apache.kafka.common.serialization.ByteArraySerializer";
    /// The bytes as they are.
    fn write_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl PlainKey for Vec<u8> {
    const JAVA_SERIALIZER: &'static str = <[u8] as PlainKey>::JAVA_SERIALIZER;
    fn write_key(&self, out: &mut Vec<u8>) {
        self.as_slice().write_key(out);
    }
}

macro_rules! big_endian {
    ($($ty:ty => $serializer:literal),* $(,)?) => {$(
        impl PlainKey for $ty {
            const JAVA_SERIALIZER: &'static str = concat!("org.apache.kafka.common.serialization.", $serializer);
            /// Big-endian, as Java's `DataOutput` writes it.
            fn write_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}

big_endian!(i16 => "ShortSerializer", i32 => "IntegerSerializer", i64 => "LongSerializer", f32 => "FloatSerializer", f64 => "DoubleSerializer");

#[cfg(feature = "uuid")]
impl PlainKey for uuid::Uuid {
    const JAVA_SERIALIZER: &'static str = "org.apache.kafka.common.serialization.UUIDSerializer";
    /// The hyphenated lower-case text, UTF-8, as `UUIDSerializer` writes `UUID.toString()`.
    fn write_key(&self, out: &mut Vec<u8>) {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.extend_from_slice(self.hyphenated().encode_lower(&mut text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<K: PlainKey + ?Sized>(k: &K) -> Vec<u8> {
        let mut out = Vec::new();
        k.write_key(&mut out);
        out
    }

    #[test]
    fn formats_of_the_standard_serializers() {
        assert_eq!(bytes("héllo"), "héllo".as_bytes());
        assert_eq!(bytes(&-2i32), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(bytes(&1i16), [0, 1]);
        assert_eq!(bytes(&1.5f64), 1.5f64.to_be_bytes());
        assert_eq!(bytes(&[1u8, 2][..]), [1, 2]);
        assert_eq!(bytes(""), b"", "an empty key is still a key");
    }
}
