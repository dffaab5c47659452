//! Bytes written through a projection into another schema are that schema's bytes: apache-avro, an independent
//! implementation, decodes them under it to the expected value.

#![allow(clippy::unwrap_used)]

use apache_avro::types::Value;
use typed_kafka::KafkaRecord;
use typed_kafka::avro::resolve::Resolver;
use typed_kafka::avro::schema::Schema;

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "proj")]
enum Size {
    S,
    M,
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "proj")]
struct Item {
    qty: i32,
    size: Size,
    label: Option<String>,
}

/// The registered schema: qty widened to double, a field added with a default, the optional label required, the
/// enum with one more symbol and another order, the fields reordered.
const REGISTERED: &str = r#"{"type":"record","name":"Item","namespace":"proj","fields":[
    {"name":"label","type":"string"},
    {"name":"size","type":{"type":"enum","name":"Size","symbols":["XL","M","S"]}},
    {"name":"origin","type":"string","default":"EU"},
    {"name":"qty","type":"double"}]}"#;

#[test]
fn projected_bytes_decode_with_apache_avro_under_the_registered_schema() {
    let registered = Schema::parse(REGISTERED).unwrap();
    let projection = Resolver::projecting(Item::schema().unwrap().schema(), &registered).unwrap();
    let item = Item { qty: 3, size: Size::M, label: Some("box".into()) };
    let mut own = Vec::new();
    item.encode_body(&mut own).unwrap();
    let mut projected = Vec::new();
    projection.project(&own, &mut projected).unwrap();

    let apache = apache_avro::Schema::parse_str(REGISTERED).unwrap();
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&apache)
        .build()
        .unwrap()
        .read_value(&mut projected.as_slice())
        .unwrap();
    assert_eq!(
        value,
        Value::Record(vec![
            ("label".into(), Value::String("box".into())),
            ("size".into(), Value::Enum(1, "M".into())),
            ("origin".into(), Value::String("EU".into())),
            ("qty".into(), Value::Double(3.0)),
        ])
    );
    // Without a label the value has no place in the registered schema.
    let mut own = Vec::new();
    Item { label: None, ..item }.encode_body(&mut own).unwrap();
    assert!(projection.project(&own, &mut Vec::new()).is_err());
    assert_eq!(projection.violations(&own)[0].path, "/label");
}
