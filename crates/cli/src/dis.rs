//! `wasmleak dis`: one function as WAT.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use wasmleak_symbolize::Symbolizer;

use crate::common::load;

/// Print one function of a module as WebAssembly text.
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    /// The function: its name (raw or demangled), or its index
    #[arg(long, value_name = "NAME|INDEX")]
    func: String,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let sym = Symbolizer::new(&m.bytes)?;
        let index = match self.func.parse::<u32>() {
            Ok(i) => i,
            Err(_) => {
                let found = sym.find_functions(&self.func);
                match found.as_slice() {
                    [i] => *i,
                    [] => bail!(
                        "no function named `{}` in {} (`wasmleak inspect --functions` lists them)",
                        self.func,
                        m.path.display()
                    ),
                    many => bail!("`{}` names {} functions ({:?}): pass the index", self.func, many.len(), many),
                }
            }
        };
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

/// The `(func ...)` form with index `index` from a printed module (wasmprinter prints `(;N;)` after each func).
fn extract_func(wat: &str, index: u32) -> Option<String> {
    let marker = format!("(func ");
    let tag = format!("(;{index};)");
    let mut lines = wat.lines().peekable();
    let mut out = String::new();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with(&marker) && t.contains(&tag) {
            let indent = line.len() - t.len();
            out.push_str(&line[indent..]);
            out.push('\n');
            for l in lines.by_ref() {
                let lt = l.trim_start();
                let li = l.len() - lt.len();
                if li <= indent && !lt.is_empty() {
                    break;
                }
                out.push_str(&l[indent.min(l.len())..]);
                out.push('\n');
            }
            return Some(out);
        }
    }
    None
}
