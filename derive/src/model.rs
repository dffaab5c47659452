//! The derive's model of a type: containers, fields and variants with their Avro names, and what the derive can tell
//! about a field's schema from its Rust type alone (its [`Shape`]), which the checks use.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

use crate::attr::{self, ContainerAttrs, Ctxt, DefaultValue, FieldAttrs, Spanned, VariantAttrs};

/// What the Avro schema of a field's type is, as far as its Rust type shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Shape {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    String,
    Bytes,
    Fixed(Option<usize>),
    Option(Box<Shape>),
    Array(Box<Shape>),
    Map(Box<Shape>),
    /// A logical type over a primitive (its name, and the primitive shape).
    Logical(&'static str, Box<Shape>),
    /// A type defined elsewhere (a derived record, enum or union): not checkable here.
    Other,
}

impl Shape {
    /// The Avro type name of a primitive-like shape, for messages and union checks.
    pub(crate) fn avro_kind(&self) -> &'static str {
        match self {
            Shape::Null => "null",
            Shape::Boolean => "boolean",
            Shape::Int => "int",
            Shape::Long => "long",
            Shape::Float => "float",
            Shape::Double => "double",
            Shape::String => "string",
            Shape::Bytes => "bytes",
            Shape::Fixed(_) => "fixed",
            Shape::Option(_) => "union",
            Shape::Array(_) => "array",
            Shape::Map(_) => "map",
            Shape::Logical(_, inner) => inner.avro_kind(),
            Shape::Other => "named type",
        }
    }
}

pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

pub(crate) fn type_args(seg: &syn::PathSegment) -> Vec<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `Option<T>`'s `T`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    if seg.ident == "Option" { type_args(seg).first().copied() } else { None }
}

/// `Vec<T>`'s `T`.
pub(crate) fn vec_inner(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    if seg.ident == "Vec" { type_args(seg).first().copied() } else { None }
}

/// The crate a qualified path starts with (`chrono` in `chrono::NaiveDate` or `::chrono::naive::NaiveDate`).
fn crate_of(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() >= 2 => {
            p.path.segments.first().map(|s| s.ident.to_string())
        }
        _ => None,
    }
}

/// `rust_decimal::Decimal` by its full path: the one type whose mapping needs an attribute.
fn is_rust_decimal(ty: &Type) -> bool {
    is_ident(ty, "Decimal") && crate_of(ty).as_deref() == Some("rust_decimal")
}

pub(crate) fn is_ident(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name)
}

/// The shape of a field type; records an error for maps whose keys are not strings and nested `Option`s.
pub(crate) fn shape_of(cx: &Ctxt, ty: &Type) -> Shape {
    match ty {
        Type::Reference(r) => return shape_of(cx, &r.elem),
        Type::Paren(p) => return shape_of(cx, &p.elem),
        Type::Group(g) => return shape_of(cx, &g.elem),
        Type::Tuple(t) if t.elems.is_empty() => return Shape::Null,
        Type::Array(a) => {
            let len = match &a.len {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse().ok(),
                _ => None,
            };
            return if is_ident(&a.elem, "u8") { Shape::Fixed(len) } else { Shape::Other };
        }
        _ => {}
    }
    let Some(seg) = last_segment(ty) else { return Shape::Other };
    let args = type_args(seg);
    let name = seg.ident.to_string();
    // Logical types are recognised by unambiguous paths only (`uuid::Uuid`, `chrono::NaiveDate`, `DateTime<Utc>`),
    // so that a user's own type named `Decimal` or `DateTime` is an ordinary derived type.
    let from = crate_of(ty);
    let from = |krate: &str| from.as_deref() == Some(krate);
    match (name.as_str(), args.as_slice()) {
        ("bool", []) => Shape::Boolean,
        ("i8" | "i16" | "i32" | "u8" | "u16", []) => Shape::Int,
        ("i64" | "u32" | "u64", []) => Shape::Long,
        ("f32", []) => Shape::Float,
        ("f64", []) => Shape::Double,
        ("String" | "str", []) => Shape::String,
        ("Box" | "Arc" | "Rc" | "Cow", [.., inner]) => shape_of(cx, inner),
        ("Option", [inner]) => {
            let inner_shape = shape_of(cx, inner);
            if matches!(inner_shape, Shape::Option(_)) {
                cx.error(
                    ty.span(),
                    "Option<Option<T>> has no Avro schema: a union cannot contain another union; use one Option",
                );
            }
            Shape::Option(Box::new(inner_shape))
        }
        ("Vec" | "VecDeque", [inner]) => Shape::Array(Box::new(shape_of(cx, inner))),
        ("HashMap" | "BTreeMap", [key, value, ..]) => {
            if !is_ident(key, "String") {
                cx.error(
                    key.span(),
                    "Avro map keys are always strings: use HashMap<String, _> or BTreeMap<String, _>, \
                     or a Vec of records for other keys",
                );
            }
            Shape::Map(Box::new(shape_of(cx, value)))
        }
        ("Uuid", []) if from("uuid") => Shape::Logical("uuid", Box::new(Shape::String)),
        ("DateTime", [tz]) if from("chrono") || is_ident(tz, "Utc") => {
            Shape::Logical("timestamp-millis", Box::new(Shape::Long))
        }
        ("OffsetDateTime", []) if from("time") => Shape::Logical("timestamp-millis", Box::new(Shape::Long)),
        ("NaiveDateTime", []) if from("chrono") => Shape::Logical("local-timestamp-millis", Box::new(Shape::Long)),
        ("PrimitiveDateTime", []) if from("time") => Shape::Logical("local-timestamp-millis", Box::new(Shape::Long)),
        ("NaiveDate", []) if from("chrono") => Shape::Logical("date", Box::new(Shape::Int)),
        ("NaiveTime", []) if from("chrono") => Shape::Logical("time-millis", Box::new(Shape::Int)),
        ("Decimal", []) if from("rust_decimal") => Shape::Logical("decimal", Box::new(Shape::Bytes)),
        _ => Shape::Other,
    }
}

/// Whether `name` is a valid Avro name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How a field is encoded.
#[derive(Clone)]
pub(crate) enum Mapping {
    /// Its type's own `AvroType` impl.
    Natural,
    /// `Vec<u8>` as bytes (possibly inside `Option`).
    Bytes,
    /// `u64` as fixed(8).
    FixedU64,
    /// A logical type marker from the runtime's `logical` module.
    Logical(&'static str),
    /// `rust_decimal::Decimal` as decimal(P, S).
    Decimal(u32, u32),
}

pub(crate) struct Field {
    /// The Rust member (`self.<member>`).
    pub(crate) member: syn::Member,
    pub(crate) ty: Type,
    pub(crate) avro_name: String,
    pub(crate) name_span: Span,
    pub(crate) attrs: FieldAttrs,
    pub(crate) mapping: Mapping,
    /// The field's schema shape, after the mapping.
    pub(crate) shape: Shape,
    /// `"default"` to emit (explicit, or `null` for `Option` fields).
    pub(crate) default: Option<serde_json::Value>,
}

pub(crate) struct Variant {
    pub(crate) ident: syn::Ident,
    pub(crate) avro_name: String,
    pub(crate) name_span: Span,
    pub(crate) attrs: VariantAttrs,
    pub(crate) style: VariantStyle,
}

pub(crate) enum VariantStyle {
    Unit,
    /// `V(T)`: the branch is T's own schema.
    Newtype(Box<Field>),
    /// `V { .. }` or `V(A, B, ..)`: a record named after the variant.
    Record(Vec<Field>, bool),
}

pub(crate) enum Body {
    /// A record; `true` for named fields.
    Record(Vec<Field>, bool),
    /// `struct X(T)`: transparent.
    Newtype(Box<Field>),
    /// Only unit variants: an Avro enum.
    Enum(Vec<Variant>),
    /// Data-carrying variants: a union.
    Union(Vec<Variant>),
}

pub(crate) struct Container {
    pub(crate) ident: syn::Ident,
    pub(crate) generics: syn::Generics,
    pub(crate) avro_name: String,
    pub(crate) attrs: ContainerAttrs,
    pub(crate) body: Body,
}

const MAPPINGS: &str = "timestamp-millis, timestamp-micros, local-timestamp-millis, local-timestamp-micros, date, \
                        time-millis, time-micros";

fn logical_marker(name: &str) -> Option<&'static str> {
    Some(match name {
        "timestamp-millis" => "TimestampMillis",
        "timestamp-micros" => "TimestampMicros",
        "local-timestamp-millis" => "LocalTimestampMillis",
        "local-timestamp-micros" => "LocalTimestampMicros",
        "date" => "Date",
        "time-millis" => "TimeMillis",
        "time-micros" => "TimeMicros",
        _ => return None,
    })
}

/// The type a mapping attribute applies to: the field type, or the `T` of `Option<T>` / `Vec<T>`.
fn mapped_base(ty: &Type) -> &Type {
    option_inner(ty).or_else(|| vec_inner(ty).filter(|inner| !is_ident(inner, "u8"))).unwrap_or(ty)
}

fn field(cx: &Ctxt, member: syn::Member, f: &syn::Field, rename_all: Option<attr::RenameRule>) -> Field {
    let attrs = attr::field(cx, &f.attrs);
    let rust_name = match &member {
        syn::Member::Named(id) => id.to_string().trim_start_matches("r#").to_string(),
        syn::Member::Unnamed(i) => format!("_{}", i.index),
    };
    let (avro_name, name_span) = match &attrs.rename {
        Some(Spanned { value, span }) => (value.clone(), *span),
        None => (rename_all.map_or(rust_name.clone(), |r| r.apply(&rust_name)), f.span()),
    };
    let base = mapped_base(&f.ty);
    let mut selected: Vec<(&str, Span)> = Vec::new();
    let mut mapping = Mapping::Natural;
    let mut shape = shape_of(cx, &f.ty);
    if let Some(span) = attrs.bytes {
        selected.push(("bytes", span));
        let is_bytes = option_inner(&f.ty).unwrap_or(&f.ty);
        if vec_inner(is_bytes).is_some_and(|t| is_ident(t, "u8")) {
            mapping = Mapping::Bytes;
            shape = wrap_like(&f.ty, Shape::Bytes);
        } else {
            cx.error(span, "`bytes` applies to Vec<u8> or Option<Vec<u8>> fields");
        }
    }
    let is_byte_vec = vec_inner(option_inner(&f.ty).unwrap_or(&f.ty)).is_some_and(|t| is_ident(t, "u8"));
    if let Some(span) = attrs.int_array {
        selected.push(("int_array", span));
        if !is_byte_vec {
            cx.error(span, "`int_array` applies to Vec<u8> or Option<Vec<u8>> fields");
        }
    } else if is_byte_vec && attrs.bytes.is_none() && attrs.skip.is_none() {
        // A silent `array<int>` is what Java's byte[] and Python's bytes peers would read as a list of numbers.
        cx.error(
            f.ty.span(),
            "a Vec<u8> field needs its Avro type chosen: #[kafka(bytes)] for `bytes` (Java's byte[], Python's \
             bytes), or #[kafka(int_array)] for an array of ints",
        );
    }
    if let Some(span) = attrs.fixed {
        selected.push(("fixed", span));
        if is_ident(base, "u64") {
            mapping = Mapping::FixedU64;
            shape = wrap_like(&f.ty, Shape::Fixed(Some(8)));
        } else {
            cx.error(span, "`fixed` applies to u64 fields (and Option/Vec of u64); [u8; N] is a fixed already");
        }
    }
    if let Some(l) = &attrs.logical {
        selected.push(("logical", l.span));
        match logical_marker(&l.value) {
            Some(marker) => {
                mapping = Mapping::Logical(marker);
                let prim = if l.value == "date" || l.value == "time-millis" { Shape::Int } else { Shape::Long };
                let leaked: &'static str = Box::leak(l.value.clone().into_boxed_str());
                shape = wrap_like(&f.ty, Shape::Logical(leaked, Box::new(prim)));
            }
            None => cx.error(l.span, format!("unknown logical type {:?}; expected one of: {MAPPINGS}", l.value)),
        }
    }
    if let Some((p, s, span)) = attrs.decimal {
        selected.push(("decimal", span));
        if is_ident(base, "Decimal") {
            mapping = Mapping::Decimal(p, s);
        } else {
            cx.error(span, "`decimal(...)` applies to rust_decimal::Decimal fields (and Option/Vec of them)");
        }
    } else if is_rust_decimal(base) && attrs.skip.is_none() {
        cx.error(
            f.ty.span(),
            "a Decimal field needs its schema's precision and scale: #[kafka(decimal(precision = P, scale = S))]",
        );
    }
    if selected.len() > 1 {
        let names: Vec<&str> = selected.iter().map(|(n, _)| *n).collect();
        cx.error(selected[1].1, format!("conflicting mapping attributes: {} (choose one)", names.join(", ")));
    }
    if let (Some(skip), Some(d)) = (attrs.skip, &attrs.default) {
        cx.error(d.span, "a skipped field is not in the schema: `default` conflicts with `skip`");
        let _ = skip;
    }
    let default = match (&attrs.default, &shape) {
        (Some(DefaultValue { json, .. }), _) => Some(json.clone()),
        (None, Shape::Option(_)) => Some(serde_json::Value::Null),
        _ => None,
    };
    Field { member, ty: f.ty.clone(), avro_name, name_span, attrs, mapping, shape, default }
}

/// `shape` wrapped in the Option/Vec the field type has around its base type.
fn wrap_like(ty: &Type, shape: Shape) -> Shape {
    if option_inner(ty).is_some() {
        Shape::Option(Box::new(shape))
    } else if vec_inner(ty).is_some_and(|t| !is_ident(t, "u8")) {
        Shape::Array(Box::new(shape))
    } else {
        shape
    }
}

fn fields(cx: &Ctxt, fields: &Fields, rename_all: Option<attr::RenameRule>) -> (Vec<Field>, bool) {
    match fields {
        Fields::Named(n) => (
            n.named
                .iter()
                .map(|f| field(cx, syn::Member::Named(f.ident.clone().expect("named field")), f, rename_all))
                .collect(),
            true,
        ),
        Fields::Unnamed(u) => (
            u.unnamed
                .iter()
                .enumerate()
                .map(|(i, f)| field(cx, syn::Member::Unnamed(syn::Index::from(i)), f, None))
                .collect(),
            false,
        ),
        Fields::Unit => (Vec::new(), true),
    }
}

pub(crate) fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<Container> {
    let attrs = attr::container(cx, &input.attrs);
    let (avro_name, name_span) = match &attrs.rename {
        Some(s) => (s.value.clone(), s.span),
        None => (input.ident.to_string(), input.ident.span()),
    };
    if !valid_name(&avro_name) {
        cx.error(name_span, format!("{avro_name:?} is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)"));
    }
    let body = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Unnamed(u) if u.unnamed.len() == 1 => {
                let (mut fs, _) = fields(cx, &s.fields, None);
                Body::Newtype(Box::new(fs.remove(0)))
            }
            other => {
                let (fs, named) = fields(cx, other, attrs.rename_all);
                Body::Record(fs, named)
            }
        },
        Data::Enum(e) => {
            if e.variants.is_empty() {
                cx.error(
                    input.ident.span(),
                    "an enum without variants has no Avro schema (an Avro enum needs a symbol)",
                );
                return None;
            }
            let variants: Vec<Variant> = e
                .variants
                .iter()
                .map(|v| {
                    let vattrs = attr::variant(cx, &v.attrs);
                    let (avro_name, name_span) = match &vattrs.rename {
                        Some(s) => (s.value.clone(), s.span),
                        None => {
                            let n = v.ident.to_string();
                            (attrs.rename_all.map_or(n.clone(), |r| r.apply(&n)), v.ident.span())
                        }
                    };
                    let style = match &v.fields {
                        Fields::Unit => VariantStyle::Unit,
                        Fields::Unnamed(u) if u.unnamed.len() == 1 => {
                            let (mut fs, _) = fields(cx, &v.fields, None);
                            VariantStyle::Newtype(Box::new(fs.remove(0)))
                        }
                        other => {
                            let (fs, named) = fields(cx, other, None);
                            VariantStyle::Record(fs, named)
                        }
                    };
                    Variant { ident: v.ident.clone(), avro_name, name_span, attrs: vattrs, style }
                })
                .collect();
            if variants.iter().all(|v| matches!(v.style, VariantStyle::Unit)) {
                Body::Enum(variants)
            } else {
                Body::Union(variants)
            }
        }
        Data::Union(u) => {
            cx.error(u.union_token.span, "Rust unions have no Avro mapping; use an enum with data-carrying variants");
            return None;
        }
    };
    Some(Container { ident: input.ident.clone(), generics: input.generics.clone(), avro_name, attrs, body })
}
