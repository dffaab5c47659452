//! `#[kafka(...)]` attributes and doc comments, parsed into small structs. Every problem is recorded in the
//! [`Ctxt`] with the span of the user's code, so one compilation reports all of them.

use std::cell::RefCell;

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, meta::ParseNestedMeta};

/// Collects errors; the derive emits all of them together.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn error(&self, span: Span, msg: impl std::fmt::Display) {
        self.errors.borrow_mut().push(syn::Error::new(span, msg));
    }

    pub(crate) fn syn_error(&self, e: syn::Error) {
        self.errors.borrow_mut().push(e);
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut first) = errors.next() else { return Ok(()) };
        for e in errors {
            first.combine(e);
        }
        Err(first)
    }
}

/// A string attribute value with its span.
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// `rename_all` conventions (kebab-case is refused: `-` is not allowed in Avro names).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
}

impl RenameRule {
    fn parse(s: &str) -> Option<RenameRule> {
        Some(match s {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            _ => return None,
        })
    }

    /// Applies the rule to a Rust field name (snake_case) or variant name (PascalCase).
    pub(crate) fn apply(self, name: &str) -> String {
        let words = split_words(name);
        match self {
            RenameRule::Lower => words.concat().to_lowercase(),
            RenameRule::Upper => words.concat().to_uppercase(),
            RenameRule::Pascal => words.iter().map(|w| capitalize(w)).collect(),
            RenameRule::Camel => {
                let mut out = String::new();
                for (i, w) in words.iter().enumerate() {
                    if i == 0 { out.push_str(&w.to_lowercase()) } else { out.push_str(&capitalize(w)) }
                }
                out
            }
            RenameRule::Snake => words.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("_"),
            RenameRule::ScreamingSnake => words.iter().map(|w| w.to_uppercase()).collect::<Vec<_>>().join("_"),
        }
    }
}

fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for ch in name.trim_start_matches("r#").chars() {
        if ch == '_' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if ch.is_uppercase() && !cur.is_empty() && !cur.chars().last().is_some_and(char::is_uppercase) {
            words.push(std::mem::take(&mut cur));
            cur.push(ch);
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn capitalize(w: &str) -> String {
    let lower = w.to_lowercase();
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A field default: JSON text checked against the field's schema.
#[derive(Clone)]
pub(crate) struct DefaultValue {
    pub(crate) json: serde_json::Value,
    pub(crate) span: Span,
}

/// A data-contract rule: `rule(name = "...", expr = "<CEL>", doc = "...")`, or a shorthand that expands to CEL
/// (`min`, `max`, `len(min, max)`, `pattern`, `one_of`, `non_empty`).
#[derive(Clone)]
pub(crate) struct RuleAttr {
    /// The rule's name; a shorthand's is its field's name and the shorthand's (`total_min`).
    pub(crate) name: Option<String>,
    /// The shorthand's name, for a shorthand.
    pub(crate) shorthand: Option<&'static str>,
    /// The CEL expression.
    pub(crate) expr: String,
    pub(crate) doc: Option<String>,
    /// Where errors point: the expression's literal, or the shorthand.
    pub(crate) span: Span,
}

/// A CEL string literal of `s`.
pub(crate) fn cel_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number literal (possibly negated) as CEL text.
fn cel_number(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => Some(i.base10_digits().to_string()),
        Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => {
            let d = f.base10_digits();
            Some(if d.contains(['.', 'e', 'E']) { d.to_string() } else { format!("{d}.0") })
        }
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => cel_number(expr).map(|n| format!("-{n}")),
        _ => None,
    }
}

/// A literal of `one_of` as CEL text: a string, a number or a bool.
fn cel_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(cel_string(&s.value())),
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Some(b.value.to_string()),
        other => cel_number(other),
    }
}

/// `rule(...)` or a shorthand at `meta`, if it is one; `on_field` allows the shorthands.
fn rule_attr(meta: &ParseNestedMeta<'_>, on_field: bool) -> syn::Result<Option<RuleAttr>> {
    let span = meta.path.span();
    let shorthand = |name: &'static str, expr: String| {
        Ok(Some(RuleAttr { name: None, shorthand: Some(name), expr, doc: None, span }))
    };
    let number = |meta: &ParseNestedMeta<'_>| -> syn::Result<String> {
        let e: Expr = meta.value()?.parse()?;
        cel_number(&e).ok_or_else(|| syn::Error::new(e.span(), "expected a number literal"))
    };
    if meta.path.is_ident("rule") {
        let (mut name, mut expr, mut doc): (Option<String>, Option<LitStr>, Option<String>) = (None, None, None);
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("name") {
                name = Some(string_value(&inner)?.value);
            } else if inner.path.is_ident("expr") {
                expr = Some(inner.value()?.parse()?);
            } else if inner.path.is_ident("doc") {
                doc = Some(string_value(&inner)?.value);
            } else {
                return Err(inner.error("expected `name = \"...\"`, `expr = \"<CEL>\"` or `doc = \"...\"`"));
            }
            Ok(())
        })?;
        let (Some(name), Some(expr)) = (name, expr) else {
            return Err(syn::Error::new(
                span,
                "a rule needs a name and an expression: rule(name = \"...\", expr = \"...\")",
            ));
        };
        return Ok(Some(RuleAttr { name: Some(name), shorthand: None, expr: expr.value(), doc, span: expr.span() }));
    }
    if !on_field {
        return Ok(None);
    }
    if meta.path.is_ident("min") {
        return shorthand("min", format!("this >= {}", number(meta)?));
    }
    if meta.path.is_ident("max") {
        return shorthand("max", format!("this <= {}", number(meta)?));
    }
    if meta.path.is_ident("non_empty") {
        return shorthand("non_empty", "size(this) > 0".into());
    }
    if meta.path.is_ident("pattern") {
        let v = string_value(meta)?;
        return shorthand("pattern", format!("this.matches({})", cel_string(&v.value)));
    }
    if meta.path.is_ident("len") {
        let mut parts = Vec::new();
        meta.parse_nested_meta(|inner| {
            let lit: syn::LitInt = inner.value()?.parse()?;
            let n: u64 = lit.base10_parse()?;
            if inner.path.is_ident("min") {
                parts.push(format!("size(this) >= {n}"));
            } else if inner.path.is_ident("max") {
                parts.push(format!("size(this) <= {n}"));
            } else {
                return Err(inner.error("expected `min = N` or `max = N`"));
            }
            Ok(())
        })?;
        if parts.is_empty() {
            return Err(syn::Error::new(span, "len needs a bound: len(min = N, max = M)"));
        }
        return shorthand("len", parts.join(" && "));
    }
    if meta.path.is_ident("one_of") {
        let arr: syn::ExprArray = meta.value()?.parse()?;
        let mut items = Vec::new();
        for e in &arr.elems {
            items.push(
                cel_literal(e)
                    .ok_or_else(|| syn::Error::new(e.span(), "one_of takes string, number or bool literals"))?,
            );
        }
        if items.is_empty() {
            return Err(syn::Error::new(arr.span(), "one_of needs at least one value"));
        }
        return shorthand("one_of", format!("this in [{}]", items.join(", ")));
    }
    Ok(None)
}

/// Container attributes.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) namespace: Option<Spanned<String>>,
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) doc: Option<String>,
    pub(crate) aliases: Vec<Spanned<String>>,
    /// `crate = "path"`: where the runtime is (default `::typed_kafka`).
    pub(crate) krate: Option<syn::Path>,
    /// `bound = "..."` or `bound(encode = "...", decode = "...")`: where-predicates replacing the inferred ones.
    pub(crate) bound: Option<Bounds>,
    /// Rules on the whole record (`this` is the record).
    pub(crate) rules: Vec<RuleAttr>,
}

/// Where-predicates given by `bound`, for the encoding impls (`AvroType`, `KafkaRecord`) and the decoding one.
#[derive(Clone, Default)]
pub(crate) struct Bounds {
    pub(crate) encode: Vec<syn::WherePredicate>,
    pub(crate) decode: Vec<syn::WherePredicate>,
}

fn predicates(v: &Spanned<String>) -> syn::Result<Vec<syn::WherePredicate>> {
    use syn::parse::Parser as _;
    let parser = syn::punctuated::Punctuated::<syn::WherePredicate, syn::Token![,]>::parse_terminated;
    parser
        .parse_str(&v.value)
        .map(|p| p.into_iter().collect())
        .map_err(|e| syn::Error::new(v.span, format!("invalid `bound`: {e}")))
}

fn bound_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Bounds> {
    if meta.input.peek(syn::Token![=]) {
        let all = predicates(&string_value(meta)?)?;
        return Ok(Bounds { encode: all.clone(), decode: all });
    }
    let mut out = Bounds::default();
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("encode") {
            out.encode = predicates(&string_value(&inner)?)?;
        } else if inner.path.is_ident("decode") {
            out.decode = predicates(&string_value(&inner)?)?;
        } else {
            return Err(inner.error("expected `encode = \"...\"` or `decode = \"...\"`"));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Field attributes.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) default: Option<DefaultValue>,
    pub(crate) skip: Option<Span>,
    pub(crate) doc: Option<String>,
    pub(crate) aliases: Vec<Spanned<String>>,
    pub(crate) bytes: Option<Span>,
    /// `Vec<u8>` as an Avro array of ints, chosen explicitly (peers read it as a list of numbers).
    pub(crate) int_array: Option<Span>,
    pub(crate) fixed: Option<Span>,
    pub(crate) logical: Option<Spanned<String>>,
    pub(crate) decimal: Option<(u32, u32, Span)>,
    /// Rules on the field (`this` is its value).
    pub(crate) rules: Vec<RuleAttr>,
}

/// Variant attributes.
#[derive(Default)]
pub(crate) struct VariantAttrs {
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) aliases: Vec<Spanned<String>>,
    pub(crate) default: Option<Span>,
    pub(crate) doc: Option<String>,
}

/// The text of `///` comments, lines joined with newlines, one leading space per line removed.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = &nv.value
        {
            let v = s.value();
            lines.push(v.strip_prefix(' ').unwrap_or(&v).trim_end().to_string());
        }
    }
    let text = lines.join("\n").trim().to_string();
    if text.is_empty() { None } else { Some(text) }
}

fn string_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Spanned<String>> {
    let s: LitStr = meta.value()?.parse()?;
    Ok(Spanned { value: s.value(), span: s.span() })
}

/// `aliases = ["a", "b"]` or `aliases("a", "b")`.
fn aliases_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Spanned<String>>> {
    let mut out = Vec::new();
    if meta.input.peek(syn::Token![=]) {
        let arr: syn::ExprArray = meta.value()?.parse()?;
        for e in arr.elems {
            match e {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => out.push(Spanned { value: s.value(), span: s.span() }),
                other => return Err(syn::Error::new(other.span(), "aliases are string literals")),
            }
        }
    } else {
        let content;
        syn::parenthesized!(content in meta.input);
        let list = syn::punctuated::Punctuated::<LitStr, syn::Token![,]>::parse_terminated(&content)?;
        out.extend(list.into_iter().map(|s| Spanned { value: s.value(), span: s.span() }));
    }
    Ok(out)
}

/// `default = <literal>` (string, number, bool), `default = null`, or `default_json = "<JSON text>"`.
fn default_value(meta: &ParseNestedMeta<'_>, raw_json: bool) -> syn::Result<DefaultValue> {
    let expr: Expr = meta.value()?.parse()?;
    let span = expr.span();
    let json = match (&expr, raw_json) {
        (Expr::Lit(ExprLit { lit: Lit::Str(s), .. }), true) => serde_json::from_str(&s.value())
            .map_err(|e| syn::Error::new(span, format!("default_json is not valid JSON: {e}")))?,
        (_, true) => return Err(syn::Error::new(span, "default_json takes a string of JSON text")),
        (Expr::Lit(ExprLit { lit, .. }), false) => match lit {
            Lit::Str(s) => serde_json::Value::String(s.value()),
            Lit::Bool(b) => serde_json::Value::Bool(b.value),
            Lit::Int(i) => serde_json::from_str(i.base10_digits())
                .map_err(|e| syn::Error::new(span, format!("integer default: {e}")))?,
            Lit::Float(f) => serde_json::from_str(f.base10_digits())
                .map_err(|e| syn::Error::new(span, format!("float default: {e}")))?,
            _ => return Err(syn::Error::new(span, "a default is a string, number or bool literal, or `null`")),
        },
        (Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr: inner, .. }), false) => match &**inner {
            Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => serde_json::from_str(&format!("-{}", i.base10_digits()))
                .map_err(|e| syn::Error::new(span, format!("integer default: {e}")))?,
            Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => {
                serde_json::from_str(&format!("-{}", f.base10_digits()))
                    .map_err(|e| syn::Error::new(span, format!("float default: {e}")))?
            }
            _ => return Err(syn::Error::new(span, "a default is a string, number or bool literal, or `null`")),
        },
        (Expr::Path(p), false) if p.path.is_ident("null") => serde_json::Value::Null,
        _ => {
            return Err(syn::Error::new(
                span,
                "a default is a string, number or bool literal, or `null`; use default_json = \"...\" for arrays and objects",
            ));
        }
    };
    Ok(DefaultValue { json, span })
}

fn unknown(meta: &ParseNestedMeta<'_>, what: &str, known: &str) -> syn::Error {
    let name = meta.path.to_token_stream().to_string().replace(' ', "");
    meta.error(format!("unknown {what} attribute `{name}`; expected one of: {known}"))
}

fn set<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, span: Span, name: &str) {
    if slot.is_some() {
        cx.error(span, format!("duplicate `{name}` attribute"));
    } else {
        *slot = Some(value);
    }
}

pub(crate) fn container(cx: &Ctxt, attrs: &[Attribute]) -> ContainerAttrs {
    let mut out = ContainerAttrs { doc: doc_comment(attrs), ..Default::default() };
    let mut explicit_doc = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("kafka")) {
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("namespace") {
                let v = string_value(&meta)?;
                set(cx, &mut out.namespace, v, span, "namespace");
            } else if meta.path.is_ident("rename") {
                let v = string_value(&meta)?;
                set(cx, &mut out.rename, v, span, "rename");
            } else if meta.path.is_ident("rename_all") {
                let v = string_value(&meta)?;
                match RenameRule::parse(&v.value) {
                    Some(rule) => set(cx, &mut out.rename_all, rule, span, "rename_all"),
                    None => cx.error(
                        v.span,
                        format!(
                            "unknown rename_all rule {:?}; expected lowercase, UPPERCASE, PascalCase, camelCase, \
                             snake_case or SCREAMING_SNAKE_CASE (kebab-case would make invalid Avro names)",
                            v.value
                        ),
                    ),
                }
            } else if meta.path.is_ident("doc") {
                let v = string_value(&meta)?;
                set(cx, &mut explicit_doc, v.value, span, "doc");
            } else if meta.path.is_ident("aliases") {
                out.aliases.extend(aliases_value(&meta)?);
            } else if meta.path.is_ident("crate") {
                let v = string_value(&meta)?;
                let path = syn::parse_str::<syn::Path>(&v.value).map_err(|e| {
                    syn::Error::new(v.span, format!("`crate` must be a path such as \"typed_kafka\": {e}"))
                })?;
                set(cx, &mut out.krate, path, span, "crate");
            } else if meta.path.is_ident("bound") {
                let v = bound_value(&meta)?;
                set(cx, &mut out.bound, v, span, "bound");
            } else if let Some(rule) = rule_attr(&meta, false)? {
                out.rules.push(rule);
            } else {
                return Err(unknown(
                    &meta,
                    "container",
                    "namespace, rename, rename_all, doc, aliases, crate, bound, rule",
                ));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    if explicit_doc.is_some() {
        out.doc = explicit_doc;
    }
    out
}

pub(crate) fn field(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs { doc: doc_comment(attrs), ..Default::default() };
    let mut explicit_doc = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("kafka")) {
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename") {
                let v = string_value(&meta)?;
                set(cx, &mut out.rename, v, span, "rename");
            } else if meta.path.is_ident("default") {
                let v = default_value(&meta, false)?;
                set(cx, &mut out.default, v, span, "default");
            } else if meta.path.is_ident("default_json") {
                let v = default_value(&meta, true)?;
                set(cx, &mut out.default, v, span, "default");
            } else if meta.path.is_ident("skip") {
                set(cx, &mut out.skip, span, span, "skip");
            } else if meta.path.is_ident("doc") {
                let v = string_value(&meta)?;
                set(cx, &mut explicit_doc, v.value, span, "doc");
            } else if meta.path.is_ident("aliases") {
                out.aliases.extend(aliases_value(&meta)?);
            } else if meta.path.is_ident("bytes") {
                set(cx, &mut out.bytes, span, span, "bytes");
            } else if meta.path.is_ident("int_array") {
                set(cx, &mut out.int_array, span, span, "int_array");
            } else if meta.path.is_ident("fixed") {
                set(cx, &mut out.fixed, span, span, "fixed");
            } else if meta.path.is_ident("logical") {
                let v = string_value(&meta)?;
                set(cx, &mut out.logical, v, span, "logical");
            } else if meta.path.is_ident("decimal") {
                let (mut precision, mut scale) = (None, None);
                meta.parse_nested_meta(|inner| {
                    let lit: syn::LitInt = inner.value()?.parse()?;
                    let n: u32 = lit.base10_parse()?;
                    if inner.path.is_ident("precision") {
                        precision = Some(n);
                    } else if inner.path.is_ident("scale") {
                        scale = Some(n);
                    } else {
                        return Err(inner.error("expected `precision = N` or `scale = N`"));
                    }
                    Ok(())
                })?;
                match (precision, scale) {
                    (Some(p), s) => {
                        let s = s.unwrap_or(0);
                        if p == 0 || p > 38 {
                            cx.error(span, "decimal precision must be from 1 to 38");
                        } else if s > p {
                            cx.error(span, format!("decimal scale {s} exceeds its precision {p}"));
                        }
                        set(cx, &mut out.decimal, (p, s, span), span, "decimal");
                    }
                    (None, _) => cx.error(span, "decimal needs a precision: decimal(precision = P, scale = S)"),
                }
            } else if let Some(rule) = rule_attr(&meta, true)? {
                out.rules.push(rule);
            } else {
                return Err(unknown(
                    &meta,
                    "field",
                    "rename, default, default_json, skip, doc, aliases, bytes, int_array, fixed, logical, decimal, \
                     rule, min, max, len, pattern, one_of, non_empty",
                ));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    if explicit_doc.is_some() {
        out.doc = explicit_doc;
    }
    out
}

pub(crate) fn variant(cx: &Ctxt, attrs: &[Attribute]) -> VariantAttrs {
    let mut out = VariantAttrs { doc: doc_comment(attrs), ..Default::default() };
    for attr in attrs.iter().filter(|a| a.path().is_ident("kafka")) {
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename") {
                let v = string_value(&meta)?;
                set(cx, &mut out.rename, v, span, "rename");
            } else if meta.path.is_ident("aliases") {
                out.aliases.extend(aliases_value(&meta)?);
            } else if meta.path.is_ident("default") {
                set(cx, &mut out.default, span, span, "default");
            } else {
                return Err(unknown(&meta, "variant", "rename, aliases, default"));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    out
}
