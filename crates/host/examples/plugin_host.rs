//! A plugin host that keeps an eye on its plugin's heap: it loads a module with `wasmleak_host::embed`, calls one
//! of its exports in a loop as a host would serve requests, and says whether the heap grows, by how much per
//! call, what of it is lost, and which code allocated what grew.
//!
//! ```text
//! cargo run --release -p wasmleak-host --example plugin_host -- fixtures/wasm/rust_lib.wasm leak_forget 1000
//! ```
//! Every i32 parameter gets the call's number; an i32 the export returns is a handle the host keeps (a root).
//! The plugin may import nothing but what wasmleak adds (a real host links its own imports the same way).

use anyhow::{bail, Context, Result};
use wasmleak_heap::{HeapState, Kind};
use wasmleak_host::embed::{self, HasTracker, Tracker};
use wasmtime::{Engine, Linker, Module, Store, Val, ValType};

struct Host {
    tracker: Option<Tracker>,
}

impl HasTracker for Host {
    fn tracker(&mut self) -> &mut Tracker {
        self.tracker.as_mut().expect("tracking until the end")
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, export, rest @ ..] = args.as_slice() else {
        bail!("usage: plugin_host MODULE.wasm EXPORT [CALLS]");
    };
    let calls: u64 = rest.first().map(|n| n.parse()).transpose().context("CALLS is a number")?.unwrap_or(1000).max(4);
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let plugin = embed::instrument(&bytes).with_context(|| format!("instrumenting {path}"))?;

    let engine = Engine::default();
    let module = Module::new(&engine, &plugin.instrumented.bytes)?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    embed::add_to_linker(&mut linker)?;
    let mut store = Store::new(&engine, Host { tracker: Some(Tracker::new(&plugin)) });
    let instance = linker.instantiate(&mut store, &module).map_err(|e| anyhow::anyhow!("instantiating the plugin: {e:#}"))?;
    if let Some(init) = instance.get_func(&mut store, "_initialize") {
        init.call(&mut store, &[], &mut [])?;
    }
    let func = instance.get_func(&mut store, export).with_context(|| format!("the plugin exports no function `{export}`"))?;
    let ty = func.ty(&store);
    let mut results = vec![Val::I32(0); ty.results().len()];

    // The heap after a quarter of the calls (the plugin warmed up) and at the end: growth is between the two.
    let mut states: Vec<HeapState> = Vec::new();
    for i in 1..=calls {
        let params: Vec<Val> = ty.params().map(|t| if matches!(t, ValType::I32) { Val::I32(i as i32) } else { Val::I64(0) }).collect();
        func.call(&mut store, &params, &mut results)?;
        if let Some(Val::I32(h)) = results.first().filter(|v| matches!(v, Val::I32(h) if *h != 0)) {
            store.data_mut().tracker().hold(format!("returned by {export} (call {i})"), *h as u32);
        }
        if i == calls / 4 || i == calls {
            states.push(Tracker::heap_state(&mut store, &instance, i));
        }
    }
    let (first, last) = (&states[0], &states[1]);
    let per_call = |a: u64, b: u64| (b as f64 - a as f64) / (last.iteration - first.iteration) as f64;
    let bytes_of = |s: &HeapState| s.blocks.iter().map(|b| b.size).sum::<u64>();
    let (db, dn) = (per_call(bytes_of(first), bytes_of(last)), per_call(first.blocks.len() as u64, last.blocks.len() as u64));

    // What the blocks at the end are: lost (nothing points at them), reachable, held by the host…
    let analysis = last.analyze();
    let mut kinds = std::collections::BTreeMap::new();
    for c in &analysis.classes {
        *kinds.entry(c.kind.as_str()).or_insert(0u64) += 1;
    }
    let model = Tracker::finish(&mut store, |h| h.tracker.take().expect("present"));

    // The stacks of the blocks allocated after the first state and still live: what grew.
    let since = first.blocks.iter().map(|b| b.seq).max().unwrap_or(0);
    let mut sites: std::collections::HashMap<_, (u64, u64)> = Default::default();
    for (b, c) in analysis.blocks.iter().zip(&analysis.classes).filter(|(b, _)| b.seq > since) {
        let e = sites.entry((b.stack, c.kind)).or_default();
        e.0 += 1;
        e.1 += b.size;
    }
    let mut sites: Vec<_> = sites.into_iter().collect();
    sites.sort_by(|a, b| b.1 .1.cmp(&a.1 .1));
    let sym = wasmleak_symbolize::Symbolizer::new(&bytes)?;

    println!("{export} × {calls}: {} live blocks ({} B) at the end: {kinds:?}", last.blocks.len(), bytes_of(last));
    if db <= 0.0 && dn <= 0.0 {
        println!("verdict: the heap does not grow between call {} and call {calls}", first.iteration);
        return Ok(());
    }
    println!("verdict: the heap grows by {db:.1} B ({dn:.2} blocks) per call between call {} and call {calls}", first.iteration);
    for ((stack, kind), (n, size)) in sites.iter().take(3) {
        let frames = model.stacks.get(*stack);
        let at = frames.iter().flat_map(|f| sym.symbolize(f.func, (f.offset != u32::MAX).then_some(f.offset))).find(|f| {
            !f.function.starts_with("__rust") && !f.function.contains("alloc::") && !f.function.contains("dlmalloc")
        });
        // Only allocator frames: the host called the allocator itself (an exported malloc).
        let place = at.map_or(format!("the export `{export}` itself"), |f| match (&f.file, f.line) {
            (Some(file), Some(line)) => format!("{} ({file}:{line})", f.function),
            _ => f.function.clone(),
        });
        let what = if *kind == Kind::Lost { "lost" } else { kind.as_str() };
        println!("  {n} blocks, {size} B, {what}: allocated in {place}");
    }
    Ok(())
}
