//! `typed_kafka::topic!`: a typed topic's declaration. Parses `NAME: "topic", key: ..., value(s): ...;` and emits the
//! unit type that names the topic, its `Topic` impl, a `ValueOf` impl per value type, the struct holding one bound
//! lane (encoder and partitioner) per value type, and the compile-time contract check (`contract.rs`).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Type, Visibility, bracketed};

/// How a topic's keys are written.
enum Key {
    /// `key: avro K`.
    Avro(Type),
    /// `key: K`, a standard serializer's format.
    Plain(Type),
    /// No key clause.
    None,
}

/// `krate: <tokens>, <attrs> <vis> NAME: "topic", [key: [avro] K,] value: V | values: [V, ...] [;]`
pub(crate) struct Input {
    krate: TokenStream,
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
    topic: LitStr,
    key: Key,
    values: Vec<Type>,
}

fn label(input: ParseStream<'_>, name: &str) -> syn::Result<()> {
    let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
    if ident != name {
        return Err(syn::Error::new(ident.span(), format!("expected `{name}`")));
    }
    input.parse::<Token![:]>()?;
    Ok(())
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        label(input, "krate")?;
        // `$crate` from the calling macro_rules: every token up to the comma.
        let mut krate = TokenStream::new();
        while !input.peek(Token![,]) {
            krate.extend([input.parse::<TokenTree>()?]);
        }
        input.parse::<Token![,]>()?;
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let topic: LitStr = input.parse()?;
        input.parse::<Token![,]>()?;
        let mut key = Key::None;
        let lookahead: Ident = input.fork().call(syn::ext::IdentExt::parse_any)?;
        if lookahead == "key" {
            label(input, "key")?;
            let avro = input.peek(Ident) && !input.peek2(Token![,]) && input.fork().parse::<Ident>()? == "avro";
            if avro {
                input.parse::<Ident>()?;
                key = Key::Avro(input.parse()?);
            } else {
                key = Key::Plain(input.parse()?);
            }
            input.parse::<Token![,]>()?;
        }
        let clause: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![:]>()?;
        let values: Vec<Type> = if clause == "value" {
            vec![input.parse()?]
        } else if clause == "values" {
            let content;
            bracketed!(content in input);
            content.parse_terminated(Type::parse, Token![,])?.into_iter().collect()
        } else {
            return Err(syn::Error::new(clause.span(), "expected `key`, `value` or `values`"));
        };
        if values.is_empty() {
            return Err(syn::Error::new(clause.span(), "a topic needs at least one value type"));
        }
        let _ = input.parse::<Option<Token![;]>>()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the topic's declaration"));
        }
        if topic.value().is_empty() {
            return Err(syn::Error::new(topic.span(), "a topic's name is not empty"));
        }
        Ok(Input { krate, attrs, vis, name, topic, key, values })
    }
}

pub(crate) fn expand(input: Input, env: &crate::contract::Env) -> TokenStream {
    let Input { krate, attrs, vis, name, topic, key, values } = input;
    let rt = &krate;
    let avro_key = match &key {
        Key::Avro(k) => Some(k.clone()),
        _ => None,
    };
    let contract = crate::contract::expand(
        crate::contract::Input::new(krate.clone(), topic.clone(), avro_key, values.clone()),
        env,
    );
    let key_format = match &key {
        Key::Avro(k) => quote!(#rt::topic::AvroKey<#k>),
        Key::Plain(k) => quote!(#rt::topic::Plain<#k>),
        Key::None => quote!(#rt::topic::NoKey),
    };
    let key_type = quote!(<#key_format as #rt::topic::KeyFormat>::Key);
    let lanes = format_ident!("__{}_Lanes", name, span = Span::call_site());
    let fields: Vec<Ident> = (0..values.len()).map(|i| format_ident!("v{i}")).collect();
    let count = values.len();
    let indexes = 0..values.len();
    quote! {
        #contract

        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #vis struct #name;

        /// The bound lanes of the topic's value types (generated; not for direct use).
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #lanes {
            #( #fields: #rt::producer::ValueLane<#key_type, #values>, )*
        }

        impl #rt::topic::Topic for #name {
            const NAME: &'static str = #topic;
            const VALUE_TYPES: usize = #count;
            type Key = #key_format;
            type Lanes = #lanes;

            fn contract_subjects() -> #rt::contract::Subjects {
                let mut subjects = ::std::vec::Vec::new();
                if let ::core::option::Option::Some((type_name, info)) =
                    <#key_format as #rt::topic::KeyFormat>::avro_key_schema()
                {
                    subjects.push(#rt::subject::key_subject_of(#topic, type_name, info));
                }
                #( subjects.push(#rt::subject::value_subject::<#values>(#topic, #count)); )*
                subjects
            }

            fn bind_lanes<'a, B: #rt::topic::Bind<Topic = Self> + 'a>(
                binder: &'a mut B,
            ) -> #rt::topic::BindFuture<'a, #lanes> {
                ::std::boxed::Box::pin(async move {
                    ::core::result::Result::Ok(#lanes {
                        #( #fields: binder.value_lane::<#values>().await?, )*
                    })
                })
            }
        }

        #(
            impl #rt::topic::ValueOf<#name> for #values {
                const INDEX: usize = #indexes;
                #[inline]
                fn lane(lanes: &#lanes) -> &#rt::producer::ValueLane<#key_type, Self> {
                    &lanes.#fields
                }
            }
        )*
    }
}
