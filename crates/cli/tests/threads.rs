//! Threaded modules (shared memory, atomics): discovery reads them — `inspect` finds the allocator of an
//! Emscripten `-pthread` build and confirms it by calling it in a scratch instance where the atomics are what
//! they are on one thread — and `check` refuses to track them, naming what it found (tracking threads is not
//! built yet). Fixture: fixtures/edge/emscripten/threads.c (two workers allocate, leak and free on one heap).

mod common;

use common::*;
use serde_json::Value;

fn edge(name: &str) -> std::path::PathBuf {
    fixtures_dir().join("edge").join(name)
}

/// `bytes` as a published build ships: no custom sections, exports renamed (Emscripten minifies them: `ga`, `ha`).
fn minified(bytes: &[u8]) -> Vec<u8> {
    fn leb(out: &mut Vec<u8>, mut v: u32) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    let mut out = bytes[..8].to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.unwrap();
        let Some((id, range)) = payload.as_section() else { continue };
        let body = match &payload {
            wasmparser::Payload::CustomSection(_) => continue,
            wasmparser::Payload::ExportSection(r) => {
                let exports: Vec<_> = r.clone().into_iter().map(|e| e.unwrap()).collect();
                let mut s = Vec::new();
                leb(&mut s, exports.len() as u32);
                for (i, e) in exports.iter().enumerate() {
                    let name = if e.kind == wasmparser::ExternalKind::Memory { e.name.to_string() } else { format!("x{i}") };
                    leb(&mut s, name.len() as u32);
                    s.extend_from_slice(name.as_bytes());
                    s.push(e.kind as u8);
                    leb(&mut s, e.index);
                }
                s
            }
            _ => bytes[range].to_vec(),
        };
        out.push(id);
        leb(&mut out, body.len() as u32);
        out.extend_from_slice(&body);
    }
    out
}

fn inspect(path: &std::path::Path) -> Value {
    let r = wasmleak(vec!["inspect".into(), "--format".into(), "json".into(), path.as_os_str().to_owned()]);
    r.assert_code(0);
    r.json()
}

fn role_funcs(v: &Value, role: &str) -> Vec<u64> {
    v["allocator"]["entry_points"].as_array().unwrap().iter().filter(|e| e["role"] == role).map(|e| e["func"].as_u64().unwrap()).collect()
}

#[test]
fn inspect_finds_the_allocator_of_a_pthread_build() {
    let named = inspect(&edge("em_threads.wasm"));
    assert_eq!(named["memories"][0]["shared"], true, "{named:#}");
    assert_eq!(named["allocator"]["status"], "found", "{named:#}");
    let (malloc, free) = (role_funcs(&named, "malloc"), role_funcs(&named, "free"));
    assert_eq!((malloc.len(), free.len()), (1, 1), "{named:#}");

    // Stripped, exports minified: found by the code's shape, and confirmed by experiments that run dlmalloc's
    // locked paths (atomic compare-exchange, futex wait and wake) in the scratch instance.
    let stripped = scratch("em_threads_min.wasm");
    std::fs::write(&stripped, minified(&std::fs::read(edge("em_threads.wasm")).unwrap())).unwrap();
    let v = inspect(&stripped);
    assert_eq!(v["allocator"]["status"], "found", "{v:#}");
    assert_eq!(role_funcs(&v, "malloc"), malloc, "{v:#}");
    assert!(role_funcs(&v, "free").contains(&free[0]), "{v:#}");
    for e in v["allocator"]["entry_points"].as_array().unwrap() {
        assert!(e["confirmed"].is_string(), "every entry point confirmed by calling it: {e:#}");
    }
}

#[test]
fn check_refuses_a_threaded_module_and_names_its_allocator() {
    let r = wasmleak(vec!["check".into(), edge("em_threads.wasm").into_os_string()]);
    assert_ne!(r.status, Some(0), "{}", r.describe());
    let err = r.stderr.lines().find(|l| l.starts_with("error")).unwrap_or_else(|| panic!("{}", r.describe()));
    for part in ["em_threads.wasm", "shared memory", "not supported", "malloc (function", "free (function"] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
}
