//! Contract tests of typed topics against committed `vN.avsc` files: missing, blessed, holding, drifted with the
//! first differing path, blessed again as the next version.

#![cfg(feature = "registry")]
#![allow(clippy::unwrap_used)]

use typed_kafka::KafkaRecord;
use typed_kafka::contract::{ContractError, ContractOutcome, verify_in};

mod v1 {
    use typed_kafka::KafkaRecord;

    /// An order.
    #[derive(KafkaRecord)]
    #[kafka(namespace = "shop")]
    pub(crate) struct Order {
        pub(crate) id: String,
        pub(crate) total: i64,
    }

    #[derive(KafkaRecord)]
    #[kafka(namespace = "shop")]
    pub(crate) struct CustomerKey {
        pub(crate) customer: String,
    }

    typed_kafka::topic! { pub(crate) ORDERS: "orders", key: avro CustomerKey, value: Order; }
}

mod v2 {
    use typed_kafka::KafkaRecord;

    /// An order, with a note.
    #[derive(KafkaRecord)]
    #[kafka(namespace = "shop")]
    pub(crate) struct Order {
        pub(crate) id: String,
        pub(crate) total: i64,
        pub(crate) note: Option<String>,
    }

    pub(crate) use super::v1::CustomerKey;

    typed_kafka::topic! { pub(crate) ORDERS: "orders", key: avro CustomerKey, value: Order; }
}

/// Only the documentation differs from v1.
mod v1_redoc {
    use typed_kafka::KafkaRecord;

    /// An order (reworded).
    #[derive(KafkaRecord)]
    #[kafka(namespace = "shop")]
    pub(crate) struct Order {
        /// The order's ID.
        pub(crate) id: String,
        pub(crate) total: i64,
    }

    pub(crate) use super::v1::CustomerKey;

    typed_kafka::topic! { pub(crate) ORDERS: "orders", key: avro CustomerKey, value: Order; }
}

#[test]
fn contracts_are_written_by_bless_and_checked_by_the_test() {
    let dir = std::env::temp_dir().join(format!("typed-kafka-contract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    match verify_in::<v1::ORDERS>(&dir, false) {
        Err(ContractError::Missing { subject, .. }) => assert_eq!(subject, "orders-key"),
        other => panic!("expected a missing contract, got {other:?}"),
    }
    let ContractOutcome::Written(files) = verify_in::<v1::ORDERS>(&dir, true).unwrap() else { panic!() };
    assert_eq!(files, [dir.join("orders-key/v1.avsc"), dir.join("orders-value/v1.avsc")]);
    let written = std::fs::read_to_string(dir.join("orders-value/v1.avsc")).unwrap();
    assert!(written.contains("\"doc\": \"An order.\"") && written.ends_with("}\n"), "pretty JSON with docs: {written}");
    assert_eq!(verify_in::<v1::ORDERS>(&dir, false).unwrap(), ContractOutcome::Holds);
    assert_eq!(verify_in::<v1_redoc::ORDERS>(&dir, false).unwrap(), ContractOutcome::Holds, "docs do not count");

    let e = verify_in::<v2::ORDERS>(&dir, false).unwrap_err();
    let text = e.to_string();
    match &e {
        ContractError::Drifted { subject, path, .. } => {
            assert_eq!(subject, "orders-value");
            assert_eq!(path, "/fields/note");
        }
        other => panic!("expected drift, got {other:?}"),
    }
    assert!(text.contains("orders-value/v1.avsc") && text.contains("cargo contracts bless"), "{text}");
    let ContractOutcome::Written(files) = verify_in::<v2::ORDERS>(&dir, true).unwrap() else { panic!() };
    assert_eq!(files, [dir.join("orders-value/v2.avsc")], "only the drifted subject gets a new version");
    assert_eq!(verify_in::<v2::ORDERS>(&dir, false).unwrap(), ContractOutcome::Holds);
    assert!(v2::Order::schema().is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
