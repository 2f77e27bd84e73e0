//! `wasmleak serve DIR`: a static web server on 127.0.0.1 that attaches the JS runtime to the app's pages.
//!
//! Every HTML page of DIR gets two classic scripts right after `<head>`: `/__wasmleak/runtime.js` (js/src
//! bundled into one script by esbuild, js/dist/runtime.js) and a call to `wasmleak.attach({ overlay: true, … })`. Classic
//! scripts run before any of the app's scripts, classic or module, so `WebAssembly.*` is patched before the
//! app loads its wasm; the runtime instruments each module as the page compiles it (with the instrumenter
//! compiled to wasm32, `/__wasmleak/analysis.wasm`), so `.wasm` files are sent unchanged and modules embedded
//! as base64 are covered too. The overlay (js/src/overlay.mjs) takes snapshots and posts them here:
//!
//! - `POST /__wasmleak/snapshots?module=NAME[&page=ID]`: a `.wlsnap`, kept in memory (and in `--save DIR`); a
//!   page load that is not the last one's (`ID`, the overlay's per load) starts a series of its own, `NAME~2`…
//! - `GET /__wasmleak/snapshots`: the list, as JSON
//! - `GET /__wasmleak/report[?module=NAME]`: the HTML report of a module's snapshots (`export --format html`)

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use wasmleak_export::html::{self, esc};
use wasmleak_heap::Snapshot;

use crate::common::{embedded, js_dir, require_wasm_artifact, AllocatorOpts};

/// Serve a web app on 127.0.0.1 with wasmleak attached to its pages: an overlay takes snapshots, compares
/// them and links to the HTML report.
#[derive(Args)]
pub struct Opts {
    /// The app: a directory of static files (index.html for directories)
    dir: PathBuf,
    /// Port on 127.0.0.1 (0: any free port; the URL is printed)
    #[arg(long, default_value_t = 8642)]
    port: u16,
    /// Also write every snapshot the page posts to DIR as NAME.N.wlsnap (for `wasmleak diff`, `why`, `export`)
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Make the pages cross-origin isolated (COOP same-origin, COEP require-corp on every response), which
    /// SharedArrayBuffer needs: threaded wasm (Emscripten -pthread) runs, and is tracked across its workers.
    /// Resources of other origins then load only if they allow it (CORS, or Cross-Origin-Resource-Policy)
    #[arg(long)]
    cross_origin_isolated: bool,
    /// The allocator entry points of the modules the pages load, when wasmleak cannot find them
    #[command(flatten)]
    allocator: AllocatorOpts,
}

/// The runtime's own URLs; the app's files never shadow them.
const PREFIX: &str = "/__wasmleak/";
const RUNTIME_URL: &str = "/__wasmleak/runtime.js";
/// The largest request body accepted (a snapshot holds the bytes of every live block).
const MAX_BODY: usize = 1 << 30;

impl Opts {
    pub fn run(self) -> Result<i32> {
        if !self.dir.is_dir() {
            bail!("{} is not a directory: `wasmleak serve` serves a directory of static files", self.dir.display());
        }
        let root = self.dir.canonicalize().with_context(|| format!("cannot resolve {}", self.dir.display()))?;
        let analysis = require_wasm_artifact()?;
        if let Some(save) = &self.save {
            std::fs::create_dir_all(save).with_context(|| format!("cannot create {}", save.display()))?;
        }
        let listener = match TcpListener::bind(("127.0.0.1", self.port)) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
                "port {} of 127.0.0.1 is in use: pick another with --port N, or --port 0 for any free port",
                self.port
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot listen on 127.0.0.1:{}", self.port)),
        };
        let port = listener.local_addr()?.port();
        let a = &self.allocator;
        let allocator = serde_json::json!({
            "alloc": a.alloc, "free": a.free, "realloc": a.realloc, "calloc": a.calloc,
            "aligned_alloc": a.aligned_alloc, "posix_memalign": a.posix_memalign,
        });
        let injected = injected(&allocator.to_string());
        let server = Arc::new(Server {
            root,
            analysis,
            analysis_gz: Mutex::default(),
            save: self.save,
            snaps: Mutex::default(),
            pages: Mutex::default(),
            injected,
            isolated: self.cross_origin_isolated,
        });
        println!("wasmleak: serving {} at http://127.0.0.1:{port}/", self.dir.display());
        std::io::stdout().flush()?;
        listen(listener, server)?;
        Ok(0)
    }
}

/// HTTP/1.1 by hyper on a tokio runtime (tokio is wasmtime-wasi's, already in the binary): request parsing, a
/// bound on the head (a 64 KiB buffer filled in chunks: a 100 KiB head got through here, a 200 KiB one a 431), a deadline for slow heads, chunked
/// bodies, one task per connection, so a slow or half-open client holds no one else up. Bodies are bounded here
/// ([`MAX_BODY`]) and time-limited. hyper rather than tiny_http (which puts no bound on a request line or a
/// header) or axum (routing this server does not need).
fn listen(listener: TcpListener, server: Arc<Server>) -> Result<()> {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_io().enable_time().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = Arc::clone(&server);
                    async move { Ok::<_, std::convert::Infallible>(server.respond(req).await) }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .max_buf_size(64 * 1024)
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// How long a client may take to send its request head, and its body.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

struct Server {
    /// DIR, canonical.
    root: PathBuf,
    /// The analysis compiled to wasm32, read at each request (a rebuild is picked up).
    analysis: PathBuf,
    /// Its gzip form, for the file's (length, modification time) it was made from.
    analysis_gz: Mutex<Option<((u64, std::time::SystemTime), Vec<u8>)>>,
    save: Option<PathBuf>,
    /// Posted snapshots by module name, in the order they arrived.
    snaps: Mutex<BTreeMap<String, Vec<Snapshot>>>,
    /// Per module name, the page load (`page=ID`) whose snapshots the series holds, and how many loads came: a
    /// reloaded page starts a series of its own (`NAME~2`), never compared with the last load's.
    pages: Mutex<HashMap<String, (String, u32)>>,
    /// What goes into every page ([`injected`]).
    injected: String,
    /// `--cross-origin-isolated`.
    isolated: bool,
}

struct Request {
    method: String,
    /// Percent-decoded, without the query.
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, content_type, headers: Vec::new(), body: body.into() }
    }
    fn text(status: u16, body: impl Into<String>) -> Response {
        let mut body = body.into();
        body.push('\n');
        Response::new(status, "text/plain; charset=utf-8", body)
    }
    fn json(status: u16, value: serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }
    fn html(status: u16, body: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", body)
    }
}

impl Server {
    /// One request: read into a [`Request`] (or refused), handled on a blocking thread (files, reports), answered
    /// (to a HEAD, hyper sends the headers a GET would get and no body).
    async fn respond(self: Arc<Self>, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
        let isolated = self.isolated;
        let response = match read_request(req).await {
            Ok(req) => tokio::task::spawn_blocking(move || self.handle(&req))
                .await
                .unwrap_or_else(|e| Response::text(500, format!("the request handler failed: {e}"))),
            Err(resp) => resp,
        };
        let mut r = hyper::Response::builder()
            .status(response.status)
            .header("Content-Type", response.content_type)
            .header("Cache-Control", "no-store")
            .header("X-Content-Type-Options", "nosniff");
        for (k, v) in &response.headers {
            r = r.header(*k, v);
        }
        if isolated {
            r = r.header("Cross-Origin-Opener-Policy", "same-origin").header("Cross-Origin-Embedder-Policy", "require-corp");
        }
        r.body(http_body_util::Full::new(bytes::Bytes::from(response.body)))
            .unwrap_or_else(|_| hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"bad response\n"))))
    }

    fn handle(&self, req: &Request) -> Response {
        // Only pages of this machine talk to it: a foreign Host is DNS rebinding, a foreign Origin another site.
        if let Some(host) = req.headers.get("host")
            && !is_local_host(host)
        {
            return Response::text(403, format!("wasmleak serve answers requests for 127.0.0.1 or localhost only, not {host}"));
        }
        if let Some(origin) = req.headers.get("origin")
            && req.method != "GET"
            && req.method != "HEAD"
            && !origin.strip_prefix("http://").is_some_and(is_local_host)
        {
            return Response::text(403, format!("wasmleak serve accepts {} requests from its own pages only, not {origin}", req.method));
        }
        if let Some(route) = req.path.strip_prefix(PREFIX) {
            return self.runtime_route(route, req);
        }
        if req.method != "GET" && req.method != "HEAD" {
            return method_not_allowed(&req.method, "GET, HEAD");
        }
        self.static_file(&req.path)
    }

    fn runtime_route(&self, route: &str, req: &Request) -> Response {
        let (allow, result) = match route {
            "runtime.js" => ("GET, HEAD", (req.method != "POST").then(|| self.runtime_js())),
            "analysis.wasm" => (
                "GET, HEAD",
                (req.method != "POST").then(|| match self.analysis_module(req) {
                    Ok(r) => r,
                    Err(e) => Response::text(500, format!("cannot read the analysis module {}: {e}", self.analysis.display())),
                }),
            ),
            "snapshots" => ("GET, HEAD, POST", Some(if req.method == "POST" { self.post_snapshot(req) } else { self.list_snapshots() })),
            "report" => ("GET, HEAD", (req.method != "POST").then(|| self.report(req.query.get("module")))),
            _ => {
                return Response::text(
                    404,
                    format!("{PREFIX}{route}: not a wasmleak URL (runtime.js, analysis.wasm, snapshots, report)"),
                );
            }
        };
        if !allow.split(", ").any(|m| m == req.method) {
            return method_not_allowed(&req.method, allow);
        }
        result.expect("allowed methods have a response")
    }

    /// The analysis module every page downloads: gzip-compressed when the browser takes it (every browser does;
    /// `fetch` and `WebAssembly.instantiateStreaming` undo it), made once per build of the module.
    fn analysis_module(&self, req: &Request) -> std::io::Result<Response> {
        let gzip = req.headers.get("accept-encoding").is_some_and(|a| a.split(',').any(|e| e.split(';').next().unwrap_or("").trim() == "gzip"));
        let mut r = if gzip {
            let meta = std::fs::metadata(&self.analysis)?;
            let key = (meta.len(), meta.modified()?);
            let mut cached = self.analysis_gz.lock().unwrap_or_else(|e| e.into_inner());
            let gz = match cached.as_ref() {
                Some((k, gz)) if *k == key => gz.clone(),
                _ => {
                    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    std::io::Write::write_all(&mut enc, &std::fs::read(&self.analysis)?)?;
                    let gz = enc.finish()?;
                    *cached = Some((key, gz.clone()));
                    gz
                }
            };
            let mut r = Response::new(200, "application/wasm", gz);
            r.headers.push(("Content-Encoding", "gzip".into()));
            r
        } else {
            Response::new(200, "application/wasm", std::fs::read(&self.analysis)?)
        };
        r.headers.push(("Vary", "Accept-Encoding".into()));
        Ok(r)
    }

    /// The browser runtime as one classic script (js/dist/runtime.js, bundled by esbuild: scripts/bundle-js.sh):
    /// `$WASMLEAK_JS/dist/runtime.js` when set (development), else the copy embedded at build time.
    fn runtime_js(&self) -> Response {
        if std::env::var_os("WASMLEAK_JS").is_some() {
            let path = js_dir().join("dist/runtime.js");
            return match std::fs::read(&path) {
                Ok(js) => Response::new(200, "text/javascript; charset=utf-8", js),
                Err(e) => Response::text(500, format!("cannot read {} (scripts/bundle-js.sh makes it): {e}", path.display())),
            };
        }
        Response::new(200, "text/javascript; charset=utf-8", embedded::RUNTIME_JS)
    }

    fn post_snapshot(&self, req: &Request) -> Response {
        let snap = match Snapshot::from_bytes(&req.body) {
            Ok(s) => s,
            Err(e) => {
                return Response::text(400, format!("POST {PREFIX}snapshots takes a .wlsnap ({} bytes received): {e}", req.body.len()));
            }
        };
        let module = match req.query.get("module") {
            Some(m) if m.is_empty() || m.len() > 200 => {
                return Response::text(400, "module=NAME: a name of 1 to 200 characters");
            }
            Some(m) => m.clone(),
            None => snap.module.clone(),
        };
        let module = match req.query.get("page") {
            Some(page) => {
                let mut pages = self.pages.lock().unwrap();
                let (seen, loads) = pages.entry(module.clone()).or_insert_with(|| (page.clone(), 1));
                if seen != page {
                    (*seen, *loads) = (page.clone(), *loads + 1);
                }
                if *loads == 1 { module } else { format!("{module}~{loads}") }
            }
            None => module,
        };
        let mut snaps = self.snaps.lock().unwrap();
        let list = snaps.entry(module.clone()).or_default();
        let n = list.len() + 1;
        let mut file = None;
        if let Some(dir) = &self.save {
            let path = dir.join(format!("{}.{n}.wlsnap", file_stem(&module)));
            if let Err(e) = std::fs::write(&path, &req.body) {
                return Response::text(500, format!("cannot write {}: {e}", path.display()));
            }
            file = Some(path.display().to_string());
        }
        eprintln!(
            "wasmleak: snapshot {n} of {module}: {} blocks, {} B live{}",
            snap.blocks.len(),
            snap.live_bytes(),
            file.as_ref().map(|f| format!(", saved to {f}")).unwrap_or_default()
        );
        list.push(snap);
        Response::json(201, json!({ "module": module, "n": n, "file": file }))
    }

    fn list_snapshots(&self) -> Response {
        let snaps = self.snaps.lock().unwrap();
        let mut out = Vec::new();
        for (module, list) in snaps.iter() {
            for (i, s) in list.iter().enumerate() {
                out.push(json!({
                    "module": module, "n": i + 1, "index": s.index, "iteration": s.iteration,
                    "blocks": s.blocks.len(), "bytes": s.live_bytes(), "allocations": s.allocations, "frees": s.frees,
                }));
            }
        }
        Response::json(200, serde_json::Value::Array(out))
    }

    /// The HTML report of one module's snapshots; a picker when several modules have some and none is named.
    fn report(&self, module: Option<&String>) -> Response {
        let snaps = self.snaps.lock().unwrap();
        let chosen = match module {
            Some(m) => snaps.get_key_value(m.as_str()),
            None if snaps.len() == 1 => snaps.iter().next(),
            None => None,
        };
        if let Some((_, list)) = chosen {
            let mut out = Vec::new();
            return match html::write_series(list, &mut out) {
                Ok(()) => Response::new(200, "text/html; charset=utf-8", out),
                Err(e) => Response::text(500, format!("cannot render the report: {e}")),
            };
        }
        let (status, title, text) = if snaps.is_empty() {
            (200, "no snapshots yet", "No snapshot was taken yet: click <b>Take snapshot</b> in the page's wasmleak panel, \
             repeat the action you suspect, take another snapshot, then reload this page.".to_string())
        } else if let Some(m) = module {
            (404, "no such module", format!("No snapshot of <code>{}</code>. Modules with snapshots:", esc(m)))
        } else {
            (200, "pick a module", "Snapshots were taken of several modules:".to_string())
        };
        let mut body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wasmleak: {title}</title>\
             <style>body{{font:15px system-ui,sans-serif;margin:2em;max-width:50em}}</style></head>\n\
             <body><h1>wasmleak report</h1><p id=\"wasmleak-report-status\">{text}</p>\n<ul>\n"
        );
        for (name, list) in snaps.iter() {
            let _ = writeln!(
                body,
                "<li><a href=\"/__wasmleak/report?module={}\">{}</a> ({} snapshot{})</li>",
                percent_encode(name),
                esc(name),
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            );
        }
        body.push_str("</ul></body></html>\n");
        Response::html(status, body)
    }

    fn static_file(&self, url_path: &str) -> Response {
        let mut path = self.root.clone();
        for seg in url_path.split('/') {
            match seg {
                "" | "." => {}
                ".." => return Response::text(403, format!("{url_path}: paths outside the served directory are refused")),
                s if s.contains(['\\', '\0']) => return Response::text(400, format!("{url_path}: bad path")),
                s => path.push(s),
            }
        }
        if path.is_dir() {
            if !url_path.ends_with('/') {
                // So that the page's relative URLs resolve inside the directory.
                let mut r = Response::text(301, format!("{url_path}/"));
                r.headers.push(("Location", format!("{}/", percent_encode_path(url_path))));
                return r;
            }
            path.push("index.html");
        }
        let Ok(real) = path.canonicalize() else {
            if url_path == "/favicon.ico" {
                return Response::new(204, "image/x-icon", Vec::new()); // browsers ask; no error in the console
            }
            return Response::text(404, format!("{url_path}: not found in {}", self.root.display()));
        };
        if !real.starts_with(&self.root) {
            return Response::text(403, format!("{url_path}: paths outside the served directory are refused"));
        }
        let bytes = match std::fs::read(&real) {
            Ok(b) => b,
            Err(e) => return Response::text(404, format!("{url_path}: cannot read: {e}")),
        };
        let ty = content_type(&real);
        if ty.starts_with("text/html") {
            return Response::new(200, ty, inject(&bytes, &self.injected));
        }
        Response::new(200, ty, bytes)
    }
}

fn method_not_allowed(method: &str, allow: &str) -> Response {
    let mut r = Response::text(405, format!("{method} is not allowed here (allowed: {allow})"));
    r.headers.push(("Allow", allow.to_string()));
    r
}

/// `127.0.0.1[:port]` or `localhost[:port]`.
fn is_local_host(host: &str) -> bool {
    let name = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost")
}

/// The parts of a request the handlers use: the path percent-decoded, the query, the headers, the body (at most
/// [`MAX_BODY`] bytes, read within [`BODY_TIMEOUT`]). `Err` is the response to send.
async fn read_request(req: hyper::Request<hyper::body::Incoming>) -> Result<Request, Response> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        return Err(Response::text(400, format!("{}: only origin-form targets (/path) are served", parts.uri)));
    }
    let raw_path = parts.uri.path();
    let Some(path) = percent_decode(raw_path) else {
        return Err(Response::text(400, format!("{raw_path}: bad percent-encoding")));
    };
    let query = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((percent_decode(&k.replace('+', " "))?, percent_decode(&v.replace('+', " "))?))
        })
        .collect();
    let mut headers = HashMap::new();
    for (k, v) in &parts.headers {
        let Ok(v) = v.to_str() else { return Err(Response::text(400, format!("header {k}: not text"))) };
        headers.insert(k.as_str().to_string(), v.trim().to_string());
    }
    if let Some(len) = headers.get("content-length") {
        let Ok(len) = len.parse::<usize>() else { return Err(Response::text(400, format!("bad Content-Length {len:?}"))) };
        if len > MAX_BODY {
            return Err(Response::text(413, format!("{len} bytes is more than the {MAX_BODY} accepted")));
        }
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, http_body_util::Limited::new(body, MAX_BODY).collect()).await {
        Ok(Ok(b)) => b.to_bytes().to_vec(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Err(Response::text(413, format!("the body is more than the {MAX_BODY} bytes accepted")));
        }
        Ok(Err(e)) => return Err(Response::text(400, format!("cannot read the body: {e}"))),
        Err(_) => return Err(Response::text(408, format!("the body took more than {} s", BODY_TIMEOUT.as_secs()))),
    };
    Ok(Request { method: parts.method.as_str().to_string(), path, query, headers, body })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn percent_encode_path(s: &str) -> String {
    s.split('/').map(percent_encode).collect::<Vec<_>>().join("/")
}

/// A module name as a file name: `dir/app.wasm` → `dir_app`.
fn file_stem(module: &str) -> String {
    let name = module.strip_suffix(".wasm").unwrap_or(module);
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        // instantiateStreaming / compileStreaming refuse any other type.
        "wasm" => "application/wasm",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// What goes into every page: the runtime, then attach() with the overlay and the allocator options (JSON,
/// `--alloc-fn` & co.). Classic scripts, so they run before the app's own (classic or module) scripts.
pub fn injected(allocator: &str) -> String {
    // JSON is a JS expression; `</` would end the script element early.
    let allocator = allocator.replace("</", "<\\/");
    format!(
        "<script src=\"/__wasmleak/runtime.js\"></script><script>wasmleak.attach({{ analysis: '/__wasmleak/analysis.wasm', \
         overlay: true, server: true, allocator: {allocator} }});</script>"
    )
}

/// Insert `injected` right after `<head …>` (else after `<html …>`, else after the doctype, else at the
/// start). A page that includes the runtime itself is left alone.
pub fn inject(page: &[u8], injected: &str) -> Vec<u8> {
    if find(page, RUNTIME_URL.as_bytes(), 0).is_some() {
        return page.to_vec();
    }
    let at = tag_end(page, b"<head").or_else(|| tag_end(page, b"<html")).or_else(|| tag_end(page, b"<!doctype")).unwrap_or(0);
    let mut out = Vec::with_capacity(page.len() + injected.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(injected.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// The offset just after the first tag `<name…>` (case-insensitive; `<header>` is not `<head>`), outside
/// comments (a page whose first lines comment on its `<head>` had the scripts put inside the comment).
fn tag_end(page: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(page, name, from) {
        let after = i + name.len();
        if in_comment(page, i) {
            from = after;
            continue;
        }
        match page.get(after) {
            Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/') => {
                return page[after..].iter().position(|&b| b == b'>').map(|p| after + p + 1);
            }
            _ => from = after,
        }
    }
    None
}

/// Whether offset `at` lies inside an HTML comment (`<!-- … -->`).
fn in_comment(page: &[u8], at: usize) -> bool {
    let Some(open) = page[..at].windows(4).rposition(|w| w == b"<!--") else { return false };
    find(&page[..at], b"-->", open + 4).is_none()
}

/// First case-insensitive occurrence of `needle` (ASCII) at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    (from..=hay.len().checked_sub(needle.len())?).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded runtime is the committed bundle: one classic script that defines `globalThis.wasmleak`.
    #[test]
    fn the_embedded_runtime_is_the_committed_bundle() {
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../js/dist/runtime.js")).unwrap();
        assert_eq!(embedded::RUNTIME_JS, committed);
        assert!(committed.contains("globalThis.wasmleak = Object.freeze("));
        assert!(!committed.lines().any(|l| l.starts_with("import ") || l.starts_with("export ")));
    }

    #[test]
    fn injection_goes_after_head_once() {
        let inj = &injected("{}");
        assert!(inj.contains("allocator: {}"), "{inj}");
        let s = |b: Vec<u8>| String::from_utf8(b).unwrap();
        let page = s(inject(b"<!DOCTYPE html><html><HEAD lang=en><title>x</title></head><body></body></html>", inj));
        assert!(page.starts_with(&format!("<!DOCTYPE html><html><HEAD lang=en>{inj}<title>")), "{page}");
        let page = s(inject(b"<html><header>h</header></html>", inj));
        assert!(page.starts_with(&format!("<html>{inj}<header>")), "{page}");
        let page = s(inject(b"<!doctype html>\n<p>hi", inj));
        assert!(page.starts_with(&format!("<!doctype html>{inj}\n<p>")), "{page}");
        assert_eq!(s(inject(b"<p>hi", inj)), format!("{inj}<p>hi"));
        // A comment that mentions <head> first (the scripts went inside it, and nothing was attached).
        let page = s(inject(b"<!-- edit the <head> below --><html><head><title>x</title></head></html>", inj));
        assert!(page.starts_with(&format!("<!-- edit the <head> below --><html><head>{inj}<title>")), "{page}");
        let own = b"<head><script src=\"/__wasmleak/runtime.js\"></script></head>";
        assert_eq!(inject(own, inj), own.to_vec());
    }

    #[test]
    fn hosts_and_names() {
        assert!(is_local_host("127.0.0.1:8642") && is_local_host("localhost") && is_local_host("LOCALHOST:1"));
        assert!(!is_local_host("evil.example:8642") && !is_local_host("127.0.0.1.evil.example"));
        assert_eq!(file_stem("dir/app.wasm"), "dir_app");
        assert_eq!(percent_decode("/a%20b/%2e%2e").as_deref(), Some("/a b/.."));
        assert_eq!(percent_decode("/%zz"), None);
    }
}
