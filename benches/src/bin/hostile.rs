//! Runs one hostile-input case from the two hostile-input reports and prints what happened and how long it took;
//! run each case in its own process under `/usr/bin/time -v` to read its peak memory (see `benches/README.md`):
//!
//! ```sh
//! cargo build --release -p typed-kafka-benches --features registry-bench --bin hostile
//! for c in recursion zero-size-blocks skip-only nested-arrays chunked-2gib schema-200mb error-50mb drip redirect-loop \
//!     chain-15000 skip-i64max plan-doubling-28 enum-1m plans-40 references-40 slow-references-10 boxed-zero-size \
//!     union-100k compat-union-4000; do
//!   /usr/bin/time -v target/release/hostile $c 2>&1 | grep -E "^case|Maximum resident"
//! done
//! ```
//!
//! The registry cases run against a local fake server on 127.0.0.1 that this program starts (bounded in time).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use typed_kafka::{KafkaRecord, SchemaId, SchemaRegistryClient};

#[derive(KafkaRecord, Debug)]
enum Expr {
    Lit { v: i64 },
    Neg { e: Box<Expr> },
}

#[derive(KafkaRecord, Debug)]
struct Nulls {
    items: Vec<()>,
}

/// 0 bytes of Avro, 64 bytes of Rust: the field exists only for its size.
#[derive(KafkaRecord, Debug, Default)]
struct Padding {
    #[kafka(skip)]
    #[allow(dead_code)]
    pad: [u64; 8],
}

#[derive(KafkaRecord, Debug)]
struct Paddings {
    items: Vec<Padding>,
}

#[derive(KafkaRecord, Debug)]
enum Call {
    Leaf { v: i64 },
    Call { name: String, args: Vec<Call> },
}

/// 0 bytes of Avro, 512 bytes of Rust, behind a pointer.
#[derive(KafkaRecord, Debug)]
struct Boxed {
    #[allow(clippy::vec_box)] // the pointer is the case
    items: Vec<Box<Wide>>,
}

#[derive(KafkaRecord, Debug, Default)]
struct Wide {
    #[kafka(skip)]
    #[allow(dead_code)]
    pad: [[u64; 32]; 2],
}

/// The reading type of the registry cases of the second report.
#[derive(KafkaRecord, Debug)]
struct Reading {
    #[allow(dead_code)]
    v: i32,
}

/// A registry whose answers `route` writes from the request's path, each connection on its own thread.
fn serve_routes(route: impl Fn(&str) -> (Duration, String) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let route = std::sync::Arc::new(route);
    std::thread::spawn(move || {
        for conn in listener.incoming().take(512) {
            let Ok(mut conn) = conn else { return };
            let route = route.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let (pause, body) = route(&path);
                std::thread::sleep(pause);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

/// A schema by ID answer: `schema` with `references` (name, subject) at version 1.
fn by_id(schema: &str, references: &[(String, String)]) -> String {
    let refs: Vec<serde_json::Value> = references
        .iter()
        .map(|(name, subject)| serde_json::json!({"name": name, "subject": subject, "version": 1}))
        .collect();
    serde_json::json!({"schema": schema, "references": refs}).to_string()
}

/// Deserializes `messages` framed `Reading`s with schema IDs `ids` (cycled) through a registry at `url`.
fn deserialize_case(url: String, ids: &[u32], messages: usize) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let client = SchemaRegistryClient::builder([url]).build().expect("a client");
    let de = typed_kafka::registry::AvroDeserializer::<Reading>::new(client.clone()).expect("a deserializer");
    let mut last = String::new();
    let mut errors = 0;
    for i in 0..messages {
        let mut payload = Vec::new();
        typed_kafka::avro::wire::write_header(&mut payload, SchemaId(ids[i % ids.len()]));
        payload.push(2);
        match rt.block_on(de.deserialize("t", &payload)) {
            Ok(_) => last = "read".into(),
            Err(e) => {
                errors += 1;
                last = format!(
                    "error ({} bytes): {}",
                    e.to_string().len(),
                    e.to_string().chars().take(140).collect::<String>()
                );
            }
        }
    }
    format!("{messages} messages, {errors} errors, last: {last}; {} HTTP requests", client.stats().http_requests)
}

/// Serves every connection on its own thread with `answer` (the request head is read first).
fn serve(answer: fn(&mut TcpStream, &str)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                answer(&mut conn, &String::from_utf8_lossy(&head));
            });
        }
    });
    url
}

/// Answers `head`, `len` copies of `fill`, then `tail`, streamed 1 MiB at a time (the server's memory stays small,
/// so the process's peak is the client's).
fn stream_body(conn: &mut TcpStream, status: &str, head: &str, fill: u8, len: usize, tail: &str) {
    let total = head.len() + len + tail.len();
    let _ =
        write!(conn, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n{head}");
    let chunk = vec![fill; 1 << 20];
    for _ in 0..len >> 20 {
        if conn.write_all(&chunk).is_err() {
            return;
        }
    }
    let _ = conn.write_all(tail.as_bytes());
}

fn registry_case(answer: fn(&mut TcpStream, &str)) -> String {
    let url = serve(answer);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let client = SchemaRegistryClient::builder([url]).build().expect("a client");
    let out = rt.block_on(client.schema_by_id_cached(SchemaId(1)));
    let text = match out {
        Ok(s) => format!("accepted a schema of {} bytes", s.schema.len()),
        Err(e) => format!(
            "error ({} bytes of message): {}",
            e.to_string().len(),
            e.to_string().chars().take(160).collect::<String>()
        ),
    };
    format!("{text}; {} HTTP requests", client.stats().http_requests)
}

fn main() {
    let case = std::env::args().nth(1).unwrap_or_default();
    let t = Instant::now();
    let outcome = match case.as_str() {
        "recursion" => {
            let mut bytes = vec![0x02; 30_000];
            bytes.extend([0, 0]);
            format!("{:?}", Expr::decode_body(&bytes).map(|_| ()))
        }
        "zero-size-blocks" => {
            let mut bytes = Vec::new();
            for _ in 0..100_000 {
                bytes.extend([0x80, 0x80, 0x80, 0x01]);
            }
            bytes.push(0);
            format!("{:?}", Nulls::decode_body(&bytes).map(|_| ()))
        }
        "skip-only" => {
            let mut bytes = Vec::new();
            for _ in 0..16 {
                bytes.extend([0x80, 0x80, 0x80, 0x01]);
            }
            bytes.push(0);
            format!("{:?}", Paddings::decode_body(&bytes).map(|_| ()))
        }
        "nested-arrays" => {
            let mut bytes = Vec::new();
            for _ in 0..120 {
                bytes.extend([0x02, 0x00, 0xe0, 0xd4, 0x03]);
            }
            bytes.resize(bytes.len() + 40_000, 0);
            format!("{:?}", Call::decode_body(&bytes).map(|_| ()))
        }
        "chunked-2gib" => registry_case(|conn, _| {
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = vec![b' '; 1 << 20];
            for _ in 0..2048 {
                if write!(conn, "{:x}\r\n", chunk.len()).is_err()
                    || conn.write_all(&chunk).is_err()
                    || conn.write_all(b"\r\n").is_err()
                {
                    return;
                }
            }
            let _ = conn.write_all(b"0\r\n\r\n");
        }),
        "schema-200mb" => registry_case(|conn, _| {
            let (head, tail) =
                (r#"{"schema":"{\"type\":\"record\",\"name\":\"R\",\"doc\":\""#, r#"\",\"fields\":[]}"}"#);
            stream_body(conn, "200 OK", head, b'd', 200 << 20, tail);
        }),
        "error-50mb" => registry_case(|conn, _| {
            stream_body(conn, "500 X", r#"{"error_code":50001,"message":""#, b'm', 50 << 20, r#""}"#);
        }),
        "drip" => registry_case(|conn, _| {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            for _ in 0..200 {
                if conn.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }),
        "redirect-loop" => registry_case(|conn, head| {
            let host =
                head.lines().find_map(|l| l.strip_prefix("host: ").or_else(|| l.strip_prefix("Host: "))).unwrap_or("");
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\nLocation: http://{host}/loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }),
        // The second report.
        "chain-15000" => {
            // One reference defining ~15,000 records, each holding the one before (a 1.45 MB answer).
            let mut defs = vec![r#"{"type":"record","name":"R0","fields":[{"name":"v","type":"int"}]}"#.to_string()];
            for i in 1..15_000 {
                defs.push(format!(
                    r#"{{"type":"record","name":"R{i}","fields":[{{"name":"next","type":"R{}"}}]}}"#,
                    i - 1
                ));
            }
            let chain = format!("[{}]", defs.join(","));
            let url = serve_routes(move |path| {
                if path.starts_with("/subjects/") {
                    let body = serde_json::json!({"subject": "chain", "version": 1, "id": 2, "schema": chain});
                    return (Duration::ZERO, body.to_string());
                }
                let root = r#"{"type":"record","name":"Top","fields":[{"name":"head","type":"R14999"}]}"#;
                (Duration::ZERO, by_id(root, &[("R14999".into(), "chain".into())]))
            });
            deserialize_case(url, &[1], 1)
        }
        "skip-i64max" => {
            let writer = typed_kafka::avro::schema::Schema::parse(
                r#"{"type":"record","name":"Reading","fields":[{"name":"junk","type":{"type":"array","items":"null"}},{"name":"v","type":"int"}]}"#,
            )
            .expect("a schema");
            let resolver =
                typed_kafka::avro::resolve::Resolver::new(&writer, Reading::schema().expect("a schema").schema())
                    .expect("resolvable");
            let mut body = Vec::new();
            typed_kafka::avro::codec::encoding::put_long(&mut body, i64::MAX);
            body.extend([0, 2]);
            format!("{:?}", resolver.read::<Reading>(&body, &mut Vec::new()).map(|_| ()))
        }
        "plan-doubling-28" => {
            let mut inner = r#"{"type":"record","name":"Leaf","fields":[{"name":"x","type":"int"}]}"#.to_string();
            let mut next = "Leaf".to_string();
            for i in (0..28).rev() {
                inner = format!(
                    r#"{{"type":"record","name":"D{i}","fields":[{{"name":"a","type":{inner}}},{{"name":"b","type":"{next}"}}]}}"#
                );
                next = format!("D{i}");
            }
            let schema = format!(
                r#"{{"type":"record","name":"Reading","fields":[{{"name":"v","type":"int"}},{{"name":"d","type":{{"type":"array","items":{inner}}}}}]}}"#
            );
            let url = serve_routes(move |_| (Duration::ZERO, by_id(&schema, &[])));
            deserialize_case(url, &[1], 1)
        }
        "enum-1m" => {
            let symbols: Vec<String> = (0..1_000_000).map(|i| format!("\"S{i}\"")).collect();
            let schema = format!(
                r#"{{"type":"record","name":"Reading","fields":[{{"name":"v","type":"int"}},{{"name":"e","type":{{"type":"enum","name":"E","symbols":[{}]}}}}]}}"#,
                symbols.join(",")
            );
            let url = serve_routes(move |_| (Duration::ZERO, by_id(&schema, &[])));
            deserialize_case(url, &[1], 1)
        }
        "plans-40" => {
            // 40 writer schemas of ~2 MB each, every one readable as `Reading` (its field first, then more).
            let fields: Vec<String> = (0..60_000).map(|i| format!(r#"{{"name":"extra_{i}","type":"null"}}"#)).collect();
            let schema = format!(
                r#"{{"type":"record","name":"Reading","fields":[{{"name":"v","type":"int"}},{}]}}"#,
                fields.join(",")
            );
            let url = serve_routes(move |_| (Duration::ZERO, by_id(&schema, &[])));
            let n: u32 = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(40);
            let ids: Vec<u32> = (1..=n).collect();
            deserialize_case(url, &ids, n as usize)
        }
        "references-40" => {
            // 40 references of ~1 MB each (a doc string), over the 16 MiB budget for a schema and its references.
            let url = serve_routes(move |path| {
                if let Some(rest) = path.strip_prefix("/subjects/s") {
                    let i: usize = rest.split('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
                    let text = format!(
                        r#"{{"type":"record","name":"T{i}","doc":"{}","fields":[{{"name":"x","type":"int"}}]}}"#,
                        "d".repeat(1 << 20)
                    );
                    let body =
                        serde_json::json!({"subject": format!("s{i}"), "version": 1, "id": 100 + i, "schema": text});
                    return (Duration::ZERO, body.to_string());
                }
                let fields: Vec<String> = (0..40).map(|i| format!(r#"{{"name":"f{i}","type":"T{i}"}}"#)).collect();
                let root = format!(r#"{{"type":"record","name":"Reading","fields":[{}]}}"#, fields.join(","));
                let refs: Vec<(String, String)> = (0..40).map(|i| (format!("T{i}"), format!("s{i}"))).collect();
                (Duration::ZERO, by_id(&root, &refs))
            });
            deserialize_case(url, &[1], 1)
        }
        "slow-references-10" => {
            let url = serve_routes(move |path| {
                if let Some(rest) = path.strip_prefix("/subjects/s") {
                    let i: usize = rest.split('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
                    let text = format!(r#"{{"type":"record","name":"T{i}","fields":[{{"name":"x","type":"int"}}]}}"#);
                    let body =
                        serde_json::json!({"subject": format!("s{i}"), "version": 1, "id": 100 + i, "schema": text});
                    return (Duration::from_secs(4), body.to_string());
                }
                let fields: Vec<String> = (0..10).map(|i| format!(r#"{{"name":"f{i}","type":"T{i}"}}"#)).collect();
                let root = format!(r#"{{"type":"record","name":"Reading","fields":[{}]}}"#, fields.join(","));
                let refs: Vec<(String, String)> = (0..10).map(|i| (format!("T{i}"), format!("s{i}"))).collect();
                (Duration::ZERO, by_id(&root, &refs))
            });
            deserialize_case(url, &[1], 1)
        }
        "boxed-zero-size" => format!("{:?}", Boxed::decode_body(&[0x80, 0x80, 0x80, 0x01]).map(|_| ())),
        "union-100k" => {
            // A writer union of 100,000 records Reading cannot read, and 1,000 messages written with it.
            let records: Vec<String> = (0..100_000)
                .map(|i| format!(r#"{{"type":"record","name":"U{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
                .collect();
            let schema = format!("[{}]", records.join(","));
            let url = serve_routes(move |_| (Duration::ZERO, by_id(&schema, &[])));
            deserialize_case(url, &[1], 1_000)
        }
        "compat-union-4000" => {
            let records: Vec<String> = (0..4_000)
                .map(|i| format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
                .collect();
            let schema =
                typed_kafka::avro::schema::Schema::parse(&format!("[{}]", records.join(","))).expect("a union");
            let found = typed_kafka::avro::compat::check(&schema, &schema, &Default::default());
            format!("{} findings", found.len())
        }
        other => format!("unknown case {other:?}"),
    };
    println!("case {case}: {outcome} in {:.2} s", t.elapsed().as_secs_f64());
}
