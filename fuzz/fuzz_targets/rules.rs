//! Arbitrary text as a data-contract rule (the path a rule a registered schema carries takes): parsing and
//! checking return a typed tree or errors, never panic; every error's span lies within the text, on character
//! boundaries (the derive and the bind error point into it). A rule that checks is also interpreted on a value of
//! its type: a verdict or an evaluation error, never a panic.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use typed_kafka_rules::interp::{Program, Value};
use typed_kafka_rules::rt::{Duration, Timestamp};
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

/// A value of [`this`]'s type.
fn value() -> Value {
    let s = |t: &str| Arc::<str>::from(t);
    let line = |sku: &str, n| Value::Record(vec![(s("sku"), Value::string(sku)), (s("n"), Value::Int(n))].into());
    let at = Timestamp::parse("2024-02-29T13:45:30Z").expect("a timestamp");
    Value::Record(
        vec![
            (s("id"), Value::string("o-1")),
            (s("total"), Value::Int(i64::MAX)),
            (s("u"), Value::Uint(0)),
            (s("price"), Value::Double(f64::NAN)),
            (s("ok"), Value::Bool(true)),
            (s("raw"), Value::Bytes(Arc::from(&b"\xff\x00"[..]))),
            (s("note"), Value::Null),
            (s("lines"), Value::List(vec![line("AB", 1), line("é", -1)].into())),
            (s("tags"), Value::Map(vec![(s(""), Value::Int(0)), (s("x"), Value::Int(i64::MIN))].into())),
            (s("at"), Value::Timestamp(at)),
            (s("wait"), Value::Duration(Duration::parse("-1.5s").expect("a duration"))),
            (s("other"), Value::List(Vec::new().into())),
        ]
        .into(),
    )
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
            if let Ok(program) = Program::compile(text, &this()) {
                let _ = program.verdict(&value());
            }
        }
        Err(e) => in_text(text, &e),
    }
});
