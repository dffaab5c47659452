//! Logical types of every kind, for chrono and time: the schema's `logicalType`, round trips, and apache-avro reading
//! our bytes as the logical value it should be (instants before the epoch included).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use typed_kafka::avro::schema::resolution_form;
use typed_kafka::{AvroDecode, DecodeError, KafkaRecord};

#[derive(KafkaRecord, Debug, PartialEq)]
struct ChronoTimes {
    at: DateTime<Utc>,
    #[kafka(logical = "timestamp-micros")]
    at_micros: DateTime<Utc>,
    local: NaiveDateTime,
    #[kafka(logical = "local-timestamp-micros")]
    local_micros: NaiveDateTime,
    day: NaiveDate,
    time: NaiveTime,
    #[kafka(logical = "time-micros")]
    time_micros: NaiveTime,
    maybe_at: Option<DateTime<Utc>>,
    #[kafka(logical = "timestamp-micros")]
    many_micros: Vec<DateTime<Utc>>,
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct TimeCrateTimes {
    at: time::OffsetDateTime,
    #[kafka(logical = "timestamp-micros")]
    at_micros: time::OffsetDateTime,
    local: time::PrimitiveDateTime,
    #[kafka(logical = "local-timestamp-micros")]
    local_micros: time::PrimitiveDateTime,
    day: time::Date,
    time: time::Time,
    #[kafka(logical = "time-micros")]
    time_micros: time::Time,
}

fn logical_types<T: KafkaRecord>() -> Vec<serde_json::Value> {
    // The compile-time shape (what `topic!` checks contracts with) stands for the same schema.
    let shape = typed_kafka::avro::schema::shape::to_json(T::SHAPE).unwrap();
    assert_eq!(resolution_form(&shape.to_string()).unwrap(), resolution_form(T::schema().unwrap().json()).unwrap());
    let schema: serde_json::Value = serde_json::from_str(T::schema().unwrap().json()).unwrap();
    schema["fields"].as_array().unwrap().iter().map(|f| f["type"].clone()).collect()
}

fn read_by_apache_avro<T: KafkaRecord>(bytes: &[u8]) -> Vec<Value> {
    let info = T::schema().unwrap();
    match GenericDatumReader::builder(&apache(info)).build().unwrap().read_value(&mut &bytes[..]).unwrap() {
        Value::Record(fields) => fields.into_iter().map(|(_, v)| v).collect(),
        other => panic!("not a record: {other:?}"),
    }
}

fn encode<T: KafkaRecord>(v: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    buf
}

#[test]
fn chrono_types_map_to_every_logical_type() {
    let types = logical_types::<ChronoTimes>();
    let logical: Vec<&str> = types[..7].iter().map(|t| t["logicalType"].as_str().unwrap()).collect();
    assert_eq!(
        logical,
        [
            "timestamp-millis",
            "timestamp-micros",
            "local-timestamp-millis",
            "local-timestamp-micros",
            "date",
            "time-millis",
            "time-micros"
        ]
    );
    assert_eq!(types[5]["type"], "int");
    assert_eq!(types[6]["type"], "long");
    assert_eq!(types[7], serde_json::json!(["null", {"type": "long", "logicalType": "timestamp-millis"}]));
    assert_eq!(
        types[8],
        serde_json::json!({"type": "array", "items": {"type": "long", "logicalType": "timestamp-micros"}})
    );

    // 1969-12-31T23:59:59.998Z and .999999: before the epoch, so negative.
    let at = DateTime::from_timestamp_millis(-2).unwrap();
    let at_micros = DateTime::from_timestamp_micros(-1).unwrap();
    let local = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_milli_opt(23, 59, 59, 999).unwrap();
    let local_micros = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap().and_hms_micro_opt(0, 0, 0, 1).unwrap();
    let day = NaiveDate::from_ymd_opt(1960, 6, 15).unwrap();
    let time = NaiveTime::from_hms_milli_opt(13, 45, 30, 250).unwrap();
    let time_micros = NaiveTime::from_hms_micro_opt(0, 0, 1, 7).unwrap();
    let v = ChronoTimes {
        at,
        at_micros,
        local,
        local_micros,
        day,
        time,
        time_micros,
        maybe_at: Some(at),
        many_micros: vec![at_micros, DateTime::from_timestamp_micros(1_795_300_000_123_456).unwrap()],
    };
    let bytes = encode(&v);
    assert_eq!(ChronoTimes::decode_body(&bytes).unwrap(), v);

    let read = read_by_apache_avro::<ChronoTimes>(&bytes);
    assert_eq!(read[0], Value::TimestampMillis(-2));
    assert_eq!(read[1], Value::TimestampMicros(-1));
    assert_eq!(read[2], Value::LocalTimestampMillis(local.and_utc().timestamp_millis()));
    assert_eq!(read[3], Value::LocalTimestampMicros(local_micros.and_utc().timestamp_micros()));
    assert_eq!(read[4], Value::Date(-3487));
    assert_eq!(read[5], Value::TimeMillis(((13 * 60 + 45) * 60 + 30) * 1000 + 250));
    assert_eq!(read[6], Value::TimeMicros(1_000_007));
}

#[test]
fn time_crate_types_map_to_the_same_logical_types_and_bytes() {
    use time::macros::{date, datetime, time};
    assert_eq!(logical_types::<TimeCrateTimes>(), logical_types::<ChronoTimes>()[..7]);

    let v = TimeCrateTimes {
        at: datetime!(1969-12-31 23:59:59.998 UTC),
        at_micros: datetime!(1969-12-31 23:59:59.999999 UTC),
        local: datetime!(2024-02-29 23:59:59.999),
        local_micros: datetime!(1900-01-01 0:00:00.000001),
        day: date!(1960 - 06 - 15),
        time: time!(13:45:30.25),
        time_micros: time!(0:00:01.000007),
    };
    let bytes = encode(&v);
    assert_eq!(TimeCrateTimes::decode_body(&bytes).unwrap(), v);

    // Byte for byte what the chrono fields of the same instants write.
    let chrono = ChronoTimes {
        at: DateTime::from_timestamp_millis(-2).unwrap(),
        at_micros: DateTime::from_timestamp_micros(-1).unwrap(),
        local: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_milli_opt(23, 59, 59, 999).unwrap(),
        local_micros: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap().and_hms_micro_opt(0, 0, 0, 1).unwrap(),
        day: NaiveDate::from_ymd_opt(1960, 6, 15).unwrap(),
        time: NaiveTime::from_hms_milli_opt(13, 45, 30, 250).unwrap(),
        time_micros: NaiveTime::from_hms_micro_opt(0, 0, 1, 7).unwrap(),
        maybe_at: None,
        many_micros: vec![],
    };
    let chrono_bytes = encode(&chrono);
    assert_eq!(bytes[..], chrono_bytes[..bytes.len()]);
}

#[test]
fn sub_unit_digits_are_floored_like_javas_instant() {
    // 1.5 ms before the epoch is -2 ms, as Instant.toEpochMilli floors.
    let v = TimeCrateTimes {
        at: time::OffsetDateTime::from_unix_timestamp_nanos(-1_500_000).unwrap(),
        at_micros: time::OffsetDateTime::UNIX_EPOCH,
        local: time::macros::datetime!(1970-01-01 0:00),
        local_micros: time::macros::datetime!(1970-01-01 0:00),
        day: time::macros::date!(1970 - 01 - 01),
        time: time::Time::MIDNIGHT,
        time_micros: time::Time::MIDNIGHT,
    };
    let read = read_by_apache_avro::<TimeCrateTimes>(&encode(&v));
    assert_eq!(read[0], Value::TimestampMillis(-2));
}

#[test]
fn impossible_logical_values_are_decode_errors() {
    // A date of i32::MAX days is beyond what chrono can represent.
    let mut buf = Vec::new();
    typed_kafka::avro::codec::encoding::put_int(&mut buf, i32::MAX);
    let logical = |r: Result<_, DecodeError>, expected: &str| match r {
        Err(DecodeError::Logical { logical_type, .. }) => assert_eq!(logical_type, expected),
        other => panic!("expected an invalid {expected}, got {:?}", other.map(|_: ()| ())),
    };
    logical(<NaiveDate as AvroDecode>::decode(&mut buf.as_slice()).map(|_| ()), "date");
    // A time-millis past midnight.
    let mut buf = Vec::new();
    typed_kafka::avro::codec::encoding::put_int(&mut buf, 86_400_000);
    logical(<NaiveTime as AvroDecode>::decode(&mut buf.as_slice()).map(|_| ()), "time-millis");
    logical(<time::Time as AvroDecode>::decode(&mut buf.as_slice()).map(|_| ()), "time-millis");
}

/// apache-avro's parse of a derived schema's JSON (apache-avro is the independent oracle here).
fn apache(info: &typed_kafka::SchemaInfo) -> apache_avro::Schema {
    apache_avro::Schema::parse_str(info.json()).unwrap()
}
