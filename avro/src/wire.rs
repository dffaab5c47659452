//! The Confluent wire format: magic byte `0`, the schema ID as a big-endian `u32`, then the Avro body; and the
//! newer header framing, where the body is bare and a header (`__value_schema_id`, `__key_schema_id`) names the
//! schema: a version byte, then a 16-byte GUID (version 1) or a 4-byte ID (version 0).

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

/// The header Confluent's serializers name a value's schema in, when they frame by header.
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";
/// The header Confluent's serializers name a key's schema in, when they frame by header.
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";

/// A schema registry's globally unique identifier of a schema (Confluent Platform 8.1+), as a schema-ID header
/// carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaGuid(pub [u8; 16]);

impl fmt::Display for SchemaGuid {
    /// The 8-4-4-4-12 hexadecimal form the registry's `GET /schemas/guids/{guid}` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// How a record names its writer schema: by ID (the classic framing, or a version-0 header) or by GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaRef {
    /// A registry ID.
    Id(SchemaId),
    /// A registry GUID.
    Guid(SchemaGuid),
}

impl fmt::Display for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaRef::Id(id) => write!(f, "{id}"),
            SchemaRef::Guid(guid) => write!(f, "GUID {guid}"),
        }
    }
}

impl From<SchemaId> for SchemaRef {
    fn from(id: SchemaId) -> SchemaRef {
        SchemaRef::Id(id)
    }
}

/// Reads a schema-ID header's value: version byte `1` then a 16-byte GUID, or `0` then a 4-byte big-endian ID.
pub fn schema_ref_from_header(value: &[u8]) -> Result<SchemaRef, FramingError> {
    match value {
        [1, guid @ ..] if guid.len() >= 16 => {
            let mut g = [0u8; 16];
            g.copy_from_slice(&guid[..16]);
            Ok(SchemaRef::Guid(SchemaGuid(g)))
        }
        [0, a, b, c, d, ..] => Ok(SchemaRef::Id(SchemaId(u32::from_be_bytes([*a, *b, *c, *d])))),
        [version @ (0 | 1), ..] => Err(FramingError::ShortHeader { version: *version, len: value.len() }),
        [version, ..] => Err(FramingError::HeaderVersion { found: *version }),
        [] => Err(FramingError::ShortHeader { version: 0, len: 0 }),
    }
}

/// The schema a record's payload names, and its Avro body: from the schema-ID header when the record has one (the
/// body is then the whole payload), else from the payload's own 5-byte frame.
pub fn split_headed<'p>(
    schema_id_header: Option<&[u8]>,
    payload: &'p [u8],
) -> Result<(SchemaRef, &'p [u8]), FramingError> {
    match schema_id_header {
        Some(header) => Ok((schema_ref_from_header(header)?, payload)),
        None => split(payload).map(|(id, body)| (SchemaRef::Id(id), body)),
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
    /// A schema-ID header whose version byte is neither 0 (an ID) nor 1 (a GUID).
    #[error("schema-ID header version {found}, expected 0 (an ID) or 1 (a GUID)")]
    HeaderVersion {
        /// The byte found.
        found: u8,
    },
    /// A schema-ID header too short for its version (5 bytes for an ID, 17 for a GUID).
    #[error("schema-ID header of {len} byte(s), too short for version {version}")]
    ShortHeader {
        /// The version byte (0 when the header is empty).
        version: u8,
        /// The header's length.
        len: usize,
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

    #[test]
    fn schema_id_headers_name_a_guid_or_an_id() {
        let mut guid = vec![1u8];
        guid.extend(0x00112233_44556677_8899aabb_ccddeeffu128.to_be_bytes());
        let SchemaRef::Guid(g) = schema_ref_from_header(&guid).unwrap() else { panic!("a GUID") };
        assert_eq!(g.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(schema_ref_from_header(&[0, 0, 0, 1, 2]), Ok(SchemaRef::Id(SchemaId(258))));
        assert_eq!(schema_ref_from_header(&[2, 0, 0, 0, 1]), Err(FramingError::HeaderVersion { found: 2 }));
        assert_eq!(schema_ref_from_header(&[1, 0, 0]), Err(FramingError::ShortHeader { version: 1, len: 3 }));
        assert_eq!(schema_ref_from_header(&[]), Err(FramingError::ShortHeader { version: 0, len: 0 }));
    }
}
