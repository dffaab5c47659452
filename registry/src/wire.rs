//! The Confluent wire format: magic byte `0`, the schema ID as a big-endian `u32`, then the Avro body.

use crate::error::RegistryError;

/// The first byte of every framed payload.
pub const MAGIC_BYTE: u8 = 0;
/// Bytes before the Avro body.
pub const HEADER_LEN: usize = 5;

/// Appends the 5-byte header for `schema_id`.
#[inline]
pub fn write_header(buf: &mut Vec<u8>, schema_id: u32) {
    let id = schema_id.to_be_bytes();
    buf.extend_from_slice(&[MAGIC_BYTE, id[0], id[1], id[2], id[3]]);
}

/// Splits a framed payload into its schema ID and Avro body, checking the magic byte.
#[inline]
pub fn split(payload: &[u8]) -> Result<(u32, &[u8]), RegistryError> {
    match payload {
        [MAGIC_BYTE, a, b, c, d, body @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), body)),
        [magic, ..] if payload.len() >= HEADER_LEN => {
            Err(RegistryError::Framing(format!("magic byte is {magic}, expected {MAGIC_BYTE}")))
        }
        _ => Err(RegistryError::Framing(format!("{} byte(s), shorter than the 5-byte header", payload.len()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_bad_frames_are_errors() {
        let mut buf = Vec::new();
        write_header(&mut buf, 0x0102_0304);
        buf.extend_from_slice(b"body");
        assert_eq!(buf[..5], [0, 1, 2, 3, 4]);
        assert_eq!(split(&buf).unwrap(), (0x0102_0304, &b"body"[..]));
        assert!(matches!(split(&[1, 0, 0, 0, 1]), Err(RegistryError::Framing(m)) if m.contains("magic byte is 1")));
        assert!(matches!(split(&[0, 0, 0]), Err(RegistryError::Framing(m)) if m.contains("3 byte(s)")));
    }
}
