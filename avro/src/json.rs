//! Avro's JSON encoding (the specification's "JSON Encoding", as Java's `JsonEncoder` writes it), read from a
//! binary body and its schema: what a dead-letter record's value is, so that a person or a tool without the
//! registry can read a refused record.
//!
//! - `null`, booleans, numbers and strings as JSON; a float or double that is not finite as the string `"NaN"`,
//!   `"Infinity"` or `"-Infinity"` (Jackson's default, which Java's encoder uses);
//! - `bytes` and `fixed` as a string of one code point per byte (U+0000 to U+00FF);
//! - records as objects (fields in schema order), enums as their symbol, arrays as lists, maps as objects;
//! - a union value as `null`, or as an object of one member named by the branch: its full name for a named type,
//!   else the type's name (`"string"`, `"array"`, `"map"`, ...);
//! - logical types by their underlying type (a `timestamp-millis` is its `long`), as Java writes them.
//!
//! Nothing here allocates per value beyond the output; nesting is bounded as the decoders bound it.

use std::io::Write as _;

use crate::codec::DecodeError;
use crate::codec::encoding as enc;
use crate::schema::{NamedKind, Node, Primitive, Schema};

/// The Avro JSON encoding of the binary `body` written with `schema`. Fails if the body is not one value of the
/// schema (truncated, malformed, or with bytes left over).
pub fn body_to_json(schema: &Schema, body: &[u8]) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(body.len() * 2 + 16);
    let mut input = body;
    write_node(schema, schema.root(), &mut input, &mut out)?;
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes(input.len()));
    }
    // Every piece written is JSON built from valid UTF-8 (strings are checked as they are read).
    String::from_utf8(out).map_err(|_| DecodeError::InvalidUtf8)
}

fn write_node(schema: &Schema, node: &Node, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    match node {
        Node::Primitive(p, _) => write_primitive(*p, input, out),
        Node::Array(items) => {
            out.push(b'[');
            let mut first = true;
            blocks(schema.min_size(items), input, |input| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_node(schema, items, input, out)
            })?;
            out.push(b']');
            Ok(())
        }
        Node::Map(values) => {
            out.push(b'{');
            let mut first = true;
            blocks(1usize.saturating_add(schema.min_size(values)), input, |input| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                write_string(enc::get_str(input)?, out);
                out.push(b':');
                write_node(schema, values, input, out)
            })?;
            out.push(b'}');
            Ok(())
        }
        Node::Union(branches) => {
            let i = enc::get_union_index(input, branches.len() as u32)? as usize;
            let branch = &branches[i];
            let name = match branch {
                Node::Primitive(Primitive::Null, _) => {
                    out.extend_from_slice(b"null");
                    return Ok(());
                }
                Node::Primitive(p, _) => p.name().to_string(),
                Node::Array(_) => "array".to_string(),
                Node::Map(_) => "map".to_string(),
                Node::Named(id) => schema.named(*id).name.full(),
                // The parser refuses a union directly inside a union; written bare if one ever were.
                Node::Union(_) => return write_node(schema, branch, input, out),
            };
            out.push(b'{');
            write_string(&name, out);
            out.push(b':');
            write_node(schema, branch, input, out)?;
            out.push(b'}');
            Ok(())
        }
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Fixed { size, .. } => {
                write_latin1(enc::take(input, *size)?, out);
                Ok(())
            }
            NamedKind::Enum { symbols, .. } => {
                let i = enc::get_enum_index(input, symbols.len() as u32)? as usize;
                write_string(&symbols[i], out);
                Ok(())
            }
            NamedKind::Record { fields } => {
                let _nested = enc::enter_nested()?;
                out.push(b'{');
                for (n, field) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    write_string(&field.name, out);
                    out.push(b':');
                    write_node(schema, &field.schema, input, out)?;
                }
                out.push(b'}');
                Ok(())
            }
        },
    }
}

fn write_primitive(p: Primitive, input: &mut &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    match p {
        Primitive::Null => out.extend_from_slice(b"null"),
        Primitive::Boolean => out.extend_from_slice(if enc::get_bool(input)? { b"true" } else { b"false" }),
        Primitive::Int => {
            let _ = write!(out, "{}", enc::get_int(input)?);
        }
        Primitive::Long => {
            let _ = write!(out, "{}", enc::get_long(input)?);
        }
        Primitive::Float => write_float(f64::from(enc::get_float(input)?), Some(enc_f32), out),
        Primitive::Double => write_float(enc::get_double(input)?, None, out),
        Primitive::Bytes => write_latin1(enc::get_bytes(input)?, out),
        Primitive::String => write_string(enc::get_str(input)?, out),
    }
    Ok(())
}

/// A float's shortest form as an `f32` (so `0.1f32` is `0.1`, not `0.10000000149011612`).
fn enc_f32(x: f64, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(out, &(x as f32));
}

fn write_float(x: f64, as_f32: Option<fn(f64, &mut Vec<u8>)>, out: &mut Vec<u8>) {
    if x.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"\"Infinity\"" } else { b"\"-Infinity\"" });
    } else if let Some(f) = as_f32 {
        f(x, out);
    } else {
        let _ = serde_json::to_writer(out, &x);
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(out, s);
}

/// Bytes as a JSON string of one code point per byte, as the specification's JSON encoding writes them.
fn write_latin1(bytes: &[u8], out: &mut Vec<u8>) {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    write_string(&text, out);
}

/// Reads an array's or a map's blocks, one `item` at a time, their counts bounded as the decoder bounds them.
fn blocks(
    min_item: usize,
    input: &mut &[u8],
    mut item: impl FnMut(&mut &[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut total = 0usize;
    loop {
        let n = enc::get_array_block(input, min_item, &mut total, enc::MAX_ZERO_SIZE_ITEMS)?;
        if n == 0 {
            return Ok(());
        }
        for _ in 0..n {
            item(input)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encoding::{put_bytes, put_long};

    fn schema(json: &str) -> Schema {
        Schema::parse(json).unwrap()
    }

    #[test]
    fn every_type_is_written_as_the_specification_says() {
        let s = schema(
            r#"{"type":"record","name":"R","namespace":"n","fields":[
                {"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},
                {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"by","type":"bytes"},
                {"name":"s","type":"string"},{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
                {"name":"x","type":{"type":"fixed","name":"F","size":2}},
                {"name":"a","type":{"type":"array","items":"int"}},{"name":"m","type":{"type":"map","values":"long"}},
                {"name":"u","type":["null","string","E"]},{"name":"u2","type":["null","string"]},
                {"name":"u3","type":["null","E"]}]}"#,
        );
        let mut body = vec![1];
        put_long(&mut body, -3);
        put_long(&mut body, 1 << 40);
        body.extend_from_slice(&0.1f32.to_le_bytes());
        body.extend_from_slice(&f64::NAN.to_le_bytes());
        put_bytes(&mut body, &[0, 0x1f, 0xff]);
        put_bytes(&mut body, "é\"\n".as_bytes());
        put_long(&mut body, 1);
        body.extend_from_slice(&[0x41, 0x00]);
        put_long(&mut body, 2);
        put_long(&mut body, 1);
        put_long(&mut body, 2);
        put_long(&mut body, 0);
        put_long(&mut body, 1);
        put_bytes(&mut body, b"k");
        put_long(&mut body, -7);
        put_long(&mut body, 0);
        put_long(&mut body, 1);
        put_bytes(&mut body, b"yes");
        put_long(&mut body, 0);
        put_long(&mut body, 1);
        put_long(&mut body, 0);
        let json = body_to_json(&s, &body).unwrap();
        assert_eq!(
            json,
            r#"{"b":true,"i":-3,"l":1099511627776,"f":0.1,"d":"NaN","by":"\u0000\u001fÿ","s":"é\"\n","e":"B","x":"A\u0000","a":[1,2],"m":{"k":-7},"u":{"string":"yes"},"u2":null,"u3":{"n.E":"A"}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["by"].as_str().unwrap().chars().map(|c| c as u32).collect::<Vec<_>>(), [0, 0x1f, 0xff]);
    }

    #[test]
    fn a_body_that_is_not_one_value_is_an_error() {
        let s = schema(r#"{"type":"record","name":"R","fields":[{"name":"s","type":"string"}]}"#);
        assert!(matches!(body_to_json(&s, &[0x08, b'a']), Err(DecodeError::LengthExceedsInput { .. })));
        assert!(matches!(body_to_json(&s, &[0x02, b'a', 0]), Err(DecodeError::TrailingBytes(1))));
        let arr = schema(r#"{"type":"array","items":"null"}"#);
        let mut huge = Vec::new();
        put_long(&mut huge, i64::MAX / 2);
        assert!(body_to_json(&arr, &huge).is_err(), "a count of zero-size items is bounded");
    }
}
