//! Data-contract rules (`#[kafka(rule(...))]` and its shorthands): each rule's CEL is parsed and type-checked
//! against the Rust type here, at compile time, with every error pointing at the rule; then compiled into Rust that
//! evaluates it on the value (no interpreter), and written into the schema as `confluent:rules`.
//!
//! A rule reads `this` (the record, or the field's value) and the fields of `this`; the fields of a nested derived
//! type are that type's business (its own rules run on every nested value, with their path), so reading into one
//! is a compile error that says so.

use std::sync::Arc;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use typed_kafka_rules::ast::{BinaryOp, Expr, ExprKind, Literal, Quantifier, UnaryOp};
use typed_kafka_rules::{Checked, Type, Yields};

use crate::attr::{Ctxt, RuleAttr};
use crate::r#gen::rt;
use crate::model::{
    Body, Container, Field, Mapping, Shape, VariantStyle, last_segment, option_inner, type_args, vec_inner,
};

/// What the rules of a type add to its generated code.
#[derive(Default)]
pub(crate) struct Compiled {
    /// `,"confluent:rules":[...]` for the record's schema, or empty.
    pub(crate) record_json: String,
    /// The same for each field, by index.
    pub(crate) field_json: Vec<String>,
    /// The body of `rule_violations`.
    pub(crate) body: TokenStream,
}

/// A rule with its final name and expression.
struct Rule<'a> {
    name: String,
    expr: String,
    attr: &'a RuleAttr,
}

/// The rules of a record (`field` `None`) or of a field (its name, and the CEL type of its value).
fn named<'a>(rules: &'a [RuleAttr], field: Option<(&str, &Type)>) -> Vec<Rule<'a>> {
    rules
        .iter()
        .map(|attr| {
            let name = match (&attr.name, attr.shorthand, field) {
                (Some(n), ..) => n.clone(),
                (None, Some(s), Some((f, _))) => format!("{f}_{s}"),
                (None, Some(s), None) => s.to_string(),
                (None, None, _) => String::new(),
            };
            let mut expr = attr.expr.clone();
            // `min = 0` on a double field compares with `0.0`: numbers of different kinds compare in no client
            // alike.
            if let (Some("min" | "max"), Some((_, ty))) = (attr.shorthand, field)
                && *ty.non_null() == Type::Double
            {
                let (head, n) = attr.expr.rsplit_once(' ').unwrap_or(("", ""));
                if !n.contains(['.', 'e', 'E']) {
                    expr = format!("{head} {n}.0");
                }
            }
            Rule { name, expr, attr }
        })
        .collect()
}

/// `,"confluent:rules":[{"name":..,"doc":..,"expr":..}, ...]`, in the form Confluent's clients read.
fn rules_json(rules: &[Rule<'_>]) -> String {
    if rules.is_empty() {
        return String::new();
    }
    let items: Vec<String> = rules
        .iter()
        .map(|r| {
            let s = |v: &str| serde_json::Value::String(v.to_string()).to_string();
            let doc = r.attr.doc.as_deref().map(|d| format!(",\"doc\":{}", s(d))).unwrap_or_default();
            format!("{{\"name\":{}{doc},\"expr\":{}}}", s(&r.name), s(&r.expr))
        })
        .collect();
    format!(",\"confluent:rules\":[{}]", items.join(","))
}

/// The Rust type under `Box`, `Arc`, `Rc` and references.
fn strip(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Reference(r) => strip(&r.elem),
        syn::Type::Paren(p) => strip(&p.elem),
        syn::Type::Group(g) => strip(&g.elem),
        _ => match last_segment(ty) {
            Some(seg) if matches!(seg.ident.to_string().as_str(), "Box" | "Arc" | "Rc") => {
                type_args(seg).first().map_or(ty, |t| strip(t))
            }
            _ => ty,
        },
    }
}

/// The value type of `HashMap<String, V>` or `BTreeMap<String, V>`.
fn map_value(ty: &syn::Type) -> Option<&syn::Type> {
    let seg = last_segment(ty).filter(|seg| seg.ident == "HashMap" || seg.ident == "BTreeMap")?;
    type_args(seg).get(1).copied()
}

/// The CEL type a rule sees for a value of Rust type `ty` with schema shape `shape` (natural mapping): `Dyn` for
/// what rules cannot read (nested derived types, logical types other than timestamps, fixed).
fn shape_type(shape: &Shape, ty: &syn::Type) -> Type {
    let ty = strip(ty);
    match shape {
        Shape::Null => Type::Null,
        Shape::Boolean => Type::Bool,
        Shape::Int | Shape::Long => Type::Int,
        Shape::Float | Shape::Double => Type::Double,
        Shape::String => Type::String,
        Shape::Option(inner) => match option_inner(ty) {
            Some(t) => Type::nullable(shape_type(inner, t)),
            None => Type::Dyn,
        },
        Shape::Array(inner) => match vec_inner(ty) {
            Some(t) => Type::list(shape_type(inner, t)),
            None => Type::Dyn,
        },
        Shape::Map(inner) => match map_value(ty) {
            Some(t) => Type::map(Type::String, shape_type(inner, t)),
            None => Type::Dyn,
        },
        Shape::Logical("timestamp-millis", _) => Type::Timestamp,
        _ => Type::Dyn,
    }
}

fn field_type(f: &Field) -> Type {
    match f.mapping {
        Mapping::Bytes if option_inner(&f.ty).is_some() => Type::nullable(Type::Bytes),
        Mapping::Bytes => Type::Bytes,
        Mapping::Natural => shape_type(&f.shape, &f.ty),
        _ => Type::Dyn,
    }
}

fn record_type(name: &str, fields: &[Field]) -> Type {
    Type::Record(Arc::new(typed_kafka_rules::Record {
        name: name.to_string(),
        fields: fields
            .iter()
            .filter(|f| f.attrs.skip.is_none())
            .map(|f| typed_kafka_rules::Field { name: f.avro_name.clone(), ty: field_type(f) })
            .collect(),
    }))
}

/// An error of rule `name` at `span`, quoting the part of the expression it is about.
fn rule_error(cx: &Ctxt, rule: &Rule<'_>, at: typed_kafka_rules::Span, message: &str) {
    let text = &rule.expr;
    let part = text.get(at.start..at.end).unwrap_or("");
    let label = if rule.name.is_empty() { String::new() } else { format!("rule `{}`: ", rule.name) };
    if part.is_empty() || part == text {
        cx.error(rule.attr.span, format!("{label}{message}"));
    } else {
        cx.error(rule.attr.span, format!("{label}{message}, at `{part}`"));
    }
}

/// Parses, checks and compiles every rule of `c`. Errors go to `cx`.
pub(crate) fn compile(cx: &Ctxt, c: &Container) -> Compiled {
    let mut out = Compiled::default();
    let fields: &[Field] = match &c.body {
        Body::Record(fields, _) => fields,
        _ => &[],
    };
    out.field_json = vec![String::new(); fields.len()];
    let refuse_all = |rules: &[RuleAttr], what: &str| {
        for r in rules {
            cx.error(r.span, format!("rules go on records and their fields, not on {what}"));
        }
    };
    match &c.body {
        Body::Record(..) => {}
        Body::Newtype(f) => {
            refuse_all(&c.attrs.rules, "newtypes (put them on the inner type)");
            refuse_all(&f.attrs.rules, "a newtype's field (put them on the inner type)");
        }
        Body::Enum(_) => refuse_all(&c.attrs.rules, "enums"),
        Body::Union(variants) => {
            refuse_all(&c.attrs.rules, "unions (put them on the variants' types)");
            for v in variants {
                match &v.style {
                    VariantStyle::Newtype(f) => refuse_all(&f.attrs.rules, "a union variant's value"),
                    VariantStyle::Record(fs, _) => {
                        fs.iter().for_each(|f| refuse_all(&f.attrs.rules, "the fields of a union variant yet"))
                    }
                    VariantStyle::Unit => {}
                }
            }
        }
    }
    let rt = rt();
    let mut stmts = Vec::new();
    // Record rules first, then each field's rules and the rules of the values inside it, as Confluent's walk goes.
    let record_rules = named(&c.attrs.rules, None);
    if matches!(c.body, Body::Record(..)) {
        out.record_json = rules_json(&record_rules);
        let this = record_type(&c.avro_name, fields);
        for rule in &record_rules {
            if let Some(eval) = compile_rule(cx, rule, &this, &This::Record(fields)) {
                stmts.push(push_violation(rule, eval, quote!()));
            }
        }
    }
    for (i, f) in fields.iter().enumerate() {
        if f.attrs.skip.is_some() {
            refuse_all(&f.attrs.rules, "a skipped field (it is not in the schema)");
            continue;
        }
        let full = field_type(f);
        let rules = named(&f.attrs.rules, Some((&f.avro_name, &full)));
        out.field_json[i] = rules_json(&rules);
        let m = &f.member;
        let name = f.avro_name.as_str();
        let at = quote!(.at(#rt::PathSegment::Field(#name)));
        // A field that is null skips its rules; `this` is its value.
        let this_type = full.non_null().clone();
        for rule in &rules {
            let Some(eval) = compile_rule(cx, rule, &this_type, &This::Value) else { continue };
            let nullable = matches!(full, Type::Nullable(_));
            let convert = match &f.mapping {
                Mapping::Bytes => quote!(#rt::rules::bytes(__value)),
                _ => quote!(#rt::rules::ToCel::to_cel(__value)?),
            };
            let eval = quote! {{
                let __this = #convert;
                let _ = &__this;
                #eval
            }};
            let check = push_violation(rule, eval, at.clone());
            stmts.push(if nullable {
                quote!(if let ::core::option::Option::Some(__value) = &self.#m { #check })
            } else {
                quote!({ let __value = &self.#m; #check })
            });
        }
        stmts.push(nested(f, quote!(&self.#m), &[name]));
    }
    if let Body::Newtype(f) = &c.body {
        stmts.push(nested(f, quote!(&self.0), &[]));
    }
    if let Body::Union(variants) = &c.body {
        // The rules of the values inside the branch taken, under the branch's name.
        let arms = variants.iter().map(|v| {
            let vident = &v.ident;
            let vname = v.avro_name.as_str();
            match &v.style {
                VariantStyle::Unit => quote!(Self::#vident => {}),
                VariantStyle::Newtype(f) => {
                    let n = nested(f, quote!(__v), &[vname]);
                    quote!(Self::#vident(__v) => { #n })
                }
                VariantStyle::Record(fields, named) => {
                    let (pattern, binds) = crate::r#gen::variant_pattern(v, fields, *named);
                    let inner = fields
                        .iter()
                        .zip(&binds)
                        .filter(|(f, _)| f.attrs.skip.is_none())
                        .map(|(f, b)| nested(f, quote!(#b), &[f.avro_name.as_str(), vname]));
                    quote! {
                        #[allow(unused_variables)]
                        #pattern => { #(#inner)* }
                    }
                }
            }
        });
        stmts.push(quote!(match self { #(#arms)* }));
    }
    out.body = quote!(#(#stmts)*);
    out
}

/// The rules of the values inside field `f` (bound to `value`, a reference), under the path segments `segs`
/// (innermost first): nothing for a field whose mapping is a codec of primitives.
fn nested(f: &Field, value: TokenStream, segs: &[&str]) -> TokenStream {
    if !matches!(f.mapping, Mapping::Natural) {
        return quote!();
    }
    let rt = rt();
    let ty = &f.ty;
    let prefixes =
        segs.iter().map(|s| quote!(#rt::prefix_rule_violations(out, __start, || #rt::PathSegment::Field(#s));));
    quote! {{
        let __start = out.len();
        <#ty as #rt::AvroType>::rule_violations(#value, out);
        #(#prefixes)*
    }}
}

/// Pushes a violation of `rule` when `eval` (a `Result` of the rule's verdict: `Ok(None)` when it holds) says so.
fn push_violation(rule: &Rule<'_>, eval: TokenStream, at: TokenStream) -> TokenStream {
    let rt = rt();
    let name = &rule.name;
    let expr = &rule.expr;
    let doc = match &rule.attr.doc {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    quote! {{
        let __verdict: ::core::result::Result<::core::option::Option<::std::string::String>, #rt::rules::EvalError> =
            (|| ::core::result::Result::Ok(#eval))();
        let __message = match __verdict {
            ::core::result::Result::Ok(::core::option::Option::None) => ::core::option::Option::None,
            ::core::result::Result::Ok(::core::option::Option::Some(m)) => ::core::option::Option::Some(m),
            ::core::result::Result::Err(e) => ::core::option::Option::Some(::std::string::ToString::to_string(&e)),
        };
        if let ::core::option::Option::Some(__m) = __message {
            out.push(#rt::RuleViolation::new(#name, #doc, #expr, __m)#at);
        }
    }}
}

/// What `this` is in a rule.
enum This<'a> {
    /// The record, whose fields are these.
    Record(&'a [Field]),
    /// A field's value, bound to `__this`.
    Value,
}

/// The rule's verdict as an expression of type `Option<String>` (`None`: it holds; `Some("")`: broken without a
/// message), inside a closure returning `Result<_, EvalError>`; `None` after reporting errors to `cx`.
fn compile_rule(cx: &Ctxt, rule: &Rule<'_>, this: &Type, this_is: &This<'_>) -> Option<TokenStream> {
    let expr = match typed_kafka_rules::parse(&rule.expr) {
        Ok(e) => e,
        Err(e) => {
            rule_error(cx, rule, e.span, &e.message);
            return None;
        }
    };
    let checked = match typed_kafka_rules::check_rule(&expr, this) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                rule_error(cx, rule, e.span, &e.message);
            }
            return None;
        }
    };
    let mut g = Gen { checked: &checked, this: this_is, errors: Vec::new(), vars: Vec::new() };
    let value = g.expr(&expr);
    if !g.errors.is_empty() {
        for (span, message) in g.errors {
            rule_error(cx, rule, span, &message);
        }
        return None;
    }
    let rt = rt();
    let value = match checked.ty(&expr) {
        Type::Nullable(_) => quote!(#rt::rules::non_null(#value, "the rule's result")?),
        _ => value,
    };
    Some(match checked.yields {
        Yields::Bool => quote!(if #value { ::core::option::Option::None } else {
            ::core::option::Option::Some(::std::string::String::new())
        }),
        Yields::Message => quote! {{
            let __m: ::std::borrow::Cow<'_, str> = #value;
            if __m.is_empty() { ::core::option::Option::None } else { ::core::option::Option::Some(__m.into_owned()) }
        }},
    })
}

struct Gen<'a> {
    checked: &'a Checked,
    this: &'a This<'a>,
    errors: Vec<(typed_kafka_rules::Span, String)>,
    /// Comprehension variables in scope, innermost last.
    vars: Vec<String>,
}

/// Where an operation needs a value, a nullable operand is unwrapped (an evaluation error when null).
fn unwrap_null(ty: &Type, value: TokenStream, what: &str) -> TokenStream {
    let rt = rt();
    match ty {
        Type::Nullable(_) => quote!(#rt::rules::non_null(#value, #what)?),
        _ => value,
    }
}

impl Gen<'_> {
    fn ty(&self, e: &Expr) -> Type {
        self.checked.ty(e).clone()
    }

    /// An error at `e`, unless one inside it was reported already (which this one would only repeat).
    fn unsupported(&mut self, e: &Expr, message: impl Into<String>) -> TokenStream {
        if !self.errors.iter().any(|(s, _)| s.start >= e.span.start && s.end <= e.span.end) {
            self.errors.push((e.span, message.into()));
        }
        quote!(::core::unreachable!())
    }

    /// `e` as a Rust expression of its CEL type's Rust form, unwrapped from null.
    fn value(&mut self, e: &Expr, what: &str) -> TokenStream {
        let v = self.expr(e);
        unwrap_null(&self.ty(e), v, what)
    }

    /// `e` converted to the Rust form of `to` (a non-null value into a nullable one, `null` into `None`).
    fn coerce(&mut self, e: &Expr, to: &Type) -> TokenStream {
        let v = self.expr(e);
        match (self.ty(e), to) {
            (Type::Null, Type::Nullable(_)) => quote!(::core::option::Option::None),
            (Type::Nullable(_), Type::Nullable(_)) => v,
            (_, Type::Nullable(_)) => quote!(::core::option::Option::Some(#v)),
            _ => v,
        }
    }

    fn expr(&mut self, e: &Expr) -> TokenStream {
        let rt = rt();
        let ty = self.ty(e);
        if matches!(ty, Type::Dyn) {
            return self.unsupported(
                e,
                "rules read the fields of `this` only; a nested type's fields are checked by that type's own rules \
                 (its rules run on every nested value), and fixed, uuid, date and time fields are not readable in \
                 rules yet",
            );
        }
        match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Null => quote!(()),
                Literal::Bool(b) => quote!(#b),
                Literal::Int(i) => quote!(#i),
                Literal::Uint(u) => quote!(#u),
                Literal::Double(d) => quote!(#d),
                Literal::String(s) => quote!(::std::borrow::Cow::<'static, str>::Borrowed(#s)),
                Literal::Bytes(b) => {
                    let lit = proc_macro2::Literal::byte_string(b);
                    quote!(::std::borrow::Cow::<'static, [u8]>::Borrowed(#lit))
                }
            },
            ExprKind::Ident(name) => {
                if self.vars.iter().any(|v| v == name) {
                    let v = format_ident!("__v_{}", name);
                    return quote!(::core::clone::Clone::clone(&#v));
                }
                match (name.as_str(), self.this) {
                    ("now", _) => quote!(#rt::rules::Timestamp::now()),
                    ("this", This::Value) => quote!(::core::clone::Clone::clone(&__this)),
                    _ => self.unsupported(e, "a record rule reads `this`'s fields (`this.field`), not `this` whole"),
                }
            }
            ExprKind::Select { operand, field } => self.select(e, operand, field),
            ExprKind::Has { operand, field } => match (&operand.kind, self.this, self.ty(operand).non_null()) {
                // A record has every field of its schema, null or not (Confluent's clients test the key's presence
                // in the record they read): `this.f != null` tests for a value.
                (ExprKind::Ident(t), This::Record(_), _) if t == "this" => quote!(true),
                (_, _, Type::Map(..)) => {
                    let m = self.value(operand, "a map");
                    quote!(#rt::rules::CelMap::lookup(&#m, #field)?.is_some())
                }
                _ => self.unsupported(e, "`has` reads a field of `this` or a key of a map"),
            },
            ExprKind::Index { operand, index } => match self.ty(operand).non_null() {
                Type::List(_) => {
                    let l = self.value(operand, "a list");
                    let i = match self.ty(index).non_null() {
                        Type::Uint => {
                            let i = self.value(index, "an index");
                            quote!(#rt::rules::uint_to_int(#i)?)
                        }
                        _ => self.value(index, "an index"),
                    };
                    quote!(#rt::rules::index(&#l, #i)?)
                }
                Type::Map(..) => {
                    let m = self.value(operand, "a map");
                    let k = self.value(index, "a key");
                    quote!(#rt::rules::get(&#m, &#k)?)
                }
                _ => self.unsupported(e, "indexing reads a list or a map"),
            },
            ExprKind::List(items) => {
                let item_ty = match &ty {
                    Type::List(t) => (**t).clone(),
                    _ => Type::Dyn,
                };
                let items: Vec<TokenStream> = items.iter().map(|i| self.coerce(i, &item_ty)).collect();
                quote!([#(#items),*])
            }
            ExprKind::Map(_) => self.unsupported(e, "map literals are not supported in rules yet"),
            ExprKind::Unary { op, operand } => {
                let v = self.value(operand, "an operand");
                match (op, self.ty(operand).non_null()) {
                    (UnaryOp::Not, _) => quote!(!#v),
                    (UnaryOp::Neg, Type::Int) => quote!(#rt::rules::neg_int(#v)?),
                    (UnaryOp::Neg, _) => quote!(-#v),
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(e, *op, left, right),
            ExprKind::Conditional { cond, then, otherwise } => {
                let c = self.value(cond, "a condition");
                let (a, b) = (self.coerce(then, &ty), self.coerce(otherwise, &ty));
                quote!(if #c { #a } else { #b })
            }
            ExprKind::Comprehension { quantifier, range, var, predicate, .. } => {
                self.comprehension(e, *quantifier, range, var, predicate)
            }
            ExprKind::Call { target, function, args } => self.call(e, target.as_deref(), function, args),
        }
    }

    fn select(&mut self, e: &Expr, operand: &Expr, field: &str) -> TokenStream {
        let rt = rt();
        if let (ExprKind::Ident(t), This::Record(fields)) = (&operand.kind, self.this)
            && t == "this"
            && !self.vars.iter().any(|v| v == "this")
        {
            let Some(f) = fields.iter().find(|f| f.avro_name == field) else {
                return self.unsupported(e, format!("no field `{field}`"));
            };
            let m = &f.member;
            return match (&f.mapping, field_type(f)) {
                (Mapping::Bytes, Type::Nullable(_)) => quote!(self.#m.as_deref().map(#rt::rules::bytes)),
                (Mapping::Bytes, _) => quote!(#rt::rules::bytes(&self.#m)),
                _ => quote!(#rt::rules::ToCel::to_cel(&self.#m)?),
            };
        }
        match self.ty(operand).non_null() {
            Type::Map(..) => {
                let m = self.value(operand, "a map");
                quote!(#rt::rules::get(&#m, #field)?)
            }
            _ => self.unsupported(
                e,
                "rules read the fields of `this` only; a nested type's fields are checked by that type's own rules",
            ),
        }
    }

    fn binary(&mut self, e: &Expr, op: BinaryOp, left: &Expr, right: &Expr) -> TokenStream {
        let rt = rt();
        let (lt, rt_) = (self.ty(left), self.ty(right));
        match op {
            BinaryOp::And | BinaryOp::Or => {
                // CEL's logic is commutative over errors: `false && error` is false, and so is `error && false`.
                let l = self.value(left, "an operand of a logical operator");
                let r = self.value(right, "an operand of a logical operator");
                let (absorbing, keep_going) = match op {
                    BinaryOp::And => (quote!(false), quote!(true)),
                    _ => (quote!(true), quote!(false)),
                };
                quote! {{
                    let __l: ::core::result::Result<bool, #rt::rules::EvalError> = (|| ::core::result::Result::Ok(#l))();
                    match __l {
                        ::core::result::Result::Ok(#absorbing) => #absorbing,
                        ::core::result::Result::Ok(#keep_going) => #r,
                        ::core::result::Result::Err(__e) => {
                            let __r: ::core::result::Result<bool, #rt::rules::EvalError> =
                                (|| ::core::result::Result::Ok(#r))();
                            match __r {
                                ::core::result::Result::Ok(#absorbing) => #absorbing,
                                _ => return ::core::result::Result::Err(__e),
                            }
                        }
                    }
                }}
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                let l = self.expr(left);
                let r = self.expr(right);
                let eq = self.equal(e, &lt, l, &rt_, r);
                if op == BinaryOp::Eq { eq } else { quote!(!(#eq)) }
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let l = self.value(left, "an operand of a comparison");
                let r = self.value(right, "an operand of a comparison");
                let sym = match op {
                    BinaryOp::Lt => quote!(<),
                    BinaryOp::Le => quote!(<=),
                    BinaryOp::Gt => quote!(>),
                    _ => quote!(>=),
                };
                quote!((#l #sym #r))
            }
            BinaryOp::In => match rt_.non_null() {
                Type::List(item) => {
                    let item = (**item).clone();
                    let l = self.expr(left);
                    let list = self.value(right, "a list");
                    let eq = self.equal(e, &lt, quote!(__x), &item, quote!(__item));
                    quote! {{
                        let __x = #l;
                        let __list = #list;
                        let mut __found = false;
                        for __i in 0..#rt::rules::CelList::len(&__list) {
                            let __item = #rt::rules::CelList::item(&__list, __i)?;
                            if #eq {
                                __found = true;
                                break;
                            }
                        }
                        __found
                    }}
                }
                Type::Map(..) => {
                    let k = self.value(left, "a key");
                    let m = self.value(right, "a map");
                    quote!(#rt::rules::CelMap::lookup(&#m, &#k)?.is_some())
                }
                _ => self.unsupported(e, "`in` reads a list or a map"),
            },
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let l = self.value(left, "an operand of arithmetic");
                let r = self.value(right, "an operand of arithmetic");
                let name = match op {
                    BinaryOp::Add => "add",
                    BinaryOp::Sub => "sub",
                    BinaryOp::Mul => "mul",
                    BinaryOp::Div => "div",
                    _ => "rem",
                };
                match (lt.non_null(), rt_.non_null()) {
                    (Type::Int, Type::Int) => {
                        let f = format_ident!("{}_int", name);
                        quote!(#rt::rules::#f(#l, #r)?)
                    }
                    (Type::Uint, Type::Uint) => {
                        let f = format_ident!("{}_uint", name);
                        quote!(#rt::rules::#f(#l, #r)?)
                    }
                    (Type::Double, Type::Double) => match op {
                        BinaryOp::Add => quote!((#l + #r)),
                        BinaryOp::Sub => quote!((#l - #r)),
                        BinaryOp::Mul => quote!((#l * #r)),
                        _ => quote!((#l / #r)),
                    },
                    (Type::String, Type::String) => quote!(#rt::rules::concat(#l, &#r)),
                    (Type::Bytes, Type::Bytes) => quote!(#rt::rules::concat_bytes(#l, &#r)),
                    (Type::Timestamp, Type::Duration) if op == BinaryOp::Add => quote!((#l).plus(#r)?),
                    (Type::Duration, Type::Timestamp) => quote!((#r).plus(#l)?),
                    (Type::Timestamp, Type::Duration) => quote!((#l).minus(#r)?),
                    (Type::Timestamp, Type::Timestamp) => quote!((#l).since(#r)?),
                    (Type::Duration, Type::Duration) if op == BinaryOp::Add => quote!((#l).plus(#r)?),
                    (Type::Duration, Type::Duration) => quote!((#l).minus(#r)?),
                    _ => self.unsupported(e, "this arithmetic is not supported in rules yet"),
                }
            }
        }
    }

    /// Whether `a` (of type `at`) equals `b`, by CEL's equality (null only to null; numbers of one kind, as the
    /// checker holds them).
    fn equal(&mut self, e: &Expr, at: &Type, a: TokenStream, bt: &Type, b: TokenStream) -> TokenStream {
        match (at, bt) {
            (Type::Null, Type::Null) => quote!(true),
            (Type::Null, Type::Nullable(_)) => quote!((#b).is_none()),
            (Type::Nullable(_), Type::Null) => quote!((#a).is_none()),
            (Type::Nullable(x), Type::Nullable(y)) => {
                let inner = self.equal(e, x, quote!(__a), y, quote!(__b));
                quote!(match (&#a, &#b) {
                    (::core::option::Option::Some(__a), ::core::option::Option::Some(__b)) => {
                        let (__a, __b) = (::core::clone::Clone::clone(__a), ::core::clone::Clone::clone(__b));
                        #inner
                    }
                    (::core::option::Option::None, ::core::option::Option::None) => true,
                    _ => false,
                })
            }
            (Type::Nullable(x), y) => {
                let inner = self.equal(e, x, quote!(__a), y, quote!(__b));
                quote!(match (&#a, &#b) {
                    (::core::option::Option::Some(__a), __b) => {
                        let (__a, __b) = (::core::clone::Clone::clone(__a), ::core::clone::Clone::clone(__b));
                        #inner
                    }
                    _ => false,
                })
            }
            (x, Type::Nullable(y)) => {
                let inner = self.equal(e, x, quote!(__a), y, quote!(__b));
                quote!(match (&#a, &#b) {
                    (__a, ::core::option::Option::Some(__b)) => {
                        let (__a, __b) = (::core::clone::Clone::clone(__a), ::core::clone::Clone::clone(__b));
                        #inner
                    }
                    _ => false,
                })
            }
            (Type::List(_) | Type::Map(..), _) | (_, Type::List(_) | Type::Map(..)) => {
                self.unsupported(e, "comparing lists or maps is not supported in rules yet")
            }
            _ => quote!((#a == #b)),
        }
    }

    fn comprehension(&mut self, e: &Expr, q: Quantifier, range: &Expr, var: &str, p: &Expr) -> TokenStream {
        let rt = rt();
        let r = self.value(range, "the range of a comprehension");
        let v = format_ident!("__v_{}", var);
        self.vars.push(var.to_string());
        let pred = self.value(p, "a predicate");
        self.vars.pop();
        let items = match self.ty(range).non_null() {
            Type::List(_) => quote! {
                let __range = #r;
                let __items = (0..#rt::rules::CelList::len(&__range)).map(|__i| #rt::rules::CelList::item(&__range, __i));
            },
            Type::Map(..) => quote! {
                let __range = #r;
                let __items = #rt::rules::CelMap::key_iter(&__range)
                    .map(|__k| ::core::result::Result::<_, #rt::rules::EvalError>::Ok(::std::borrow::Cow::<'_, str>::Borrowed(__k)));
            },
            _ => return self.unsupported(e, "`all` and `exists` range over a list or a map"),
        };
        // CEL: a predicate's error counts only if no item decides the result (a false for `all`, a true for
        // `exists`); `exists_one` needs every predicate.
        let step = quote! {
            let __p: ::core::result::Result<bool, #rt::rules::EvalError> = (|| {
                let #v = __item?;
                let _ = &#v;
                ::core::result::Result::Ok(#pred)
            })();
        };
        match q {
            Quantifier::All | Quantifier::Exists => {
                let decides = matches!(q, Quantifier::Exists);
                quote! {{
                    #items
                    let mut __err = ::core::option::Option::None;
                    let mut __decided = false;
                    for __item in __items {
                        #step
                        match __p {
                            ::core::result::Result::Ok(__b) if __b == #decides => { __decided = true; break; }
                            ::core::result::Result::Ok(_) => {}
                            ::core::result::Result::Err(__e) => { __err.get_or_insert(__e); }
                        }
                    }
                    if !__decided && let ::core::option::Option::Some(__e) = __err {
                        return ::core::result::Result::Err(__e);
                    }
                    if __decided { #decides } else { !#decides }
                }}
            }
            Quantifier::ExistsOne => quote! {{
                #items
                let mut __n = 0usize;
                for __item in __items {
                    #step
                    if __p? { __n += 1; }
                }
                __n == 1
            }},
        }
    }

    fn call(&mut self, e: &Expr, target: Option<&Expr>, function: &str, args: &[Expr]) -> TokenStream {
        let rt = rt();
        let arg_ty = |g: &Self, i: usize| args.get(i).map(|a| g.ty(a).non_null().clone()).unwrap_or(Type::Dyn);
        let subject = target.map(|t| (self.value(t, "the receiver of a method"), self.ty(t).non_null().clone()));
        match (function, subject, args) {
            ("size", Some((v, t)), []) => self.size(e, v, &t),
            ("size", None, [a]) => {
                let v = self.value(a, "the argument of size");
                let t = arg_ty(self, 0);
                self.size(e, v, &t)
            }
            ("startsWith" | "endsWith" | "contains", Some((s, _)), [a]) => {
                let x = self.value(a, "the argument");
                let m = format_ident!(
                    "{}",
                    match function {
                        "startsWith" => "starts_with",
                        "endsWith" => "ends_with",
                        _ => "contains",
                    }
                );
                quote!((#s).#m(&*#x))
            }
            ("matches", Some((s, _)), [p]) => self.matches(s, p),
            ("matches", None, [s, p]) => {
                let s = self.value(s, "the text");
                self.matches(s, p)
            }
            ("timestamp", None, [a]) => match (&a.kind, arg_ty(self, 0)) {
                (ExprKind::Literal(Literal::String(s)), _) => match typed_kafka_rules::parse_timestamp(s) {
                    Some((secs, nanos)) => quote!(#rt::rules::Timestamp::new(#secs, #nanos)?),
                    None => self.unsupported(a, "not an RFC 3339 timestamp"),
                },
                (_, Type::String) => {
                    let v = self.value(a, "a timestamp's text");
                    quote!(#rt::rules::Timestamp::parse(&#v)?)
                }
                (_, Type::Int) => {
                    let v = self.value(a, "seconds");
                    quote!(#rt::rules::Timestamp::new(#v, 0)?)
                }
                _ => self.value(a, "a timestamp"),
            },
            ("duration", None, [a]) => match (&a.kind, arg_ty(self, 0)) {
                (ExprKind::Literal(Literal::String(s)), _) => match typed_kafka_rules::parse_duration(s) {
                    Some(nanos) => quote!(#rt::rules::Duration::new(#nanos)?),
                    None => self.unsupported(a, "not a duration"),
                },
                (_, Type::String) => {
                    let v = self.value(a, "a duration's text");
                    quote!(#rt::rules::Duration::parse(&#v)?)
                }
                _ => self.value(a, "a duration"),
            },
            ("int" | "uint" | "double" | "string", None, [a]) => {
                let v = self.value(a, "the argument of a conversion");
                match (function, arg_ty(self, 0)) {
                    ("int", Type::Int) | ("uint", Type::Uint) | ("double", Type::Double) | ("string", Type::String) => {
                        v
                    }
                    ("int", Type::Uint) => quote!(#rt::rules::uint_to_int(#v)?),
                    ("int", Type::Double) => quote!(#rt::rules::double_to_int(#v)?),
                    ("int", Type::String) => quote!(#rt::rules::parse_number::<i64>(&#v, "int")?),
                    ("int", Type::Timestamp) => quote!((#v).seconds()),
                    ("uint", Type::Int) => quote!(#rt::rules::int_to_uint(#v)?),
                    ("uint", Type::Double) => quote!(#rt::rules::double_to_uint(#v)?),
                    ("uint", Type::String) => quote!(#rt::rules::parse_number::<u64>(&#v, "uint")?),
                    ("double", Type::Int | Type::Uint) => quote!((#v as f64)),
                    ("double", Type::String) => quote!(#rt::rules::parse_number::<f64>(&#v, "double")?),
                    ("string", Type::Int | Type::Uint | Type::Bool) => {
                        quote!(::std::borrow::Cow::<'static, str>::Owned(::std::string::ToString::to_string(&#v)))
                    }
                    ("string", Type::Double) => {
                        quote!(::std::borrow::Cow::<'static, str>::Owned(#rt::rules::double_to_string(#v)))
                    }
                    _ => self.unsupported(e, format!("`{function}` of this type is not supported in rules yet")),
                }
            }
            (getter, Some((v, t)), zone) => {
                let accessor = match getter {
                    "getFullYear" => "FullYear",
                    "getMonth" => "Month",
                    "getDayOfMonth" => "DayOfMonth",
                    "getDate" => "Date",
                    "getDayOfWeek" => "DayOfWeek",
                    "getDayOfYear" => "DayOfYear",
                    "getHours" => "Hours",
                    "getMinutes" => "Minutes",
                    "getSeconds" => "Seconds",
                    "getMilliseconds" => "Milliseconds",
                    _ => return self.unsupported(e, format!("`{getter}` is not supported in rules")),
                };
                let a = format_ident!("{}", accessor);
                match (t, zone) {
                    (Type::Duration, []) => quote!((#v).get(#rt::rules::Accessor::#a)),
                    (Type::Timestamp, []) => quote!((#v).get(#rt::rules::Accessor::#a, 0)),
                    (Type::Timestamp, [z]) => {
                        let offset = match &z.kind {
                            ExprKind::Literal(Literal::String(s)) => match typed_kafka_rules::parse_zone(s) {
                                Some(o) => quote!(#o),
                                None => return self.unsupported(z, "not UTC or a fixed offset"),
                            },
                            _ => {
                                let z = self.value(z, "a time zone");
                                quote!(#rt::rules::zone_offset(&#z)?)
                            }
                        };
                        quote!((#v).get(#rt::rules::Accessor::#a, #offset))
                    }
                    _ => self.unsupported(e, format!("`{getter}` is not supported here")),
                }
            }
            _ => self.unsupported(e, format!("`{function}` is not supported in rules")),
        }
    }

    fn size(&mut self, e: &Expr, v: TokenStream, t: &Type) -> TokenStream {
        let rt = rt();
        match t {
            Type::String => quote!(#rt::rules::size_str(&#v)),
            Type::Bytes => quote!(((#v).len() as i64)),
            Type::List(_) => quote!((#rt::rules::CelList::len(&#v) as i64)),
            Type::Map(..) => quote!((#rt::rules::CelMap::size(&#v) as i64)),
            _ => self.unsupported(e, "`size` reads a string, bytes, a list or a map"),
        }
    }

    fn matches(&mut self, text: TokenStream, pattern: &Expr) -> TokenStream {
        let rt = rt();
        if let ExprKind::Literal(Literal::String(p)) = &pattern.kind {
            // Compiled once per rule, on first use.
            return quote! {{
                static __RE: #rt::rules::CompiledRegex = #rt::rules::CompiledRegex::new();
                #rt::rules::matches_static(&__RE, #p, &#text)?
            }};
        }
        let p = self.value(pattern, "a pattern");
        quote!(#rt::rules::matches(&#p, &#text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    #[test]
    fn rules_are_written_as_confluent_reads_them() {
        let attr = RuleAttr {
            name: Some("positive".into()),
            shorthand: None,
            expr: "this > 0".into(),
            doc: Some("a \"total\"".into()),
            span: Span::call_site(),
        };
        let json = rules_json(&named(std::slice::from_ref(&attr), Some(("total", &Type::Int))));
        assert_eq!(json, r#","confluent:rules":[{"name":"positive","doc":"a \"total\"","expr":"this > 0"}]"#);
        let short = RuleAttr { name: None, shorthand: Some("min"), doc: None, ..attr };
        let short = named(std::slice::from_ref(&short), Some(("total", &Type::Double)));
        assert_eq!((short[0].name.as_str(), short[0].expr.as_str()), ("total_min", "this > 0.0"));
    }
}
