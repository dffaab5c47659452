//! Avro binary encoding, one function per wire type (the derive's generated code only calls into these, through the
//! [`AvroType`](super::AvroType) impls).
//!
//! Writers append to a `Vec<u8>` and never allocate beyond growing it. Readers take `&mut &[u8]`, advance it past
//! what they read, and check every length against the input that remains, so a hostile length prefix can neither
//! read out of bounds nor make the caller allocate more than the input could describe.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{DecodeError, EncodeError, EncodeErrorKind, PathSegment};

/// Most items of zero encoded size (nulls, empty records, records of skipped fields) one array may hold, on encode
/// and on decode alike. Items of other types are bounded by the input's length instead.
pub const MAX_ZERO_SIZE_ITEMS: usize = 1 << 20;

/// Most memory the zero-size items of one array may take in Rust: a record whose fields are all skipped is 0 bytes
/// of Avro but may be many bytes of Rust, so its arrays are capped lower than [`MAX_ZERO_SIZE_ITEMS`].
pub const MAX_ZERO_SIZE_BYTES: usize = 16 << 20;

/// Most bytes an array reserves up front for the count a block declares; beyond it the vector grows as items decode.
pub const MAX_PREALLOC_BYTES: usize = 64 << 10;

/// How many zero-size items of Rust type `T` one array may hold: the memory each takes is its size plus the heap
/// it owns when its encoding is empty ([`AvroType::ZERO_SIZE_HEAP`](super::AvroType::ZERO_SIZE_HEAP): a `Box` of
/// a record whose fields are all skipped is a pointer inline and the whole record on the heap).
#[inline]
pub fn zero_size_item_limit<T: super::AvroType>() -> usize {
    zero_size_item_limit_of(std::mem::size_of::<T>().saturating_add(T::ZERO_SIZE_HEAP))
}

/// How many zero-size items of `bytes` bytes of memory each one array may hold.
#[inline]
pub const fn zero_size_item_limit_of(bytes: usize) -> usize {
    let by_memory = MAX_ZERO_SIZE_BYTES / if bytes == 0 { 1 } else { bytes };
    if by_memory < MAX_ZERO_SIZE_ITEMS { by_memory } else { MAX_ZERO_SIZE_ITEMS }
}

/// Default for [`max_depth`]: records and unions nested this deep at most when decoding.
pub const DEFAULT_MAX_DEPTH: u32 = 128;

static MAX_DEPTH: AtomicU32 = AtomicU32::new(DEFAULT_MAX_DEPTH);

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// How deep derived records and unions may nest in data being decoded (default [`DEFAULT_MAX_DEPTH`]). A recursive
/// type (`Box<Self>`, `Option<Box<Self>>`, `Vec<Self>`) would otherwise let a few kilobytes of input overflow the
/// stack, which aborts the process; past the limit decoding fails with [`DecodeError::TooDeep`] instead. Each level
/// takes a few hundred bytes of stack, so the default fits a 2 MiB thread with room to spare.
pub fn max_depth() -> u32 {
    MAX_DEPTH.load(Ordering::Relaxed)
}

/// Sets [`max_depth`] for the whole process (at least 1).
pub fn set_max_depth(depth: u32) {
    MAX_DEPTH.store(depth.max(1), Ordering::Relaxed);
}

/// One level of nesting entered while decoding (a derived record or union); left when dropped.
#[must_use]
#[derive(Debug)]
pub struct Nested(());

impl Drop for Nested {
    #[inline]
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Enters one level of nesting, or fails with [`DecodeError::TooDeep`] past [`max_depth`]. The derive's decoders
/// of types that can contain themselves call this.
#[inline]
pub fn enter_nested() -> Result<Nested, DecodeError> {
    DEPTH.with(|d| {
        let depth = d.get() + 1;
        let limit = max_depth();
        if depth > limit {
            return Err(DecodeError::TooDeep { limit });
        }
        d.set(depth);
        Ok(Nested(()))
    })
}

/// Writes a `long` (or `int`): zig-zag, then a base-128 varint.
#[inline]
pub fn put_long(buf: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    if n < 0x80 {
        buf.push(n as u8);
        return;
    }
    let mut tmp = [0u8; 10];
    let mut i = 0;
    while n >= 0x80 {
        tmp[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    tmp[i] = n as u8;
    buf.extend_from_slice(&tmp[..=i]);
}

/// Writes an `int`.
#[inline]
pub fn put_int(buf: &mut Vec<u8>, v: i32) {
    put_long(buf, i64::from(v));
}

/// Writes a `boolean` as one byte, 0 or 1.
#[inline]
pub fn put_bool(buf: &mut Vec<u8>, v: bool) {
    buf.push(u8::from(v));
}

/// Writes a `float`: 4 bytes, little-endian IEEE 754.
#[inline]
pub fn put_float(buf: &mut Vec<u8>, v: f32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Writes a `double`: 8 bytes, little-endian IEEE 754.
#[inline]
pub fn put_double(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Writes `bytes`: the length as a `long`, then the bytes.
#[inline]
pub fn put_bytes(buf: &mut Vec<u8>, v: &[u8]) {
    put_long(buf, v.len() as i64);
    buf.extend_from_slice(v);
}

/// Writes a `string`: its UTF-8 bytes as `bytes`.
#[inline]
pub fn put_str(buf: &mut Vec<u8>, v: &str) {
    put_bytes(buf, v.as_bytes());
}

/// Writes a `fixed`: the bytes alone, no length.
#[inline]
pub fn put_fixed(buf: &mut Vec<u8>, v: &[u8]) {
    buf.extend_from_slice(v);
}

/// Writes the count that opens an array or map block (a positive `long`); [`put_block_end`] closes the value.
#[inline]
pub fn put_block_count(buf: &mut Vec<u8>, count: usize) {
    put_long(buf, count as i64);
}

/// Writes the zero count that ends an array or map.
#[inline]
pub fn put_block_end(buf: &mut Vec<u8>) {
    buf.push(0);
}

/// Writes the branch index of a union.
#[inline]
pub fn put_union_index(buf: &mut Vec<u8>, index: u32) {
    put_long(buf, i64::from(index));
}

/// Writes an array of `len` items as one block, each item written by `item`, then the end marker. An item's error
/// gets the item's index in its path. Items that encode to nothing (`min_item_size` 0) are refused past
/// `zero_limit` (see [`zero_size_item_limit`]), exactly where [`get_items`] would refuse to read them.
#[inline]
pub fn put_items<'a, T: 'a>(
    buf: &mut Vec<u8>,
    len: usize,
    min_item_size: usize,
    zero_limit: usize,
    items: impl Iterator<Item = &'a T>,
    mut item: impl FnMut(&'a T, &mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    if min_item_size == 0 && len > zero_limit {
        return Err(EncodeError::new(EncodeErrorKind::TooManyZeroSizeItems { len, limit: zero_limit }));
    }
    if len > 0 {
        put_block_count(buf, len);
        for (i, v) in items.enumerate() {
            item(v, buf).map_err(|e| e.at(PathSegment::Index(i)))?;
        }
    }
    put_block_end(buf);
    Ok(())
}

/// Reads an array's blocks, each item read by `item`. Block counts are bounded by the input (see
/// [`get_block_count`]) before anything is reserved, and items that encode to nothing by `zero_limit` (see
/// [`zero_size_item_limit`]) over the whole array; an item's error gets the item's index in its path.
#[inline]
pub fn get_items<'de, T>(
    input: &mut &'de [u8],
    min_item_size: usize,
    zero_limit: usize,
    item: impl FnMut(&mut &'de [u8]) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    // A new vector has no items to decode into: every item is read by `item` and appended.
    get_items_into(input, min_item_size, zero_limit, &mut out, item, |_, _| Ok(()))?;
    Ok(out)
}

/// Reads an array into `out` as [`get_items`] reads one, decoding into the items `out` already has (`item_into`)
/// and appending the rest (`item`), then dropping any left over: the vector's capacity and its items' are kept.
#[inline]
pub fn get_items_into<'de, T>(
    input: &mut &'de [u8],
    min_item_size: usize,
    zero_limit: usize,
    out: &mut Vec<T>,
    mut item: impl FnMut(&mut &'de [u8]) -> Result<T, DecodeError>,
    mut item_into: impl FnMut(&mut T, &mut &'de [u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut total = 0;
    let mut len = 0;
    loop {
        let n = get_array_block(input, min_item_size, &mut total, zero_limit)?;
        if n == 0 {
            out.truncate(len);
            return Ok(());
        }
        // Reserve for the items the block appends only up to a small bound, and let the vector grow as items really
        // decode: each decoded item consumes input, while a declared count does not, so nested arrays cannot each
        // reserve for the whole remaining input (128 levels of a 64 KB input would otherwise reserve hundreds of MB).
        let appended = len.saturating_add(n).saturating_sub(out.len());
        out.reserve(appended.min(MAX_PREALLOC_BYTES / std::mem::size_of::<T>().max(1)));
        for _ in 0..n {
            let read = match out.get_mut(len) {
                Some(existing) => item_into(existing, input),
                None => item(input).map(|v| out.push(v)),
            };
            read.map_err(|e| e.at(PathSegment::Index(len)))?;
            len += 1;
        }
    }
}

/// Writes an optional value as the union `["null", T]`: branch 0 alone, or branch 1 then the value.
#[inline]
pub fn put_option<'a, T: 'a>(
    buf: &mut Vec<u8>,
    v: Option<&'a T>,
    value: impl FnOnce(&'a T, &mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match v {
        None => {
            buf.push(0);
            Ok(())
        }
        Some(v) => {
            buf.push(2);
            value(v, buf)
        }
    }
}

/// Reads the union `["null", T]`, the value read by `value`.
#[inline]
pub fn get_option<'de, T>(
    input: &mut &'de [u8],
    value: impl FnOnce(&mut &'de [u8]) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match get_union_index(input, 2)? {
        0 => Ok(None),
        _ => value(input).map(Some),
    }
}

/// Reads a `long`.
#[inline]
pub fn get_long(input: &mut &[u8]) -> Result<i64, DecodeError> {
    let bytes = *input;
    if let Some(&b) = bytes.first()
        && b < 0x80
    {
        *input = &bytes[1..];
        let n = u64::from(b);
        return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
    }
    let mut n: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return Err(DecodeError::VarintOverflow);
        }
        n |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *input = &bytes[i + 1..];
            return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
        }
    }
    if bytes.len() >= 10 { Err(DecodeError::VarintOverflow) } else { Err(DecodeError::UnexpectedEof { needed: 1 }) }
}

/// Reads an `int` (a `long` in the `i32` range).
#[inline]
pub fn get_int(input: &mut &[u8]) -> Result<i32, DecodeError> {
    let v = get_long(input)?;
    i32::try_from(v).map_err(|_| DecodeError::OutOfRange { value: v, target: "int" })
}

/// Reads a `boolean`; any byte other than 0 or 1 is an error.
#[inline]
pub fn get_bool(input: &mut &[u8]) -> Result<bool, DecodeError> {
    match take(input, 1)? {
        [0] => Ok(false),
        [1] => Ok(true),
        [b] => Err(DecodeError::InvalidBool(*b)),
        _ => Err(DecodeError::UnexpectedEof { needed: 1 }),
    }
}

/// Reads a `float`.
#[inline]
pub fn get_float(input: &mut &[u8]) -> Result<f32, DecodeError> {
    let b = get_array::<4>(input)?;
    Ok(f32::from_le_bytes(b))
}

/// Reads a `double`.
#[inline]
pub fn get_double(input: &mut &[u8]) -> Result<f64, DecodeError> {
    let b = get_array::<8>(input)?;
    Ok(f64::from_le_bytes(b))
}

/// Reads `bytes`, borrowing them from the input.
#[inline]
pub fn get_bytes<'de>(input: &mut &'de [u8]) -> Result<&'de [u8], DecodeError> {
    let len = get_long(input)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::NegativeLength(len))?;
    if len > input.len() {
        return Err(DecodeError::LengthExceedsInput { length: len, remaining: input.len() });
    }
    take(input, len)
}

/// Reads a `string`, borrowing it from the input.
#[inline]
pub fn get_str<'de>(input: &mut &'de [u8]) -> Result<&'de str, DecodeError> {
    let bytes = get_bytes(input)?;
    std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
}

/// Reads a `fixed` of `N` bytes.
#[inline]
pub fn get_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let bytes = take(input, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// Takes `n` bytes off the front of the input.
#[inline]
pub fn take<'de>(input: &mut &'de [u8], n: usize) -> Result<&'de [u8], DecodeError> {
    if n > input.len() {
        return Err(DecodeError::UnexpectedEof { needed: n - input.len() });
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

/// Reads a union's branch index and checks it against the number of branches.
#[inline]
pub fn get_union_index(input: &mut &[u8], branches: u32) -> Result<u32, DecodeError> {
    let i = get_long(input)?;
    match u32::try_from(i) {
        Ok(i) if i < branches => Ok(i),
        _ => Err(DecodeError::UnionIndex { index: i, branches }),
    }
}

/// Reads an enum's symbol index and checks it against the number of symbols.
#[inline]
pub fn get_enum_index(input: &mut &[u8], symbols: u32) -> Result<u32, DecodeError> {
    let i = get_long(input)?;
    match u32::try_from(i) {
        Ok(i) if i < symbols => Ok(i),
        _ => Err(DecodeError::EnumIndex { index: i, symbols }),
    }
}

/// Reads the count of the next array or map block: `Ok(0)` ends the value. A negative count (followed by the
/// block's size in bytes, which is skipped over as a number) is accepted as the specification allows. The count is
/// checked against the input that remains: items of at least `min_item_size` bytes cannot outnumber what is left,
/// and zero-size items are capped at [`MAX_ZERO_SIZE_ITEMS`].
#[inline]
pub fn get_block_count(input: &mut &[u8], min_item_size: usize) -> Result<usize, DecodeError> {
    let raw = get_long(input)?;
    let count = if raw < 0 {
        let size = get_long(input)?;
        if size < 0 {
            return Err(DecodeError::NegativeLength(size));
        }
        raw.checked_neg().ok_or(DecodeError::NegativeLength(raw))?
    } else {
        raw
    };
    let count = usize::try_from(count).map_err(|_| DecodeError::NegativeLength(count))?;
    check_block_count(count, input.len(), min_item_size)?;
    Ok(count)
}

/// Checks a block's declared `count` against the `remaining` input: items of at least `min_item_size` bytes cannot
/// outnumber what is left, and zero-size items are capped at [`MAX_ZERO_SIZE_ITEMS`].
#[inline]
fn check_block_count(count: usize, remaining: usize, min_item_size: usize) -> Result<(), DecodeError> {
    if min_item_size == 0 {
        return if count <= MAX_ZERO_SIZE_ITEMS {
            Ok(())
        } else {
            Err(DecodeError::TooManyItems { count, limit: MAX_ZERO_SIZE_ITEMS })
        };
    }
    if count.checked_mul(min_item_size).is_some_and(|n| n <= remaining) {
        Ok(())
    } else {
        Err(DecodeError::BlockTooLarge { count, remaining })
    }
}

/// Checks the `count` of an array's block already read (as [`get_array_block`] does), `remaining` bytes of input
/// after it: for readers that skip blocks rather than decode them.
#[inline]
pub fn check_array_block(
    count: usize,
    remaining: usize,
    min_item_size: usize,
    total: &mut usize,
    limit: usize,
) -> Result<(), DecodeError> {
    check_block_count(count, remaining, min_item_size)?;
    *total = total.saturating_add(count);
    if min_item_size == 0 && *total > limit {
        return Err(DecodeError::TooManyItems { count: *total, limit });
    }
    Ok(())
}

/// Reads the count of an array's next block ([`get_block_count`]), adding it to the array's `total` so far: items
/// of zero encoded size (`min_item_size` 0) may number at most `limit` over the whole array, however many blocks
/// declare them.
#[inline]
pub fn get_array_block(
    input: &mut &[u8],
    min_item_size: usize,
    total: &mut usize,
    limit: usize,
) -> Result<usize, DecodeError> {
    let n = get_block_count(input, min_item_size)?;
    *total = total.saturating_add(n);
    if min_item_size == 0 && *total > limit {
        return Err(DecodeError::TooManyItems { count: *total, limit });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_bytes(v: i64) -> Vec<u8> {
        let mut b = Vec::new();
        put_long(&mut b, v);
        b
    }

    #[test]
    fn zigzag_varints_match_the_specification() {
        // Values from the Avro specification's table.
        assert_eq!(long_bytes(0), [0x00]);
        assert_eq!(long_bytes(-1), [0x01]);
        assert_eq!(long_bytes(1), [0x02]);
        assert_eq!(long_bytes(-2), [0x03]);
        assert_eq!(long_bytes(2), [0x04]);
        assert_eq!(long_bytes(-64), [0x7f]);
        assert_eq!(long_bytes(64), [0x80, 0x01]);
        assert_eq!(long_bytes(i64::MAX).len(), 10);
        for v in [0, 1, -1, 63, -64, 64, 8191, -8192, i64::from(i32::MAX), i64::MIN, i64::MAX] {
            let b = long_bytes(v);
            let mut s = b.as_slice();
            assert_eq!(get_long(&mut s).unwrap(), v);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        assert!(matches!(get_long(&mut &[0x80u8; 3][..]), Err(DecodeError::UnexpectedEof { .. })));
        assert!(matches!(get_long(&mut &[0xffu8; 11][..]), Err(DecodeError::VarintOverflow)));
        // A length of 2^62 with three bytes behind it.
        let mut b = long_bytes(1 << 62);
        b.extend_from_slice(b"abc");
        assert!(matches!(get_bytes(&mut b.as_slice()), Err(DecodeError::LengthExceedsInput { .. })));
        assert!(matches!(get_bytes(&mut long_bytes(-5).as_slice()), Err(DecodeError::NegativeLength(-5))));
        assert!(matches!(get_bool(&mut &[2u8][..]), Err(DecodeError::InvalidBool(2))));
        assert!(matches!(
            get_block_count(&mut long_bytes(1_000_000).as_slice(), 1),
            Err(DecodeError::BlockTooLarge { .. })
        ));
        let mut min = long_bytes(i64::MIN);
        min.extend(long_bytes(0));
        assert!(matches!(get_block_count(&mut min.as_slice(), 1), Err(DecodeError::NegativeLength(i64::MIN))));
        assert!(matches!(get_union_index(&mut long_bytes(2).as_slice(), 2), Err(DecodeError::UnionIndex { .. })));
        assert!(matches!(get_str(&mut &[0x04u8, 0xff, 0xfe][..]), Err(DecodeError::InvalidUtf8)));
    }

    #[test]
    fn negative_block_counts_carry_a_byte_size() {
        let mut b = long_bytes(-2);
        b.extend(long_bytes(2));
        b.extend([1, 1]);
        let mut s = b.as_slice();
        assert_eq!(get_block_count(&mut s, 1).unwrap(), 2);
        assert_eq!(s, [1, 1]);
    }
}
