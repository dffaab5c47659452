"""A Python consumer (confluent-kafka) reading typed-kafka's records, for tests/tests/otel.rs: each record's headers
go through OpenTelemetry's Python propagator (opentelemetry-api, W3C trace context). Reads JSON from stdin:
{"bootstrap": "...", "topic": "...", "count": N}; writes {"<key>": ["<trace id hex>", "<span id hex>"], ...}."""

import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from opentelemetry import trace
from opentelemetry.propagate import extract


def main():
    request = json.load(sys.stdin)
    consumer = Consumer(
        {
            "bootstrap.servers": request["bootstrap"],
            "group.id": "otel-python-check",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    metadata = consumer.list_topics(request["topic"], timeout=30)
    partitions = metadata.topics[request["topic"]].partitions
    consumer.assign([TopicPartition(request["topic"], p, 0) for p in partitions])
    out = {}
    deadline = time.time() + 60
    while len(out) < request["count"] and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        carrier = {k: v.decode("utf-8") for k, v in (message.headers() or []) if v is not None}
        context = trace.get_current_span(extract(carrier)).get_span_context()
        out[message.key().decode("utf-8")] = [
            format(context.trace_id, "032x"),
            format(context.span_id, "016x"),
        ]
    consumer.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
