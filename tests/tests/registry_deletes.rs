//! Deleting subjects and versions against the real registry of the local stack, in a test binary of its own.
//!
//! Apicurio sweeps every orphaned content row (content no version points at yet) each time it deletes an artifact
//! or a version. A schema being registered at that moment by another test has its content row written before its
//! version row, so the sweep can take it: the registration answers with an ID that `GET /schemas/ids/{id}` then
//! does not find. Cargo runs test binaries one after another, so deleting here never overlaps another test's
//! registration. Other test binaries do not delete: their subjects are unique names and need no cleanup.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use typed_kafka::registry::client::{DeleteMode, Normalization, UnregisteredSchema, Version};
use typed_kafka::{RegistryError, SchemaRegistryClient};
use typed_kafka_tests::unique;

fn client() -> SchemaRegistryClient {
    typed_kafka_tests::registry_client()
}

fn avro(fields: &str) -> UnregisteredSchema {
    UnregisteredSchema::avro(format!(
        r#"{{"type":"record","name":"Thing","namespace":"it.registry","fields":[{{"name":"id","type":"long"}}{fields}]}}"#
    ))
}

#[tokio::test]
async fn subjects_and_versions_can_be_soft_and_hard_deleted() {
    let c = client();
    let subject = unique("it-delete-value");
    c.register(&subject, &avro(""), Normalization::AsGiven).await.unwrap();
    c.register(&subject, &avro(r#",{"name":"a","type":"int","default":0}"#), Normalization::AsGiven).await.unwrap();
    assert_eq!(c.versions(&subject).await.unwrap(), vec![1, 2]);

    assert_eq!(c.delete_version(&subject, 2, DeleteMode::Soft).await.unwrap(), 2);
    assert_eq!(c.versions(&subject).await.unwrap(), vec![1]);

    assert_eq!(c.delete_subject(&subject, DeleteMode::Soft).await.unwrap(), vec![1]);
    assert!(!c.subjects().await.unwrap().contains(&subject), "a soft-deleted subject is not listed");
    // Confluent requires a soft delete before a hard one; then the subject is gone for good.
    match c.delete_subject(&subject, DeleteMode::Permanent).await {
        Ok(_) => {}
        // Apicurio may already have removed a soft-deleted subject entirely.
        Err(RegistryError::SubjectNotFound { .. }) => {}
        Err(e) => panic!("hard delete: {e}"),
    }
    assert!(matches!(c.version(&subject, Version::Latest).await, Err(RegistryError::SubjectNotFound { .. })));
}
