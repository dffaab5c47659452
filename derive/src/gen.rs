//! Code generation: the schema as JSON fragments fixed at compile time, and encoders/decoders that only call the
//! runtime's `encoding` functions through the `AvroType` / `Codec` impls (static dispatch, no `Value`, no serde).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Body, Container, Field, Mapping, Shape, Variant, VariantStyle, option_inner, vec_inner};

/// The runtime, as the alias each expansion's `const _: () = { use <crate>::__private as __typed_kafka; ... }`
/// declares (`<crate>` is `::typed_kafka` unless `#[kafka(crate = "...")]` says otherwise).
pub(crate) fn rt() -> TokenStream {
    quote!(__typed_kafka)
}

/// Whether a value of the type can contain another derived (or unknown) type, and so possibly itself: only these
/// decoders count nesting depth, which keeps leaf records such as an order line free of the check.
fn may_nest(c: &Container) -> bool {
    fn shape(s: &Shape) -> bool {
        match s {
            Shape::Other => true,
            Shape::Option(inner) | Shape::Array(inner) | Shape::Map(inner) | Shape::Logical(_, inner) => shape(inner),
            _ => false,
        }
    }
    let any = |fields: &[Field]| fields.iter().any(|f| f.attrs.skip.is_none() && shape(&f.shape));
    match &c.body {
        Body::Record(fields, _) => any(fields),
        Body::Newtype(f) => any(std::slice::from_ref(f)),
        Body::Enum(_) => false,
        Body::Union(variants) => variants.iter().any(|v| match &v.style {
            VariantStyle::Unit => false,
            VariantStyle::Newtype(f) => any(std::slice::from_ref(f)),
            VariantStyle::Record(fields, _) => any(fields),
        }),
    }
}

/// The type parameters that the encoded fields' types mention: only these get bounds and name instantiations, so a
/// parameter used only in skipped fields needs no Avro mapping.
fn used_type_params(c: &Container) -> Vec<syn::Ident> {
    use syn::visit::Visit;
    struct Finder<'a> {
        params: Vec<&'a syn::Ident>,
        used: Vec<syn::Ident>,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path(&mut self, p: &'ast syn::Path) {
            if let Some(first) = p.segments.first()
                && let Some(param) = self.params.iter().find(|t| **t == &first.ident)
                && !self.used.contains(param)
            {
                self.used.push((*param).clone());
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut finder = Finder { params: c.generics.type_params().map(|t| &t.ident).collect(), used: Vec::new() };
    let mut visit_fields = |fields: &[Field]| {
        for f in fields.iter().filter(|f| f.attrs.skip.is_none()) {
            finder.visit_type(&f.ty);
        }
    };
    match &c.body {
        Body::Record(fields, _) => visit_fields(fields),
        Body::Newtype(f) => visit_fields(std::slice::from_ref(f)),
        Body::Enum(_) => {}
        Body::Union(variants) => {
            for v in variants {
                match &v.style {
                    VariantStyle::Unit => {}
                    VariantStyle::Newtype(f) => visit_fields(std::slice::from_ref(f)),
                    VariantStyle::Record(fields, _) => visit_fields(fields),
                }
            }
        }
    }
    // In declaration order, so that instantiated names are stable.
    c.generics.type_params().map(|t| t.ident.clone()).filter(|t| finder.used.contains(t)).collect()
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The codec type of a field with a mapping attribute; `None` for its natural `AvroType` impl.
pub(crate) fn codec_ty(f: &Field) -> Option<TokenStream> {
    let rt = rt();
    let base = match &f.mapping {
        Mapping::Natural => return None,
        Mapping::Bytes => quote!(#rt::Bytes),
        Mapping::FixedU64 => quote!(#rt::FixedU64),
        Mapping::Logical(marker) => {
            let m = format_ident!("{}", marker);
            quote!(#rt::logical::#m)
        }
        Mapping::Decimal(p, s) => quote!(#rt::logical::Decimal<#p, #s>),
    };
    let is_vec_u8 = matches!(f.mapping, Mapping::Bytes);
    Some(if option_inner(&f.ty).is_some() {
        quote!(#rt::OptionOf<#base>)
    } else if !is_vec_u8 && vec_inner(&f.ty).is_some() {
        quote!(#rt::VecOf<#base>)
    } else {
        base
    })
}

fn schema_call(f: &Field) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    match codec_ty(f) {
        Some(c) => quote_spanned!(ty.span()=> <#c as #rt::Codec<#ty>>::write_schema(w);),
        None => quote_spanned!(ty.span()=> <#ty as #rt::AvroType>::write_schema(w);),
    }
}

fn encode_call(f: &Field, value: TokenStream) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    match codec_ty(f) {
        Some(c) => quote_spanned!(ty.span()=> <#c as #rt::Codec<#ty>>::encode(#value, buf)),
        None => quote_spanned!(ty.span()=> <#ty as #rt::AvroType>::encode(#value, buf)),
    }
}

fn violations_call(f: &Field, value: TokenStream) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    match codec_ty(f) {
        Some(c) => quote_spanned!(ty.span()=> <#c as #rt::Codec<#ty>>::violations(#value, out)),
        None => quote_spanned!(ty.span()=> <#ty as #rt::AvroType>::violations(#value, out)),
    }
}

/// Collects the violations of one value under the path segments `segs` (innermost first).
fn violations_under(call: TokenStream, segs: &[&str]) -> TokenStream {
    let rt = rt();
    let prefixes =
        segs.iter().map(|s| quote!(#rt::prefix_violations(&mut out[__start..], || #rt::PathSegment::Field(#s));));
    quote! {{
        let __start = out.len();
        #call;
        #(#prefixes)*
    }}
}

/// Collects every violation in the fields of a record whose members are bound to `bindings` (references).
fn violations_fields(fields: &[Field], bindings: &[TokenStream], outer: Option<&str>) -> TokenStream {
    let stmts = fields.iter().zip(bindings).filter(|(f, _)| f.attrs.skip.is_none()).map(|(f, b)| {
        let call = violations_call(f, b.clone());
        let name = f.avro_name.as_str();
        let segs: Vec<&str> = std::iter::once(name).chain(outer).collect();
        violations_under(call, &segs)
    });
    quote!(#(#stmts)*)
}

fn decode_call(f: &Field) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    match codec_ty(f) {
        Some(c) => quote_spanned!(ty.span()=> <#c as #rt::Codec<#ty>>::decode(input)),
        None => quote_spanned!(ty.span()=> <#ty as #rt::AvroDecode<'de>>::decode(input)),
    }
}

fn min_size(f: &Field) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    match codec_ty(f) {
        Some(c) => quote!(<#c as #rt::Codec<#ty>>::MIN_SIZE),
        None => quote!(<#ty as #rt::AvroType>::MIN_SIZE),
    }
}

fn aliases_json(aliases: &[crate::attr::Spanned<String>]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let list: Vec<String> = aliases.iter().map(|a| json_str(&a.value)).collect();
    format!(",\"aliases\":[{}]", list.join(","))
}

/// Statements writing a record's definition (inside `SchemaWriter::named`); `name` is a `&str` expression.
fn record_definition(
    name: &TokenStream,
    namespace: Option<&str>,
    doc: Option<&str>,
    aliases: &[crate::attr::Spanned<String>],
    fields: &[Field],
    rules: Option<&crate::rules::Compiled>,
) -> TokenStream {
    let mut head = String::new();
    if let Some(ns) = namespace {
        head.push_str(&format!(",\"namespace\":{}", json_str(ns)));
    }
    if let Some(doc) = doc {
        head.push_str(&format!(",\"doc\":{}", json_str(doc)));
    }
    if let Some(r) = rules {
        head.push_str(&r.record_json);
    }
    head.push_str(&aliases_json(aliases));
    head.push_str(",\"fields\":[");
    let mut stmts = vec![quote! {
        w.raw("{\"type\":\"record\",\"name\":");
        w.string(#name);
        w.raw(#head);
    }];
    for (i, (index, f)) in fields.iter().enumerate().filter(|(_, f)| f.attrs.skip.is_none()).enumerate() {
        let mut open = String::new();
        if i > 0 {
            open.push(',');
        }
        open.push_str(&format!("{{\"name\":{}", json_str(&f.avro_name)));
        if let Some(doc) = &f.attrs.doc {
            open.push_str(&format!(",\"doc\":{}", json_str(doc)));
        }
        if let Some(json) = rules.and_then(|r| r.field_json.get(index)) {
            open.push_str(json);
        }
        open.push_str(&aliases_json(&f.attrs.aliases));
        open.push_str(",\"type\":");
        let close = match &f.default {
            Some(d) => format!(",\"default\":{d}}}"),
            None => "}".to_string(),
        };
        let schema = schema_call(f);
        stmts.push(quote! {
            w.raw(#open);
            #schema
            w.raw(#close);
        });
    }
    stmts.push(quote!(w.raw("]}");));
    quote!(#(#stmts)*)
}

/// Encodes the fields of a record whose members are bound to `bindings` (references).
fn encode_fields(fields: &[Field], bindings: &[TokenStream], outer: Option<&str>) -> TokenStream {
    let rt = rt();
    let stmts = fields.iter().zip(bindings).filter(|(f, _)| f.attrs.skip.is_none()).map(|(f, b)| {
        let call = encode_call(f, b.clone());
        let name = &f.avro_name;
        let outer = outer.map(|o| quote!(.at(#rt::PathSegment::Field(#o))));
        quote!(#call.map_err(|e| e.at(#rt::PathSegment::Field(#name)) #outer)?;)
    });
    quote!(#(#stmts)*)
}

/// Decodes the fields of a record into local variables `__f0..`, skipped fields getting `Default::default()`.
fn decode_fields(fields: &[Field], outer: Option<&str>) -> (TokenStream, Vec<syn::Ident>) {
    let rt = rt();
    let mut stmts = Vec::new();
    let mut vars = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let var = format_ident!("__f{}", i);
        if f.attrs.skip.is_some() {
            let ty = &f.ty;
            stmts.push(quote_spanned!(ty.span()=> let #var: #ty = ::core::default::Default::default();));
        } else {
            let call = decode_call(f);
            let name = &f.avro_name;
            let outer = outer.map(|o| quote!(.at(#rt::PathSegment::Field(#o))));
            stmts.push(quote!(let #var = #call.map_err(|e| e.at(#rt::PathSegment::Field(#name)) #outer)?;));
        }
        vars.push(var);
    }
    (quote!(#(#stmts)*), vars)
}

fn construct(path: TokenStream, fields: &[Field], vars: &[syn::Ident], named: bool) -> TokenStream {
    if named {
        let members = fields.iter().map(|f| &f.member);
        quote!(#path { #(#members: #vars),* })
    } else {
        quote!(#path ( #(#vars),* ))
    }
}

/// Decodes a record's fields into `self`'s: each field's own `decode_into` (which keeps what it owns), a codec's
/// `decode`, and `Default::default()` for skipped fields, as `decode` gives them.
fn decode_into_fields(fields: &[Field]) -> TokenStream {
    let rt = rt();
    let stmts = fields.iter().map(|f| {
        let m = &f.member;
        let ty = &f.ty;
        if f.attrs.skip.is_some() {
            return quote_spanned!(ty.span()=> self.#m = ::core::default::Default::default(););
        }
        let name = &f.avro_name;
        let at = quote!(.map_err(|e| e.at(#rt::PathSegment::Field(#name)))?);
        match codec_ty(f) {
            Some(c) => quote_spanned!(ty.span()=> self.#m = <#c as #rt::Codec<#ty>>::decode(input)#at;),
            None => quote_spanned!(ty.span()=> <#ty as #rt::AvroDecode<'de>>::decode_into(&mut self.#m, input)#at;),
        }
    });
    quote!(#(#stmts)*)
}

/// The heap a record of zero encoded size owns: its fields' (those with a mapping of their own; a codec's values
/// are never behind a pointer of ours).
fn zero_size_heap_sum(fields: &[Field]) -> TokenStream {
    let rt = rt();
    let parts = fields.iter().filter(|f| f.attrs.skip.is_none() && codec_ty(f).is_none()).map(|f| {
        let ty = &f.ty;
        quote!(<#ty as #rt::AvroType>::ZERO_SIZE_HEAP)
    });
    quote!(0usize #(+ #parts)*)
}

fn min_size_sum(fields: &[Field]) -> TokenStream {
    let parts = fields.iter().filter(|f| f.attrs.skip.is_none()).map(min_size);
    quote!(0usize #(+ #parts)*)
}

pub(crate) fn expand(c: &Container, rules: &crate::rules::Compiled) -> TokenStream {
    let rt = rt();
    let ident = &c.ident;
    let avro_name = &c.avro_name;
    let type_params = used_type_params(c);
    let lifetimes: Vec<&syn::Lifetime> = c.generics.lifetimes().map(|l| &l.lifetime).collect();
    let generic = c.generics.type_params().next().is_some();
    let namespace = c.attrs.namespace.as_ref().map(|n| n.value.as_str());
    let ns_tokens = match namespace {
        Some(ns) => quote!(::core::option::Option::Some(#ns)),
        None => quote!(::core::option::Option::None),
    };

    // The instantiated name: `Wrapper_Order` for `Wrapper<Order>`.
    let name_init = quote! {
        #[allow(unused_mut)]
        let mut __name = ::std::string::String::from(#avro_name);
        #( __name.push('_'); <#type_params as #rt::AvroType>::type_name(&mut __name); )*
    };
    let identity = quote!(&::std::format!("{}::{}", ::core::module_path!(), __name));
    let name_ref = quote!(&__name);

    let (schema_body, encode_body, violations_body, decode_body, min) = match &c.body {
        Body::Record(fields, named) => {
            let def =
                record_definition(&name_ref, namespace, c.attrs.doc.as_deref(), &c.attrs.aliases, fields, Some(rules));
            let schema = quote! {
                w.named(&__name, #ns_tokens, #identity, |w| { #def });
            };
            let bindings: Vec<TokenStream> = fields
                .iter()
                .map(|f| {
                    let m = &f.member;
                    quote!(&self.#m)
                })
                .collect();
            let enc = encode_fields(fields, &bindings, None);
            let viol = violations_fields(fields, &bindings, None);
            let (dec, vars) = decode_fields(fields, None);
            let build = construct(quote!(Self), fields, &vars, *named);
            (
                schema,
                quote!(#enc ::core::result::Result::Ok(())),
                viol,
                quote!(#dec ::core::result::Result::Ok(#build)),
                min_size_sum(fields),
            )
        }
        Body::Newtype(f) => {
            let schema = schema_call(f);
            let enc = encode_call(f, quote!(&self.0));
            let viol = violations_call(f, quote!(&self.0));
            let dec = decode_call(f);
            let min = min_size(f);
            (schema, enc, quote!(#viol;), quote!(#dec.map(Self)), min)
        }
        Body::Enum(variants) => expand_enum(c, variants, &ns_tokens, &identity),
        Body::Union(variants) => expand_union(variants, namespace, &ns_tokens, generic),
    };

    let shape = crate::shape::shape(c, &type_params);
    let decode_into_body = match &c.body {
        Body::Record(fields, _) => Some(decode_into_fields(fields)),
        Body::Newtype(f) => Some(decode_into_fields(std::slice::from_ref(f))),
        // An enum is an index; a union's branch may change: both decode anew.
        Body::Enum(_) | Body::Union(_) => None,
    };
    let zero_size_heap = match &c.body {
        Body::Record(fields, _) => zero_size_heap_sum(fields),
        Body::Newtype(f) => zero_size_heap_sum(std::slice::from_ref(f)),
        Body::Enum(_) | Body::Union(_) => quote!(0usize),
    };

    let type_name_body = quote! {
        #name_init
        out.push_str(&__name);
    };
    let type_name_body = match &c.body {
        Body::Newtype(f) => {
            let ty = &f.ty;
            match codec_ty(f) {
                Some(codec) => quote!(<#codec as #rt::Codec<#ty>>::type_name(out);),
                None => quote!(<#ty as #rt::AvroType>::type_name(out);),
            }
        }
        _ => type_name_body,
    };

    // Bounds: the user's `bound`, or `AvroType` / `AvroDecode<'de>` on each type parameter the encoded fields use.
    let (enc_preds, dec_preds): (Vec<syn::WherePredicate>, Vec<syn::WherePredicate>) = match &c.attrs.bound {
        Some(b) => (b.encode.clone(), b.decode.clone()),
        None => (
            type_params.iter().map(|t| syn::parse_quote!(#t: #rt::AvroType)).collect(),
            type_params.iter().map(|t| syn::parse_quote!(#t: #rt::AvroDecode<'de>)).collect(),
        ),
    };
    let with_predicates = |preds: Vec<syn::WherePredicate>| {
        let mut g = c.generics.clone();
        g.make_where_clause().predicates.extend(preds);
        if g.where_clause.as_ref().is_some_and(|w| w.predicates.is_empty()) {
            g.where_clause = None;
        }
        g
    };
    let enc_generics = with_predicates(enc_preds);
    let (impl_g, ty_g, where_c) = enc_generics.split_for_impl();

    let dec_generics = with_predicates(dec_preds);
    let de_bounds = lifetimes.iter().map(|l| quote!('de: #l));
    let mut dec_params: Vec<TokenStream> = vec![quote!('de)];
    dec_params.extend(dec_generics.params.iter().map(|p| quote!(#p)));
    let (_, dec_ty_g, dec_where) = dec_generics.split_for_impl();
    let dec_where_preds = dec_where.map(|w| {
        let p = &w.predicates;
        quote!(#p,)
    });

    let schema_fn = if generic {
        quote!(#rt::cached_generic_schema::<Self>())
    } else {
        quote! {
            static CELL: #rt::OnceLock<::core::result::Result<#rt::SchemaInfo, #rt::SchemaError>> = #rt::OnceLock::new();
            #rt::cached_schema::<Self>(&CELL)
        }
    };
    let rec_where = match (where_c, generic) {
        (Some(w), true) => {
            let p = &w.predicates;
            quote!(where #p, Self: 'static)
        }
        (Some(w), false) => quote!(#w),
        (None, true) => quote!(where Self: 'static),
        (None, false) => quote!(),
    };
    // A type that can contain itself counts its nesting, so hostile input fails with an error, not a stack overflow.
    let nested = if may_nest(c) { quote!(let _nested = #rt::encoding::enter_nested()?;) } else { quote!() };
    let decode_into_fn = decode_into_body.map(|body| {
        quote! {
            #[inline]
            fn decode_into(&mut self, input: &mut &'de [u8]) -> ::core::result::Result<(), #rt::DecodeError> {
                #nested
                #body
                ::core::result::Result::Ok(())
            }
        }
    });
    let rule_body = &rules.body;
    let krate = match &c.attrs.krate {
        Some(path) => quote!(#path),
        None => quote!(::typed_kafka),
    };

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
        use #krate::__private as __typed_kafka;
        #[automatically_derived]
        impl #impl_g #rt::AvroType for #ident #ty_g #where_c {
            const MIN_SIZE: usize = #min;
            const ZERO_SIZE_HEAP: usize = #zero_size_heap;
            const SHAPE: &'static #rt::SchemaShape = #shape;
            fn write_schema(w: &mut #rt::SchemaWriter) {
                #name_init
                let _ = &__name;
                #schema_body
            }
            fn type_name(out: &mut ::std::string::String) {
                #type_name_body
            }
            #[inline]
            fn encode(&self, buf: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), #rt::EncodeError> {
                #encode_body
            }
            #[cold]
            #[allow(unused_variables)]
            fn violations(&self, out: &mut ::std::vec::Vec<#rt::EncodeError>) {
                #violations_body
            }
            #[inline]
            #[allow(unused_variables, clippy::redundant_closure_call)]
            fn rule_violations(&self, out: &mut ::std::vec::Vec<#rt::RuleViolation>) {
                #rule_body
            }
        }

        #[automatically_derived]
        impl<#(#dec_params),*> #rt::AvroDecode<'de> for #ident #dec_ty_g where #dec_where_preds #(#de_bounds,)* {
            #[inline]
            fn decode(input: &mut &'de [u8]) -> ::core::result::Result<Self, #rt::DecodeError> {
                #nested
                #decode_body
            }
            #decode_into_fn
        }

        // A derived value in a rule: a list of them has a size; their fields are their own rules' business.
        #[automatically_derived]
        impl #impl_g #rt::rules::ToCel for #ident #ty_g #where_c {
            type Cel<'__cel> = &'__cel Self where Self: '__cel;
            #[inline]
            fn to_cel(&self) -> ::core::result::Result<&Self, #rt::rules::EvalError> {
                ::core::result::Result::Ok(self)
            }
        }

        #[automatically_derived]
        impl #impl_g #rt::KafkaRecord for #ident #ty_g #rec_where {
            fn schema() -> ::core::result::Result<&'static #rt::SchemaInfo, #rt::SchemaError> {
                #schema_fn
            }
        }
        };
    }
}

/// The pattern matching variant `v` (a unit variant, or one with `fields`, `named` or not) with each field bound
/// to `__b0`, `__b1`, …, and those bindings.
pub(crate) fn variant_pattern(v: &Variant, fields: &[Field], named: bool) -> (TokenStream, Vec<syn::Ident>) {
    let vident = &v.ident;
    let binds: Vec<syn::Ident> = (0..fields.len()).map(|j| format_ident!("__b{}", j)).collect();
    let pattern = match (&v.style, named) {
        (VariantStyle::Unit, _) => quote!(Self::#vident),
        (_, true) => {
            let members = fields.iter().map(|f| &f.member);
            quote!(Self::#vident { #(#members: #binds),* })
        }
        (_, false) => quote!(Self::#vident ( #(#binds),* )),
    };
    (pattern, binds)
}

fn expand_enum(
    c: &Container,
    variants: &[Variant],
    ns_tokens: &TokenStream,
    identity: &TokenStream,
) -> (TokenStream, TokenStream, TokenStream, TokenStream, TokenStream) {
    let rt = rt();
    let mut rest = String::new();
    if let Some(ns) = &c.attrs.namespace {
        rest.push_str(&format!(",\"namespace\":{}", json_str(&ns.value)));
    }
    if let Some(doc) = &c.attrs.doc {
        rest.push_str(&format!(",\"doc\":{}", json_str(doc)));
    }
    rest.push_str(&aliases_json(&c.attrs.aliases));
    let symbols: Vec<String> = variants.iter().map(|v| json_str(&v.avro_name)).collect();
    rest.push_str(&format!(",\"symbols\":[{}]", symbols.join(",")));
    if let Some(d) = variants.iter().find(|v| v.attrs.default.is_some()) {
        rest.push_str(&format!(",\"default\":{}", json_str(&d.avro_name)));
    }
    rest.push('}');
    let schema = quote! {
        w.named(&__name, #ns_tokens, #identity, |w| {
            w.raw("{\"type\":\"enum\",\"name\":");
            w.string(&__name);
            w.raw(#rest);
        });
    };
    let idents: Vec<&syn::Ident> = variants.iter().map(|v| &v.ident).collect();
    let indices: Vec<i32> = (0..variants.len() as i32).collect();
    let uindices: Vec<u32> = (0..variants.len() as u32).collect();
    let n = variants.len() as u32;
    let enc = quote! {
        let index: i32 = match self { #(Self::#idents => #indices,)* };
        #rt::encoding::put_int(buf, index);
        ::core::result::Result::Ok(())
    };
    let dec = quote! {
        match #rt::encoding::get_enum_index(input, #n)? {
            #(#uindices => ::core::result::Result::Ok(Self::#idents),)*
            i => ::core::result::Result::Err(#rt::DecodeError::EnumIndex { index: i64::from(i), symbols: #n }),
        }
    };
    (schema, enc, quote!(), dec, quote!(1usize))
}

fn expand_union(
    variants: &[Variant],
    namespace: Option<&str>,
    ns_tokens: &TokenStream,
    generic: bool,
) -> (TokenStream, TokenStream, TokenStream, TokenStream, TokenStream) {
    let rt = rt();
    let n = variants.len() as u32;
    let mut schema = vec![quote!(w.raw("[");)];
    let mut enc_arms = Vec::new();
    let mut viol_arms = Vec::new();
    let mut dec_arms = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        if i > 0 {
            schema.push(quote!(w.raw(",");));
        }
        let vident = &v.ident;
        let vname = &v.avro_name;
        let idx = i as u32;
        match &v.style {
            VariantStyle::Newtype(f) => {
                schema.push(schema_call(f));
                let call = encode_call(f, quote!(__v));
                let viol = violations_under(violations_call(f, quote!(__v)), &[vname.as_str()]);
                viol_arms.push(quote!(Self::#vident(__v) => #viol));
                enc_arms.push(quote! {
                    Self::#vident(__v) => {
                        #rt::encoding::put_union_index(buf, #idx);
                        #call.map_err(|e| e.at(#rt::PathSegment::Field(#vname)))
                    }
                });
                let dec = decode_call(f);
                dec_arms.push(quote! {
                    #idx => #dec.map(Self::#vident).map_err(|e| e.at(#rt::PathSegment::Field(#vname))),
                });
            }
            VariantStyle::Unit | VariantStyle::Record(..) => {
                let empty = Vec::new();
                let (fields, named) = match &v.style {
                    VariantStyle::Record(f, named) => (f, *named),
                    _ => (&empty, true),
                };
                // Generic unions prefix their variant records with the instantiated name so that two
                // instantiations never define the same record name.
                let branch_name =
                    if generic { quote!(&::std::format!("{}_{}", __name, #vname)) } else { quote!(#vname) };
                let def = record_definition(
                    &quote!(__branch),
                    namespace,
                    v.attrs.doc.as_deref(),
                    &v.attrs.aliases,
                    fields,
                    None,
                );
                schema.push(quote! {
                    {
                        let __branch: &str = #branch_name;
                        let __identity = ::std::format!("{}::{}::{}", ::core::module_path!(), __name, #vname);
                        w.named(__branch, #ns_tokens, &__identity, |w| { #def });
                    }
                });
                let (pattern, binds) = variant_pattern(v, fields, named);
                let refs: Vec<TokenStream> = binds.iter().map(|b| quote!(#b)).collect();
                let enc = encode_fields(fields, &refs, Some(vname));
                let viol = violations_fields(fields, &refs, Some(vname));
                viol_arms.push(quote! {
                    #[allow(unused_variables)]
                    #pattern => { #viol }
                });
                enc_arms.push(quote! {
                    #[allow(unused_variables)]
                    #pattern => {
                        #rt::encoding::put_union_index(buf, #idx);
                        #enc
                        ::core::result::Result::Ok(())
                    }
                });
                let (dec, vars) = decode_fields(fields, Some(vname));
                let build = match &v.style {
                    VariantStyle::Unit => quote!(Self::#vident),
                    _ => construct(quote!(Self::#vident), fields, &vars, named),
                };
                dec_arms.push(quote! {
                    #idx => { #dec ::core::result::Result::Ok(#build) }
                });
            }
        }
    }
    schema.push(quote!(w.raw("]");));
    let enc = quote! { match self { #(#enc_arms)* } };
    let viol = quote! { match self { #(#viol_arms)* } };
    let dec = quote! {
        match #rt::encoding::get_union_index(input, #n)? {
            #(#dec_arms)*
            i => ::core::result::Result::Err(#rt::DecodeError::UnionIndex { index: i64::from(i), branches: #n }),
        }
    };
    (quote!(#(#schema)*), enc, viol, dec, quote!(1usize))
}
