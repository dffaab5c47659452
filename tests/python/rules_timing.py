"""Confluent's Python client validating one record's inline rules (confluent:rules) again and again, for typed-kafka's
rules benchmark. Reads JSON from stdin: {"schema": "<Avro schema text>", "value": "<hex of the Avro body>",
"records": N}; decodes the value with fastavro once, checks that every rule holds, then times N calls of
validate_message with its CEL validator (programs cached after the first) and writes {"seconds_per_record": s}."""

import io
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import fastavro  # noqa: E402
from confluent_kafka.schema_registry.common.avro import validate_message  # noqa: E402
from confluent_kafka.schema_registry.rules.cel.cel_validator import CelValidator  # noqa: E402


def main():
    request = json.load(sys.stdin)
    schema = json.loads(request["schema"])
    value = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(request["value"])), fastavro.parse_schema(schema), None)
    validator = CelValidator()
    broken = validate_message(validator, schema, value)
    if broken:
        raise SystemExit(f"the record breaks rules: {broken}")
    n = int(request["records"])
    start = time.process_time()
    for _ in range(n):
        validate_message(validator, schema, value)
    json.dump({"seconds_per_record": (time.process_time() - start) / n}, sys.stdout)


if __name__ == "__main__":
    main()
