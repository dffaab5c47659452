//! Avro logical types, behind cargo features: `uuid` (string/uuid), `chrono` and `time` (timestamps, local
//! timestamps, dates, times), `rust_decimal` (bytes/decimal).
//!
//! Each type has a natural mapping ([`AvroType`]): `Uuid` → `uuid`; `chrono::DateTime<Utc>` and
//! `time::OffsetDateTime` → `timestamp-millis`; `chrono::NaiveDateTime` and `time::PrimitiveDateTime` →
//! `local-timestamp-millis`; `NaiveDate` / `time::Date` → `date`; `NaiveTime` / `time::Time` → `time-millis`.
//! The marker types here select the others with a field attribute (`#[kafka(logical = "timestamp-micros")]`,
//! `#[kafka(decimal(precision = 12, scale = 2))]`).
//!
//! Instants before the epoch encode as negative numbers; sub-unit digits are truncated toward negative infinity
//! as Java's `Instant.toEpochMilli` floors. A value a Rust type cannot represent when reading is a decode error.

#[allow(unused_imports)]
use super::encoding as enc;
#[allow(unused_imports)]
use super::{AvroDecode, AvroType, Codec, DecodeError, EncodeError, EncodeErrorKind, SchemaWriter};
#[allow(unused_imports)]
use crate::schema::shape::SchemaShape;

/// `timestamp-millis`: milliseconds since the Unix epoch, UTC, as `long`.
pub struct TimestampMillis;
/// `timestamp-micros`: microseconds since the Unix epoch, UTC, as `long`.
pub struct TimestampMicros;
/// `local-timestamp-millis`: milliseconds since 1970-01-01T00:00 local time, as `long`.
pub struct LocalTimestampMillis;
/// `local-timestamp-micros`: microseconds since 1970-01-01T00:00 local time, as `long`.
pub struct LocalTimestampMicros;
/// `date`: days since 1970-01-01, as `int`.
pub struct Date;
/// `time-millis`: milliseconds after midnight, as `int`.
pub struct TimeMillis;
/// `time-micros`: microseconds after midnight, as `long`.
pub struct TimeMicros;

/// Implements a numeric logical type for a Rust type, and optionally its natural mapping.
#[allow(unused_macros)]
macro_rules! numeric_logical {
    ($marker:ty, $ty:ty, $avro:literal, $logical:literal, $put:path, $get:path,
     |$v:ident| $to:expr, |$n:ident| $from:expr $(, natural)?) => {
        impl Codec<$ty> for $marker {
            const MIN_SIZE: usize = 1;
            const SHAPE: &'static SchemaShape = &SchemaShape::Logical {
                base: &SchemaShape::Primitive($avro),
                logical: $logical,
                precision: None,
                scale: None,
            };
            fn write_schema(w: &mut SchemaWriter) {
                w.raw(concat!("{\"type\":\"", $avro, "\",\"logicalType\":\"", $logical, "\"}"));
            }
            fn type_name(out: &mut String) {
                out.push_str(&$logical.replace('-', "_"));
            }
            #[inline]
            fn encode($v: &$ty, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                let n = $to.map_err(|reason: &'static str| {
                    EncodeError::new(EncodeErrorKind::OutOfRange {
                        value: format!("{reason}: {:?}", $v),
                        target: $logical,
                    })
                })?;
                $put(buf, n);
                Ok(())
            }
            #[inline]
            fn decode(input: &mut &[u8]) -> Result<$ty, DecodeError> {
                let $n = $get(input)?;
                $from.ok_or_else(|| DecodeError::Logical {
                    logical_type: $logical,
                    reason: format!("{} is out of range for {}", $n, stringify!($ty)),
                })
            }
        }
    };
}

/// The natural mapping of `$ty` is the logical type `$marker`.
#[allow(unused_macros)]
macro_rules! natural {
    ($ty:ty, $marker:ty) => {
        impl AvroType for $ty {
            const MIN_SIZE: usize = 1;
            const SHAPE: &'static SchemaShape = <$marker as Codec<$ty>>::SHAPE;
            fn write_schema(w: &mut SchemaWriter) {
                <$marker as Codec<$ty>>::write_schema(w)
            }
            fn type_name(out: &mut String) {
                <$marker as Codec<$ty>>::type_name(out)
            }
            #[inline]
            fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                <$marker as Codec<$ty>>::encode(self, buf)
            }
        }
        impl<'de> AvroDecode<'de> for $ty {
            #[inline]
            fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
                <$marker as Codec<$ty>>::decode(input)
            }
        }
    };
}

#[cfg(feature = "uuid")]
mod uuid_impl {
    use super::*;
    use uuid::Uuid;

    /// A UUID is a `string` with logical type `uuid`, written in the hyphenated lower-case form.
    impl AvroType for Uuid {
        const MIN_SIZE: usize = 37;
        const SHAPE: &'static SchemaShape = &SchemaShape::Logical {
            base: &SchemaShape::Primitive("string"),
            logical: "uuid",
            precision: None,
            scale: None,
        };
        fn write_schema(w: &mut SchemaWriter) {
            w.raw(r#"{"type":"string","logicalType":"uuid"}"#);
        }
        fn type_name(out: &mut String) {
            out.push_str("uuid");
        }
        #[inline]
        fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let s = self.hyphenated().encode_lower(&mut text);
            enc::put_str(buf, s);
            Ok(())
        }
    }

    impl<'de> AvroDecode<'de> for Uuid {
        #[inline]
        fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError> {
            let s = enc::get_str(input)?;
            Uuid::try_parse(s).map_err(|e| DecodeError::Logical { logical_type: "uuid", reason: e.to_string() })
        }
    }
}

#[cfg(feature = "chrono")]
mod chrono_impl {
    use super::*;
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

    const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

    numeric_logical!(
        TimestampMillis,
        DateTime<Utc>,
        "long",
        "timestamp-millis",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(v.timestamp_millis()),
        |n| DateTime::from_timestamp_millis(n)
    );
    numeric_logical!(
        TimestampMicros,
        DateTime<Utc>,
        "long",
        "timestamp-micros",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(v.timestamp_micros()),
        |n| DateTime::from_timestamp_micros(n)
    );
    numeric_logical!(
        LocalTimestampMillis,
        NaiveDateTime,
        "long",
        "local-timestamp-millis",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(v.and_utc().timestamp_millis()),
        |n| DateTime::from_timestamp_millis(n).map(|d| d.naive_utc())
    );
    numeric_logical!(
        LocalTimestampMicros,
        NaiveDateTime,
        "long",
        "local-timestamp-micros",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(v.and_utc().timestamp_micros()),
        |n| DateTime::from_timestamp_micros(n).map(|d| d.naive_utc())
    );
    numeric_logical!(
        Date,
        NaiveDate,
        "int",
        "date",
        enc::put_int,
        enc::get_int,
        |v| i32::try_from(v.signed_duration_since(EPOCH).num_days()).map_err(|_| "days out of int range"),
        |n| EPOCH.checked_add_signed(chrono::TimeDelta::days(i64::from(n)))
    );
    numeric_logical!(
        TimeMillis,
        NaiveTime,
        "int",
        "time-millis",
        enc::put_int,
        enc::get_int,
        |v| Ok::<i32, &'static str>(
            (v.num_seconds_from_midnight() * 1000 + v.nanosecond().min(999_999_999) / 1_000_000) as i32
        ),
        |n| u32::try_from(n)
            .ok()
            .and_then(|n| NaiveTime::from_num_seconds_from_midnight_opt(n / 1000, (n % 1000) * 1_000_000))
    );
    numeric_logical!(
        TimeMicros,
        NaiveTime,
        "long",
        "time-micros",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(
            i64::from(v.num_seconds_from_midnight()) * 1_000_000 + i64::from(v.nanosecond().min(999_999_999) / 1000)
        ),
        |n| u32::try_from(n / 1_000_000)
            .ok()
            .filter(|_| n >= 0)
            .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, ((n % 1_000_000) * 1000) as u32))
    );

    natural!(DateTime<Utc>, TimestampMillis);
    natural!(NaiveDateTime, LocalTimestampMillis);
    natural!(NaiveDate, Date);
    natural!(NaiveTime, TimeMillis);
}

#[cfg(feature = "time")]
mod time_impl {
    use super::*;
    use time::{Date as TDate, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

    fn floor_div(n: i128, d: i128) -> Result<i64, &'static str> {
        i64::try_from(n.div_euclid(d)).map_err(|_| "out of long range")
    }
    fn from_nanos(n: i128) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(n).ok()
    }
    fn local(v: &PrimitiveDateTime) -> i128 {
        v.assume_utc().unix_timestamp_nanos()
    }
    fn nanos_of_day(t: &Time) -> i64 {
        let (h, m, s, n) = t.as_hms_nano();
        (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000_000 + i64::from(n)
    }
    fn time_from_nanos(n: i64) -> Option<Time> {
        if !(0..86_400_000_000_000).contains(&n) {
            return None;
        }
        let secs = n / 1_000_000_000;
        Time::from_hms_nano(
            (secs / 3600) as u8,
            ((secs / 60) % 60) as u8,
            (secs % 60) as u8,
            (n % 1_000_000_000) as u32,
        )
        .ok()
    }

    numeric_logical!(
        TimestampMillis,
        OffsetDateTime,
        "long",
        "timestamp-millis",
        enc::put_long,
        enc::get_long,
        |v| floor_div(v.unix_timestamp_nanos(), 1_000_000),
        |n| from_nanos(i128::from(n) * 1_000_000)
    );
    numeric_logical!(
        TimestampMicros,
        OffsetDateTime,
        "long",
        "timestamp-micros",
        enc::put_long,
        enc::get_long,
        |v| floor_div(v.unix_timestamp_nanos(), 1_000),
        |n| from_nanos(i128::from(n) * 1_000)
    );
    numeric_logical!(
        LocalTimestampMillis,
        PrimitiveDateTime,
        "long",
        "local-timestamp-millis",
        enc::put_long,
        enc::get_long,
        |v| floor_div(local(v), 1_000_000),
        |n| from_nanos(i128::from(n) * 1_000_000).map(|d| {
            let d = d.to_offset(UtcOffset::UTC);
            PrimitiveDateTime::new(d.date(), d.time())
        })
    );
    numeric_logical!(
        LocalTimestampMicros,
        PrimitiveDateTime,
        "long",
        "local-timestamp-micros",
        enc::put_long,
        enc::get_long,
        |v| floor_div(local(v), 1_000),
        |n| from_nanos(i128::from(n) * 1_000).map(|d| {
            let d = d.to_offset(UtcOffset::UTC);
            PrimitiveDateTime::new(d.date(), d.time())
        })
    );
    numeric_logical!(
        Date,
        TDate,
        "int",
        "date",
        enc::put_int,
        enc::get_int,
        |v| Ok::<i32, &'static str>(v.to_julian_day() - 2_440_588),
        |n| n.checked_add(2_440_588).and_then(|j| TDate::from_julian_day(j).ok())
    );
    numeric_logical!(
        TimeMillis,
        Time,
        "int",
        "time-millis",
        enc::put_int,
        enc::get_int,
        |v| i32::try_from(nanos_of_day(v) / 1_000_000).map_err(|_| "out of int range"),
        |n| time_from_nanos(i64::from(n) * 1_000_000)
    );
    numeric_logical!(
        TimeMicros,
        Time,
        "long",
        "time-micros",
        enc::put_long,
        enc::get_long,
        |v| Ok::<i64, &'static str>(nanos_of_day(v) / 1_000),
        |n| n.checked_mul(1_000).and_then(time_from_nanos)
    );

    natural!(OffsetDateTime, TimestampMillis);
    natural!(PrimitiveDateTime, LocalTimestampMillis);
    natural!(TDate, Date);
    natural!(Time, TimeMillis);
}

/// `rust_decimal::Decimal` as `bytes` with logical type `decimal(P, S)`: the unscaled value in big-endian two's
/// complement, as few bytes as it takes. A value with more than `S` fractional digits (other than trailing zeros) or
/// more than `P` digits in all is an encode error, never a rounding.
#[cfg(feature = "rust_decimal")]
pub struct Decimal<const P: u32, const S: u32>;

#[cfg(feature = "rust_decimal")]
mod decimal_impl {
    use super::*;
    use rust_decimal::Decimal as RustDecimal;

    fn pow10(n: u32) -> Option<i128> {
        10i128.checked_pow(n)
    }

    impl<const P: u32, const S: u32> Decimal<P, S> {
        fn error(v: &RustDecimal, reason: &'static str) -> EncodeError {
            EncodeError::new(EncodeErrorKind::Decimal { value: v.to_string(), precision: P, scale: S, reason })
        }

        /// The unscaled value of `v` at scale `S`, checked against `P`.
        fn unscaled(v: &RustDecimal) -> Result<i128, EncodeError> {
            let scale = v.scale();
            let mantissa = v.mantissa();
            let unscaled = if scale > S {
                let factor = pow10(scale - S).ok_or_else(|| Self::error(v, "scale out of range"))?;
                if mantissa % factor != 0 {
                    return Err(Self::error(v, "more fractional digits than the scale"));
                }
                mantissa / factor
            } else {
                let factor = pow10(S - scale).ok_or_else(|| Self::error(v, "scale out of range"))?;
                mantissa.checked_mul(factor).ok_or_else(|| Self::error(v, "more digits than the precision"))?
            };
            match pow10(P) {
                Some(limit) if unscaled.abs() >= limit => Err(Self::error(v, "more digits than the precision")),
                _ => Ok(unscaled),
            }
        }
    }

    impl<const P: u32, const S: u32> Codec<RustDecimal> for Decimal<P, S> {
        const MIN_SIZE: usize = 1;
        const SHAPE: &'static SchemaShape = &SchemaShape::Logical {
            base: &SchemaShape::Primitive("bytes"),
            logical: "decimal",
            precision: Some(P as u64),
            scale: Some(S as u64),
        };
        fn write_schema(w: &mut SchemaWriter) {
            w.raw(&format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{P},"scale":{S}}}"#));
        }
        fn type_name(out: &mut String) {
            out.push_str(&format!("decimal_{P}_{S}"));
        }
        #[inline]
        fn encode(v: &RustDecimal, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let unscaled = Self::unscaled(v)?;
            let bytes = unscaled.to_be_bytes();
            // Drop leading bytes that only repeat the sign.
            let mut start = 0;
            while start < 15 {
                let (b, next) = (bytes[start], bytes[start + 1]);
                if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                    start += 1;
                } else {
                    break;
                }
            }
            enc::put_bytes(buf, &bytes[start..]);
            Ok(())
        }
        #[inline]
        fn decode(input: &mut &[u8]) -> Result<RustDecimal, DecodeError> {
            let bytes = enc::get_bytes(input)?;
            if bytes.is_empty() || bytes.len() > 16 {
                return Err(DecodeError::Logical {
                    logical_type: "decimal",
                    reason: format!("{} bytes of unscaled value (1 to 16 supported)", bytes.len()),
                });
            }
            let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
            let mut full = [fill; 16];
            full[16 - bytes.len()..].copy_from_slice(bytes);
            let unscaled = i128::from_be_bytes(full);
            // What the encoder refuses, the decoder refuses: a value with more digits than the precision.
            if pow10(P).is_some_and(|limit| unscaled.unsigned_abs() >= limit.unsigned_abs()) {
                return Err(DecodeError::Logical {
                    logical_type: "decimal",
                    reason: format!("{unscaled} has more digits than the precision {P}"),
                });
            }
            RustDecimal::try_from_i128_with_scale(unscaled, S)
                .map_err(|e| DecodeError::Logical { logical_type: "decimal", reason: e.to_string() })
        }
    }
}
