//! Creating topics, for set-up code and examples (Java's `AdminClient.createTopics`).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;

use crate::config::ProducerConfig;

/// A topic that could not be created.
#[derive(Debug, Clone, thiserror::Error)]
#[error("creating topic {topic}: {message}")]
#[non_exhaustive]
pub struct AdminError {
    /// The topic.
    pub topic: String,
    /// What failed.
    pub message: String,
    retriable: bool,
}

fn transient(code: Option<RDKafkaErrorCode>) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        Some(
            RequestTimedOut
                | OperationTimedOut
                | NotController
                | BrokerTransportFailure
                | AllBrokersDown
                | NetworkException
        )
    )
}

impl AdminError {
    /// Whether trying again may succeed (a timeout, a controller move, a lost connection).
    pub fn is_retriable(&self) -> bool {
        self.retriable
    }
}

/// Creates `topic` with `partitions` partitions and `replication` replicas, and waits for the controller to
/// confirm it, in the cluster (and with the security settings) of `config`. Returns `false` if it existed already.
pub async fn ensure_topic(
    config: &ProducerConfig,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<bool, AdminError> {
    let error = |message: String, code: Option<RDKafkaErrorCode>| AdminError {
        topic: topic.to_string(),
        message,
        retriable: transient(code),
    };
    let mut cc = ClientConfig::new();
    for (k, v) in config.librdkafka_properties() {
        if k == "bootstrap.servers"
            || k == "client.id"
            || k.starts_with("security.")
            || k.starts_with("sasl.")
            || k.starts_with("ssl.")
        {
            cc.set(k, v);
        }
    }
    let admin: AdminClient<DefaultClientContext> =
        cc.create().map_err(|e| error(e.to_string(), e.rdkafka_error_code()))?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let results = admin.create_topics([&new], &opts).await.map_err(|e| error(e.to_string(), e.rdkafka_error_code()))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => Err(error(code.to_string(), Some(code))),
        None => Err(error("no answer from the cluster".to_string(), None)),
    }
}
