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

    /// The key as text, when it is a string (what tracing shows as `messaging.kafka.message.key`).
    #[doc(hidden)]
    fn as_text(&self) -> Option<&str> {
        None
    }
}

/// A key read back from the bytes a Kafka standard serializer wrote (the matching deserializer's format).
pub trait FromKeyBytes: Sized {
    /// Reads the key, or says why the bytes are not one.
    fn from_key_bytes(bytes: &[u8]) -> Result<Self, KeyBytesError>;
}

/// Bytes that are not a key of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{len} key bytes are not a {expected}")]
pub struct KeyBytesError {
    /// How many bytes there were.
    pub len: usize,
    /// What was expected.
    pub expected: &'static str,
}

impl FromKeyBytes for String {
    fn from_key_bytes(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| KeyBytesError { len: bytes.len(), expected: "UTF-8 string" })
    }
}

impl FromKeyBytes for Vec<u8> {
    fn from_key_bytes(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        Ok(bytes.to_vec())
    }
}

macro_rules! from_big_endian {
    ($($ty:ty),*) => {$(
        impl FromKeyBytes for $ty {
            fn from_key_bytes(bytes: &[u8]) -> Result<Self, KeyBytesError> {
                bytes
                    .try_into()
                    .map(<$ty>::from_be_bytes)
                    .map_err(|_| KeyBytesError { len: bytes.len(), expected: stringify!($ty) })
            }
        }
    )*};
}

from_big_endian!(i16, i32, i64, f32, f64);

#[cfg(feature = "uuid")]
impl FromKeyBytes for uuid::Uuid {
    fn from_key_bytes(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or(KeyBytesError { len: bytes.len(), expected: "UUID as text" })
    }
}

impl PlainKey for str {
    const JAVA_SERIALIZER: &'static str = "org.apache.kafka.common.serialization.StringSerializer";
    /// UTF-8, the `StringSerializer`'s default encoding.
    fn write_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl PlainKey for String {
    const JAVA_SERIALIZER: &'static str = <str as PlainKey>::JAVA_SERIALIZER;
    fn write_key(&self, out: &mut Vec<u8>) {
        self.as_str().write_key(out);
    }
    fn as_text(&self) -> Option<&str> {
        Some(self)
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

    #[test]
    fn keys_read_back_from_their_bytes() {
        assert_eq!(i64::from_key_bytes(&bytes(&-7i64)), Ok(-7));
        assert_eq!(String::from_key_bytes(&bytes("héllo")).as_deref(), Ok("héllo"));
        assert_eq!(i32::from_key_bytes(&[1, 2]), Err(KeyBytesError { len: 2, expected: "i32" }));
        assert!(String::from_key_bytes(&[0xff]).is_err());
    }
}
