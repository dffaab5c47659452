//! The Confluent wire format: magic byte `0`, the schema ID as a big-endian `u32`, then the Avro body.

use std::fmt;

/// The first byte of every framed payload.
pub const MAGIC_BYTE: u8 = 0;
/// Bytes before the Avro body.
pub const HEADER_LEN: usize = 5;

/// A schema registry's global ID of a schema, as the wire format carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SchemaId(pub u32);

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u32> for SchemaId {
    fn from(id: u32) -> SchemaId {
        SchemaId(id)
    }
}

/// A payload that is not in the Confluent wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// Shorter than the 5-byte header.
    #[error("{len} byte(s), shorter than the 5-byte Confluent header")]
    TooShort {
        /// The payload's length.
        len: usize,
    },
    /// The first byte is not [`MAGIC_BYTE`].
    #[error("magic byte is {found}, expected {MAGIC_BYTE}: not a Confluent-framed payload")]
    MagicByte {
        /// The byte found.
        found: u8,
    },
}

/// Appends the 5-byte header for `schema_id`.
#[inline]
pub fn write_header(buf: &mut Vec<u8>, schema_id: SchemaId) {
    let id = schema_id.0.to_be_bytes();
    buf.extend_from_slice(&[MAGIC_BYTE, id[0], id[1], id[2], id[3]]);
}

/// Splits a framed payload into its schema ID and Avro body, checking the magic byte.
#[inline]
pub fn split(payload: &[u8]) -> Result<(SchemaId, &[u8]), FramingError> {
    match payload {
        [MAGIC_BYTE, a, b, c, d, body @ ..] => Ok((SchemaId(u32::from_be_bytes([*a, *b, *c, *d])), body)),
        [found, ..] if payload.len() >= HEADER_LEN => Err(FramingError::MagicByte { found: *found }),
        _ => Err(FramingError::TooShort { len: payload.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_bad_frames_are_errors() {
        let mut buf = Vec::new();
        write_header(&mut buf, SchemaId(0x0102_0304));
        buf.extend_from_slice(b"body");
        assert_eq!(buf[..5], [0, 1, 2, 3, 4]);
        assert_eq!(split(&buf).unwrap(), (SchemaId(0x0102_0304), &b"body"[..]));
        assert_eq!(split(&[1, 0, 0, 0, 1]), Err(FramingError::MagicByte { found: 1 }));
        assert_eq!(split(&[0, 0, 0]), Err(FramingError::TooShort { len: 3 }));
        assert_eq!(split(&[0, 0, 0, 0, 9]), Ok((SchemaId(9), &[][..])));
    }
}
