//! Arbitrary text as a data-contract rule (the path a rule a registered schema carries takes): parsing and
//! checking return a typed tree or errors, never panic; every error's span lies within the text, on character
//! boundaries (the derive and the bind error point into it).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use typed_kafka_rules::{Field, Record, RuleError, Type, check_rule, parse};

fn this() -> Type {
    let line = Type::Record(Arc::new(Record {
        name: "Line".into(),
        fields: vec![Field { name: "sku".into(), ty: Type::String }, Field { name: "n".into(), ty: Type::Int }],
    }));
    let field = |name: &str, ty| Field { name: name.into(), ty };
    Type::Record(Arc::new(Record {
        name: "Order".into(),
        fields: vec![
            field("id", Type::String),
            field("total", Type::Int),
            field("u", Type::Uint),
            field("price", Type::Double),
            field("ok", Type::Bool),
            field("raw", Type::Bytes),
            field("note", Type::nullable(Type::String)),
            field("lines", Type::list(line)),
            field("tags", Type::map(Type::String, Type::Int)),
            field("at", Type::Timestamp),
            field("wait", Type::Duration),
            field("other", Type::Dyn),
        ],
    }))
}

fn in_text(text: &str, e: &RuleError) {
    assert!(e.span.start <= e.span.end && e.span.end <= text.len(), "span {:?} of {} bytes", e.span, text.len());
    assert!(text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end), "span {:?}", e.span);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text) {
        Ok(expr) => {
            for ty in [this(), Type::Dyn] {
                if let Err(errors) = check_rule(&expr, &ty) {
                    errors.iter().for_each(|e| in_text(text, e));
                }
            }
        }
        Err(e) => in_text(text, &e),
    }
});
