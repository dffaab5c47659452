//! Checks of the model before anything is generated: Avro names, duplicates after renaming, defaults against the
//! field's schema, attribute conflicts and the unions Avro forbids. Every finding goes to the [`Ctxt`].

use std::collections::HashMap;

use proc_macro2::Span;

use crate::attr::{Ctxt, Spanned};
use crate::model::{Body, Container, Field, Shape, Variant, VariantStyle, valid_name};

pub(crate) fn check(cx: &Ctxt, c: &Container) {
    if let Some(ns) = &c.attrs.namespace
        && !ns.value.split('.').all(valid_name)
    {
        cx.error(ns.span, format!("{:?} is not a valid Avro namespace (dot-separated Avro names)", ns.value));
    }
    check_aliases(cx, &c.attrs.aliases, true);
    match &c.body {
        Body::Record(fields, _) => check_fields(cx, fields),
        Body::Newtype(f) => check_fields(cx, std::slice::from_ref(f)),
        Body::Enum(variants) => check_enum(cx, variants),
        Body::Union(variants) => check_union(cx, variants),
    }
}

fn check_aliases(cx: &Ctxt, aliases: &[Spanned<String>], full_names: bool) {
    for a in aliases {
        let ok = if full_names { a.value.split('.').all(valid_name) } else { valid_name(&a.value) };
        if !ok {
            cx.error(a.span, format!("alias {:?} is not a valid Avro name", a.value));
        }
    }
}

fn check_fields(cx: &Ctxt, fields: &[Field]) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for f in fields.iter().filter(|f| f.attrs.skip.is_none()) {
        if !valid_name(&f.avro_name) {
            cx.error(
                f.name_span,
                format!("field name {:?} is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)", f.avro_name),
            );
        }
        if seen.insert(&f.avro_name, f.name_span).is_some() {
            cx.error(f.name_span, format!("duplicate Avro field name {:?} (after renaming)", f.avro_name));
        }
        check_aliases(cx, &f.attrs.aliases, false);
        if let Some(d) = &f.attrs.default {
            check_default(cx, &f.shape, &d.json, d.span, "");
        }
    }
}

/// Checks a default value against the field's shape, as the Avro specification defines defaults.
fn check_default(cx: &Ctxt, shape: &Shape, json: &serde_json::Value, span: Span, at: &str) {
    use serde_json::Value as J;
    let fail = |expected: &str| {
        cx.error(span, format!("default {json}{at} does not match the field's schema: expected {expected}"));
    };
    match shape {
        Shape::Null => {
            if !json.is_null() {
                fail("null")
            }
        }
        Shape::Boolean => {
            if !json.is_boolean() {
                fail("a boolean (true or false)")
            }
        }
        Shape::Int => {
            if json.as_i64().is_none_or(|n| i32::try_from(n).is_err()) {
                fail("an integer in the int range")
            }
        }
        Shape::Long => {
            if json.as_i64().is_none() {
                fail("an integer in the long range")
            }
        }
        Shape::Float | Shape::Double => {
            if !json.is_number() {
                fail("a number")
            }
        }
        Shape::String => {
            if !json.is_string() {
                fail("a string")
            }
        }
        Shape::Bytes => {
            if !json.as_str().is_some_and(|s| s.chars().all(|c| (c as u32) < 256)) {
                fail("a string of code points 0-255 (Avro's JSON form of bytes)")
            }
        }
        Shape::Fixed(n) => match (json.as_str(), n) {
            (Some(s), Some(n)) if s.chars().count() != *n => fail(&format!("a string of exactly {n} code points")),
            (None, _) => fail("a string (Avro's JSON form of fixed)"),
            _ => {}
        },
        Shape::Option(_) => {
            if !json.is_null() {
                cx.error(
                    span,
                    format!(
                        "default {json}{at} does not match the field's schema: an Option field is the union \
                         [\"null\", T], and a union's default must match its first branch, so it can only be null"
                    ),
                );
            }
        }
        Shape::Array(inner) => match json {
            J::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_default(cx, inner, item, span, &format!(" (item {i})"));
                }
            }
            _ => fail("an array"),
        },
        Shape::Map(inner) => match json {
            J::Object(entries) => {
                for (k, v) in entries {
                    check_default(cx, inner, v, span, &format!(" (entry {k:?})"));
                }
            }
            _ => fail("an object"),
        },
        Shape::Logical(_, prim) => check_default(cx, prim, json, span, at),
        Shape::Other => {}
    }
}

fn check_enum(cx: &Ctxt, variants: &[Variant]) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut default: Option<Span> = None;
    for v in variants {
        if !valid_name(&v.avro_name) {
            cx.error(v.name_span, format!("enum symbol {:?} is not a valid Avro name", v.avro_name));
        }
        if seen.insert(&v.avro_name, v.name_span).is_some() {
            cx.error(v.name_span, format!("duplicate enum symbol {:?} (after renaming)", v.avro_name));
        }
        if !v.attrs.aliases.is_empty() {
            cx.error(v.attrs.aliases[0].span, "Avro enum symbols have no aliases (aliases apply to the enum itself)");
        }
        if let Some(span) = v.attrs.default {
            if default.is_some() {
                cx.error(span, "only one variant can be the enum's default symbol");
            }
            default = Some(span);
        }
    }
}

fn check_union(cx: &Ctxt, variants: &[Variant]) {
    let mut kinds: HashMap<&'static str, Span> = HashMap::new();
    let mut names: HashMap<String, Span> = HashMap::new();
    for v in variants {
        if let Some(span) = v.attrs.default {
            cx.error(span, "`default` marks an enum's default symbol; a data-carrying enum is a union and has none");
        }
        match &v.style {
            VariantStyle::Unit | VariantStyle::Record(..) => {
                if !valid_name(&v.avro_name) {
                    cx.error(v.name_span, format!("variant record name {:?} is not a valid Avro name", v.avro_name));
                }
                if names.insert(v.avro_name.clone(), v.name_span).is_some() {
                    cx.error(v.name_span, format!("two union branches are named {:?}", v.avro_name));
                }
                check_aliases(cx, &v.attrs.aliases, false);
                if let VariantStyle::Record(fields, _) = &v.style {
                    check_fields(cx, fields);
                }
            }
            VariantStyle::Newtype(f) => {
                check_fields(cx, std::slice::from_ref(f));
                let span = f.name_span;
                match &f.shape {
                    Shape::Option(_) => cx.error(
                        span,
                        "a union branch cannot be an Option: Option is itself a union, and Avro unions cannot \
                         contain unions; add a unit variant for the empty case instead",
                    ),
                    Shape::Other => {}
                    Shape::Fixed(n) => {
                        let name = format!("fixed_{}", n.map_or("N".to_string(), |n| n.to_string()));
                        if names.insert(name.clone(), span).is_some() {
                            cx.error(span, format!("two union branches are the same fixed type {name}"));
                        }
                    }
                    shape => {
                        let kind = shape.avro_kind();
                        if kinds.insert(kind, span).is_some() {
                            cx.error(
                                span,
                                format!(
                                    "Avro unions cannot contain two branches of type {kind}; wrap one of them in a \
                                     variant with named fields (a record)"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
