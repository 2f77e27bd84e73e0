//! `wasmleak serve`: the real binary on a free port of 127.0.0.1, spoken to with raw HTTP/1.1. Content types,
//! loopback only, traversal refused, the runtime injected into pages once, snapshots validated, kept, saved
//! and reported. The browser side is tests/js/serve.test.mjs. The analysis module is only served here, so any
//! wasm file stands in for it: these tests do not need the wasm32 build.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{bin, fixture, scratch, wasmleak};
use serde_json::Value;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wasmleak serve DIR --port 0 ARGS`, once it printed its URL.
fn serve(dir: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .arg("serve")
        .arg(dir)
        .args(["--port", "0"])
        .args(args)
        .env("WASMLEAK_WASM", fixture("c_lib.wasm"))
        .env_remove("WASMLEAK_JS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let want = format!("wasmleak: serving {} at http://127.0.0.1:", dir.display());
    let port = line
        .trim_end()
        .strip_prefix(&want)
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Server { child, port }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Server {
    /// Send `head` (request line and headers, CRLF-separated, without the blank line) and `body`.
    fn raw(&self, head: &str, body: &[u8]) -> Response {
        let is_head = head.starts_with("HEAD ");
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut req = format!("{head}\r\n");
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8(out[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines.map(|l| l.split_once(": ").unwrap()).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let r = Response { status, headers, body: out[split + 4..].to_vec() };
        if let Some(len) = r.header("content-length")
            && !is_head
        {
            assert_eq!(len.parse::<usize>().unwrap(), r.body.len());
        }
        r
    }

    fn get(&self, path: &str) -> Response {
        self.raw(&format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}", self.port), b"")
    }

    fn post(&self, path: &str, body: &[u8]) -> Response {
        self.raw(&format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: http://127.0.0.1:{}", self.port, self.port), body)
    }
}

/// A small app: pages, a script, a module, styles, data, images, the wasm, a subdirectory; and a file next
/// to the app (outside it) that must never be served.
fn app() -> PathBuf {
    let top = scratch("serve");
    let dir = top.join("app");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(top.join("secret.txt"), "not yours").unwrap();
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html>\n<html><head><title>app</title></head><body><script src=app.js></script></body></html>").unwrap();
    std::fs::write(dir.join("bare.html"), "<p>no head</p>").unwrap();
    std::fs::write(
        dir.join("own.html"),
        "<html><head><script src=\"/__wasmleak/runtime.js\"></script></head><body></body></html>",
    )
    .unwrap();
    std::fs::write(dir.join("app.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("mod.mjs"), "export {}").unwrap();
    std::fs::write(dir.join("style.css"), "body{}").unwrap();
    std::fs::write(dir.join("data.json"), "{}").unwrap();
    std::fs::write(dir.join("pic.svg"), "<svg/>").unwrap();
    std::fs::write(dir.join("pic.png"), b"\x89PNG").unwrap();
    std::fs::write(dir.join("blob.bin"), b"\0\x01").unwrap();
    std::fs::copy(fixture("rust_lib.wasm"), dir.join("rust_lib.wasm")).unwrap();
    std::fs::write(dir.join("sub/index.html"), "<html><head></head><body>sub</body></html>").unwrap();
    std::os::unix::fs::symlink(top.join("secret.txt"), dir.join("link.txt")).unwrap();
    dir
}

const INJECTED: &str = "<script src=\"/__wasmleak/runtime.js\"></script>";

#[test]
fn static_files_have_their_content_types() {
    let dir = app();
    let s = serve(&dir, &[]);
    for (path, ty) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/mod.mjs", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/pic.svg", "image/svg+xml"),
        ("/pic.png", "image/png"),
        ("/blob.bin", "application/octet-stream"),
        ("/rust_lib.wasm", "application/wasm"),
        ("/sub/", "text/html; charset=utf-8"),
        ("/__wasmleak/runtime.js", "text/javascript; charset=utf-8"),
        ("/__wasmleak/analysis.wasm", "application/wasm"),
    ] {
        let r = s.get(path);
        assert_eq!((r.status, r.header("content-type")), (200, Some(ty)), "{path}: {}", r.text());
    }
    // .wasm files go out unchanged (the runtime instruments them in the page).
    assert_eq!(s.get("/rust_lib.wasm").body, std::fs::read(fixture("rust_lib.wasm")).unwrap());
    assert_eq!(s.get("/__wasmleak/analysis.wasm").body, std::fs::read(fixture("c_lib.wasm")).unwrap());
    // What every page downloads goes compressed to a browser that takes gzip (all do), the same bytes once undone.
    let r = s.raw(&format!("GET /__wasmleak/analysis.wasm HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept-Encoding: br, gzip;q=0.9", s.port), b"");
    assert_eq!((r.status, r.header("content-encoding"), r.header("vary")), (200, Some("gzip"), Some("Accept-Encoding")));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain).unwrap();
    assert_eq!(plain, std::fs::read(fixture("c_lib.wasm")).unwrap());
    // A directory without its slash is redirected, so the page's relative URLs resolve inside it.
    let r = s.get("/sub");
    assert_eq!((r.status, r.header("location")), (301, Some("/sub/")));
    let r = s.get("/missing.js");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("/missing.js: not found"), "{}", r.text());
    // HEAD: the headers of GET, no body.
    let r = s.raw(&format!("HEAD /app.js HTTP/1.1\r\nHost: 127.0.0.1:{}", s.port), b"");
    assert_eq!((r.status, r.header("content-length"), r.body.len()), (200, Some("14"), 0));
}

/// `--alloc-fn` & co. reach the page's attach() as its `allocator` option, as `wasmleak node` passes them.
#[test]
fn allocator_options_reach_the_page() {
    let s = serve(&app(), &["--alloc-fn", "25", "--free-fn", "my_free"]);
    let page = s.get("/").text();
    assert!(
        page.contains(r#"allocator: {"aligned_alloc":[],"alloc":["25"],"calloc":[],"free":["my_free"],"posix_memalign":[],"realloc":[]}"#),
        "{page}"
    );
}

#[test]
fn pages_get_the_runtime_once_right_after_head() {
    let s = serve(&app(), &[]);
    let page = s.get("/").text();
    assert!(
        page.starts_with(&format!("<!DOCTYPE html>\n<html><head>{INJECTED}<script>wasmleak.attach({{")),
        "{page}"
    );
    assert!(page.contains("overlay: true"));
    assert!(page.ends_with("<title>app</title></head><body><script src=app.js></script></body></html>"));
    assert_eq!(page.matches("/__wasmleak/runtime.js").count(), 1);
    assert!(s.get("/bare.html").text().starts_with(INJECTED));
    // A page that includes the runtime itself is left alone.
    assert_eq!(
        s.get("/own.html").text(),
        "<html><head><script src=\"/__wasmleak/runtime.js\"></script></head><body></body></html>"
    );
    // Other files are not touched.
    assert_eq!(s.get("/app.js").text(), "console.log(1)");
}

#[test]
fn the_runtime_is_one_classic_script() {
    let s = serve(&app(), &[]);
    let js = s.get("/__wasmleak/runtime.js").text();
    assert!(js.contains("globalThis.wasmleak = Object.freeze("), "{}", &js[..js.len().min(400)]);
    assert!(js.contains("function attach(") && js.contains("function showOverlay("));
    assert!(!js.lines().any(|l| l.starts_with("import ") || l.starts_with("export ")));
    // It parses as a script (not a module) where node is installed.
    let file = scratch("runtime.js");
    std::fs::write(&file, &js).unwrap();
    match Command::new("node").arg("--check").arg(&file).output() {
        Ok(out) => assert!(out.status.success(), "node --check: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => eprintln!("note: node is not installed; runtime.js not parsed"),
    }
}

#[test]
fn listens_on_loopback_only_and_answers_local_hosts_only() {
    let s = serve(&app(), &[]);
    // Bound to 127.0.0.1 itself: another loopback address of the same machine is refused. (A connect to a
    // port nobody listens on can, rarely, connect the socket to itself — TCP simultaneous open — when the
    // kernel picks that same port as its source: that is not the server.)
    let reachable = TcpStream::connect(("127.0.0.2", s.port))
        .is_ok_and(|c| c.local_addr().ok() != c.peer_addr().ok());
    assert!(!reachable, "reachable on 127.0.0.2");
    // A request for another host name (DNS rebinding) is refused.
    let r = s.raw("GET / HTTP/1.1\r\nHost: attacker.example:80", b"");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("127.0.0.1 or localhost only"), "{}", r.text());
    assert_eq!(s.raw(&format!("GET / HTTP/1.1\r\nHost: localhost:{}", s.port), b"").status, 200);
    // Another site's page may not post snapshots.
    let r = s.raw(
        &format!("POST /__wasmleak/snapshots HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: https://attacker.example", s.port),
        b"x",
    );
    assert_eq!(r.status, 403);
}

#[test]
fn paths_outside_the_directory_are_refused() {
    let s = serve(&app(), &[]);
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt", "/sub/../../secret.txt", "/link.txt"] {
        let r = s.get(path);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(!r.text().contains("not yours"));
        assert!(r.text().contains("outside the served directory"), "{path}: {}", r.text());
    }
    assert_eq!(s.get("/a%zz").status, 400);
    assert_eq!(s.raw("GET http://elsewhere/ HTTP/1.1\r\nHost: 127.0.0.1", b"").status, 400);
}

#[test]
fn methods_other_than_get_are_refused_with_allow() {
    let s = serve(&app(), &[]);
    let r = s.raw(&format!("DELETE /index.html HTTP/1.1\r\nHost: 127.0.0.1:{}", s.port), b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert!(r.text().contains("DELETE is not allowed"));
    assert_eq!(s.post("/index.html", b"x").status, 405);
    let r = s.post("/__wasmleak/report", b"x");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(s.get("/__wasmleak/nothing").status, 404);
}

#[test]
fn snapshots_are_validated_kept_saved_and_reported() {
    // Two snapshots of create_processor calls, as the page would post them.
    let snaps = scratch("serve-snaps");
    wasmleak([
        "check".as_ref(),
        fixture("rust_lib.wasm").as_os_str(),
        "--invoke".as_ref(),
        "create_processor".as_ref(),
        "--repeat".as_ref(),
        "3".as_ref(),
        "--snapshot-every".as_ref(),
        "1".as_ref(),
        "--save".as_ref(),
        snaps.as_os_str(),
    ])
    .assert_code(1);
    let save = scratch("serve-save");
    let s = serve(&app(), &["--save", save.to_str().unwrap()]);

    let r = s.get("/__wasmleak/report");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("No snapshot was taken yet"), "{}", r.text());
    assert_eq!(s.get("/__wasmleak/snapshots").text(), "[]");

    let r = s.post("/__wasmleak/snapshots?module=rust_lib.wasm", b"not a snapshot");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("takes a .wlsnap") && r.text().contains("no WLSNAP header"), "{}", r.text());
    let mut cut = std::fs::read(snaps.join("1.wlsnap")).unwrap();
    cut.truncate(cut.len() / 2);
    assert_eq!(s.post("/__wasmleak/snapshots?module=rust_lib.wasm", &cut).status, 400);

    for (n, file) in [(1, "1.wlsnap"), (2, "3.wlsnap")] {
        let r = s.post("/__wasmleak/snapshots?module=rust_lib.wasm", &std::fs::read(snaps.join(file)).unwrap());
        assert_eq!(r.status, 201, "{}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((v["module"].as_str(), v["n"].as_u64()), (Some("rust_lib.wasm"), Some(n)));
        let saved = save.join(format!("rust_lib.{n}.wlsnap"));
        assert_eq!(v["file"].as_str(), Some(saved.to_str().unwrap()));
        assert_eq!(std::fs::read(&saved).unwrap(), std::fs::read(snaps.join(file)).unwrap());
    }
    let list: Value = serde_json::from_slice(&s.get("/__wasmleak/snapshots").body).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0]["bytes"].as_u64(), list[1]["bytes"].as_u64()), (Some(276), Some(828)));
    assert_eq!((list[0]["n"].as_u64(), list[1]["iteration"].as_u64()), (Some(1), Some(3)));

    // The HTML report of `export --format html`, over the posted snapshots.
    let r = s.get("/__wasmleak/report");
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html; charset=utf-8")));
    let html = r.text();
    assert!(html.contains("<title>wasmleak report:") && html.contains("create_processor"));
    assert!(!html.contains(INJECTED), "the report is not the app: nothing injected");
    let by_name = s.get("/__wasmleak/report?module=rust_lib.wasm");
    assert_eq!(by_name.status, 200);
    let r = s.get("/__wasmleak/report?module=other.wasm");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("No snapshot of <code>other.wasm</code>") && r.text().contains("?module=rust_lib.wasm"));

    // A second module: the report asks which one.
    assert_eq!(s.post("/__wasmleak/snapshots?module=b%20c.wasm", &std::fs::read(snaps.join("2.wlsnap")).unwrap()).status, 201);
    assert!(save.join("b_c.1.wlsnap").is_file());
    let picker = s.get("/__wasmleak/report").text();
    assert!(picker.contains("several modules") && picker.contains("?module=b%20c.wasm") && picker.contains("?module=rust_lib.wasm"));
    assert_eq!(s.get("/__wasmleak/report?module=b+c.wasm").status, 200);
}

#[test]
fn clear_errors_before_serving() {
    let dir = app();
    let out = Command::new(bin())
        .args(["serve".as_ref(), dir.as_os_str(), "--port".as_ref(), "0".as_ref()])
        .env("WASMLEAK_WASM", "/nonexistent/wasmleak_wasm.wasm")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/nonexistent/wasmleak_wasm.wasm is missing")
            && err.contains("cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm"),
        "{err}"
    );
    let out = Command::new(bin())
        .args(["serve".as_ref(), dir.join("index.html").as_os_str(), "--port".as_ref(), "0".as_ref()])
        .env("WASMLEAK_WASM", fixture("c_lib.wasm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    // A port in use: say so, and how to get another.
    let s = serve(&dir, &[]);
    let out = Command::new(bin())
        .args(["serve".as_ref(), dir.as_os_str(), "--port".as_ref(), s.port.to_string().as_ref()])
        .env("WASMLEAK_WASM", fixture("c_lib.wasm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port 0 for any free port"));
}

/// The status of the response to `bytes` sent as they are, or None when the server closed without one.
fn raw_status(port: u16, bytes: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).split(' ').nth(1)?.parse().ok()
}

/// What a maintained HTTP stack (hyper) gives: malformed requests get a 4xx and the server goes on serving, a
/// head past its buffer (64 KiB, read in chunks: a few hundred KiB at most) is refused, a body over the limit is refused before it is read, chunked bodies are read,
/// and a client that never finishes its request holds no one else up.
#[test]
fn bad_and_slow_clients_do_not_stop_the_server() {
    let s = serve(&app(), &[]);
    let started = std::time::Instant::now();
    let mut slow = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    slow.write_all(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap(); // and nothing more
    for garbage in [&b"\x00\x01\x02 nonsense\r\n\r\n"[..], b"GET /index.html\r\n\r\n", b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"] {
        let status = raw_status(s.port, garbage);
        assert!(status.is_none_or(|c| (400..500).contains(&c)), "{:?}: {status:?}", String::from_utf8_lossy(garbage));
        assert_eq!(s.get("/index.html").status, 200);
    }
    let long = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: {}", "a".repeat(300_000));
    assert_eq!(s.raw(&long, b"").status, 431);
    let huge = format!("POST /__wasmleak/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}", 1u64 << 31);
    let r = s.raw(&huge, b"");
    assert_eq!(r.status, 413, "{}", r.text());
    let chunked = b"POST /__wasmleak/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.write_all(chunked).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 400") && out.contains("takes a .wlsnap (3 bytes received)"), "{out}");
    // All of it while the slow client still holds its connection open.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    drop(slow);
    assert_eq!(s.get("/index.html").status, 200);
}
