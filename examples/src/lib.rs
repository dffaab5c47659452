//! Runnable examples for typed-kafka: see `examples/*.rs` (`cargo run --example quickstart`). The record types and
//! topics the examples share live here, so that their contracts under `schemas/` are checked by `cargo test`.

pub mod shop {
    //! The quickstart's shop: orders keyed by customer.

    use chrono::{DateTime, Utc};
    use typed_kafka::KafkaRecord;
    use uuid::Uuid;

    /// Where an order stands.
    #[derive(KafkaRecord, Debug, Clone, Copy, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub enum Status {
        /// Placed, not paid yet.
        Placed,
        /// Paid.
        Paid,
    }

    /// A line of an order.
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub struct Line {
        pub sku: String,
        pub quantity: u32,
        /// Unit price in cents.
        pub unit_cents: u64,
    }

    /// An order, as the shop publishes it.
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub struct Order {
        /// Unique id.
        pub id: Uuid,
        pub lines: Vec<Line>,
        pub total_cents: u64,
        pub status: Status,
        pub placed_at: DateTime<Utc>,
        /// Free text from the customer.
        pub note: Option<String>,
    }

    typed_kafka::topic! {
        /// Orders, keyed by customer name (as Java's StringSerializer writes it, so Java producers of the same topic
        /// put each customer's orders on the same partition).
        pub ORDERS: "quickstart-orders", key: String, value: Order;
    }
}

pub mod pipeline {
    //! A consume-transform-produce job with exactly-once output: it reads orders, writes an invoice for each, and
    //! commits the orders' positions in the same transaction as the invoices. Killed at any point and started
    //! again, it writes each order's invoice once as `read_committed` consumers see it (`examples/exactly_once.rs`
    //! runs it; the integration tests kill it with SIGKILL mid-stream).

    use std::error::Error;
    use std::time::{Duration, Instant};

    use typed_kafka::config::ProducerConfig;
    use typed_kafka::consumer::{IsolationLevel, TypedConsumer};
    use typed_kafka::producer::Transaction;
    use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
    use uuid::Uuid;

    use crate::shop::{ORDERS, Order};

    /// An order's invoice.
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub struct Invoice {
        /// The order's id.
        pub order: Uuid,
        /// The order's total with 20% tax, in cents.
        pub total_with_tax_cents: u64,
        /// How many lines the order had.
        pub lines: u32,
    }

    typed_kafka::topic! {
        /// Invoices, keyed by customer as their orders are.
        pub INVOICES: "quickstart-invoices", key: String, value: Invoice;
    }

    /// Where the job reads and writes, and how.
    #[derive(Debug, Clone)]
    pub struct Job {
        pub bootstrap_servers: String,
        pub registry_url: String,
        /// The orders topic's name.
        pub input: String,
        /// The invoices topic's name.
        pub output: String,
        /// The consumer group whose positions the transactions commit.
        pub group: String,
        /// The producer's `transactional.id`: the same for every run of this job, so that a new run fences what
        /// is left of a killed one.
        pub transactional_id: String,
        /// The most orders per transaction.
        pub batch: usize,
        /// How long without an order before the job ends.
        pub idle: Duration,
    }

    /// What one run of the job did.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct Report {
        /// Transactions committed.
        pub committed: u64,
        /// Transactions aborted (and their orders read again).
        pub aborted: u64,
        /// Orders whose invoices were committed.
        pub orders: u64,
    }

    type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

    /// The invoice of `order`.
    pub fn invoice(order: &Order) -> Invoice {
        Invoice {
            order: order.id,
            total_with_tax_cents: order.total_cents.saturating_mul(12) / 10,
            lines: order.lines.len().min(u32::MAX as usize) as u32,
        }
    }

    /// Commits `txn`, again after a retriable failure (up to three times); aborts it when it cannot commit.
    /// `Ok(false)`: aborted.
    async fn commit(mut txn: Transaction) -> Result<bool> {
        for _ in 0..3 {
            match txn.commit(Duration::from_secs(60)).await {
                Ok(()) => return Ok(true),
                Err(e) if e.is_fatal() => return Err(Box::new(e)),
                Err(e) => {
                    let retriable = e.is_retriable();
                    let Some(back) = e.into_transaction() else { return Ok(false) };
                    if !retriable {
                        back.abort(Duration::from_secs(60)).await?;
                        return Ok(false);
                    }
                    txn = back;
                }
            }
        }
        txn.abort(Duration::from_secs(60)).await?;
        Ok(false)
    }

    /// Runs the job until no order arrived for `job.idle`.
    pub async fn run(job: &Job) -> Result<Report> {
        let registry = SchemaRegistryClient::builder([job.registry_url.clone()]).build()?;
        let config = ProducerConfig::builder(job.bootstrap_servers.as_str())
            .set("transactional.id", job.transactional_id.as_str())
            .build()?;
        let producer = Producer::builder(config).registry(registry.clone()).build()?;
        // Fences a killed run's producer and aborts what it left open, before any order is read.
        producer.init_transactions(Duration::from_secs(60)).await?;
        let invoices = producer.topic(INVOICES).name(&job.output).bind().await?;
        let orders = TypedConsumer::<ORDERS, Order>::builder(job.bootstrap_servers.as_str(), registry)
            .name(&job.input)
            .group_id(job.group.as_str())
            // A new run takes the killed one's place in the group at once (static membership).
            .set("group.instance.id", job.transactional_id.as_str())
            .set("session.timeout.ms", "10000")
            .isolation_level(IsolationLevel::ReadCommitted)
            .build()?;
        orders.subscribe()?;

        let mut report = Report::default();
        let mut last_order = Instant::now();
        loop {
            // Begin only once there is an order to process.
            let Some(first) = orders.poll(Duration::from_millis(500)).await else {
                if last_order.elapsed() >= job.idle {
                    break;
                }
                continue;
            };
            last_order = Instant::now();
            let txn = producer.begin().await?;
            let mut count = 0u64;
            let mut next = Some(first);
            while let Some(read) = next {
                let read = read?;
                if let Some(order) = &read.value {
                    let key = read.key.clone().unwrap_or_default();
                    // An invoice refused (it breaks its schema) is this job's bug: stop before committing anything.
                    invoices.send_and_forget(Record::new(invoice(order)).key(key)).await?;
                }
                count += 1;
                if count as usize >= job.batch {
                    break;
                }
                next = orders.poll(Duration::from_millis(50)).await;
            }
            txn.send_offsets(&orders, Duration::from_secs(30)).await?;
            if commit(txn).await? {
                report.committed += 1;
                report.orders += count;
            } else {
                // This batch is done again from the last committed positions.
                orders.rewind().await?;
                report.aborted += 1;
            }
        }
        producer.close(Duration::from_secs(30)).await;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    // The derived schemas are still the committed contracts (schemas/quickstart-orders-value/).
    typed_kafka::contract_test!(quickstart_orders_contract: crate::shop::ORDERS);
}
