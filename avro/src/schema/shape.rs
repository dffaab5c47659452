//! Schemas known at compile time, and their comparison in const evaluation: what lets `typed_kafka::topic!` fail
//! the build when a bound type no longer derives its committed contract.
//!
//! Every [`AvroType`](crate::AvroType) has a [`SchemaShape`] constant (`AvroType::SHAPE`) built from its
//! children's constants, so a generic `Vec<T>` or `Wrapper<T>` gets one per instantiation. `#[derive(KafkaRecord)]`
//! emits it next to the schema writer; the `topic!` macro reads the subject's latest committed `vN.avsc`, turns it
//! into an expected shape, and asserts in a `const` item that the two agree. A disagreement is a compile error that
//! names the first differing path.
//!
//! What is compared is what the resolution form keeps: names (full names, after namespace inheritance), aliases,
//! field names, order and defaults, enum symbols and defaults, fixed sizes, logical types and their parameters.
//! Documentation is not. A hand-written `AvroType` or `Codec` without a shape is [`SchemaShape::Opaque`]: the
//! compile-time check passes over it, and the contract test (`typed_kafka::contract_test!`) still compares it.

// The comparison runs in const evaluation, where nothing can be boxed; its errors are fixed-size texts.
#![allow(clippy::result_large_err)]

/// A schema as a tree of constants. Named types appear at every use (a derived record's shape does not know what
/// was defined before it); [`SchemaShape::Ref`] appears only in shapes read from schema files, and
/// [`SchemaShape::Recursive`] only in derived ones.
#[derive(Debug)]
#[non_exhaustive]
pub enum SchemaShape {
    /// A primitive type, by its Avro name (`"int"`, `"string"`, …).
    Primitive(&'static str),
    /// An array of the items' shape.
    Array(&'static SchemaShape),
    /// A map with string keys and values of this shape.
    Map(&'static SchemaShape),
    /// A union of its branches, in order.
    Union(&'static [&'static SchemaShape]),
    /// A logical type over its underlying type.
    Logical {
        /// The underlying type.
        base: &'static SchemaShape,
        /// `logicalType`.
        logical: &'static str,
        /// `precision`, for decimals.
        precision: Option<u64>,
        /// `scale`, for decimals.
        scale: Option<u64>,
    },
    /// A record with its fields.
    Record(&'static ShapeName, &'static [ShapeField]),
    /// An enum with its symbols and its enum-level default.
    Enum(&'static ShapeName, &'static [&'static str], Option<&'static str>),
    /// A fixed type of this size.
    Fixed(&'static ShapeName, u64),
    /// A use of a named type defined earlier in the file, by full name (from schema files only).
    Ref(&'static str),
    /// The derived type being defined, used inside itself (from derived shapes only).
    Recursive,
    /// A type whose schema is only known when the program runs; the compile-time check passes over it.
    Opaque,
    /// An attribute of a schema file that no derived type writes: the file cannot match any derived type.
    Unsupported(&'static str),
}

/// The name of a named type.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShapeName {
    /// A full name, as a schema file spells it after namespace resolution.
    Full {
        /// The full name.
        name: &'static str,
        /// `aliases`, as written.
        aliases: &'static [&'static str],
    },
    /// A derived type's name: `base`, then `_` and the type name of each generic argument, then `_` and `number`
    /// if any, then `suffix`; in `namespace`, else in the enclosing one.
    Derived {
        /// The name without instantiation.
        base: &'static str,
        /// The generic arguments named into the instantiation (`Wrapper<Order>` is `Wrapper_Order`).
        args: &'static [&'static SchemaShape],
        /// A number in the name (`fixed_16`).
        number: Option<u64>,
        /// Text after the arguments (`_Variant` for a generic union's record variant).
        suffix: &'static str,
        /// The namespace, if the type sets one.
        namespace: Option<&'static str>,
        /// `aliases`, as written.
        aliases: &'static [&'static str],
    },
}

/// A record field.
#[derive(Debug)]
pub struct ShapeField {
    /// The Avro field name.
    pub name: &'static str,
    /// The field's type.
    pub ty: &'static SchemaShape,
    /// The default as compact JSON (serde_json's rendering), if any.
    pub default: Option<&'static str>,
    /// `aliases`, as written.
    pub aliases: &'static [&'static str],
    /// `order`, if written.
    pub order: Option<&'static str>,
}

impl ShapeName {
    /// A derived type's name without generic arguments.
    pub const fn plain(base: &'static str, namespace: Option<&'static str>, aliases: &'static [&'static str]) -> Self {
        ShapeName::Derived { base, args: &[], number: None, suffix: "", namespace, aliases }
    }

    const fn aliases(&self) -> &'static [&'static str] {
        match self {
            ShapeName::Full { aliases, .. } | ShapeName::Derived { aliases, .. } => aliases,
        }
    }
}

const CAP: usize = 480;

/// A fixed-capacity text buffer usable in const evaluation. Text that does not fit is dropped and marked `…`.
#[derive(Clone, Copy)]
pub struct ConstText {
    bytes: [u8; CAP],
    len: usize,
    cut: bool,
}

impl ConstText {
    const fn new() -> Self {
        ConstText { bytes: [0; CAP], len: 0, cut: false }
    }

    const fn push(self, s: &str) -> Self {
        self.push_bytes(s.as_bytes())
    }

    const fn push_bytes(mut self, s: &[u8]) -> Self {
        if self.cut {
            return self;
        }
        if self.len + s.len() > CAP {
            // Keep the text valid UTF-8: whole pieces only, and a mark that something was cut.
            self.cut = true;
            if self.len + 3 <= CAP {
                let mark = "…".as_bytes();
                let mut i = 0;
                while i < mark.len() {
                    self.bytes[self.len] = mark[i];
                    self.len += 1;
                    i += 1;
                }
            }
            return self;
        }
        let mut i = 0;
        while i < s.len() {
            self.bytes[self.len] = s[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn push_u64(self, n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut i = 20;
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push_bytes(digits.split_at(i).1)
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "",
        }
    }
}

impl core::fmt::Debug for ConstText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// How two lists of names (symbols, aliases) first differ, in words; `None` if they are equal.
const fn list_difference(what: &str, a: &[&str], b: &[&str]) -> Option<ConstText> {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if !str_eq(a[i], b[i]) {
            let t = ConstText::new().push("the type has the ").push(what).push(" `").push(a[i]);
            return Some(t.push("` where the contract has `").push(b[i]).push("`"));
        }
        i += 1;
    }
    if a.len() > b.len() {
        return Some(ConstText::new().push("the type adds the ").push(what).push(" `").push(a[i]).push("`"));
    }
    if a.len() < b.len() {
        return Some(ConstText::new().push("the type drops the ").push(what).push(" `").push(b[i]).push("`"));
    }
    None
}

const fn opt_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => str_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The fragment a type contributes to the name of a generic instantiation, as `AvroType::type_name` writes it;
/// `None` when it is not known at compile time.
const fn type_name(shape: &SchemaShape, out: ConstText) -> Option<ConstText> {
    match shape {
        SchemaShape::Primitive(p) => Some(out.push(p)),
        SchemaShape::Array(items) => type_name(items, out.push("array_")),
        SchemaShape::Map(values) => type_name(values, out.push("map_")),
        SchemaShape::Union(branches) => match branches {
            [SchemaShape::Primitive(null), inner] if str_eq(null, "null") => type_name(inner, out.push("optional_")),
            _ => None,
        },
        SchemaShape::Logical { logical, precision, scale, .. } => {
            if str_eq(logical, "decimal") {
                match (precision, scale) {
                    (Some(p), Some(s)) => Some(out.push("decimal_").push_u64(*p).push("_").push_u64(*s)),
                    _ => None,
                }
            } else {
                // `timestamp-millis` is named `timestamp_millis`.
                let bytes = logical.as_bytes();
                let mut out = out;
                let mut i = 0;
                while i < bytes.len() {
                    out = out.push_bytes(if bytes[i] == b'-' { b"_" } else { bytes.split_at(i).1.split_at(1).0 });
                    i += 1;
                }
                Some(out)
            }
        }
        SchemaShape::Record(name, _) | SchemaShape::Enum(name, ..) | SchemaShape::Fixed(name, _) => match name {
            ShapeName::Derived { .. } => match simple_name(name) {
                Some(n) => Some(out.push(n.as_str())),
                None => None,
            },
            ShapeName::Full { .. } => None,
        },
        SchemaShape::Ref(_) | SchemaShape::Recursive | SchemaShape::Opaque | SchemaShape::Unsupported(_) => None,
    }
}

/// A derived name without its namespace.
const fn simple_name(name: &ShapeName) -> Option<ConstText> {
    match name {
        ShapeName::Derived { base, args, number, suffix, .. } => {
            let mut out = ConstText::new().push(base);
            let mut i = 0;
            while i < args.len() {
                out = match type_name(args[i], out.push("_")) {
                    Some(o) => o,
                    None => return None,
                };
                i += 1;
            }
            if let Some(n) = number {
                out = out.push("_").push_u64(*n);
            }
            Some(out.push(suffix))
        }
        ShapeName::Full { name, .. } => Some(ConstText::new().push(name)),
    }
}

/// A derived name's full name in the enclosing namespace `ns`, and the namespace its contents inherit; `None`
/// when a generic argument's name is not known at compile time.
const fn full_name(name: &ShapeName, ns: &'static str) -> Option<(ConstText, &'static str)> {
    match name {
        ShapeName::Derived { namespace, .. } => {
            let ns = match namespace {
                Some(n) => *n,
                None => ns,
            };
            match simple_name(name) {
                Some(simple) => {
                    let out = if ns.is_empty() { ConstText::new() } else { ConstText::new().push(ns).push(".") };
                    Some((out.push(simple.as_str()), ns))
                }
                None => None,
            }
        }
        // A full name's namespace is what precedes its last dot.
        ShapeName::Full { name: full, .. } => Some((ConstText::new().push(full), namespace_of(full))),
    }
}

const fn namespace_of(full: &'static str) -> &'static str {
    let bytes = full.as_bytes();
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        if bytes[i] == b'.' {
            return match core::str::from_utf8(bytes.split_at(i).0) {
                Ok(s) => s,
                Err(_) => "",
            };
        }
    }
    ""
}

/// Where a derived shape first differs from an expected one.
#[derive(Debug)]
pub struct Mismatch {
    /// A JSON pointer into the schema; fields are named, union branches numbered.
    pub path: ConstText,
    /// What differs there.
    pub what: ConstText,
}

const fn kind(s: &SchemaShape) -> &'static str {
    match s {
        SchemaShape::Primitive(p) => p,
        SchemaShape::Array(_) => "array",
        SchemaShape::Map(_) => "map",
        SchemaShape::Union(_) => "union",
        SchemaShape::Logical { logical, .. } => logical,
        SchemaShape::Record(..) => "record",
        SchemaShape::Enum(..) => "enum",
        SchemaShape::Fixed(..) => "fixed",
        SchemaShape::Ref(name) => name,
        SchemaShape::Recursive => "recursive use",
        SchemaShape::Opaque => "runtime-only schema",
        SchemaShape::Unsupported(attr) => attr,
    }
}

const fn differ(path: ConstText, what: ConstText) -> Result<(), Mismatch> {
    Err(Mismatch { path, what })
}

const fn has_vs(ours: &str, theirs: &str) -> ConstText {
    ConstText::new().push("the type has ").push(ours).push(" where the contract has ").push(theirs)
}

/// Where the enclosing named type of a derived shape stands: its full name (for [`SchemaShape::Recursive`]) and the
/// namespace its contents inherit.
#[derive(Clone, Copy)]
struct Scope {
    current: ConstText,
    namespace: &'static str,
}

/// Compares a derived shape with an expected one (from a schema file) and returns the first difference.
pub const fn compare(actual: &SchemaShape, expected: &SchemaShape) -> Result<(), Mismatch> {
    compare_at(actual, expected, Scope { current: ConstText::new(), namespace: "" }, ConstText::new())
}

const fn compare_at(
    actual: &SchemaShape,
    expected: &SchemaShape,
    scope: Scope,
    path: ConstText,
) -> Result<(), Mismatch> {
    use SchemaShape as S;
    match (actual, expected) {
        (S::Opaque, _) => Ok(()),
        (_, S::Unsupported(attr)) => differ(
            path,
            ConstText::new()
                .push("the contract has the attribute `")
                .push(attr)
                .push("`, which no derived type writes"),
        ),
        (S::Primitive(a), S::Primitive(e)) => {
            if str_eq(a, e) {
                Ok(())
            } else {
                differ(path, has_vs(a, e))
            }
        }
        (S::Array(a), S::Array(e)) => compare_at(a, e, scope, path.push("/items")),
        (S::Map(a), S::Map(e)) => compare_at(a, e, scope, path.push("/values")),
        (S::Union(a), S::Union(e)) => {
            let mut i = 0;
            while i < a.len() && i < e.len() {
                if let Err(m) = compare_at(a[i], e[i], scope, path.push("/").push_u64(i as u64)) {
                    return Err(m);
                }
                i += 1;
            }
            if a.len() > e.len() {
                differ(path.push("/").push_u64(e.len() as u64), has_vs("another branch", "none"))
            } else if a.len() < e.len() {
                differ(path.push("/").push_u64(a.len() as u64), ConstText::new().push("the type drops this branch"))
            } else {
                Ok(())
            }
        }
        (
            S::Logical { base: ab, logical: al, precision: ap, scale: as_ },
            S::Logical { base: eb, logical: el, precision: ep, scale: es },
        ) => {
            if !str_eq(al, el) {
                return differ(path.push("/logicalType"), has_vs(al, el));
            }
            if !num_eq(*ap, *ep) {
                return differ(path.push("/precision"), ConstText::new().push("the precision differs"));
            }
            if !num_eq(*as_, *es) {
                return differ(path.push("/scale"), ConstText::new().push("the scale differs"));
            }
            compare_at(ab, eb, scope, path)
        }
        (S::Recursive, S::Ref(e)) => {
            if str_eq(scope.current.as_str(), e) {
                Ok(())
            } else {
                differ(path, has_vs(scope.current.as_str(), e))
            }
        }
        (S::Record(an, _) | S::Enum(an, ..) | S::Fixed(an, _), S::Ref(e)) => match full_name(an, scope.namespace) {
            Some((full, _)) if !str_eq(full.as_str(), e) => differ(path, has_vs(full.as_str(), e)),
            // The definition was compared where the contract defines it.
            _ => Ok(()),
        },
        (S::Record(an, af), S::Record(en, ef)) => match compare_names(an, en, scope, path) {
            Err(m) => Err(m),
            Ok(inner) => compare_fields(af, ef, inner, path),
        },
        (S::Enum(an, asym, adef), S::Enum(en, esym, edef)) => match compare_names(an, en, scope, path) {
            Err(m) => Err(m),
            Ok(_) => match list_difference("symbol", asym, esym) {
                Some(what) => differ(path.push("/symbols"), what),
                None if !opt_eq(*adef, *edef) => {
                    differ(path.push("/default"), ConstText::new().push("the enum default differs"))
                }
                None => Ok(()),
            },
        },
        (S::Fixed(an, asize), S::Fixed(en, esize)) => match compare_names(an, en, scope, path) {
            Err(m) => Err(m),
            Ok(_) if *asize != *esize => differ(
                path.push("/size"),
                ConstText::new().push("the type has size ").push_u64(*asize).push(", the contract ").push_u64(*esize),
            ),
            Ok(_) => Ok(()),
        },
        (a, e) => differ(path, has_vs(kind(a), kind(e))),
    }
}

const fn num_eq(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        (None, None) => true,
        _ => false,
    }
}

/// Compares the names and aliases of two named types; returns the scope of the derived type's contents.
const fn compare_names(
    actual: &ShapeName,
    expected: &ShapeName,
    scope: Scope,
    path: ConstText,
) -> Result<Scope, Mismatch> {
    let Some((full, namespace)) = full_name(actual, scope.namespace) else {
        // A generic argument named at run time: the name is the contract test's to check.
        return Ok(Scope { current: ConstText::new(), namespace: scope.namespace });
    };
    let inner = Scope { current: full, namespace };
    if let Some((theirs, _)) = full_name(expected, "")
        && !str_eq(full.as_str(), theirs.as_str())
    {
        return Err(Mismatch { path: path.push("/name"), what: has_vs(full.as_str(), theirs.as_str()) });
    }
    if let Some(what) = list_difference("alias", actual.aliases(), expected.aliases()) {
        return Err(Mismatch { path: path.push("/aliases"), what });
    }
    Ok(inner)
}

const fn compare_fields(
    actual: &[ShapeField],
    expected: &[ShapeField],
    scope: Scope,
    path: ConstText,
) -> Result<(), Mismatch> {
    let mut i = 0;
    while i < actual.len() && i < expected.len() {
        let (a, e) = (&actual[i], &expected[i]);
        if !str_eq(a.name, e.name) {
            return differ(
                path.push("/fields/").push(e.name),
                ConstText::new().push("the type has field `").push(a.name).push("` here"),
            );
        }
        let here = path.push("/fields/").push(e.name);
        if let Some(what) = list_difference("alias", a.aliases, e.aliases) {
            return differ(here.push("/aliases"), what);
        }
        if let Err(m) = compare_at(a.ty, e.ty, scope, here.push("/type")) {
            return Err(m);
        }
        match (a.default, e.default) {
            (Some(x), Some(y)) if !str_eq(x, y) => return differ(here.push("/default"), has_vs(x, y)),
            (Some(x), None) => {
                return differ(here.push("/default"), ConstText::new().push("the type adds the default ").push(x));
            }
            (None, Some(y)) => {
                return differ(here.push("/default"), ConstText::new().push("the type drops the default ").push(y));
            }
            _ => {}
        }
        if !opt_eq(a.order, e.order) {
            return differ(here.push("/order"), ConstText::new().push("the sort order differs"));
        }
        i += 1;
    }
    if actual.len() > expected.len() {
        let a = &actual[expected.len()];
        return differ(path.push("/fields/").push(a.name), ConstText::new().push("the type adds this field"));
    }
    if actual.len() < expected.len() {
        let e = &expected[actual.len()];
        return differ(path.push("/fields/").push(e.name), ConstText::new().push("the type drops this field"));
    }
    Ok(())
}

/// The message of a failed compile-time contract check.
pub const fn drift_message(type_name: &str, file: &str, m: &Mismatch) -> ConstText {
    ConstText::new()
        .push("`")
        .push(type_name)
        .push("` no longer matches its contract ")
        .push(file)
        .push(" at ")
        .push(if m.path.len == 0 { "the root" } else { m.path.as_str() })
        .push(": ")
        .push(m.what.as_str())
        .push(
            ". Run `cargo contracts bless` to record the type as the subject's next version (refused if it breaks \
               the subject's compatibility level), or set TYPED_KAFKA_CONTRACTS=off while bootstrapping",
        )
}

/// Fails const evaluation (a compile error) if `actual` differs from `expected`, the latest contract `file`.
#[track_caller]
pub const fn assert_contract(actual: &SchemaShape, expected: &SchemaShape, type_name: &str, file: &str) {
    if let Err(m) = compare(actual, expected) {
        let message = drift_message(type_name, file, &m);
        panic!("{}", message.as_str());
    }
}

/// For a topic of several record types: checks `actual` against the candidate contract (file, shape) whose root
/// has the same full name. Without one, the subject has no committed contract, which the contract test reports.
#[track_caller]
pub const fn assert_contract_among(actual: &SchemaShape, candidates: &[(&str, &SchemaShape)], type_name: &str) {
    let name = match actual {
        SchemaShape::Record(n, _) | SchemaShape::Enum(n, ..) | SchemaShape::Fixed(n, _) => full_name(n, ""),
        _ => None,
    };
    let Some((name, _)) = name else { return };
    let mut i = 0;
    while i < candidates.len() {
        let (file, expected) = candidates[i];
        let theirs = match expected {
            SchemaShape::Record(n, _) | SchemaShape::Enum(n, ..) | SchemaShape::Fixed(n, _) => full_name(n, ""),
            _ => None,
        };
        if let Some((theirs, _)) = theirs
            && str_eq(theirs.as_str(), name.as_str())
        {
            assert_contract(actual, expected, type_name, file);
            return;
        }
        i += 1;
    }
}

/// The schema JSON a derived shape stands for, as the schema writer writes it (without documentation), defining
/// each named type at its first use; `None` if part of it is only known at run time. Tests use it to hold a type's
/// shape and its schema writer to the same schema.
pub fn to_json(shape: &SchemaShape) -> Option<serde_json::Value> {
    let mut defined = std::collections::HashSet::new();
    json_of(shape, "", "", &mut defined)
}

fn json_of(
    shape: &SchemaShape,
    ns: &'static str,
    current: &str,
    defined: &mut std::collections::HashSet<String>,
) -> Option<serde_json::Value> {
    use serde_json::{Map, Value, json};
    let named = |name: &ShapeName, map: &mut Map<String, Value>| {
        if let ShapeName::Derived { namespace: Some(n), .. } = name {
            map.insert("namespace".into(), json!(n));
        }
        if !name.aliases().is_empty() {
            map.insert("aliases".into(), json!(name.aliases()));
        }
    };
    Some(match shape {
        SchemaShape::Primitive(p) => json!(p),
        SchemaShape::Array(items) => json!({"type": "array", "items": json_of(items, ns, current, defined)?}),
        SchemaShape::Map(values) => json!({"type": "map", "values": json_of(values, ns, current, defined)?}),
        SchemaShape::Union(branches) => {
            Value::Array(branches.iter().map(|b| json_of(b, ns, current, defined)).collect::<Option<_>>()?)
        }
        SchemaShape::Logical { base, logical, precision, scale } => {
            let mut map = Map::new();
            map.insert("type".into(), json_of(base, ns, current, defined)?);
            map.insert("logicalType".into(), json!(logical));
            if let Some(p) = precision {
                map.insert("precision".into(), json!(p));
            }
            if let Some(s) = scale {
                map.insert("scale".into(), json!(s));
            }
            Value::Object(map)
        }
        SchemaShape::Record(name, _) | SchemaShape::Enum(name, ..) | SchemaShape::Fixed(name, _) => {
            let (full, inner) = full_name(name, ns)?;
            let full = full.as_str().to_string();
            if !defined.insert(full.clone()) {
                return Some(json!(full));
            }
            let mut map = Map::new();
            map.insert("name".into(), json!(simple_name(name)?.as_str()));
            named(name, &mut map);
            match shape {
                SchemaShape::Record(_, fields) => {
                    map.insert("type".into(), json!("record"));
                    let mut list = Vec::new();
                    for f in *fields {
                        let mut field = Map::new();
                        field.insert("name".into(), json!(f.name));
                        if !f.aliases.is_empty() {
                            field.insert("aliases".into(), json!(f.aliases));
                        }
                        field.insert("type".into(), json_of(f.ty, inner, &full, defined)?);
                        if let Some(d) = f.default {
                            field.insert("default".into(), serde_json::from_str(d).ok()?);
                        }
                        if let Some(o) = f.order {
                            field.insert("order".into(), json!(o));
                        }
                        list.push(Value::Object(field));
                    }
                    map.insert("fields".into(), Value::Array(list));
                }
                SchemaShape::Enum(_, symbols, default) => {
                    map.insert("type".into(), json!("enum"));
                    map.insert("symbols".into(), json!(symbols));
                    if let Some(d) = default {
                        map.insert("default".into(), json!(d));
                    }
                }
                SchemaShape::Fixed(_, size) => {
                    map.insert("type".into(), json!("fixed"));
                    map.insert("size".into(), json!(size));
                }
                _ => {}
            }
            Value::Object(map)
        }
        SchemaShape::Recursive => json!(current),
        SchemaShape::Ref(name) => json!(name),
        SchemaShape::Opaque | SchemaShape::Unsupported(_) => return None,
    })
}

#[cfg(test)]
mod tests;
