//! `wasmleak inspect`: what a module is made of, and what wasmleak would hook.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use wasmleak_symbolize::Symbolizer;

use crate::common::{load, AllocatorOpts};

/// Sections, imports/exports, memories, producers, debug info, and the allocator entry points found.
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    /// Also list every function with its name and where the name came from
    #[arg(long)]
    functions: bool,
    #[command(flatten)]
    allocator: AllocatorOpts,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let info = &m.info;
        let sym = Symbolizer::new(&m.bytes)?;
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
                if mem.memory64 || mem.shared { "  (not supported by check yet)" } else { "" },
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
            if sym.has_name_section() { format!("yes ({} function names)", info.func_names.len()) } else { "no".into() }
        );
        println!("  DWARF: {}", if sym.has_dwarf() { "yes (file:line available)" } else { "no" });
        if let Some(sp) = info.stack_pointer() {
            let init = info.globals[sp as usize].init.map_or("?".into(), |v| format!("{v:#x}"));
            println!("  stack pointer: global {sp}, initial value {init}");
        }
        println!("\nallocator:");
        match self.allocator.find(&m, &sym) {
            Ok(eps) => {
                for e in &eps {
                    let demangled = sym.function_name(e.func).unwrap_or(&e.name);
                    println!("  {:<15} function {:>5}  {}  (found by {})", e.role.to_string(), e.func, demangled, e.evidence);
                }
            }
            Err(e) => println!("  none: {e:#}"),
        }
        if self.functions {
            println!("\nfunctions:");
            for f in sym.function_names() {
                println!("  {:>5}  {}  [{}]", f.index, f.demangled, f.source.as_str());
            }
        }
        Ok(0)
    }
}
