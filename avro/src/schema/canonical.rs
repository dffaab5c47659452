//! The specification's Parsing Canonical Form, emitted from the parsed model: [PRIMITIVES] primitives as bare
//! names, [FULLNAMES] full names, [STRIP] only `name, type, fields, symbols, items, values, size`, [ORDER] in that
//! order, [STRINGS] and [INTEGERS] as JSON writes them, [WHITESPACE] none. A named type is written where it is first
//! reached and by its full name afterwards, as Java's `SchemaNormalization` does.

use super::model::{NamedKind, Node, Schema};

pub(crate) fn canonical_form(schema: &Schema) -> String {
    let mut out = String::with_capacity(64);
    let mut seen = vec![false; schema.named.len()];
    emit(schema, &schema.root, &mut seen, &mut out);
    out
}

fn string(out: &mut String, s: &str) {
    // Names and symbols are ASCII identifiers; serde_json escapes exactly what JSON requires for anything else.
    out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
}

fn emit(schema: &Schema, node: &Node, seen: &mut [bool], out: &mut String) {
    match node {
        Node::Primitive(p, _) => string(out, p.name()),
        Node::Array(items) => {
            out.push_str(r#"{"type":"array","items":"#);
            emit(schema, items, seen, out);
            out.push('}');
        }
        Node::Map(values) => {
            out.push_str(r#"{"type":"map","values":"#);
            emit(schema, values, seen, out);
            out.push('}');
        }
        Node::Union(branches) => {
            out.push('[');
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                emit(schema, b, seen, out);
            }
            out.push(']');
        }
        Node::Named(id) => {
            let ty = &schema.named[id.0];
            let full = ty.name.full();
            if seen[id.0] {
                string(out, &full);
                return;
            }
            seen[id.0] = true;
            out.push_str(r#"{"name":"#);
            string(out, &full);
            match &ty.kind {
                NamedKind::Record { fields } => {
                    out.push_str(r#","type":"record","fields":["#);
                    for (i, f) in fields.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(r#"{"name":"#);
                        string(out, &f.name);
                        out.push_str(r#","type":"#);
                        emit(schema, &f.schema, seen, out);
                        out.push('}');
                    }
                    out.push_str("]}");
                }
                NamedKind::Enum { symbols, .. } => {
                    out.push_str(r#","type":"enum","symbols":["#);
                    for (i, s) in symbols.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        string(out, s);
                    }
                    out.push_str("]}");
                }
                NamedKind::Fixed { size, .. } => {
                    out.push_str(&format!(r#","type":"fixed","size":{size}}}"#));
                }
            }
        }
    }
}
