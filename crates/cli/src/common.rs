//! What several subcommands share: reading a module, and the options of a guest run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use wasmleak_host::{Invoke, RunConfig, StackMode, Stdout};
use wasmleak_instrument::{discover, Discovered, Discovery, EntryPoint, ModuleInfo, Overrides};
use wasmleak_symbolize::Symbolizer;

/// A module read from disk, parsed, validated.
pub struct Loaded {
    pub path: PathBuf,
    /// Shared with the symbolizer, which reads its DWARF where it is ([`Symbolizer::new_shared`]).
    pub bytes: std::sync::Arc<[u8]>,
    pub info: ModuleInfo,
}

pub fn load(path: &PathBuf) -> Result<Loaded> {
    let bytes = read_shared(path).with_context(|| format!("cannot read {}", path.display()))?;
    let info = ModuleInfo::parse(&bytes).with_context(|| format!("{} is not a module wasmleak can use", path.display()))?;
    // Every feature wasmparser knows (legacy exceptions, GC, threads…): what is valid wasm is read; whether it
    // can be tracked or run is for the later steps to say, each with its own reason.
    info.validate(&bytes).map_err(|e| match e {
        wasmleak_instrument::Error::Invalid(e) => anyhow::anyhow!("{} is not a valid module: {e}", path.display()),
        e => e.into(),
    })?;
    Ok(Loaded { path: path.clone(), bytes, info })
}

/// The file at `path`, read once into the `Arc` it is shared through (`Arc::from(vec)` would copy it) — but a pipe
/// (`<(…)`), whose length is not known before it is read.
fn read_shared(path: &Path) -> std::io::Result<std::sync::Arc<[u8]>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Ok(bytes.into());
    }
    let len = usize::try_from(meta.len()).map_err(|_| std::io::Error::other("too large"))?;
    // SAFETY: zeroed bytes are initialised `u8`s.
    let mut bytes = unsafe { std::sync::Arc::<[u8]>::new_zeroed_slice(len).assume_init() };
    file.read_exact(std::sync::Arc::get_mut(&mut bytes).expect("not shared yet"))?;
    if file.read(&mut [0u8])? != 0 {
        return Err(std::io::Error::other("it grew while being read"));
    }
    Ok(bytes)
}

/// The instrumenter's options (`check`, `instrument`): `--iteration FUNC` resolved and checked, whether frees
/// are checked before the allocator sees them (the `wasmleak.check` hook), and whether the hooks get calling-context
/// ids (the `_ctx` hooks).
pub fn instrument_options(
    m: &Loaded,
    sym: &Symbolizer,
    entry_points: &[EntryPoint],
    iteration: Option<&str>,
    checked_frees: bool,
    contexts: bool,
) -> Result<wasmleak_instrument::InstrumentOptions> {
    let iteration = match iteration {
        Some(spec) => {
            let f = resolve_function(m, sym, spec, "--iteration")?;
            wasmleak_instrument::check_iteration_function(&m.info, entry_points, f)?;
            Some(f)
        }
        None => None,
    };
    Ok(wasmleak_instrument::InstrumentOptions { iteration, checked_frees, contexts, ..Default::default() })
}

/// A function named on the command line (`--iteration FUNC`): `func[N]` or `N` (stripped modules), else a
/// name as the name section, DWARF or an export has it — raw (`_ZN3app6handle17h…E`), demangled
/// (`app::handle`, `handle(int)`), or the last path segment without parameters (`handle`) when that names
/// one function. The error says what was looked for, where, and what to pass instead.
pub fn resolve_function(m: &Loaded, sym: &Symbolizer, spec: &str, option: &str) -> Result<u32> {
    let spec = spec.trim();
    let index = spec.strip_prefix("func[").and_then(|r| r.strip_suffix(']')).unwrap_or(spec);
    if let Ok(i) = index.parse::<u32>() {
        if i >= m.info.num_funcs() {
            bail!(
                "{option} {spec}: function index {i} is out of range: {} has {} functions (`wasmleak inspect {} --functions` lists them)",
                m.path.display(),
                m.info.num_funcs(),
                m.path.display()
            );
        }
        return Ok(i);
    }
    let mut found: Vec<u32> = sym.find_functions(spec);
    found.extend(
        m.info.exports.iter().filter(|e| e.kind == wasmparser::ExternalKind::Func && e.name == spec).map(|e| e.index),
    );
    if found.is_empty() {
        // The short form: the last path segment of the demangled name, parameters left out.
        let short = |name: &str| -> bool {
            let base = name.split('(').next().unwrap_or(name).trim_end();
            base == spec || base.ends_with(&format!("::{spec}"))
        };
        found = sym.function_names().into_iter().filter(|n| short(&n.demangled)).map(|n| n.index).collect();
    }
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [i] => Ok(*i),
        [] => {
            let stripped = if sym.has_name_section() || sym.has_dwarf() {
                ""
            } else {
                " The module has no name section and no DWARF (stripped): pass the function's index, func[N]."
            };
            bail!(
                "{option} {spec}: {} has no function named `{spec}` (looked in the name section, DWARF and the exports, \
                 raw and demangled names).{stripped} `wasmleak inspect {} --functions` lists the functions; pass a name \
                 from there or an index (func[N])",
                m.path.display(),
                m.path.display()
            )
        }
        many => {
            let list: Vec<String> = many
                .iter()
                .take(10)
                .map(|&i| format!("func[{i}] {}", sym.function_name(i).unwrap_or("?")))
                .collect();
            bail!(
                "{option} {spec}: `{spec}` names {} functions in {}: {}; pass the full name or the index (func[N])",
                many.len(),
                m.path.display(),
                list.join(", ")
            )
        }
    }
}

#[derive(Args, Clone, Debug, Default)]
pub struct AllocatorOpts {
    /// Allocation function to hook, by name or index (`(size) -> ptr`, or `(size, align) -> ptr`)
    #[arg(long = "alloc-fn", value_name = "NAME|INDEX")]
    pub alloc: Vec<String>,
    /// Free function to hook, by name or index (`(ptr, ...)`)
    #[arg(long = "free-fn", value_name = "NAME|INDEX")]
    pub free: Vec<String>,
    /// Realloc function to hook, by name or index (`(ptr, size) -> ptr`, or Rust's 4-argument form)
    #[arg(long = "realloc-fn", value_name = "NAME|INDEX")]
    pub realloc: Vec<String>,
    /// calloc-like function to hook (`(count, size) -> ptr`)
    #[arg(long = "calloc-fn", value_name = "NAME|INDEX")]
    pub calloc: Vec<String>,
    /// aligned_alloc-like function to hook (`(align, size) -> ptr`)
    #[arg(long = "aligned-alloc-fn", value_name = "NAME|INDEX")]
    pub aligned_alloc: Vec<String>,
    /// posix_memalign-like function to hook (`(ptr*, align, size) -> errno`)
    #[arg(long = "posix-memalign-fn", value_name = "NAME|INDEX")]
    pub posix_memalign: Vec<String>,
}

impl AllocatorOpts {
    /// The entry points to hook, or the refusal (with the module's path); notes go to stderr.
    pub fn find(&self, m: &Loaded, sym: &Symbolizer) -> Result<Vec<EntryPoint>> {
        let found = self.discover(m, sym).with_context(|| format!("{}", m.path.display()))?;
        Ok(found.entry_points)
    }

    /// What discovery says, notes included (`inspect`).
    pub fn discover(&self, m: &Loaded, sym: &Symbolizer) -> Result<Discovered, wasmleak_instrument::Error> {
        let overrides = Overrides {
            alloc: self.alloc.clone(),
            free: self.free.clone(),
            realloc: self.realloc.clone(),
            calloc: self.calloc.clone(),
            aligned_alloc: self.aligned_alloc.clone(),
            posix_memalign: self.posix_memalign.clone(),
        };
        // With a debug file every name it has is the finder's (the module's own name section is empty).
        let names: HashMap<u32, String> = if sym.debug_source().is_some() {
            sym.function_names().into_iter().map(|n| (n.index, n.raw)).collect()
        } else {
            sym.dwarf_function_names()
        };
        discover(&m.bytes, &m.info, &names, &overrides, &Discovery::default())
    }
}

/// `--debug-file`: the names and DWARF of a stripped module from its unstripped build or a separate DWARF file.
#[derive(Args, Clone, Debug, Default)]
pub struct DebugFile {
    /// Symbolize with the names and DWARF of this file: the module's unstripped build, or its separate DWARF
    /// file (Emscripten -gseparate-dwarf); refused unless its code is the module's. Without it, a module's
    /// `external_debug_info` section is followed when the file it names is there
    #[arg(long = "debug-file", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl DebugFile {
    /// The module's symbolizer: its own names, or those of the debug file (given, or named by the module).
    pub fn symbolizer(&self, m: &Loaded) -> Result<Symbolizer> {
        let (path, given) = match &self.path {
            Some(p) => (p.clone(), true),
            None => match m.info.external_debug_info().filter(|u| !u.contains("://")) {
                Some(url) => (m.path.parent().unwrap_or(Path::new(".")).join(url), false),
                None => return Symbolizer::new_shared(&m.bytes).with_context(|| format!("reading names of {}", m.path.display())),
            },
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if given => return Err(anyhow::anyhow!("--debug-file {}: {e}", path.display())),
            Err(_) => {
                eprintln!(
                    "wasmleak: {} says its DWARF is in {}, which is not there: symbolizing without it",
                    m.path.display(),
                    path.display()
                );
                return Symbolizer::new_shared(&m.bytes).with_context(|| format!("reading names of {}", m.path.display()));
            }
        };
        if let (Some(a), Ok(b)) = (m.info.build_id(), wasmleak_instrument::ModuleInfo::parse(&bytes).map(|i| i.build_id())) {
            if let Some(b) = b.filter(|b| *b != a) {
                let hex = |v: &[u8]| v.iter().map(|x| format!("{x:02x}")).collect::<String>();
                bail!(
                    "{} is not the debug file of {}: its build id is {}, the module's {}",
                    path.display(),
                    m.path.display(),
                    hex(&b),
                    hex(&a)
                );
            }
        }
        Symbolizer::with_debug_file(&m.bytes, &bytes, &path.display().to_string())
            .with_context(|| format!("--debug-file for {}", m.path.display()))
    }
}

#[derive(Args, Clone, Debug)]
pub struct GuestOpts {
    /// Call this export instead of running `_start` (library modules; `_initialize` runs first)
    #[arg(long, value_name = "EXPORT")]
    pub invoke: Option<String>,
    /// With --invoke: how many times to call the export
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,
    /// Environment variable for the guest (repeatable)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Give the guest a host directory: HOST or HOST::GUEST (repeatable; nothing is shared unless asked)
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,
    /// Stop the guest after this many seconds (its report is still printed)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Largest linear memory the guest may grow to, e.g. 256MiB, 1GiB, 65536
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<String>,
    /// Let a module import functions the host does not provide (an Emscripten standalone build's `env::system`,
    /// syscalls it never calls): each traps if called, ending the run with its report
    #[arg(long)]
    pub trap_unknown_imports: bool,
    /// Arguments for the guest: everything from the first argument after the module that is not one of
    /// wasmleak's options (or after `--`), untouched — what a cargo runner passes (`wasmleak check --` as the
    /// runner passes even arguments that are also wasmleak's options, like `--format`); with --invoke, the
    /// export's arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

impl GuestOpts {
    pub fn config(&self, module: &PathBuf, stdout: Stdout, stacks: StackMode) -> Result<RunConfig> {
        let mut env = Vec::new();
        for e in &self.env {
            let Some((k, v)) = e.split_once('=') else { bail!("--env {e}: expected NAME=VALUE") };
            env.push((k.to_string(), v.to_string()));
        }
        let mut dirs = Vec::new();
        for d in &self.dirs {
            let (host, guest) = d.split_once("::").unwrap_or((d.as_str(), d.as_str()));
            dirs.push((PathBuf::from(host), guest.to_string()));
        }
        let timeout = match self.timeout {
            Some(t) if !(t > 0.0 && t.is_finite()) => bail!("--timeout {t}: expected a positive number of seconds"),
            Some(t) => Some(Duration::from_secs_f64(t)),
            None => None,
        };
        let max_memory = self.max_memory.as_deref().map(parse_size).transpose()?;
        if self.invoke.is_none() && self.repeat != 1 {
            bail!("--repeat needs --invoke EXPORT: a WASI command runs once (pass the iteration count as an argument instead)");
        }
        let (args, invoke) = match &self.invoke {
            Some(export) => {
                (Vec::new(), Some(Invoke { export: export.clone(), args: self.args.clone(), repeat: self.repeat }))
            }
            None => (self.args.clone(), None),
        };
        let program_name = module.file_name().map_or("main.wasm".into(), |n| n.to_string_lossy().into_owned());
        Ok(RunConfig {
            program_name,
            args,
            env,
            dirs,
            invoke,
            timeout,
            max_memory,
            stdout,
            stacks,
            trap_unknown_imports: self.trap_unknown_imports,
            ..RunConfig::default()
        })
    }
}

/// `65536`, `64KiB`, `256MiB`, `1GiB` (also KB/MB/GB as powers of 1000, and K/M/G as binary).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().with_context(|| format!("--max-memory {s}: expected a size such as 256MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => bail!("--max-memory {s}: unknown unit `{other}` (use B, KiB, MiB or GiB)"),
    };
    n.checked_mul(mult).with_context(|| format!("--max-memory {s}: too large"))
}

/// Write a file through a buffered writer, with the path in every error.
pub fn write_file(path: &PathBuf, write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).and_then(|()| std::io::Write::flush(&mut out)).with_context(|| format!("writing {}", path.display()))
}

/// How to build the analysis compiled to wasm32 (the JS runtime's engine).
pub const BUILD_WASM: &str = "cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm";

/// The JS runtime's sources and the analysis compiled to wasm32, as this binary was built (build.rs).
pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/js_sources.rs"));
}

/// The analysis compiled to wasm32 in the cargo target dir: `$CARGO_TARGET_DIR` (default
/// `/var/tmp/wasmleak-target`)`/wasm32-unknown-unknown/release/wasmleak_wasm.wasm`.
fn wasm_artifact() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|t| !t.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/wasmleak-target"));
    target.join("wasm32-unknown-unknown/release/wasmleak_wasm.wasm")
}

/// The analysis module for the JS runtime: `$WASMLEAK_WASM`, else the copy embedded in this binary (written
/// to the cache directory), else the cargo target dir's; an error says where it looked and how to build it.
pub fn require_wasm_artifact() -> Result<PathBuf> {
    let wasm = match (std::env::var_os("WASMLEAK_WASM"), embedded::ANALYSIS_WASM) {
        (Some(p), _) => PathBuf::from(p),
        (None, Some(bytes)) => return Ok(materialize("analysis", &[("wasmleak_wasm.wasm", bytes)])?.join("wasmleak_wasm.wasm")),
        (None, None) => wasm_artifact(),
    };
    if !wasm.is_file() {
        bail!(
            "the analysis module {} is missing: build it with `{BUILD_WASM}` (needs `rustup target add \
             wasm32-unknown-unknown`), or set WASMLEAK_WASM to its path",
            wasm.display()
        );
    }
    wasm.canonicalize().with_context(|| format!("cannot resolve {}", wasm.display()))
}

/// The JS runtime's directory for development: `$WASMLEAK_JS`, else the repo's `js/` this binary was built from.
pub fn js_dir() -> PathBuf {
    std::env::var_os("WASMLEAK_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../js"))
}

/// The JS runtime's sources to import: `$WASMLEAK_JS/src` when set, else the copy embedded in this binary,
/// written to the cache directory.
pub fn js_src_dir() -> Result<PathBuf> {
    if std::env::var_os("WASMLEAK_JS").is_some() {
        return Ok(js_dir().join("src"));
    }
    let files: Vec<(&str, &[u8])> = embedded::JS_SOURCES.iter().map(|(n, s)| (*n, s.as_bytes())).collect();
    materialize("js", &files)
}

/// A directory of the user's cache (`$XDG_CACHE_HOME` or `~/.cache`, else the temp dir) holding `files`,
/// named by their content: written once, by any number of concurrent runs (each writes a temporary name,
/// then renames it into place).
fn materialize(kind: &str, files: &[(&str, &[u8])]) -> Result<PathBuf> {
    // FNV-1a over names and contents, the contents a word at a time: the analysis is 7 MB, hashed at every run
    // (byte by byte, 12 ms of `wasmleak node`'s start).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |v: u64| hash = (hash ^ v).wrapping_mul(0x100_0000_01b3);
    for (name, bytes) in files {
        name.bytes().chain([0]).for_each(|b| mix(b as u64));
        let words = bytes.chunks_exact(8);
        words.remainder().iter().for_each(|&b| mix(b as u64));
        words.for_each(|w| mix(u64::from_le_bytes(w.try_into().unwrap())));
        mix(bytes.len() as u64);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let name = format!("{kind}-{}-{hash:016x}", env!("CARGO_PKG_VERSION"));
    let mut dir = cache.join("wasmleak").join(&name);
    if std::fs::create_dir_all(&dir).is_err() {
        dir = std::env::temp_dir().join("wasmleak").join(&name); // a read-only home
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            continue;
        }
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir)
}

/// What fails the run, for CI (`check`, `node`): suppressions, a baseline, the kinds that count.
#[derive(Args, Clone, Debug, Default)]
pub struct PolicyOpts {
    /// Leave out the leaks whose stack matches a pattern of this LeakSanitizer suppressions file: `leak:PATTERN`
    /// lines (a function, file or module name; `*` any text, `^`/`$` anchors), `#` comments. The summary
    /// counts what was suppressed
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    /// A JSON report of an earlier run (`--format json`): only findings not in it fail the run (exit 1); the
    /// known ones are still reported. Findings are compared by their `key` (kind, site function and file)
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// The findings that fail the run, comma-separated among lost, indirect, cycle, host, growing (a site that
    /// grows, reachable or not), invalid-free [default: lost,indirect,cycle,host,invalid-free]
    #[arg(long, value_name = "KINDS")]
    pub fail_on: Option<String>,
}

impl PolicyOpts {
    pub fn load(&self) -> Result<wasmleak_report::Policy> {
        let mut p = wasmleak_report::Policy::default();
        if let Some(path) = &self.suppressions {
            let text = std::fs::read_to_string(path).with_context(|| format!("--suppressions {}", path.display()))?;
            p.suppressions = wasmleak_report::Suppressions::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?;
        }
        if let Some(path) = &self.baseline {
            let text = std::fs::read_to_string(path).with_context(|| format!("--baseline {}", path.display()))?;
            p.baseline = Some(wasmleak_report::Policy::baseline_keys(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?);
        }
        if let Some(list) = &self.fail_on {
            p.fail_on = wasmleak_report::Policy::parse_fail_on(list).map_err(anyhow::Error::msg)?;
        }
        Ok(p)
    }
}
