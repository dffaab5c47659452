//! A local HTTP server for unit tests of our own logic (transport rules, limits, error handling): each
//! connection's answer is written by the test. The real registry is exercised by the integration tests.

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Serves up to `connections` connections, each on its own thread: reads the request head, then lets `answer`
/// write whatever it likes (bounded by the test). Returns the base URL and the number of requests seen.
pub(crate) fn serve(
    connections: usize,
    answer: impl Fn(&mut std::net::TcpStream, &str, &str) + Send + Sync + 'static,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (count, base, answer) = (seen.clone(), url.clone(), Arc::new(answer));
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut conn, _)) = listener.accept() else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let (answer, base) = (answer.clone(), base.clone());
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                answer(&mut conn, &String::from_utf8_lossy(&head), &base);
            });
        }
    });
    (url, seen)
}
