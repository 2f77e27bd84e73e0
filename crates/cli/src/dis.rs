//! `wasmleak dis`: one function as WAT.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use wasmleak_symbolize::Symbolizer;

use crate::common::{load, resolve_function};

/// Print one function of a module as WebAssembly text.
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    /// The function: its index (`N`, `func[N]`), or its name — raw, demangled, or the last path segment of the
    /// demangled name (`heavy_iteration`) when that names one function
    #[arg(long, value_name = "NAME|INDEX")]
    func: String,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let sym = Symbolizer::new_shared(&m.bytes)?;
        // As --iteration takes it: an index, func[N], a raw or demangled name, or its last path segment.
        let index = resolve_function(&m, &sym, &self.func, "--func")?;
        if index >= m.info.num_funcs() {
            bail!("function index {index} is out of range: {} has {} functions", m.path.display(), m.info.num_funcs());
        }
        if index < m.info.num_imported_funcs {
            bail!("function {index} is imported: it has no body to print");
        }
        let mut printer = wasmprinter::Config::new();
        printer.name_unnamed(true);
        let mut out = String::new();
        printer
            .print(&m.bytes, &mut wasmprinter::PrintFmtWrite(&mut out))
            .context("printing the module")?;
        let wat = extract_func(&out, index).context("the printed module has no such function")?;
        if let Some(name) = sym.function_name(index) {
            println!(";; function {index}: {name}");
        }
        print!("{wat}");
        Ok(0)
    }
}

/// The `(func ...)` form with index `index` from a printed module (wasmprinter prints `(;N;)` after each
/// func's name): from its opening parenthesis to the matching close, skipping strings and comments.
fn extract_func(wat: &str, index: u32) -> Option<String> {
    let tag = format!("(;{index};)");
    let mut line_start = 0;
    let start = loop {
        let line = wat[line_start..].lines().next()?;
        let t = line.trim_start();
        if t.starts_with("(func ") && t.contains(&tag) {
            break line_start + (line.len() - t.len());
        }
        line_start += line.len() + 1;
        if line_start >= wat.len() {
            return None;
        }
    };
    let b = wat.as_bytes();
    let (mut depth, mut i) = (0usize, start);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b';' if b.get(i + 1) == Some(&b';') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if b.get(i + 1) == Some(&b';') => {
                // Block comment `(; ... ;)`.
                i += 2;
                while i + 1 < b.len() && !(b[i] == b';' && b[i + 1] == b')') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    let indent = start - line_start;
                    let text = &wat[start..=i];
                    // Dedent the continuation lines by the func's own indentation.
                    let out: Vec<&str> = text.lines().map(|l| l.get(indent..).filter(|_| l.starts_with(&" ".repeat(indent))).unwrap_or(l)).collect();
                    return Some(out.join("\n") + "\n");
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
