//! What the code `#[derive(KafkaRecord)]` generates for a rule calls at run time: CEL's values as Rust values,
//! the operations whose CEL meaning differs from Rust's (checked arithmetic, code-point sizes, cross-type numeric
//! comparison, timestamps and durations), and the errors evaluation can end in. Every call is static: the derive
//! knows each value's type, so nothing here dispatches dynamically, and nothing allocates unless the rule builds a
//! string or reads a pattern it could not compile ahead.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::OnceLock;

use regex_automata::dfa::{Automaton as _, dense};
use regex_automata::util::primitives::StateID;

use crate::time::{parse_duration, parse_timestamp};

/// Why a rule could not be evaluated on a value (the rule counts as broken, with this as its message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Integer arithmetic left the 64-bit range.
    #[error("integer overflow in `{0}`")]
    Overflow(&'static str),
    /// Division or remainder by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// A list index outside the list.
    #[error("index {index} out of range for a list of {len}")]
    IndexOutOfRange {
        /// The index.
        index: i64,
        /// The list's length.
        len: usize,
    },
    /// A map has no such key.
    #[error("no such key: {0:?}")]
    NoSuchKey(String),
    /// A null value where a value is needed.
    #[error("`{0}` is null")]
    Null(&'static str),
    /// A value outside what a conversion or a timestamp allows.
    #[error("{0}")]
    Range(String),
    /// A regular expression that does not compile.
    #[error("invalid regular expression: {0}")]
    Regex(String),
}

/// A point in time: seconds since the Unix epoch and nanoseconds, within CEL's range (years 1 to 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// Seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;
const MAX_DURATION_NANOS: i128 = 315_576_000_000 * 1_000_000_000;

impl Timestamp {
    /// `seconds` and `nanos` (below 10⁹) since the epoch, if within CEL's range.
    pub fn new(seconds: i64, nanos: u32) -> Result<Timestamp, EvalError> {
        if (MIN_SECONDS..=MAX_SECONDS).contains(&seconds) && nanos < 1_000_000_000 {
            Ok(Timestamp { seconds, nanos })
        } else {
            Err(EvalError::Range(format!("timestamp {seconds}s {nanos}ns outside years 1 to 9999")))
        }
    }

    /// RFC 3339 text.
    pub fn parse(text: &str) -> Result<Timestamp, EvalError> {
        parse_timestamp(text)
            .map(|(seconds, nanos)| Timestamp { seconds, nanos })
            .ok_or_else(|| EvalError::Range(format!("{text:?} is not an RFC 3339 timestamp within years 1 to 9999")))
    }

    /// The current time.
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() }
    }

    /// Seconds since the epoch.
    pub fn seconds(self) -> i64 {
        self.seconds
    }

    fn total_nanos(self) -> i128 {
        i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos)
    }

    fn from_total_nanos(n: i128) -> Result<Timestamp, EvalError> {
        let seconds = i64::try_from(n.div_euclid(1_000_000_000)).map_err(|_| EvalError::Overflow("timestamp"))?;
        Timestamp::new(seconds, n.rem_euclid(1_000_000_000) as u32)
    }

    /// `self + d`.
    pub fn plus(self, d: Duration) -> Result<Timestamp, EvalError> {
        Timestamp::from_total_nanos(self.total_nanos() + d.nanos)
    }

    /// `self - d`.
    pub fn minus(self, d: Duration) -> Result<Timestamp, EvalError> {
        Timestamp::from_total_nanos(self.total_nanos() - d.nanos)
    }

    /// `self - other`.
    pub fn since(self, other: Timestamp) -> Result<Duration, EvalError> {
        Duration::new(self.total_nanos() - other.total_nanos())
    }

    /// A calendar field (`getFullYear`, …) in UTC shifted by `offset_seconds`, as CEL's accessors give it.
    pub fn get(self, field: Accessor, offset_seconds: i64) -> i64 {
        let local = self.seconds + offset_seconds;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        match field {
            Accessor::FullYear => y,
            Accessor::Month => m - 1,
            Accessor::DayOfMonth => d - 1,
            Accessor::Date => d,
            Accessor::DayOfWeek => (days + 4).rem_euclid(7),
            Accessor::DayOfYear => days - days_from_civil(y, 1, 1),
            Accessor::Hours => secs / 3600,
            Accessor::Minutes => secs % 3600 / 60,
            Accessor::Seconds => secs % 60,
            Accessor::Milliseconds => i64::from(self.nanos / 1_000_000),
        }
    }
}

/// A timestamp accessor; CEL counts months and days of the month from 0, `getDate` from 1, Sunday as 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accessor {
    /// `getFullYear`.
    FullYear,
    /// `getMonth` (0–11).
    Month,
    /// `getDayOfMonth` (0–30).
    DayOfMonth,
    /// `getDate` (1–31).
    Date,
    /// `getDayOfWeek` (0 = Sunday).
    DayOfWeek,
    /// `getDayOfYear` (0–365).
    DayOfYear,
    /// `getHours`.
    Hours,
    /// `getMinutes`.
    Minutes,
    /// `getSeconds`.
    Seconds,
    /// `getMilliseconds`.
    Milliseconds,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A time zone argument of a timestamp accessor: `UTC`, `Z` or a fixed offset such as `+02:00`, in seconds.
pub fn zone_offset(zone: &str) -> Result<i64, EvalError> {
    crate::time::parse_zone(zone)
        .ok_or_else(|| EvalError::Range(format!("time zone {zone:?}: rules take UTC or a fixed offset (+02:00)")))
}

/// A signed length of time, within CEL's range (about ±10,000 years).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: i128,
}

impl Duration {
    /// `nanos` nanoseconds, if within CEL's range.
    pub fn new(nanos: i128) -> Result<Duration, EvalError> {
        if nanos.abs() <= MAX_DURATION_NANOS {
            Ok(Duration { nanos })
        } else {
            Err(EvalError::Range("duration outside ±10,000 years".into()))
        }
    }

    /// Go's duration syntax (`1h30m`, `1.5s`).
    pub fn parse(text: &str) -> Result<Duration, EvalError> {
        parse_duration(text)
            .map(|nanos| Duration { nanos })
            .ok_or_else(|| EvalError::Range(format!("{text:?} is not a duration")))
    }

    /// `self + other`.
    pub fn plus(self, other: Duration) -> Result<Duration, EvalError> {
        Duration::new(self.nanos + other.nanos)
    }

    /// `self - other`.
    pub fn minus(self, other: Duration) -> Result<Duration, EvalError> {
        Duration::new(self.nanos - other.nanos)
    }

    /// The whole hours, minutes, seconds or milliseconds in the duration (CEL's duration accessors).
    pub fn get(self, field: Accessor) -> i64 {
        let n = self.nanos;
        (match field {
            Accessor::Hours => n / 3_600_000_000_000,
            Accessor::Minutes => n / 60_000_000_000,
            Accessor::Milliseconds => n / 1_000_000,
            _ => n / 1_000_000_000,
        }) as i64
    }
}

/// A Rust value as the CEL value a rule sees.
pub trait ToCel {
    /// The CEL value's Rust form.
    type Cel<'a>
    where
        Self: 'a;
    /// The value, or why it has none in CEL (a `u64` above `i64::MAX`).
    fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError>;
}

macro_rules! to_cel {
    ($($ty:ty => $cel:ty: |$v:ident| $e:expr),* $(,)?) => {$(
        impl ToCel for $ty {
            type Cel<'a> = $cel;
            #[inline]
            fn to_cel(&self) -> Result<$cel, EvalError> {
                let $v = self;
                Ok($e)
            }
        }
    )*};
}

to_cel! {
    bool => bool: |v| *v,
    i8 => i64: |v| i64::from(*v),
    i16 => i64: |v| i64::from(*v),
    i32 => i64: |v| i64::from(*v),
    i64 => i64: |v| *v,
    u8 => i64: |v| i64::from(*v),
    u16 => i64: |v| i64::from(*v),
    u32 => i64: |v| i64::from(*v),
    f32 => f64: |v| f64::from(*v),
    f64 => f64: |v| *v,
}

impl ToCel for u64 {
    type Cel<'a> = i64;
    #[inline]
    fn to_cel(&self) -> Result<i64, EvalError> {
        i64::try_from(*self).map_err(|_| EvalError::Range(format!("{self} does not fit CEL's int")))
    }
}

impl ToCel for String {
    type Cel<'a> = Cow<'a, str>;
    #[inline]
    fn to_cel(&self) -> Result<Cow<'_, str>, EvalError> {
        Ok(Cow::Borrowed(self))
    }
}

impl ToCel for str {
    type Cel<'a> = Cow<'a, str>;
    #[inline]
    fn to_cel(&self) -> Result<Cow<'_, str>, EvalError> {
        Ok(Cow::Borrowed(self))
    }
}

impl ToCel for Cow<'_, str> {
    type Cel<'a>
        = Cow<'a, str>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<Cow<'_, str>, EvalError> {
        Ok(Cow::Borrowed(self))
    }
}

impl<T: ToCel> ToCel for Option<T> {
    type Cel<'a>
        = Option<T::Cel<'a>>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError> {
        self.as_ref().map(T::to_cel).transpose()
    }
}

impl<T: ToCel + ?Sized> ToCel for &T {
    type Cel<'a>
        = T::Cel<'a>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError> {
        (**self).to_cel()
    }
}

macro_rules! transparent {
    ($($ptr:ident),*) => {$(
        impl<T: ToCel + ?Sized> ToCel for $ptr<T> {
            type Cel<'a> = T::Cel<'a> where Self: 'a;
            #[inline]
            fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError> {
                (**self).to_cel()
            }
        }
    )*};
}
use std::rc::Rc;
use std::sync::Arc;
transparent!(Box, Arc, Rc);

impl<T: ToCel> ToCel for Vec<T> {
    type Cel<'a>
        = List<'a, T>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<List<'_, T>, EvalError> {
        Ok(List(self))
    }
}

impl<V: ToCel, S: BuildHasher> ToCel for HashMap<String, V, S> {
    type Cel<'a>
        = &'a HashMap<String, V, S>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError> {
        Ok(self)
    }
}

impl<V: ToCel> ToCel for BTreeMap<String, V> {
    type Cel<'a>
        = &'a BTreeMap<String, V>
    where
        Self: 'a;
    #[inline]
    fn to_cel(&self) -> Result<Self::Cel<'_>, EvalError> {
        Ok(self)
    }
}

#[cfg(feature = "chrono")]
impl ToCel for chrono::DateTime<chrono::Utc> {
    type Cel<'a> = Timestamp;
    fn to_cel(&self) -> Result<Timestamp, EvalError> {
        Timestamp::new(self.timestamp(), self.timestamp_subsec_nanos())
    }
}

#[cfg(feature = "time")]
impl ToCel for time::OffsetDateTime {
    type Cel<'a> = Timestamp;
    fn to_cel(&self) -> Result<Timestamp, EvalError> {
        Timestamp::new(self.unix_timestamp(), self.nanosecond())
    }
}

/// An Avro `bytes` field (`Vec<u8>` with `#[kafka(bytes)]`) as CEL bytes.
#[inline]
pub fn bytes(v: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(v)
}

/// A list field's items, each read as its CEL value when a rule reaches it.
#[derive(Clone, Copy, Debug)]
pub struct List<'a, T>(pub &'a [T]);

/// A CEL list: a field's items or a list literal's values.
pub trait CelList {
    /// An item's CEL value.
    type Item<'b>
    where
        Self: 'b;
    /// How many items.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Item `i`, which is below [`len`](CelList::len).
    fn item(&self, i: usize) -> Result<Self::Item<'_>, EvalError>;
}

impl<T: ToCel> CelList for List<'_, T> {
    type Item<'b>
        = T::Cel<'b>
    where
        Self: 'b;
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn item(&self, i: usize) -> Result<T::Cel<'_>, EvalError> {
        self.0[i].to_cel()
    }
}

impl<R: Clone, const N: usize> CelList for [R; N] {
    type Item<'b>
        = R
    where
        Self: 'b;
    #[inline]
    fn len(&self) -> usize {
        N
    }
    #[inline]
    fn item(&self, i: usize) -> Result<R, EvalError> {
        Ok(self[i].clone())
    }
}

/// `list[index]`.
#[inline]
pub fn index<L: CelList>(list: &L, index: i64) -> Result<L::Item<'_>, EvalError> {
    match usize::try_from(index) {
        Ok(i) if i < list.len() => list.item(i),
        _ => Err(EvalError::IndexOutOfRange { index, len: list.len() }),
    }
}

/// A CEL map with string keys (Avro's maps).
pub trait CelMap {
    /// A value's CEL value.
    type Value<'b>
    where
        Self: 'b;
    /// How many entries.
    fn size(&self) -> usize;
    /// The value under `key`.
    fn lookup(&self, key: &str) -> Result<Option<Self::Value<'_>>, EvalError>;
    /// The keys, in the map's order (nothing allocated: a comprehension over a map runs on the send path).
    fn key_iter(&self) -> impl Iterator<Item = &str>;
}

impl<V: ToCel, S: BuildHasher> CelMap for &HashMap<String, V, S> {
    type Value<'b>
        = V::Cel<'b>
    where
        Self: 'b;
    fn size(&self) -> usize {
        self.len()
    }
    fn lookup(&self, key: &str) -> Result<Option<V::Cel<'_>>, EvalError> {
        self.get(key).map(V::to_cel).transpose()
    }
    fn key_iter(&self) -> impl Iterator<Item = &str> {
        self.keys().map(String::as_str)
    }
}

impl<V: ToCel> CelMap for &BTreeMap<String, V> {
    type Value<'b>
        = V::Cel<'b>
    where
        Self: 'b;
    fn size(&self) -> usize {
        self.len()
    }
    fn lookup(&self, key: &str) -> Result<Option<V::Cel<'_>>, EvalError> {
        self.get(key).map(V::to_cel).transpose()
    }
    fn key_iter(&self) -> impl Iterator<Item = &str> {
        self.keys().map(String::as_str)
    }
}

/// `map[key]` and `map.key`.
pub fn get<'m, M: CelMap>(map: &'m M, key: &str) -> Result<M::Value<'m>, EvalError> {
    map.lookup(key)?.ok_or_else(|| EvalError::NoSuchKey(key.to_string()))
}

/// The value of a nullable operand that an operation needs.
#[inline]
pub fn non_null<T>(v: Option<T>, what: &'static str) -> Result<T, EvalError> {
    v.ok_or(EvalError::Null(what))
}

/// `a + b` on ints.
#[inline]
pub fn add_int(a: i64, b: i64) -> Result<i64, EvalError> {
    a.checked_add(b).ok_or(EvalError::Overflow("+"))
}
/// `a - b` on ints.
#[inline]
pub fn sub_int(a: i64, b: i64) -> Result<i64, EvalError> {
    a.checked_sub(b).ok_or(EvalError::Overflow("-"))
}
/// `a * b` on ints.
#[inline]
pub fn mul_int(a: i64, b: i64) -> Result<i64, EvalError> {
    a.checked_mul(b).ok_or(EvalError::Overflow("*"))
}
/// `a / b` on ints, truncating.
#[inline]
pub fn div_int(a: i64, b: i64) -> Result<i64, EvalError> {
    if b == 0 {
        return Err(EvalError::DivisionByZero);
    }
    a.checked_div(b).ok_or(EvalError::Overflow("/"))
}
/// `a % b` on ints (the sign of `a`).
#[inline]
pub fn rem_int(a: i64, b: i64) -> Result<i64, EvalError> {
    if b == 0 {
        return Err(EvalError::DivisionByZero);
    }
    a.checked_rem(b).ok_or(EvalError::Overflow("%"))
}
/// `-a` on ints.
#[inline]
pub fn neg_int(a: i64) -> Result<i64, EvalError> {
    a.checked_neg().ok_or(EvalError::Overflow("-"))
}
/// `a + b` on uints.
#[inline]
pub fn add_uint(a: u64, b: u64) -> Result<u64, EvalError> {
    a.checked_add(b).ok_or(EvalError::Overflow("+"))
}
/// `a - b` on uints.
#[inline]
pub fn sub_uint(a: u64, b: u64) -> Result<u64, EvalError> {
    a.checked_sub(b).ok_or(EvalError::Overflow("-"))
}
/// `a * b` on uints.
#[inline]
pub fn mul_uint(a: u64, b: u64) -> Result<u64, EvalError> {
    a.checked_mul(b).ok_or(EvalError::Overflow("*"))
}
/// `a / b` on uints.
#[inline]
pub fn div_uint(a: u64, b: u64) -> Result<u64, EvalError> {
    a.checked_div(b).ok_or(EvalError::DivisionByZero)
}
/// `a % b` on uints.
#[inline]
pub fn rem_uint(a: u64, b: u64) -> Result<u64, EvalError> {
    a.checked_rem(b).ok_or(EvalError::DivisionByZero)
}

/// CEL's `size` of a string: its code points.
#[inline]
pub fn size_str(s: &str) -> i64 {
    s.chars().count() as i64
}

/// `a + b` on strings.
pub fn concat<'a>(a: Cow<'a, str>, b: &str) -> Cow<'a, str> {
    let mut s = a.into_owned();
    s.push_str(b);
    Cow::Owned(s)
}

/// `a + b` on bytes.
pub fn concat_bytes<'a>(a: Cow<'a, [u8]>, b: &[u8]) -> Cow<'a, [u8]> {
    let mut v = a.into_owned();
    v.extend_from_slice(b);
    Cow::Owned(v)
}

/// A pattern compiled once per rule, on first use.
pub type CompiledRegex = OnceLock<Result<Matcher, String>>;

/// A compiled pattern: a dense DFA walked byte by byte where one can be built within a size limit (a short
/// anchored pattern such as `^[A-Z]{3}-[0-9]+$` then costs about half of `Regex::is_match`, measured in
/// `benches/README.md`), and the `regex` crate's matcher for the rest.
pub struct Matcher {
    dfa: Option<(dense::DFA<Vec<u32>>, StateID)>,
    regex: regex::Regex,
}

impl Matcher {
    /// Whether `text` has a match anywhere, as RE2's partial match.
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        let Some((dfa, start)) = &self.dfa else { return self.regex.is_match(text) };
        let mut state = *start;
        for &b in text.as_bytes() {
            state = dfa.next_state(state, b);
            if dfa.is_special_state(state) {
                if dfa.is_match_state(state) {
                    return true;
                }
                if dfa.is_dead_state(state) {
                    return false;
                }
                if dfa.is_quit_state(state) {
                    return self.regex.is_match(text);
                }
            }
        }
        dfa.is_match_state(dfa.next_eoi_state(state))
    }
}

/// The DFA and its start state for a search from a text's start, if it builds within 256 KiB.
fn dense_dfa(pattern: &str) -> Option<(dense::DFA<Vec<u32>>, StateID)> {
    let limit = Some(256 * 1024);
    let dfa = dense::Builder::new()
        .configure(dense::Config::new().dfa_size_limit(limit).determinize_size_limit(limit))
        .build(pattern)
        .ok()?;
    let start = dfa.start_state_forward(&regex_automata::Input::new("")).ok()?;
    Some((dfa, start))
}

/// `text.matches(pattern)` with the pattern compiled once into `cell`: RE2 syntax, a match anywhere in the text.
#[inline]
pub fn matches_static(cell: &CompiledRegex, pattern: &str, text: &str) -> Result<bool, EvalError> {
    match cell.get_or_init(|| {
        let rust = crate::re2_pattern(pattern)?;
        let regex = regex::Regex::new(&rust).map_err(|e| e.to_string())?;
        Ok(Matcher { dfa: dense_dfa(&rust), regex })
    }) {
        Ok(m) => Ok(m.is_match(text)),
        Err(e) => Err(EvalError::Regex(e.clone())),
    }
}

/// `text.matches(pattern)` with a pattern the rule computes: compiled on each evaluation.
pub fn matches(pattern: &str, text: &str) -> Result<bool, EvalError> {
    let re = compile(pattern).map_err(EvalError::Regex)?;
    Ok(re.is_match(text))
}

/// An RE2 pattern as the `regex` crate compiles it, with RE2's ASCII Perl classes ([`crate::re2_pattern`]).
fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&crate::re2_pattern(pattern)?).map_err(|e| e.to_string())
}

/// `int(double)`: truncated toward zero; an error outside the int range.
pub fn double_to_int(d: f64) -> Result<i64, EvalError> {
    // 2^63 and -2^63 are exact doubles; every double strictly between -2^63 - 1 and 2^63 truncates into range.
    if d.is_finite() && d > i64::MIN as f64 - 1.0 && d < -(i64::MIN as f64) {
        Ok(d.trunc() as i64)
    } else {
        Err(EvalError::Range(format!("{d} does not fit an int")))
    }
}

/// `uint(double)`.
pub fn double_to_uint(d: f64) -> Result<u64, EvalError> {
    if d.is_finite() && d > -1.0 && d < u64::MAX as f64 {
        Ok(d.trunc() as u64)
    } else {
        Err(EvalError::Range(format!("{d} does not fit a uint")))
    }
}

/// `int(uint)`.
pub fn uint_to_int(u: u64) -> Result<i64, EvalError> {
    i64::try_from(u).map_err(|_| EvalError::Range(format!("{u} does not fit an int")))
}

/// `uint(int)`.
pub fn int_to_uint(i: i64) -> Result<u64, EvalError> {
    u64::try_from(i).map_err(|_| EvalError::Range(format!("{i} does not fit a uint")))
}

/// `int(string)`, `uint(string)`, `double(string)`.
pub fn parse_number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, EvalError> {
    s.parse().map_err(|_| EvalError::Range(format!("{s:?} is not a valid {what}")))
}

/// `string(double)`: the shortest text that reads back as the same double.
pub fn double_to_string(d: f64) -> String {
    if d.is_finite() && d == d.trunc() && d.abs() < 1e21 { format!("{d:.0}") } else { format!("{d}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_their_accessors() {
        let t = Timestamp::parse("2024-02-29T13:45:30.250Z").unwrap();
        let get = |a| t.get(a, 0);
        assert_eq!(
            [get(Accessor::FullYear), get(Accessor::Month), get(Accessor::DayOfMonth), get(Accessor::Date)],
            [2024, 1, 28, 29]
        );
        assert_eq!([get(Accessor::DayOfWeek), get(Accessor::DayOfYear)], [4, 59], "a Thursday, day 59 from 0");
        assert_eq!([get(Accessor::Hours), get(Accessor::Minutes), get(Accessor::Seconds)], [13, 45, 30]);
        assert_eq!(get(Accessor::Milliseconds), 250);
        assert_eq!(t.get(Accessor::Hours, 11 * 3600), 0, "in +11:00 it is past midnight");
        assert_eq!(t.get(Accessor::Date, 11 * 3600), 1);
        let d = Duration::parse("90m").unwrap();
        assert_eq!(t.plus(d).unwrap().get(Accessor::Hours, 0), 15);
        assert_eq!(t.plus(d).unwrap().since(t), Ok(d));
        assert_eq!(d.get(Accessor::Hours), 1);
        assert!(Timestamp::parse("9999-12-31T23:59:59Z").unwrap().plus(Duration::parse("1s").unwrap()).is_err());
    }

    #[test]
    fn integer_arithmetic_is_checked() {
        assert_eq!(div_int(i64::MIN, -1), Err(EvalError::Overflow("/")));
        assert_eq!(rem_int(7, 0), Err(EvalError::DivisionByZero));
        assert_eq!(double_to_int(-2.7), Ok(-2));
        assert!(double_to_int(1e19).is_err());
        assert_eq!(double_to_string(2.0), "2");
        assert_eq!(double_to_string(0.1), "0.1");
    }

    #[test]
    fn strings_count_code_points_and_patterns_compile_once() {
        assert_eq!(size_str("héllo😀"), 6);
        let cell = CompiledRegex::new();
        assert_eq!(matches_static(&cell, "^[A-Z]{3}$", "EUR"), Ok(true));
        assert_eq!(matches_static(&cell, "^[A-Z]{3}$", "euro"), Ok(false));
        assert_eq!(matches("b+", "abbbc"), Ok(true), "a match anywhere, as RE2's partial match");
        assert_eq!(matches(r"^\d+$", "١٢٣"), Ok(false), "RE2's \\d is ASCII");
        assert_eq!(matches(r"^\w+$", "naïve"), Ok(false), "and so is \\w");
        assert_eq!(matches(r"^\pL+$", "naïve"), Ok(true), "Unicode classes stay Unicode");
        assert_eq!(matches(r"\bcat\b", "écat"), Ok(true), "an ASCII word boundary");
    }

    /// The DFA walk agrees with the `regex` crate on every pattern and text here, the fallback included.
    #[test]
    fn the_dfa_walk_agrees_with_the_regex_crate() {
        let patterns = [
            r"^[A-Z]{3}-[0-9]+$",
            r"b+",
            r"^$",
            r"",
            r"\d{2,}",
            r"^\w+@\w+\.com$",
            r"(?i)^straße$",
            r"\bcat\b",
            r"^\pL+$",
            r"a|b|cd$",
            r"^.{3}$",
            r"x*",
            r"[^a-z]",
            r"(ab)+c?$",
            r"^[\p{Greek}\s]+$",
            r"é",
        ];
        let texts = [
            "",
            "FRA-2",
            "fra-2",
            "ABC-123x",
            "abbbc",
            "12",
            "1",
            "a@b.com",
            "STRASSE",
            "straße",
            "Straße",
            "a cat.",
            "concat",
            "naïve",
            "日本語",
            "cd",
            "xcd",
            "abc",
            "ab",
            "ababc",
            "αβγ δ",
            "ééé",
            "😀😀😀",
            "\n",
            "x\ny",
        ];
        for p in patterns {
            let cell = CompiledRegex::new();
            for t in texts {
                let regex = regex::Regex::new(&crate::re2_pattern(p).unwrap()).unwrap();
                assert_eq!(matches_static(&cell, p, t), Ok(regex.is_match(t)), "{p:?} on {t:?}");
            }
            assert!(cell.get().unwrap().as_ref().unwrap().dfa.is_some(), "{p:?} walks a DFA");
        }
        assert!(matches("(", "x").is_err());
    }
}
