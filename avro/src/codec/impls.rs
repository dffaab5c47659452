//! [`AvroType`] and [`AvroDecode`] for the standard types (the mapping is documented on the `typed_kafka` crate).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::Arc;

use super::encoding::{self as enc};
use super::{
    AvroDecode, AvroType, DecodeError, EncodeError, EncodeErrorKind, PathSegment, RuleViolation, SchemaWriter,
};
use crate::schema::shape::{SchemaShape, ShapeName};

macro_rules! primitive {
    ($ty:ty, $avro:literal, $min:expr, |$v:ident, $buf:ident| $put:expr, |$input:ident| $get:expr) => {
        impl AvroType for $ty {
            const MIN_SIZE: usize = $min;
            const SHAPE: &'static SchemaShape = &SchemaShape::Primitive($avro);
            #[inline]
            fn write_schema(w: &mut SchemaWriter) {
                w.raw(concat!("\"", $avro, "\""));
            }
            fn type_name(out: &mut String) {
                out.push_str($avro);
            }
            #[inline]
            #[allow(clippy::unused_unit, path_statements, clippy::no_effect)]
            fn encode(&self, $buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                let $v = *self;
                $put;
                Ok(())
            }
        }
        impl<'de> AvroDecode<'de> for $ty {
            #[inline]
            fn decode($input: &mut &'de [u8]) -> Result<Self, DecodeError> {
                $get
            }
        }
    };
}

/// Narrow integers travel as `int` and are range-checked when read back.
macro_rules! narrow_int {
    ($ty:ty, $name:literal) => {
        primitive!($ty, "int", 1, |v, buf| enc::put_int(buf, i32::from(v)), |input| {
            let v = enc::get_int(input)?;
            <$ty>::try_from(v).map_err(|_| DecodeError::OutOfRange { value: i64::from(v), target: $name })
        });
    };
}

primitive!((), "null", 0, |_v, _buf| {}, |_input| Ok(()));
primitive!(bool, "boolean", 1, |v, buf| enc::put_bool(buf, v), |input| enc::get_bool(input));
primitive!(i32, "int", 1, |v, buf| enc::put_int(buf, v), |input| enc::get_int(input));
primitive!(i64, "long", 1, |v, buf| enc::put_long(buf, v), |input| enc::get_long(input));
primitive!(f32, "float", 4, |v, buf| enc::put_float(buf, v), |input| enc::get_float(input));
primitive!(f64, "double", 8, |v, buf| enc::put_double(buf, v), |input| enc::get_double(input));
narrow_int!(i8, "i8");
narrow_int!(i16, "i16");
narrow_int!(u8, "u8");
narrow_int!(u16, "u16");
primitive!(u32, "long", 1, |v, buf| enc::put_long(buf, i64::from(v)), |input| {
    let v = enc::get_long(input)?;
    u32::try_from(v).map_err(|_| DecodeError::OutOfRange { value: v, target: "u32" })
});

impl AvroType for u64 {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Primitive("long");
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("\"long\"");
    }
    fn type_name(out: &mut String) {
        out.push_str("long");
    }
    /// A `u64` above `i64::MAX` does not fit a `long`: an error, never a wrap-around (`#[kafka(fixed)]` maps the full
    /// range to an 8-byte `fixed`).
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match i64::try_from(*self) {
            Ok(v) => {
                enc::put_long(buf, v);
                Ok(())
            }
            Err(_) => Err(EncodeError::new(EncodeErrorKind::OutOfRange { value: self.to_string(), target: "long" })),
        }
    }
}

impl<'de> AvroDecode<'de> for u64 {
    #[inline]
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        let v = enc::get_long(input)?;
        u64::try_from(v).map_err(|_| DecodeError::OutOfRange { value: v, target: "u64" })
    }
}

macro_rules! string_like {
    ($ty:ty, |$s:ident| $from:expr $(, into: |$this:ident, $input:ident| $into:block)?) => {
        impl AvroType for $ty {
            const MIN_SIZE: usize = 1;
            const SHAPE: &'static SchemaShape = &SchemaShape::Primitive("string");
            #[inline]
            fn write_schema(w: &mut SchemaWriter) {
                w.raw("\"string\"");
            }
            fn type_name(out: &mut String) {
                out.push_str("string");
            }
            #[inline]
            fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                enc::put_str(buf, self);
                Ok(())
            }
        }
        impl<'de> AvroDecode<'de> for $ty {
            #[inline]
            fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
                let $s = enc::get_str(input)?;
                Ok($from)
            }
            $(
                #[inline]
                fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
                    let ($this, $input) = (self, input);
                    $into
                }
            )?
        }
    };
}

// A `String` decoded into keeps its capacity.
string_like!(String, |s| s.to_owned(), into: |this, input| {
    let s = enc::get_str(input)?;
    this.clear();
    this.push_str(s);
    Ok(())
});
string_like!(Box<str>, |s| s.into());
string_like!(Arc<str>, |s| s.into());

impl AvroType for &str {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Primitive("string");
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("\"string\"");
    }
    fn type_name(out: &mut String) {
        out.push_str("string");
    }
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        enc::put_str(buf, self);
        Ok(())
    }
}

impl<'de: 'a, 'a> AvroDecode<'de> for &'a str {
    /// Borrows the string from the input: no allocation.
    #[inline]
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        enc::get_str(input)
    }
}

impl AvroType for Cow<'_, str> {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Primitive("string");
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("\"string\"");
    }
    fn type_name(out: &mut String) {
        out.push_str("string");
    }
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        enc::put_str(buf, self);
        Ok(())
    }
}

impl<'de: 'a, 'a> AvroDecode<'de> for Cow<'a, str> {
    /// Borrows the string from the input.
    #[inline]
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        enc::get_str(input).map(Cow::Borrowed)
    }
}

/// `[u8; N]` is a `fixed` of size N, named `fixed_N` (defined once per size in a schema).
impl<const N: usize> AvroType for [u8; N] {
    const MIN_SIZE: usize = N;
    const SHAPE: &'static SchemaShape = &SchemaShape::Fixed(
        &ShapeName::Derived {
            base: "fixed",
            args: &[],
            number: Some(N as u64),
            suffix: "",
            namespace: None,
            aliases: &[],
        },
        N as u64,
    );
    fn write_schema(w: &mut SchemaWriter) {
        let name = format!("fixed_{N}");
        w.named(&name, None, &name, |w| {
            w.raw(&format!("{{\"type\":\"fixed\",\"name\":\"fixed_{N}\",\"size\":{N}}}"));
        });
    }
    fn type_name(out: &mut String) {
        out.push_str(&format!("fixed_{N}"));
    }
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        enc::put_fixed(buf, self);
        Ok(())
    }
}

impl<'de, const N: usize> AvroDecode<'de> for [u8; N] {
    #[inline]
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        enc::get_array::<N>(input)
    }
}

/// `Option<T>` is the union `["null", T]` (the derive gives such fields `"default": null`).
impl<T: AvroType> AvroType for Option<T> {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Union(&[&SchemaShape::Primitive("null"), T::SHAPE]);
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("[\"null\",");
        T::write_schema(w);
        w.raw("]");
    }
    fn type_name(out: &mut String) {
        out.push_str("optional_");
        T::type_name(out);
    }
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        enc::put_option(buf, self.as_ref(), T::encode)
    }
    fn violations(&self, out: &mut Vec<EncodeError>) {
        if let Some(v) = self {
            v.violations(out)
        }
    }
    #[inline]
    fn rule_violations(&self, out: &mut Vec<RuleViolation>) {
        if let Some(v) = self {
            v.rule_violations(out)
        }
    }
}

impl<'de, T: AvroDecode<'de>> AvroDecode<'de> for Option<T> {
    #[inline]
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        enc::get_option(input, T::decode)
    }

    #[inline]
    fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
        if enc::get_union_index(input, 2)? == 0 {
            *self = None;
            return Ok(());
        }
        match self {
            Some(v) => v.decode_into(input),
            None => {
                *self = Some(T::decode(input)?);
                Ok(())
            }
        }
    }
}

macro_rules! transparent {
    ($($ty:ident: $overhead:expr),*) => {$(
        impl<T: AvroType> AvroType for $ty<T> {
            const MIN_SIZE: usize = T::MIN_SIZE;
            // The value lives on the heap, behind the pointer (with its counts, for `Arc` and `Rc`).
            const ZERO_SIZE_HEAP: usize = std::mem::size_of::<T>() + $overhead + T::ZERO_SIZE_HEAP;
            const SHAPE: &'static SchemaShape = T::SHAPE;
            #[inline]
            fn write_schema(w: &mut SchemaWriter) {
                T::write_schema(w)
            }
            fn type_name(out: &mut String) {
                T::type_name(out)
            }
            #[inline]
            fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                (**self).encode(buf)
            }
            fn violations(&self, out: &mut Vec<EncodeError>) {
                (**self).violations(out)
            }
            #[inline]
            fn rule_violations(&self, out: &mut Vec<RuleViolation>) {
                (**self).rule_violations(out)
            }
        }
        impl<'de, T: AvroDecode<'de>> AvroDecode<'de> for $ty<T> {
            #[inline]
            fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
                T::decode(input).map($ty::new)
            }
            transparent!(@into $ty);
        }
    )*};
    // A `Box` decoded into keeps its allocation; an `Arc` or `Rc` may be shared, so it gets a new one.
    (@into Box) => {
        #[inline]
        fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
            (**self).decode_into(input)
        }
    };
    (@into $other:ident) => {};
}

transparent!(Box: 0, Arc: 2 * std::mem::size_of::<usize>(), Rc: 2 * std::mem::size_of::<usize>());

macro_rules! array_like {
    ($ty:ident) => {
        impl<T: AvroType> AvroType for $ty<T> {
            const MIN_SIZE: usize = 1;
            const SHAPE: &'static SchemaShape = &SchemaShape::Array(T::SHAPE);
            fn write_schema(w: &mut SchemaWriter) {
                w.raw("{\"type\":\"array\",\"items\":");
                T::write_schema(w);
                w.raw("}");
            }
            fn type_name(out: &mut String) {
                out.push_str("array_");
                T::type_name(out);
            }
            #[inline]
            fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                enc::put_items(buf, self.len(), T::MIN_SIZE, enc::zero_size_item_limit::<T>(), self.iter(), T::encode)
            }
            fn violations(&self, out: &mut Vec<EncodeError>) {
                super::item_violations(self.iter(), T::violations, |buf| self.encode(buf), out)
            }
            #[inline]
            fn rule_violations(&self, out: &mut Vec<RuleViolation>) {
                for (i, v) in self.iter().enumerate() {
                    let start = out.len();
                    v.rule_violations(out);
                    super::prefix_rule_violations(out, start, || PathSegment::Index(i));
                }
            }
        }
        impl<'de, T: AvroDecode<'de>> AvroDecode<'de> for $ty<T> {
            fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
                enc::get_items(input, T::MIN_SIZE, enc::zero_size_item_limit::<T>(), T::decode).map($ty::from)
            }
            array_like!(@into $ty);
        }
    };
    // A `Vec` decoded into keeps its capacity and decodes into the items it already has.
    (@into Vec) => {
        fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
            let limit = enc::zero_size_item_limit::<T>();
            enc::get_items_into(input, T::MIN_SIZE, limit, self, T::decode, T::decode_into)
        }
    };
    (@into $other:ident) => {};
}

array_like!(Vec);
array_like!(VecDeque);

fn encode_entries<'a, T: AvroType + 'a>(
    buf: &mut Vec<u8>,
    len: usize,
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Result<(), EncodeError> {
    if len > 0 {
        enc::put_block_count(buf, len);
        for (k, v) in entries {
            enc::put_str(buf, k);
            v.encode(buf).map_err(|e| e.at(PathSegment::Key(k.clone())))?;
        }
    }
    enc::put_block_end(buf);
    Ok(())
}

fn decode_entries<'de, T: AvroDecode<'de>>(
    input: &mut &'de [u8],
    mut insert: impl FnMut(String, T),
) -> Result<(), DecodeError> {
    loop {
        // Every entry carries at least its key's length byte and the value's minimum.
        let n = enc::get_block_count(input, 1 + T::MIN_SIZE)?;
        if n == 0 {
            return Ok(());
        }
        for _ in 0..n {
            let k = enc::get_str(input)?;
            let v = T::decode(input).map_err(|e| e.at(PathSegment::Key(k.to_owned())))?;
            insert(k.to_owned(), v);
        }
    }
}

/// The schema, name and encoder every map type shares.
macro_rules! map_avro_type {
    () => {
        const MIN_SIZE: usize = 1;
        const SHAPE: &'static SchemaShape = &SchemaShape::Map(T::SHAPE);
        fn write_schema(w: &mut SchemaWriter) {
            w.raw("{\"type\":\"map\",\"values\":");
            T::write_schema(w);
            w.raw("}");
        }
        fn type_name(out: &mut String) {
            out.push_str("map_");
            T::type_name(out);
        }
        #[inline]
        fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            encode_entries(buf, self.len(), self.iter())
        }
        fn violations(&self, out: &mut Vec<EncodeError>) {
            for (k, v) in self.iter() {
                let start = out.len();
                v.violations(out);
                super::prefix_violations(&mut out[start..], || PathSegment::Key(k.clone()));
            }
        }
        #[inline]
        fn rule_violations(&self, out: &mut Vec<RuleViolation>) {
            for (k, v) in self.iter() {
                let start = out.len();
                v.rule_violations(out);
                super::prefix_rule_violations(out, start, || PathSegment::Key(k.clone()));
            }
        }
    };
}

/// `HashMap<String, T>` is an Avro map (Avro map keys are always strings).
impl<T: AvroType, S: BuildHasher> AvroType for HashMap<String, T, S> {
    map_avro_type!();
}

impl<'de, T: AvroDecode<'de>, S: BuildHasher + Default> AvroDecode<'de> for HashMap<String, T, S> {
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        let mut out = HashMap::with_hasher(S::default());
        decode_entries(input, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }

    /// Keeps the table's capacity (the entries are decoded anew).
    fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
        self.clear();
        decode_entries(input, |k, v| {
            self.insert(k, v);
        })
    }
}

/// `BTreeMap<String, T>` is an Avro map, written in key order.
impl<T: AvroType> AvroType for BTreeMap<String, T> {
    map_avro_type!();
}

impl<'de, T: AvroDecode<'de>> AvroDecode<'de> for BTreeMap<String, T> {
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
        let mut out = BTreeMap::new();
        decode_entries(input, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }
}
