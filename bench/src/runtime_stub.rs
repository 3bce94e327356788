//! A stub of the Lambda Runtime API (the part a function's runtime loop talks to),
//! on 127.0.0.1: hands out one event, records when the function first asked for
//! work (its initialization is over) and when it posted the response.
//!
//! Minimal HTTP/1.1: keep-alive, `Content-Length` or chunked request bodies.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// What the function posted for the invocation.
pub struct Posted {
    pub at: Instant,
    pub body: String,
    /// Posted to `/error` (invocation or init error) instead of `/response`.
    pub error: bool,
}

struct State {
    function_name: String,
    /// Taken by the first `/next`; `None` leaves every `/next` unanswered.
    event: Mutex<Option<String>>,
    init: Mutex<Option<oneshot::Sender<Instant>>>,
    posted: Mutex<Option<oneshot::Sender<Posted>>>,
}

pub struct Stub {
    pub address: String,
    pub init: oneshot::Receiver<Instant>,
    pub posted: oneshot::Receiver<Posted>,
    server: JoinHandle<()>,
}

impl Stub {
    /// Serves `event` to the first `GET .../invocation/next`; with `None` the
    /// function initializes and then waits forever.
    pub async fn start(function_name: &str, event: Option<String>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the runtime stub");
        let address = listener.local_addr().unwrap().to_string();
        let (init_tx, init) = oneshot::channel();
        let (posted_tx, posted) = oneshot::channel();
        let state = Arc::new(State {
            function_name: function_name.into(),
            event: Mutex::new(event),
            init: Mutex::new(Some(init_tx)),
            posted: Mutex::new(Some(posted_tx)),
        });
        let server = tokio::spawn(async move {
            // Dropped with this task, which aborts every connection.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                connections.spawn(serve(state.clone(), stream));
            }
        });
        Stub {
            address,
            init,
            posted,
            server,
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct HttpRequest {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn serve(state: Arc<State>, mut stream: TcpStream) {
    let mut buffer = Vec::new();
    while let Ok(Some(request)) = read_request(&mut stream, &mut buffer).await {
        let now = Instant::now();
        let response = if request.method == "GET" && request.path.ends_with("/runtime/invocation/next") {
            if let Some(tx) = state.init.lock().unwrap().take() {
                let _ = tx.send(now);
            }
            let event = state.event.lock().unwrap().take();
            match event {
                Some(event) => next_response(&state.function_name, &event),
                // A second `/next` (or an init-only run): no more work, ever.
                None => std::future::pending().await,
            }
        } else if request.method == "POST" && (request.path.ends_with("/response") || request.path.ends_with("/error"))
        {
            if let Some(tx) = state.posted.lock().unwrap().take() {
                let body = String::from_utf8_lossy(&request.body).into_owned();
                let _ = tx.send(Posted {
                    at: now,
                    body,
                    error: request.path.ends_with("/error"),
                });
            }
            http_response("202 Accepted", &[], r#"{"status":"OK"}"#)
        } else {
            http_response("404 Not Found", &[], r#"{"errorMessage":"unknown path"}"#)
        };
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn next_response(function_name: &str, event: &str) -> String {
    let request_id = uuid::Uuid::new_v4().to_string();
    let deadline = shared::time::now_millis() + 30_000;
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}");
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        deadline / 1000,
        &uuid::Uuid::new_v4().simple().to_string()[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    http_response(
        "200 OK",
        &[
            ("Lambda-Runtime-Aws-Request-Id", request_id.as_str()),
            ("Lambda-Runtime-Deadline-Ms", deadline.to_string().as_str()),
            ("Lambda-Runtime-Invoked-Function-Arn", arn.as_str()),
            ("Lambda-Runtime-Trace-Id", trace.as_str()),
        ],
        event,
    )
}

fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes into the buffer; false at end of stream.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Option<HttpRequest>> {
    let head_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end;
        }
        if !fill(stream, buffer).await? {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let (method, path) = (
        request_line.next().unwrap_or("").to_string(),
        request_line.next().unwrap_or("").to_string(),
    );
    let (mut length, mut chunked) = (0usize, false);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
    }
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(end) = find(buffer, b"\r\n") {
                    break end;
                }
                if !fill(stream, buffer).await? {
                    return Ok(None);
                }
            };
            let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
            buffer.drain(..line_end + 2);
            // The chunk and its CRLF; after the last (empty) chunk, the final CRLF (no trailers).
            while buffer.len() < size + 2 {
                if !fill(stream, buffer).await? {
                    return Ok(None);
                }
            }
            body.extend_from_slice(&buffer[..size]);
            buffer.drain(..size + 2);
            if size == 0 {
                break body;
            }
        }
    } else {
        while buffer.len() < length {
            if !fill(stream, buffer).await? {
                return Ok(None);
            }
        }
        buffer.drain(..length).collect()
    };
    Ok(Some(HttpRequest { method, path, body }))
}
