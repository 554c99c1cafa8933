//! The fetch limits of `[fetch]` and redirects, observed from a real server on 127.0.0.1.

use std::io::Write;
use std::time::Duration;

use crate::common::{FeedServer, Item, Route, Workspace, feeds_toml, rss};

fn item(n: usize, link: &str) -> Item {
    Item {
        guid: Some(format!("f-{n}")),
        link: Some(link.into()),
        title: format!("Fetch test story {n}"),
        html: format!("<p>Body of fetch test story number {n}.</p>"),
        published: None,
    }
}

fn config(ws: &Workspace, fetch: &str, urls: &[String]) {
    let mut text = format!("[fetch]\n{fetch}\n\n");
    text.push_str(&feeds_toml(urls));
    ws.write_config_text(&text);
}

fn feed_state(ws: &Workspace, url: &str) -> serde_json::Value {
    let feeds = ws.ok(&["feeds", "--json"]).json();
    feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == url)
        .cloned()
        .unwrap_or_else(|| panic!("no feed {url} in {feeds:#}"))
}

#[test]
fn max_body_counts_decoded_bytes_not_the_compressed_size() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    // 2 MiB of feed that gzip squeezes to a few KiB.
    let mut big = rss("Big", &[item(1, "https://x.example/1")]).into_bytes();
    big.splice(
        big.len() - 20..big.len() - 20,
        std::iter::repeat_n(b' ', 2 * 1024 * 1024),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&big).unwrap();
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 64 * 1024);
    let mut bomb = Route::xml(compressed);
    bomb.headers
        .push(("content-encoding".into(), "gzip".into()));
    server.set("/bomb.xml", bomb);
    server.set(
        "/small.xml",
        Route::xml(rss("Small", &[item(2, "https://x.example/2")])),
    );
    let urls = vec![server.url("/bomb.xml"), server.url("/small.xml")];
    config(&ws, "max_body = \"1MiB\"\nhost_spacing = \"0s\"", &urls);
    ws.ok(&["run", "--once"]);
    let bomb = feed_state(&ws, &urls[0]);
    assert_eq!(bomb["state"], "error");
    assert!(
        bomb["last_error"]
            .as_str()
            .unwrap()
            .contains("exceeds the 1048576-byte limit"),
        "{bomb:#}"
    );
    assert_eq!(feed_state(&ws, &urls[1])["state"], "ok");
}

#[test]
fn per_host_and_global_concurrency_are_respected() {
    for (fetch, expected) in [
        ("per_host = 2\nconcurrency = 16\nhost_spacing = \"0s\"", 2),
        ("per_host = 8\nconcurrency = 3\nhost_spacing = \"0s\"", 3),
    ] {
        let server = FeedServer::start();
        let ws = Workspace::new();
        let urls: Vec<String> = (0..8)
            .map(|n| {
                let path = format!("/slow{n}.xml");
                let mut route =
                    Route::xml(rss("Slow", &[item(n, &format!("https://x.example/{n}"))]));
                route.delay = Some(Duration::from_millis(300));
                server.set(&path, route);
                server.url(&path)
            })
            .collect();
        config(&ws, fetch, &urls);
        ws.ok(&["run", "--once"]);
        assert_eq!(server.max_in_flight(), expected, "with {fetch:?}");
    }
}

#[test]
fn requests_to_one_host_are_spaced() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    let urls: Vec<String> = (0..4)
        .map(|n| {
            let path = format!("/s{n}.xml");
            server.set(
                &path,
                Route::xml(rss("S", &[item(n, &format!("https://x.example/{n}"))])),
            );
            server.url(&path)
        })
        .collect();
    config(&ws, "per_host = 4\nhost_spacing = \"200ms\"", &urls);
    ws.ok(&["run", "--once"]);
    let times = server.request_times();
    assert_eq!(times.len(), 4);
    for pair in times.windows(2) {
        // The fetcher starts them 200 ms apart; arrival adds only connection jitter.
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(150),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}

#[test]
fn redirects_are_followed_with_the_final_url_as_base_and_permanent_chains_update_the_url() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    server.set("/old.xml", Route::redirect(302, "/new/feed.xml"));
    server.set("/new/feed.xml", Route::xml(rss("New", &[item(1, "p/1")])));
    server.set("/moved.xml", Route::redirect(301, "/moved2.xml"));
    server.set("/moved2.xml", Route::redirect(308, "/final.xml"));
    server.set(
        "/final.xml",
        Route::xml(rss("Final", &[item(2, "https://x.example/2")])),
    );
    server.set("/loop.xml", Route::redirect(302, "/loop.xml"));
    let urls = vec![
        server.url("/old.xml"),
        server.url("/moved.xml"),
        server.url("/loop.xml"),
    ];
    config(&ws, "host_spacing = \"0s\"", &urls);
    ws.ok(&["run", "--once"]);

    // A temporary redirect keeps the configured URL; relative links resolve against the final one.
    assert_eq!(feed_state(&ws, &urls[0])["state"], "ok");
    let clusters = ws.all_clusters();
    let links: Vec<&str> = clusters
        .iter()
        .map(|c| c["url"].as_str().unwrap())
        .collect();
    assert!(
        links.contains(&server.url("/new/p/1").as_str()),
        "{links:?}"
    );
    // A chain of permanent redirects moves the feed to its new URL.
    assert_eq!(feed_state(&ws, &server.url("/final.xml"))["state"], "ok");
    // A loop is cut after five hops.
    let looped = feed_state(&ws, &urls[2]);
    assert!(
        looped["last_error"]
            .as_str()
            .unwrap()
            .contains("too many redirects"),
        "{looped:#}"
    );
    assert_eq!(server.hits("/loop.xml"), 6);
}

#[test]
fn proxies_from_the_environment_are_ignored_and_the_configured_one_is_used() {
    let server = FeedServer::start();
    let ws = Workspace::new();
    server.set(
        "/p.xml",
        Route::xml(rss("Proxied", &[item(1, "https://x.example/p1")])),
    );
    // A proxy in the environment that would refuse every connection.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let url = server.url("/p.xml");
    config(&ws, "host_spacing = \"0s\"", std::slice::from_ref(&url));
    let env = [
        ("HTTP_PROXY", dead_proxy.as_str()),
        ("http_proxy", dead_proxy.as_str()),
        ("ALL_PROXY", dead_proxy.as_str()),
    ];
    let out = ws.run_with_env(&["run", "--once"], &env);
    assert!(out.stdout.contains("1 ok"), "{}{}", out.stdout, out.stderr);

    // The configured proxy carries a feed whose host does not even resolve.
    let ws = Workspace::new();
    let unresolvable = "http://feeds.invalid/p.xml".to_string();
    config(
        &ws,
        &format!("host_spacing = \"0s\"\nproxy = \"{}\"", server.url("/")),
        std::slice::from_ref(&unresolvable),
    );
    let before = server.hits("/p.xml");
    let out = ws.run_with_env(&["run", "--once"], &env);
    assert!(out.stdout.contains("1 ok"), "{}{}", out.stdout, out.stderr);
    assert_eq!(server.hits("/p.xml"), before + 1);
}
