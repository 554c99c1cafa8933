//! `feedfold run`: the daemon fetches on its own, keeps going, and exits 0 on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{FeedServer, Item, Route, Workspace, rss};

#[test]
fn the_daemon_fetches_then_stops_cleanly_on_sigterm() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let item = Item {
        guid: Some("d-1".into()),
        link: Some("https://daemon.example/1".into()),
        title: "Daemon test story".into(),
        html:
            "<p>A story fetched by the daemon on its own schedule, with enough words to store.</p>"
                .into(),
        published: Some("Mon, 01 Sep 2025 08:00:00 +0000".into()),
    };
    server.set("/d.xml", Route::xml(rss("D", &[item])));
    ws.write_config(&[server.url("/d.xml")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedfold"))
        .arg("--config")
        .arg(ws.config_path())
        .arg("run")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the daemon has fetched the feed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "the daemon did not fetch the feed"
        );
        if server.hits("/d.xml") > 0 && ws.path("feedfold.db").exists() {
            let out = ws.run(&["feeds", "--json"]);
            if out.code == 0 && out.json()[0]["state"] == "ok" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon keeps running after its first fetch"
    );
    // SAFETY: sending a signal to a child we own.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not exit within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(ws.all_clusters().len(), 1);
    // The lock is released: a one-shot run can take over.
    ws.ok(&["run", "--once"]);
}

#[test]
fn a_second_fetching_process_is_refused() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    server.set("/e.xml", Route::xml(rss("E", &[])));
    ws.write_config(&[server.url("/e.xml")]);
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_feedfold"))
        .arg("--config")
        .arg(ws.config_path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.hits("/e.xml") == 0 {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = ws.run(&["run", "--once"]);
    // SAFETY: sending a signal to a child we own.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    daemon.wait().unwrap();
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("already fetching"),
        "{}",
        second.stderr
    );
}

#[test]
fn systemd_hears_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let server = FeedServer::start();
    let ws = Workspace::new();
    server.set("/n.xml", Route::xml(rss("N", &[])));
    ws.write_config(&[server.url("/n.xml")]);
    let socket_path = ws.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = ws.spawn_daemon(&[
        ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
        // 300 ms: pings every 100 ms while the loop and the writer make progress.
        ("WATCHDOG_USEC", "300000"),
    ]);
    let mut messages: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    while messages.iter().filter(|m| *m == "WATCHDOG=1").count() < 5 {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{e}; so far {messages:?}; log:\n{}", ws.daemon_log()));
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        messages[0].starts_with("READY=1\nSTATUS=1 feeds polled"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("STATUS=1 feeds polled") && m.contains("in error")),
        "{messages:?}"
    );
    let status = crate::common::terminate(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let mut stopping = false;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        stopping |= buf[..n].starts_with(b"STOPPING=1");
    }
    assert!(stopping, "no STOPPING=1 after SIGTERM");
}
