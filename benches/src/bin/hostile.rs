//! Runs one hostile-input case from the hostile-input report and prints what happened and how long it took; run
//! each case in its own process under `/usr/bin/time -v` to read its peak memory (see `benches/README.md`):
//!
//! ```sh
//! cargo build --release -p typed-kafka-benches --features registry-bench --bin hostile
//! for c in recursion zero-size-blocks skip-only nested-arrays chunked-2gib schema-200mb error-50mb drip redirect-loop; do
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
        other => format!("unknown case {other:?}"),
    };
    println!("case {case}: {outcome} in {:.2} s", t.elapsed().as_secs_f64());
}
