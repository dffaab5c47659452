"""The verdicts of Confluent's Python client on inline validation rules (confluent:rules), for typed-kafka's
differential test. Reads JSON from stdin: {"cases": [{"schema": "<Avro schema text>", "values": ["<hex of the Avro
body>", ...]}]}; decodes each value with fastavro as Python's deserializer would, runs confluent_kafka's
validate_message with its CEL validator, and writes {"verdicts": [[[[rule, path], ...] per value] per case]}
(["raised", message] where the client itself raised on a value)."""

import io
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import fastavro  # noqa: E402
from fastavro.schema import expand_schema  # noqa: E402
from confluent_kafka.schema_registry.common.avro import validate_message  # noqa: E402
from confluent_kafka.schema_registry.rules.cel.cel_validator import CelValidator  # noqa: E402


def main():
    request = json.load(sys.stdin)
    validator = CelValidator()
    verdicts = []
    for case in request["cases"]:
        parsed = fastavro.parse_schema(json.loads(case["schema"]))
        # As Confluent's AvroSerializer validates: against the parsed schema with named types expanded.
        schema = expand_schema(parsed)
        per_value = []
        for encoded in case["values"]:
            value = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(encoded)), parsed, None)
            try:
                broken = validate_message(validator, schema, value)
                per_value.append(sorted([e.rule.name, e.field_path or ""] for e in broken))
            except Exception as e:  # the client itself failed on the value: a difference to report, not a crash
                per_value.append([["raised", f"{type(e).__name__}: {e}"]])
        verdicts.append(per_value)
    json.dump({"verdicts": verdicts}, sys.stdout)


if __name__ == "__main__":
    main()
