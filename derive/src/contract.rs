//! The compile-time contract check behind `typed_kafka::topic!`: reads the latest committed version of each of the
//! topic's Avro subjects, turns it into an expected `SchemaShape` and emits a `const` assertion that the bound type's
//! `AvroType::SHAPE` agrees with it. No registry or network: only the files under `schemas/`.
//!
//! - The files are `include_bytes!`'d, and so is the lock, so rustc rebuilds when a contract changes or `bless` adds
//!   a version; `option_env!` of the switches makes cargo rebuild when they change.
//! - While `cargo contracts bless` builds the contract tests (`TYPED_KAFKA_BLESS=1`) nothing is asserted: the tests
//!   must compile to write the drifted types' next versions. The next ordinary build asserts again.
//! - No `schemas/typed-kafka.toml` above the crate (a packaged crate, docs.rs), no committed version of a subject,
//!   or `TYPED_KAFKA_CONTRACTS=off`: nothing is asserted (the contract test reports a missing contract).

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use serde_json::Value;
use syn::{LitStr, Type};
use typed_kafka_contract_files as files;

/// A topic's Avro parts, as `topic!` declares them.
pub(crate) struct Input {
    krate: TokenStream,
    topic: LitStr,
    key: Option<Type>,
    values: Vec<Type>,
}

impl Input {
    /// The check of `topic`'s Avro key (if any) and value types, with the runtime at `krate`.
    pub(crate) fn new(krate: TokenStream, topic: LitStr, key: Option<Type>, values: Vec<Type>) -> Input {
        Input { krate, topic, key, values }
    }
}

const PRIMITIVES: &[&str] = &["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// Turns schema JSON into the tokens of an expected `SchemaShape` (names resolved to full names).
struct Expected<'a> {
    krate: &'a TokenStream,
}

impl Expected<'_> {
    fn unsupported(&self, attr: &str) -> TokenStream {
        let rt = self.krate;
        quote!(&#rt::__private::SchemaShape::Unsupported(#attr))
    }

    /// The first key of `obj` outside `allowed` (`doc` is always allowed: it is not compared).
    fn extra<'v>(obj: &'v serde_json::Map<String, Value>, allowed: &[&str]) -> Option<&'v str> {
        obj.keys().map(String::as_str).find(|k| *k != "doc" && !allowed.contains(k))
    }

    fn strings(v: Option<&Value>) -> Option<Vec<String>> {
        match v {
            None => Some(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|i| i.as_str().map(str::to_string)).collect(),
            Some(_) => None,
        }
    }

    fn full_name(obj: &serde_json::Map<String, Value>, ns: &str) -> Option<(String, String)> {
        let name = obj.get("name")?.as_str()?;
        if let Some((space, _)) = name.rsplit_once('.') {
            return Some((name.to_string(), space.to_string()));
        }
        let space = match obj.get("namespace") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => ns.to_string(),
            Some(_) => return None,
        };
        let full = if space.is_empty() { name.to_string() } else { format!("{space}.{name}") };
        Some((full, space))
    }

    fn shape(&self, v: &Value, ns: &str) -> TokenStream {
        let rt = self.krate;
        let s = quote!(#rt::__private::SchemaShape);
        match v {
            Value::String(name) if PRIMITIVES.contains(&name.as_str()) => quote!(&#s::Primitive(#name)),
            Value::String(name) => {
                let full = if name.contains('.') || ns.is_empty() { name.clone() } else { format!("{ns}.{name}") };
                quote!(&#s::Ref(#full))
            }
            Value::Array(branches) => {
                let branches = branches.iter().map(|b| self.shape(b, ns));
                quote!(&#s::Union(&[#(#branches),*]))
            }
            Value::Object(obj) => self.object(obj, ns),
            _ => self.unsupported("a schema that is not a string, array or object"),
        }
    }

    fn object(&self, obj: &serde_json::Map<String, Value>, ns: &str) -> TokenStream {
        let rt = self.krate;
        let s = quote!(#rt::__private::SchemaShape);
        let Some(ty) = obj.get("type") else { return self.unsupported("an object without `type`") };
        let kind = match ty {
            Value::String(k) => k.as_str(),
            // `{"type": {...}}` or `{"type": [...]}`: the inner schema, if nothing else is said.
            other => {
                return match Self::extra(obj, &["type"]) {
                    Some(k) => self.unsupported(k),
                    None => self.shape(other, ns),
                };
            }
        };
        if let Some(logical) = obj.get("logicalType") {
            let Some(logical) = logical.as_str() else { return self.unsupported("logicalType") };
            if let Some(k) =
                Self::extra(obj, &["type", "logicalType", "precision", "scale", "name", "namespace", "size", "aliases"])
            {
                return self.unsupported(k);
            }
            let mut base = obj.clone();
            base.remove("logicalType");
            base.remove("precision");
            base.remove("scale");
            let base = if base.len() == 1 { self.shape(ty, ns) } else { self.object(&base, ns) };
            let num = |k: &str| match obj.get(k).and_then(Value::as_u64) {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            let (precision, scale) = (num("precision"), num("scale"));
            return quote!(&#s::Logical { base: #base, logical: #logical, precision: #precision, scale: #scale });
        }
        match kind {
            p if PRIMITIVES.contains(&p) => match Self::extra(obj, &["type"]) {
                Some(k) => self.unsupported(k),
                None => quote!(&#s::Primitive(#p)),
            },
            "array" => match (Self::extra(obj, &["type", "items"]), obj.get("items")) {
                (None, Some(items)) => {
                    let items = self.shape(items, ns);
                    quote!(&#s::Array(#items))
                }
                (Some(k), _) => self.unsupported(k),
                (None, None) => self.unsupported("an array without `items`"),
            },
            "map" => match (Self::extra(obj, &["type", "values"]), obj.get("values")) {
                (None, Some(values)) => {
                    let values = self.shape(values, ns);
                    quote!(&#s::Map(#values))
                }
                (Some(k), _) => self.unsupported(k),
                (None, None) => self.unsupported("a map without `values`"),
            },
            "record" | "error" | "enum" | "fixed" => {
                let allowed: &[&str] = match kind {
                    "enum" => &["type", "name", "namespace", "aliases", "symbols", "default"],
                    "fixed" => &["type", "name", "namespace", "aliases", "size"],
                    _ => &["type", "name", "namespace", "aliases", "fields"],
                };
                if let Some(k) = Self::extra(obj, allowed) {
                    return self.unsupported(k);
                }
                let (Some((full, space)), Some(aliases)) =
                    (Self::full_name(obj, ns), Self::strings(obj.get("aliases")))
                else {
                    return self.unsupported("name");
                };
                let name = quote!(&#rt::__private::ShapeName::Full { name: #full, aliases: &[#(#aliases),*] });
                match kind {
                    "enum" => {
                        let Some(symbols) = Self::strings(obj.get("symbols")) else {
                            return self.unsupported("symbols");
                        };
                        let default = match obj.get("default").and_then(Value::as_str) {
                            Some(d) => quote!(::core::option::Option::Some(#d)),
                            None => quote!(::core::option::Option::None),
                        };
                        quote!(&#s::Enum(#name, &[#(#symbols),*], #default))
                    }
                    "fixed" => match obj.get("size").and_then(Value::as_u64) {
                        Some(size) => quote!(&#s::Fixed(#name, #size)),
                        None => self.unsupported("size"),
                    },
                    _ => {
                        let Some(Value::Array(fields)) = obj.get("fields") else { return self.unsupported("fields") };
                        let fields = fields.iter().map(|f| self.field(f, &space));
                        quote!(&#s::Record(#name, &[#(#fields),*]))
                    }
                }
            }
            _ => self.unsupported(kind),
        }
    }

    fn field(&self, f: &Value, ns: &str) -> TokenStream {
        let rt = self.krate;
        let none = quote!(::core::option::Option::None);
        let (name, ty, default, aliases, order) = match f.as_object() {
            Some(obj) => {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                let ty = match (Self::extra(obj, &["name", "type", "default", "aliases", "order"]), obj.get("type")) {
                    (Some(k), _) => self.unsupported(k),
                    (None, Some(t)) => self.shape(t, ns),
                    (None, None) => self.unsupported("a field without `type`"),
                };
                let default = match obj.get("default") {
                    Some(d) => {
                        let d = d.to_string();
                        quote!(::core::option::Option::Some(#d))
                    }
                    None => none.clone(),
                };
                let aliases = Self::strings(obj.get("aliases")).unwrap_or_default();
                let order = match obj.get("order").and_then(Value::as_str) {
                    Some(o) => quote!(::core::option::Option::Some(#o)),
                    None => none.clone(),
                };
                (name, ty, default, aliases, order)
            }
            None => (String::new(), self.unsupported("a field that is not an object"), none.clone(), Vec::new(), none),
        };
        quote!(#rt::__private::ShapeField { name: #name, ty: #ty, default: #default, aliases: &[#(#aliases),*], order: #order })
    }
}

fn error(message: String) -> TokenStream {
    syn::Error::new(Span::call_site(), message).to_compile_error()
}

/// The latest contract of `subject` under `schemas`: its path and parsed JSON.
fn latest(schemas: &Path, subject: &str) -> Result<Option<(PathBuf, Value)>, String> {
    let dir = schemas.join(subject);
    let Some((_, file)) = files::latest(&dir).map_err(|e| format!("{}: {e}", dir.display()))? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let json = serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    Ok(Some((file, json)))
}

/// How a file is named in messages: relative to the directory holding `schemas/`.
fn display(schemas: &Path, file: &Path) -> String {
    let base = schemas.parent().unwrap_or(schemas);
    file.strip_prefix(base).unwrap_or(file).display().to_string()
}

fn include(file: &Path) -> TokenStream {
    let path = file.display().to_string();
    quote!(
        const _: &[u8] = ::core::include_bytes!(#path);
    )
}

/// What the check reads from the environment: passed in, so that tests need not change the process's.
pub(crate) struct Env {
    /// `TYPED_KAFKA_CONTRACTS`.
    pub(crate) contracts: Option<String>,
    /// `CARGO_MANIFEST_DIR` of the crate being built.
    pub(crate) manifest_dir: Option<PathBuf>,
    /// `TYPED_KAFKA_SCHEMAS_DIR`.
    pub(crate) schemas_dir: Option<PathBuf>,
    /// `TYPED_KAFKA_BLESS=1`: `cargo contracts bless` is building the contract tests so that they write the
    /// drifted types' next versions; asserting here would stop them from compiling.
    pub(crate) bless: bool,
}

impl Env {
    /// The environment of this compilation.
    pub(crate) fn current() -> Env {
        Env {
            contracts: std::env::var(files::CONTRACTS_ENV).ok(),
            manifest_dir: std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
            schemas_dir: std::env::var_os(files::SCHEMAS_DIR_ENV).map(PathBuf::from),
            bless: std::env::var(files::BLESS_ENV).is_ok_and(|v| v == "1"),
        }
    }
}

pub(crate) fn expand(input: Input, env: &Env) -> TokenStream {
    let krate = &input.krate;
    // Cargo rebuilds when a variable read through `option_env!` changes.
    let tracking = quote! {
        const _: ::core::option::Option<&str> = ::core::option_env!("TYPED_KAFKA_CONTRACTS");
        const _: ::core::option::Option<&str> = ::core::option_env!("TYPED_KAFKA_SCHEMAS_DIR");
        const _: ::core::option::Option<&str> = ::core::option_env!("TYPED_KAFKA_BLESS");
    };
    if files::is_off(env.contracts.as_deref()) || env.bless {
        return quote!(const _: () = { #tracking };);
    }
    let Some(manifest) = &env.manifest_dir else { return quote!(const _: () = { #tracking };) };
    let Some(schemas) = files::schemas_dir(manifest, env.schemas_dir.as_deref()) else {
        return quote!(const _: () = { #tracking };);
    };
    let expected = Expected { krate };
    let topic = input.topic.value();
    let mut items = vec![tracking];
    let lock = schemas.join(files::LOCK_FILE);
    if lock.is_file() {
        items.push(include(&lock));
    }
    let type_name = |t: &Type| quote!(#t).to_string().replace(' ', "");

    let result = (|| -> Result<(), String> {
        let mut single = vec![];
        if let Some(key) = &input.key {
            single.push((format!("{topic}-key"), key));
        }
        if let [value] = input.values.as_slice() {
            single.push((format!("{topic}-value"), value));
        }
        for (subject, ty) in single {
            if let Some((file, json)) = latest(&schemas, &subject)? {
                items.push(include(&file));
                let shape = expected.shape(&json, "");
                let (name, file) = (type_name(ty), display(&schemas, &file));
                // One `const` item per assertion: rustc reports every failing one, not only the first.
                items.push(quote! {
                    const _: () = #krate::__private::assert_contract(
                        <#ty as #krate::__private::AvroType>::SHAPE, #shape, #name, #file);
                });
            }
        }
        if input.values.len() < 2 {
            return Ok(());
        }
        // Several record types: TopicRecordName subjects, `<topic>-<record full name>`. The full name is the
        // type's to say; each is checked against the candidate whose root has the same name.
        let mut candidates = Vec::new();
        let prefix = format!("{topic}-");
        let key_subject = format!("{topic}-key");
        let mut dirs: Vec<String> = std::fs::read_dir(&schemas)
            .map_err(|e| format!("{}: {e}", schemas.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|d| d.starts_with(&prefix) && *d != key_subject)
            .collect();
        dirs.sort();
        for subject in dirs {
            if let Some((file, json)) = latest(&schemas, &subject)? {
                items.push(include(&file));
                let shape = expected.shape(&json, "");
                let file = display(&schemas, &file);
                candidates.push(quote!((#file, #shape)));
            }
        }
        for ty in &input.values {
            let name = type_name(ty);
            items.push(quote! {
                const _: () = #krate::__private::assert_contract_among(
                    <#ty as #krate::__private::AvroType>::SHAPE, &[#(#candidates),*], #name);
            });
        }
        Ok(())
    })();
    if let Err(message) = result {
        return error(format!("typed-kafka contracts: {message}"));
    }
    quote!(const _: () = { #(#items)* };)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!("typed-kafka-derive-contract-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("crate")).unwrap();
            std::fs::create_dir_all(dir.join("schemas")).unwrap();
            std::fs::write(dir.join("schemas").join(files::CONFIG_FILE), "").unwrap();
            Dir(dir)
        }

        fn write(&self, file: &str, text: &str) {
            let path = self.0.join("schemas").join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        fn env(&self, contracts: Option<&str>) -> Env {
            Env {
                contracts: contracts.map(str::to_string),
                manifest_dir: Some(self.0.join("crate")),
                schemas_dir: None,
                bless: false,
            }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The check of topic `topic`'s Avro key `key` (if any) and value types.
    fn expand_text(topic: &str, key: Option<&str>, values: &[&str], env: &Env) -> String {
        let ty = |t: &str| syn::parse_str::<Type>(t).unwrap();
        let input = Input::new(
            quote!(::typed_kafka),
            LitStr::new(topic, Span::call_site()),
            key.map(ty),
            values.iter().map(|v| ty(v)).collect(),
        );
        expand(input, env).to_string()
    }

    const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"shop","doc":"not compared",
        "fields":[{"name":"id","type":{"type":"string","logicalType":"uuid"}},
                  {"name":"line","type":{"type":"record","name":"Line","fields":[]}},
                  {"name":"again","type":["null","Line"],"default":null}]}"#;

    #[test]
    fn a_committed_contract_is_asserted_and_tracked() {
        let d = Dir::new("holds");
        d.write("orders-value/v1.avsc", "{}");
        d.write("orders-value/v2.avsc", ORDER);
        d.write("orders-key/v1.avsc", r#"{"type":"record","name":"Key","fields":[]}"#);
        d.write(files::LOCK_FILE, "");
        let out = expand_text("orders", Some("Key"), &["Order"], &d.env(None));
        assert!(out.contains("option_env ! (\"TYPED_KAFKA_CONTRACTS\")"), "{out}");
        assert!(out.contains("orders-value/v2.avsc") && !out.contains("orders-value/v1.avsc"), "the latest: {out}");
        assert!(out.contains(files::LOCK_FILE), "the lock is included: {out}");
        assert!(out.contains("assert_contract (< Order as"), "{out}");
        assert!(out.contains("assert_contract (< Key as"), "{out}");
        // Names resolved: the nested record inherits the namespace, the later use is a reference by full name.
        assert!(out.contains("name : \"shop.Line\"") && out.contains("Ref (\"shop.Line\")"), "{out}");
        assert!(out.contains("logical : \"uuid\"") && out.contains("Some (\"null\")"), "{out}");
    }

    #[test]
    fn off_blessing_no_schemas_or_no_version_assert_nothing() {
        let d = Dir::new("off");
        d.write("orders-value/v1.avsc", ORDER);
        let input = ("orders", None, &["Order"][..]);
        let blessing = Env { bless: true, ..d.env(None) };
        for env in [
            d.env(Some("off")),
            blessing,
            Env { contracts: None, manifest_dir: Some(std::env::temp_dir()), schemas_dir: None, bless: false },
            Env { contracts: None, manifest_dir: None, schemas_dir: None, bless: false },
        ] {
            let out = expand_text(input.0, input.1, input.2, &env);
            assert!(!out.contains("assert_contract") && out.contains("option_env"), "{out}");
        }
        let out = expand_text("payments", None, &["Payment"], &d.env(None));
        assert!(!out.contains("assert_contract"), "no committed version: the contract test reports it: {out}");
    }

    #[test]
    fn a_topic_of_several_types_checks_each_against_the_contract_of_its_name() {
        let d = Dir::new("among");
        d.write("events-shop.Created/v1.avsc", r#"{"type":"record","name":"shop.Created","fields":[]}"#);
        d.write("events-shop.Deleted/v1.avsc", r#"{"type":"record","name":"Deleted","namespace":"shop","fields":[]}"#);
        d.write("events-key/v1.avsc", r#"{"type":"record","name":"K","fields":[]}"#);
        d.write("eventsource-value/v1.avsc", r#"{"type":"record","name":"Other","fields":[]}"#);
        let out = expand_text("events", None, &["Created", "Deleted"], &d.env(None));
        assert_eq!(out.matches("assert_contract_among").count(), 2, "{out}");
        assert!(out.contains("\"shop.Created\"") && out.contains("\"shop.Deleted\""), "{out}");
        assert!(!out.contains("\"K\"") && !out.contains("Other"), "neither the key nor another topic: {out}");
    }

    #[test]
    fn attributes_no_type_derives_make_the_contract_unmatchable_and_bad_files_are_errors() {
        let d = Dir::new("unsupported");
        d.write("a-value/v1.avsc", r#"{"type":"record","name":"A","connect.name":"x","fields":[]}"#);
        let out = expand_text("a", None, &["A"], &d.env(None));
        assert!(out.contains("Unsupported (\"connect.name\")"), "{out}");
        d.write("b-value/v1.avsc", "not json");
        let out = expand_text("b", None, &["B"], &d.env(None));
        assert!(out.contains("compile_error") && out.contains("is not JSON"), "{out}");
    }
}
