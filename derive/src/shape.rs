//! The schema as a constant (`AvroType::SHAPE`), which `typed_kafka::topic!` compares with the committed contract
//! in const evaluation. It mirrors what the schema writer writes (`gen.rs`); a derive test holds the two to one
//! schema for every test type.

use proc_macro2::TokenStream;
use quote::quote;

use crate::attr::Spanned;
use crate::r#gen::{codec_ty, rt};
use crate::model::{Body, Container, Field, Mapping, VariantStyle};

fn aliases(list: &[Spanned<String>]) -> TokenStream {
    let values = list.iter().map(|a| a.value.as_str());
    quote!(&[#(#values),*])
}

/// Whether `ty` names the container (`Self` or its identifier) anywhere.
fn mentions(ty: &syn::Type, ident: &syn::Ident) -> bool {
    use syn::visit::Visit;
    struct Finder<'a> {
        ident: &'a syn::Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
            if s.ident == "Self" || s.ident == *self.ident {
                self.found = true;
            }
            syn::visit::visit_path_segment(self, s);
        }
    }
    let mut f = Finder { ident, found: false };
    f.visit_type(ty);
    f.found
}

/// Whether `ty` has a `Box`, `Rc` or `Arc` in it: the way types refer to each other in a cycle.
fn behind_pointer(ty: &syn::Type) -> bool {
    use syn::visit::Visit;
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
            if s.ident == "Box" || s.ident == "Rc" || s.ident == "Arc" {
                self.0 = true;
            }
            syn::visit::visit_path_segment(self, s);
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

/// Whether `ty` is a standard type that holds no other type (`str`, `[u8]`, numbers, `String`): a pointer to one
/// cannot be part of a cycle.
fn is_leaf(ty: &syn::Type) -> bool {
    const LEAVES: &[&str] =
        &["str", "String", "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "Uuid"];
    match ty {
        syn::Type::Slice(s) => is_leaf(&s.elem),
        syn::Type::Path(p) => {
            p.qself.is_none()
                && p.path.segments.last().is_some_and(|s| s.arguments.is_empty() && LEAVES.iter().any(|l| s.ident == l))
        }
        _ => false,
    }
}

/// The single type argument of `Name<T>` when the last path segment is one of `names`.
fn generic_arg<'a>(ty: &'a syn::Type, names: &[&str]) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if !names.iter().any(|n| seg.ident == n) {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else { return None };
    // Maps have the key first: the value type is the last argument.
    args.args.iter().rev().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// The shape of a type that mentions the container. A type can contain itself only behind a pointer or in a
/// collection: `Box<Self>` (`Rc`, `Arc`) and `Vec<Self>` are the recursive use; any other pointee is left to run
/// time, which keeps mutually recursive types from forming a cycle of constants.
fn recursive_shape(ty: &syn::Type, ident: &syn::Ident, recursion: bool) -> TokenStream {
    let rt = rt();
    let is_self = |t: &syn::Type| {
        matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1
            && (p.path.segments[0].ident == "Self" || p.path.segments[0].ident == *ident))
    };
    if is_self(ty) {
        // Inside a collection (`Vec<Self>`): the collection is the indirection.
        return if recursion { quote!(&#rt::SchemaShape::Recursive) } else { quote!(&#rt::SchemaShape::Opaque) };
    }
    if let Some(inner) = generic_arg(ty, &["Box", "Rc", "Arc"]) {
        return if is_self(inner) && recursion {
            quote!(&#rt::SchemaShape::Recursive)
        } else if is_leaf(inner) {
            quote!(<#ty as #rt::AvroType>::SHAPE)
        } else {
            quote!(&#rt::SchemaShape::Opaque)
        };
    }
    if let Some(inner) = generic_arg(ty, &["Option"]) {
        let inner = recursive_shape(inner, ident, recursion);
        return quote!(&#rt::SchemaShape::Union(&[&#rt::SchemaShape::Primitive("null"), #inner]));
    }
    if let Some(inner) = generic_arg(ty, &["Vec", "VecDeque"]) {
        let inner = recursive_shape(inner, ident, recursion);
        return quote!(&#rt::SchemaShape::Array(#inner));
    }
    if let Some(inner) = generic_arg(ty, &["HashMap", "BTreeMap"]) {
        let inner = recursive_shape(inner, ident, recursion);
        return quote!(&#rt::SchemaShape::Map(#inner));
    }
    quote!(&#rt::SchemaShape::Opaque)
}

/// A field's type shape. A pointer's pointee other than the type itself is left to run time, which keeps mutually
/// recursive types (`A` holding `Option<Box<B>>`, `B` holding `Option<Box<A>>`) from forming a cycle of constants.
fn field_type(f: &Field, ident: &syn::Ident, recursion: bool) -> TokenStream {
    let rt = rt();
    let ty = &f.ty;
    if mentions(ty, ident) || behind_pointer(ty) {
        return if matches!(f.mapping, Mapping::Natural) {
            recursive_shape(ty, ident, recursion)
        } else {
            quote!(&#rt::SchemaShape::Opaque)
        };
    }
    match codec_ty(f) {
        Some(c) => quote!(<#c as #rt::Codec<#ty>>::SHAPE),
        None => quote!(<#ty as #rt::AvroType>::SHAPE),
    }
}

fn fields(list: &[Field], ident: &syn::Ident, recursion: bool) -> TokenStream {
    let rt = rt();
    let items = list.iter().filter(|f| f.attrs.skip.is_none()).map(|f| {
        let name = f.avro_name.as_str();
        let ty = field_type(f, ident, recursion);
        let default = match &f.default {
            Some(d) => {
                let d = d.to_string();
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        let aliases = aliases(&f.attrs.aliases);
        quote!(#rt::ShapeField { name: #name, ty: #ty, default: #default, aliases: #aliases, order: ::core::option::Option::None })
    });
    quote!(&[#(#items),*])
}

/// The `SHAPE` constant's value for a container whose encoded fields mention the type parameters `params`.
pub(crate) fn shape(c: &Container, params: &[syn::Ident]) -> TokenStream {
    let rt = rt();
    let ident = &c.ident;
    let ns = match &c.attrs.namespace {
        Some(n) => {
            let n = n.value.as_str();
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let args = quote!(&[#(<#params as #rt::AvroType>::SHAPE),*]);
    let name = |base: &str, suffix: &str, aliases: TokenStream| {
        quote!(&#rt::ShapeName::Derived {
            base: #base, args: #args, number: ::core::option::Option::None, suffix: #suffix, namespace: #ns,
            aliases: #aliases,
        })
    };
    let base = c.avro_name.as_str();
    match &c.body {
        Body::Record(list, _) => {
            let name = name(base, "", aliases(&c.attrs.aliases));
            let fields = fields(list, ident, true);
            quote!(&#rt::SchemaShape::Record(#name, #fields))
        }
        Body::Newtype(f) => field_type(f, ident, false),
        Body::Enum(variants) => {
            let name = name(base, "", aliases(&c.attrs.aliases));
            let symbols = variants.iter().map(|v| v.avro_name.as_str());
            let default = match variants.iter().find(|v| v.attrs.default.is_some()) {
                Some(v) => {
                    let d = v.avro_name.as_str();
                    quote!(::core::option::Option::Some(#d))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(&#rt::SchemaShape::Enum(#name, &[#(#symbols),*], #default))
        }
        Body::Union(variants) => {
            let generic = !params.is_empty() || c.generics.type_params().next().is_some();
            let branches = variants.iter().map(|v| match &v.style {
                // `Self` in a union is the union, which has no name to refer to: left to run time.
                VariantStyle::Newtype(f) => field_type(f, ident, false),
                VariantStyle::Unit | VariantStyle::Record(..) => {
                    let empty = Vec::new();
                    let list = match &v.style {
                        VariantStyle::Record(list, _) => list,
                        _ => &empty,
                    };
                    let vname = v.avro_name.as_str();
                    let name = if generic {
                        name(base, &format!("_{vname}"), aliases(&v.attrs.aliases))
                    } else {
                        let aliases = aliases(&v.attrs.aliases);
                        quote!(&#rt::ShapeName::Derived {
                            base: #vname, args: &[], number: ::core::option::Option::None, suffix: "",
                            namespace: #ns, aliases: #aliases,
                        })
                    };
                    let fields = fields(list, ident, false);
                    quote!(&#rt::SchemaShape::Record(#name, #fields))
                }
            });
            quote!(&#rt::SchemaShape::Union(&[#(#branches),*]))
        }
    }
}
