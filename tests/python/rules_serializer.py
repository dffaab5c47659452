"""Confluent's Python AvroSerializer, end to end, for typed-kafka's differential test: with the latest schema of a
subject (registered by typed-kafka, with its confluent:rules) and validation.rules.execution on, it serializes
each value or refuses it. Reads JSON from stdin: {"registry": "<url>", "topic": "<topic>", "schema": "<Avro
schema text>", "values": ["<hex of the Avro body>", ...]}; writes {"verdicts": [null | "<error>", ...]}."""

import io
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import fastavro  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroSerializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402


def main():
    request = json.load(sys.stdin)
    client = SchemaRegistryClient({"url": request["registry"]})
    serializer = AvroSerializer(
        client,
        None,
        conf={
            "auto.register.schemas": False,
            "use.latest.version": True,
            "validation.rules.execution": "BEFORE_DOMAIN_RULES",
        },
    )
    parsed = fastavro.parse_schema(json.loads(request["schema"]))
    ctx = SerializationContext(request["topic"], MessageField.VALUE)
    verdicts = []
    for encoded in request["values"]:
        value = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(encoded)), parsed, None)
        try:
            serializer(value, ctx)
            verdicts.append(None)
        except Exception as e:  # SerializationError listing every violation
            verdicts.append(f"{type(e).__name__}: {e}")
    json.dump({"verdicts": verdicts}, sys.stdout)


if __name__ == "__main__":
    main()
