"""fastavro's Avro JSON encoding, for typed-kafka's differential test of its own (tests/tests/avro_json.rs). Reads
JSON from stdin: {"schema": "<Avro schema text>", "values": ["<hex of the Avro body>", ...]}; decodes each value
with fastavro and writes it with fastavro's json_writer (the specification's JSON encoding); writes {"json":
["<one value's Avro JSON>", ...]}."""

import io
import json
import sys

import fastavro
from fastavro.json_write import json_writer


def main():
    request = json.load(sys.stdin)
    parsed = fastavro.parse_schema(json.loads(request["schema"]))
    out = []
    for encoded in request["values"]:
        value = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(encoded)), parsed, None)
        buffer = io.StringIO()
        json_writer(buffer, parsed, [value])
        out.append(buffer.getvalue().strip())
    json.dump({"json": out}, sys.stdout)


if __name__ == "__main__":
    main()
