//! Shared test parts: a real HTTP feed server on 127.0.0.1, feed builders, and a runner for the
//! real `feedfold` binary against a real SQLite file in a temporary folder.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, Uri};

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// Held this long before answering (to observe concurrency).
    pub delay: Option<std::time::Duration>,
    /// Answer 304 (and nothing else) when the request carries exactly this `If-None-Match`.
    pub not_modified_if: Option<String>,
}

impl Route {
    pub fn xml(body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            content_type: "application/rss+xml; charset=utf-8".into(),
            body: body.into(),
            headers: Vec::new(),
            delay: None,
            not_modified_if: None,
        }
    }

    pub fn status(status: u16, body: &str) -> Route {
        Route {
            status,
            content_type: "text/plain".into(),
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
            delay: None,
            not_modified_if: None,
        }
    }

    pub fn redirect(status: u16, location: &str) -> Route {
        Route {
            headers: vec![("location".into(), location.into())],
            ..Route::status(status, "")
        }
    }
}

#[derive(Default)]
struct ServerState {
    routes: HashMap<String, Route>,
    hits: HashMap<String, usize>,
    requests: Vec<(String, HeaderMap, std::time::Instant)>,
    bodies: Vec<(String, Vec<u8>)>,
    in_flight: usize,
    max_in_flight: usize,
}

/// A feed server on 127.0.0.1 with routes that tests change as they go.
pub struct FeedServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    _runtime: tokio::runtime::Runtime,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let handler_state = state.clone();
        let app = axum::Router::new().fallback(
            move |uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let state = handler_state.clone();
                async move {
                    let if_none_match = headers
                        .get("if-none-match")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let path = uri.path().to_string();
                    let route = {
                        let mut s = state.lock().unwrap();
                        *s.hits.entry(path.clone()).or_default() += 1;
                        s.requests
                            .push((path.clone(), headers, std::time::Instant::now()));
                        if !body.is_empty() {
                            s.bodies.push((path.clone(), body.to_vec()));
                        }
                        s.in_flight += 1;
                        s.max_in_flight = s.max_in_flight.max(s.in_flight);
                        s.routes.get(&path).cloned()
                    };
                    let route = route.unwrap_or_else(|| Route::status(404, "not found"));
                    if let Some(delay) = route.delay {
                        tokio::time::sleep(delay).await;
                    }
                    state.lock().unwrap().in_flight -= 1;
                    if route.not_modified_if.is_some() && route.not_modified_if == if_none_match {
                        return Response::builder()
                            .status(StatusCode::NOT_MODIFIED)
                            .body(Body::empty())
                            .unwrap();
                    }
                    let mut response = Response::builder()
                        .status(StatusCode::from_u16(route.status).unwrap())
                        .header("content-type", route.content_type);
                    for (k, v) in route.headers {
                        response = response.header(k, v);
                    }
                    response.body(Body::from(route.body)).unwrap()
                }
            },
        );
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FeedServer {
            addr,
            state,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, route: Route) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), route);
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// When each request arrived, in order.
    pub fn request_times(&self) -> Vec<std::time::Instant> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|r| r.2)
            .collect()
    }

    /// The headers of every request made to `path`, in order.
    pub fn requests_to(&self, path: &str) -> Vec<HeaderMap> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.0 == path)
            .map(|r| r.1.clone())
            .collect()
    }

    /// The bodies of the requests to `path` that had one (POSTs), in order, as sent.
    pub fn raw_bodies(&self, path: &str) -> Vec<Vec<u8>> {
        self.state
            .lock()
            .unwrap()
            .bodies
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// The bodies of the requests to `path` that had one (POSTs), in order, as JSON.
    pub fn json_bodies(&self, path: &str) -> Vec<serde_json::Value> {
        self.raw_bodies(path)
            .iter()
            .map(|b| serde_json::from_slice(b).expect("a JSON body"))
            .collect()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// A raw TCP server on 127.0.0.1 for faults HTTP libraries will not produce: it reads the
/// request, then either drips a body one byte at a time or says nothing at all. Each connection
/// gets a thread that ends when the client hangs up.
pub struct RawServer {
    pub addr: SocketAddr,
}

impl RawServer {
    /// Headers promising a large body, then one byte every `every`.
    pub fn drip(every: std::time::Duration) -> RawServer {
        RawServer::start(move |mut stream| {
            use std::io::Write;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000000\r\n\r\n<rss version=\"2.0\">";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            while stream.write_all(b" ").is_ok() {
                std::thread::sleep(every);
            }
        })
    }

    /// Accepts and reads, never answers.
    pub fn silent() -> RawServer {
        RawServer::start(|mut stream| {
            use std::io::Read;
            let mut buf = [0u8; 1024];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        })
    }

    fn start(serve: impl Fn(std::net::TcpStream) + Send + Sync + Clone + 'static) -> RawServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serve = serve.clone();
                std::thread::spawn(move || {
                    use std::io::Read;
                    let mut stream = stream;
                    // Read the request head before answering (or not).
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    serve(stream);
                });
            }
        });
        RawServer { addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// One RSS item for [`rss`].
#[derive(Clone, Debug, Default)]
pub struct Item {
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: String,
    pub html: String,
    pub published: Option<String>,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An RSS 2.0 document; descriptions carry escaped HTML as real feeds do.
pub fn rss(title: &str, items: &[Item]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>https://example.org/</link><description>test</description>\n",
        xml_escape(title)
    );
    for item in items {
        out.push_str("<item>");
        out.push_str(&format!("<title>{}</title>", xml_escape(&item.title)));
        if let Some(link) = &item.link {
            out.push_str(&format!("<link>{}</link>", xml_escape(link)));
        }
        if let Some(guid) = &item.guid {
            out.push_str(&format!(
                "<guid isPermaLink=\"false\">{}</guid>",
                xml_escape(guid)
            ));
        }
        if let Some(p) = &item.published {
            out.push_str(&format!("<pubDate>{p}</pubDate>"));
        }
        out.push_str(&format!(
            "<description>{}</description></item>\n",
            xml_escape(&item.html)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// A temporary workspace: a config file, a store, and the binary.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

/// What one run of the binary gave.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("feedfold.toml")
    }

    /// Writes a config with these feed URLs (no host spacing: every feed is on 127.0.0.1).
    pub fn write_config(&self, feed_urls: &[String]) {
        let text =
            String::from("[fetch]\nhost_spacing = \"0s\"\nper_host = 4\ntimeout = \"10s\"\n\n")
                + &feeds_toml(feed_urls);
        self.write_config_text(&text);
    }

    pub fn write_config_text(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// Runs with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_feedfold"));
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .env_remove("FEEDFOLD_CONFIG")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs and insists on success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.code, 0,
            "feedfold {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Every cluster with every item (`--limit 0 --min-size 1 --since 100000d`).
    pub fn all_clusters(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&[
            "clusters",
            "--json",
            "--limit",
            "0",
            "--min-size",
            "1",
            "--since",
            "100000d",
        ]);
        out.json().as_array().unwrap().clone()
    }

    /// Starts `feedfold run` (the daemon) with extra environment; its output goes to
    /// `daemon.log` in the workspace.
    pub fn spawn_daemon(&self, env: &[(&str, &str)]) -> std::process::Child {
        let log = std::fs::File::create(self.path("daemon.log")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_feedfold"));
        command
            .arg("--config")
            .arg(self.config_path())
            .arg("run")
            .env_remove("FEEDFOLD_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        command.spawn().unwrap()
    }

    /// What the daemon has logged so far.
    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.path("daemon.log")).unwrap_or_default()
    }

    /// Waits (at most `limit`) until `done` holds, checking every 100 ms; panics with `what`.
    pub fn wait_until(
        &self,
        limit: std::time::Duration,
        what: &str,
        mut done: impl FnMut() -> bool,
    ) {
        let deadline = std::time::Instant::now() + limit;
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until {what}; daemon log:\n{}",
                self.daemon_log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("feedfold.db")).unwrap()
    }
}

/// `[[feeds]]` tables for these URLs, to end a config with.
pub fn feeds_toml(urls: &[String]) -> String {
    urls.iter()
        .map(|url| format!("[[feeds]]\nurl = \"{url}\"\n\n"))
        .collect()
}

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sends SIGTERM and waits (at most `limit`) for the exit status.
pub fn terminate(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    // SAFETY: sending a signal to a child process we own.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not exit within {limit:?} of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
