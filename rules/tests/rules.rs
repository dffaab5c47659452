//! The parser and checker on the rules users write and on the mistakes they make.

use std::sync::Arc;

use typed_kafka_rules::ast::{BinaryOp, ExprKind, Literal};
use typed_kafka_rules::{Field, MAX_NESTING, Record, Type, Yields, check_rule, parse, type_of};

fn record(name: &str, fields: &[(&str, Type)]) -> Type {
    Type::Record(Arc::new(Record {
        name: name.into(),
        fields: fields.iter().map(|(n, t)| Field { name: n.to_string(), ty: t.clone() }).collect(),
    }))
}

fn order() -> Type {
    let line = record("Line", &[("sku", Type::String), ("quantity", Type::Int), ("price", Type::Double)]);
    record(
        "Order",
        &[
            ("id", Type::String),
            ("total", Type::Int),
            ("currency", Type::String),
            ("note", Type::nullable(Type::String)),
            ("lines", Type::list(line)),
            ("tags", Type::map(Type::String, Type::String)),
            ("placed", Type::Timestamp),
            ("due", Type::nullable(Type::Timestamp)),
            ("address", Type::Dyn),
        ],
    )
}

fn ok(expr: &str) -> Yields {
    let e = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    check_rule(&e, &order()).unwrap_or_else(|e| panic!("{expr}: {e:?}")).yields
}

/// The first error for `expr`, from the parser or the checker, with the text it points at.
fn err(expr: &str) -> (String, String) {
    let e = match parse(expr) {
        Ok(e) => check_rule(&e, &order()).expect_err(expr).remove(0),
        Err(e) => e,
    };
    (e.message.clone(), expr[e.span.start..e.span.end].to_string())
}

#[test]
fn rules_users_write_check() {
    for rule in [
        "this.total > 0",
        "this.total >= 0 && this.total <= 1000000",
        "size(this.id) > 0 && this.id.size() <= 64",
        "this.currency in ['EUR', 'USD', 'GBP']",
        "this.currency.matches('^[A-Z]{3}$')",
        "this.id.startsWith('ord-') || this.id.endsWith('-x') || this.id.contains('--')",
        "this.note == null || size(this.note) < 200",
        "has(this.note)",
        "this.lines.all(l, l.quantity > 0 && l.price >= 0.0)",
        "this.lines.exists(l, l.sku == 'GIFT')",
        "this.lines.exists_one(l, l.sku == 'GIFT')",
        "this.tags.all(k, size(k) < 20 && size(this.tags[k]) < 100)",
        "'team' in this.tags && this.tags.team != ''",
        "this.placed <= now",
        "this.placed > timestamp('2020-01-01T00:00:00Z')",
        "now - this.placed < duration('720h')",
        "this.due == null || this.due > this.placed + duration('1h30m')",
        "this.placed.getFullYear() >= 2020 && this.placed.getHours('+02:00') < 24",
        "size(this.lines) > 0 ? this.lines[0].quantity > 0 : true",
        "this.total == 0 || double(this.total) / 100.0 > 0.5",
        "this.total % 2 == 0 && -this.total < 0 && !(this.total == 3)",
        "this.address.zip.size() == 5",
        "int(this.placed) > 0 && string(this.total) != ''",
        "[1, 2, 3].all(x, x > 0) && {'a': 1}.a == 1 && [1, 2][1] == 2",
        "b'\\x00\\xff'.size() == 2 && r'\\d' == '\\\\d' && '''multi\nline''' != \"x\"",
        "0x10 == 16 && 7u > 3u && 1e3 == 1000.0 && .5 < 1.0 && -9223372036854775808 < 0",
        "// a comment\n this.total > 0 // another",
    ] {
        assert_eq!(ok(rule), Yields::Bool, "{rule}");
    }
    assert_eq!(ok("this.total > 0 ? '' : 'the total must be positive'"), Yields::Message);
    assert_eq!(ok("this.note"), Yields::Message, "a nullable string: null is no violation");
}

#[test]
fn mistakes_are_errors_at_their_place() {
    let cases = [
        (
            "this.totl > 0",
            "no field `totl` in Order (its fields: id, total, currency, note, lines, tags, placed, due, address)",
            "this.totl",
        ),
        ("this.total > 'x'", "`>` is not defined for int and string", "this.total > 'x'"),
        (
            "this.total + 1.5 > 0",
            "`+` on int and double: numbers of different kinds do not compare in every client (Confluent's Python client fails on them): write the literal in the field's kind (`0.0`, `1u`) or convert with `int()`, `uint()` or `double()`",
            "this.total + 1.5",
        ),
        (
            "this.total > 1.5",
            "`>` on int and double: numbers of different kinds do not compare in every client (Confluent's Python client fails on them): write the literal in the field's kind (`0.0`, `1u`) or convert with `int()`, `uint()` or `double()`",
            "this.total > 1.5",
        ),
        (
            "this.total == 1u",
            "`==` on int and uint: numbers of different kinds do not compare in every client (Confluent's Python client fails on them): write the literal in the field's kind (`0.0`, `1u`) or convert with `int()`, `uint()` or `double()`",
            "this.total == 1u",
        ),
        ("this.total", "a rule must yield a bool or a string (a message); this one yields int", "this.total"),
        ("this.currency.matches('[A-Z')", "invalid regular expression \"[A-Z\": unclosed character class", "'[A-Z'"),
        (
            "this.placed > timestamp('2020-13-01T00:00:00Z')",
            "\"2020-13-01T00:00:00Z\" is not an RFC 3339 timestamp within years 1 to 9999",
            "'2020-13-01T00:00:00Z'",
        ),
        (
            "now - this.placed < duration('30 days')",
            "\"30 days\" is not a duration such as \"1h30m\" or \"1.5s\"",
            "'30 days'",
        ),
        ("that.total > 0", "undeclared reference to `that` (a rule sees `this` and `now`)", "that"),
        ("this.lines.all(l, l.qty > 0)", "no field `qty` in Line (its fields: sku, quantity, price)", "l.qty"),
        ("this.lines.map(l, l.price)", "the `map` macro is not supported in rules", "map"),
        ("this.lines.all(l, l.price)", "a predicate must be a bool, not a double", "l.price"),
        (
            "this.total.startsWith('1')",
            "`startsWith` on a int takes a string on a string; given (string)",
            "this.total.startsWith('1')",
        ),
        ("this.id.trim() == ''", "`trim` is not a method rules support", "this.id.trim()"),
        ("this.total > 0 &&", "expected an expression, found the end of the expression", ""),
        ("this.total > 0)", "expected the end of the expression, found `)`", ")"),
        ("Order{total: 1}.total > 0", "message construction is not supported in rules", "Order{"),
        ("this.total > 0 ? 'a' : 1", "the branches of `?:` differ: string and int", "this.total > 0 ? 'a' : 1"),
        ("this.id == 'a\\qb'", "unknown escape sequence \\q", "\\q"),
        ("this.id == 'open", "unterminated string literal", "'open"),
        ("this.total > 99999999999999999999", "integer literal out of range", "99999999999999999999"),
        ("has(this)", "`has`'s argument must select a field: `has(x.field)`", "this"),
        ("this.id # 1", "unexpected character \"#\"", "#"),
        ("this.lines.all(this, true)", "`this` cannot be a comprehension's variable", "this"),
        ("this.lines.all(l, this.lines.all(l, true))", "`l` is already a variable here", "l"),
        ("this.tags.all(k, k > 1)", "`>` is not defined for string and int", "k > 1"),
        ("while > 0", "`while` is a reserved word in CEL", "while"),
        (
            "this.placed.getHours('Europe/Paris') < 9",
            "time zone \"Europe/Paris\": rules take \"UTC\" or a fixed offset such as \"+02:00\"",
            "'Europe/Paris'",
        ),
    ];
    for (rule, message, at) in cases {
        let (m, text) = err(rule);
        assert_eq!((m.as_str(), text.as_str()), (message, at), "{rule}");
    }
}

#[test]
fn every_error_is_collected() {
    let e = parse("this.totl > 0 && this.curency == 'EUR' && this.id > 1").unwrap();
    let errors = check_rule(&e, &order()).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn precedence_and_literals() {
    let e = parse("1 + 2 * 3 == 7 || false && true").unwrap();
    let ExprKind::Binary { op: BinaryOp::Or, right, .. } = &e.kind else { panic!("|| binds loosest: {e:?}") };
    assert!(matches!(right.kind, ExprKind::Binary { op: BinaryOp::And, .. }));
    assert_eq!(type_of(&parse("1 + 2 * 3").unwrap(), &Type::Dyn), Ok(Type::Int));
    assert_eq!(type_of(&parse("[1, null]").unwrap(), &Type::Dyn), Ok(Type::list(Type::nullable(Type::Int))));
    let ExprKind::Literal(Literal::String(s)) = parse(r#""\u00e9\U0001F600\x41\101\n""#).unwrap().kind else {
        panic!("a string literal")
    };
    assert_eq!(s, "é😀AA\n");
    let ExprKind::Literal(Literal::Bytes(b)) = parse(r#"b"\xff\377é""#).unwrap().kind else { panic!("bytes") };
    assert_eq!(b, vec![0xff, 0xff, 0xc3, 0xa9]);
    assert_eq!(parse("-9223372036854775809").unwrap_err().message, "integer literal out of range");
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}true{}", "(".repeat(MAX_NESTING + 1), ")".repeat(MAX_NESTING + 1));
    assert!(parse(&deep).unwrap_err().message.contains("nests more than"));
    let list = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse(&list).is_err());
    let within = format!("{}true{}", "(".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1));
    assert!(parse(&within).is_ok());
    for long in [format!("{}true", "!".repeat(100_000)), vec!["1"; 100_000].join(" + "), "x.y".repeat(50_000)] {
        assert!(parse(&long).unwrap_err().message.contains("nests more than"), "{}", &long[..10]);
    }
    let wide = format!("[{}].all(x, x > 0)", vec!["1"; 100_000].join(", "));
    assert_eq!(check_rule(&parse(&wide).unwrap(), &Type::Dyn).map(|c| c.yields), Ok(Yields::Bool));
}

/// Found by the fuzz target: an escape of a multi-byte character in an unterminated string.
#[test]
fn error_spans_lie_on_character_boundaries() {
    let crash: &[u8] =
        b"\"\"\"\x00\x00-t\x05A\"\\\"rA\"-t\x05A\"\\\"rA\"\\\xde\xa0\x18\\\\C??\\\x00\x00[-t\x05A\"\\\"\x05";
    let crash = std::str::from_utf8(crash).unwrap();
    for text in [crash, "'\\é", "'\\😀'", "\"x\\é\"", "'''\\ޠ"] {
        let e = parse(text).unwrap_err();
        assert!(text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end), "{text:?}: {e:?}");
        assert!(e.span.end <= text.len());
    }
}
