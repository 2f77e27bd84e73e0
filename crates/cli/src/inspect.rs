//! `wasmleak inspect`: what a module is made of, and what wasmleak would hook (text, or JSON for tools:
//! docs/inspect-json.md).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use wasmleak_instrument::{Discovered, Error, Evidence};
use wasmleak_symbolize::Symbolizer;

use crate::common::{load, AllocatorOpts, DebugFile, Loaded};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Sections, imports/exports, memories, producers, debug info, and the allocator entry points found.
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    /// Also list every function with its name and where the name came from
    #[arg(long)]
    functions: bool,
    /// text for people, json for tools (the schema is docs/inspect-json.md)
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    allocator: AllocatorOpts,
    #[command(flatten)]
    debug: DebugFile,
}

/// What discovery said: the entry points and notes, or why there are none.
struct Allocator {
    found: Result<Discovered, Error>,
}

impl Allocator {
    fn status(&self) -> &'static str {
        match &self.found {
            Ok(_) => "found",
            Err(Error::LanguageRuntime(_)) => "language_runtime",
            Err(Error::Unsupported(_)) => "unsupported",
            Err(_) => "not_found",
        }
    }
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let sym = self.debug.symbolizer(&m)?;
        let allocator = Allocator { found: self.allocator.discover(&m, &sym) };
        match self.format {
            Format::Text => text(&m, &sym, &allocator, self.functions),
            Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(&m, &sym, &allocator, self.functions))?),
        }
        Ok(0)
    }
}

fn text(m: &Loaded, sym: &Symbolizer, allocator: &Allocator, functions: bool) {
    let info = &m.info;
    println!("{}: {} bytes", m.path.display(), m.bytes.len());
    println!("\nsections:");
    for s in &info.sections {
        let count = s.count.map(|c| format!(" ({c} entries)")).unwrap_or_default();
        let kind = if s.id == 0 { "custom " } else { "" };
        println!("  {kind}{:<20} {:>10} bytes at {:#x}{count}", s.name, s.range.len(), s.range.start);
    }
    println!("\nmemories:");
    for (i, mem) in info.memories.iter().enumerate() {
        let max = mem.maximum_pages.map_or("none".to_string(), |m| format!("{m} pages"));
        println!(
            "  memory {i}: {}{} min {} pages ({} KiB), max {max}{}{}",
            if mem.imported { "imported, " } else { "" },
            if mem.memory64 { "64-bit," } else { "32-bit," },
            mem.initial_pages,
            mem.initial_pages * 64,
            if mem.shared { ", shared" } else { "" },
            if mem.memory64 { "  (not supported by check yet)" } else { "" },
        );
    }
    println!("\nimports ({}):", info.imports.len());
    for i in &info.imports {
        println!("  {:<6} {}::{}", i.kind, i.module, i.name);
    }
    println!("\nexports ({}):", info.exports.len());
    for e in &info.exports {
        println!("  {:<6} {} -> {}", format!("{:?}", e.kind).to_lowercase(), e.name, e.index);
    }
    if !info.producers.is_empty() {
        println!("\nproducers:");
        for (field, values) in &info.producers {
            let v: Vec<String> = values.iter().map(|(n, v)| format!("{n} {v}").trim().to_string()).collect();
            println!("  {field}: {}", v.join(", "));
        }
    }
    println!("\ndebug info:");
    println!(
        "  name section: {}",
        if sym.has_name_section() { format!("yes ({} function names)", sym.num_names()) } else { "no".into() }
    );
    let dwarf = match (sym.has_dwarf(), sym.dwarf_maps_code()) {
        (true, true) => "yes (file:line available)",
        (true, false) => "yes, but it maps none of the code (optimised after linking, by wasm-opt): no file:line",
        _ => "no",
    };
    println!("  DWARF: {dwarf}");
    if let Some(from) = sym.debug_source() {
        println!("  names and DWARF from: {from}");
    }
    if let Some(id) = info.build_id() {
        println!("  build id: {}", hex(&id));
    }
    if let Some(url) = info.external_debug_info() {
        println!("  external debug info: {url}");
    }
    if let Some(sp) = info.stack_pointer() {
        let init = info.globals[sp as usize].init.map_or("?".into(), |v| format!("{v:#x}"));
        println!("  stack pointer: global {sp}, initial value {init}");
    }
    println!("\nallocator:");
    match &allocator.found {
        Ok(d) => {
            for e in &d.entry_points {
                let demangled = sym.function_name(e.func).unwrap_or(&e.name);
                println!("  {:<19} function {:>5}  {}  (found by {})", e.role.to_string(), e.func, demangled, e.evidence);
            }
            if d.entry_points.iter().any(|e| e.confirmed.is_some()) {
                println!("\nconfirmed by calling them in a scratch instance of the module:");
                for e in &d.entry_points {
                    if let Some(c) = &e.confirmed {
                        println!("  function {:>5} ({}): {c}", e.func, e.role);
                    }
                }
            }
            if !d.notes.is_empty() || !d.details.is_empty() {
                println!("\nnotes:");
                for n in d.notes.iter().chain(&d.details) {
                    println!("  {n}");
                }
            }
        }
        Err(e) => {
            println!("  none: {e}");
            if let Error::NoAllocator { detail, .. } = e
                && !detail.is_empty()
            {
                println!("\nwhat was tried:");
                for d in detail {
                    println!("  {d}");
                }
            }
        }
    }
    if functions {
        println!("\nfunctions:");
        for f in sym.function_names() {
            println!("  {:>5}  {}  [{}]", f.index, f.demangled, f.source.as_str());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_json(m: &Loaded, sym: &Symbolizer, allocator: &Allocator, functions: bool) -> Value {
    let info = &m.info;
    let entry_points: Vec<Value> = match &allocator.found {
        Ok(d) => d
            .entry_points
            .iter()
            .map(|e| {
                let (confidence, reason) = match &e.evidence {
                    Evidence::Fingerprint { confidence, reason } => (Some(confidence.to_string()), Some(reason.clone())),
                    _ => (None, None),
                };
                json!({
                    "func": e.func,
                    "role": e.role.id(),
                    "name": sym.function_name(e.func),
                    "found_by": e.evidence.source(),
                    "confidence": confidence,
                    "reason": reason,
                    "confirmed": e.confirmed,
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let (notes, detail, message): (Vec<String>, Vec<String>, Option<String>) = match &allocator.found {
        Ok(d) => (d.notes.iter().chain(&d.details).cloned().collect(), Vec::new(), None),
        Err(Error::NoAllocator { detail, .. }) => (Vec::new(), detail.clone(), Some(allocator.found.as_ref().unwrap_err().to_string())),
        Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
    };
    let sp = info.stack_pointer().map(|g| json!({"global": g, "initial": info.globals[g as usize].init}));
    let mut out = json!({
        "version": 1,
        "module": m.path.display().to_string(),
        "bytes": m.bytes.len(),
        "sections": info.sections.iter().map(|s| json!({
            "id": s.id, "name": s.name, "offset": s.range.start, "size": s.range.len(), "entries": s.count,
        })).collect::<Vec<_>>(),
        "memories": info.memories.iter().enumerate().map(|(i, mem)| json!({
            "index": i, "imported": mem.imported, "memory64": mem.memory64, "shared": mem.shared,
            "initial_pages": mem.initial_pages, "maximum_pages": mem.maximum_pages,
        })).collect::<Vec<_>>(),
        "imports": info.imports.iter().map(|i| json!({"module": i.module, "name": i.name, "kind": i.kind})).collect::<Vec<_>>(),
        "exports": info.exports.iter().map(|e| json!({
            "name": e.name, "kind": format!("{:?}", e.kind).to_lowercase(), "index": e.index,
        })).collect::<Vec<_>>(),
        "producers": info.producers.iter().map(|(field, values)| (field.clone(), json!(values.iter().map(|(n, v)| json!({"name": n, "version": v})).collect::<Vec<_>>()))).collect::<serde_json::Map<_, _>>(),
        "debug": {
            "name_section": sym.has_name_section(),
            "function_names": sym.num_names(),
            "dwarf": sym.has_dwarf(),
            "dwarf_maps_code": sym.dwarf_maps_code(),
            "names_from": sym.debug_source(),
            "build_id": info.build_id().map(|b| hex(&b)),
            "external_debug_info": info.external_debug_info(),
            "stack_pointer": sp,
        },
        "allocator": {
            "status": allocator.status(),
            "message": message,
            "entry_points": entry_points,
            "notes": notes,
            "detail": detail,
        },
    });
    if functions {
        out["functions"] = json!(sym.function_names().iter().map(|f| json!({
            "index": f.index, "name": f.demangled, "raw": f.raw, "source": f.source.as_str(),
        })).collect::<Vec<_>>());
    }
    out
}
