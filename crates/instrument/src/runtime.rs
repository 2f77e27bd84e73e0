//! Modules whose heap belongs to a garbage-collected language runtime (Go, TinyGo, AssemblyScript) or to the
//! engine (WasmGC): there is no malloc/free pair to hook, and nothing the program frees by hand; such modules get
//! one sentence saying what they are instead of a list of allocator candidates.

use crate::module::ModuleInfo;

/// What the module is, as one sentence for the refusal; None for a module of a malloc-style language.
pub fn language_runtime(info: &ModuleInfo) -> Option<String> {
    let imports = |module: &str, name: &str| info.imports.iter().any(|i| i.module == module && i.name == name);
    let imports_from = |module: &str| info.imports.iter().any(|i| i.module == module);
    let exports = |name: &str| info.exports.iter().any(|e| e.name == name);
    let named = |prefix: &str| info.func_names.values().any(|n| n.starts_with(prefix));
    let section = |name: &str| info.sections.iter().any(|s| s.id == 0 && s.name == name);
    let produced_by = |tool: &str| info.producers.iter().any(|(_, values)| values.iter().any(|(n, _)| n == tool));
    let why = |what: &str, collector: &str| {
        format!(
            "this is {what}: its objects live in {collector}, which frees them itself; there is no malloc/free pair whose \
             blocks wasmleak could track (a growing heap there is reachable objects: use the runtime's own profiler)"
        )
    };
    if info.types.iter().any(Option::is_none) {
        return Some(why(
            "a WasmGC module (Kotlin/Wasm, Dart, J2Wasm, OCaml and others compile to it)",
            "the engine's garbage-collected heap, not in linear memory",
        ));
    }
    let tinygo_names = named("runtime.alloc") && info.func_names.values().any(|n| n.ends_with("$invoke") || n.starts_with("(*internal/task."));
    if produced_by("TinyGo") || imports("gojs", "runtime.ticks") || imports("gojs", "runtime.sleepTicks") || tinygo_names {
        return Some(why("a TinyGo module", "the TinyGo runtime's garbage-collected heap (its exported malloc/free only pin objects for the host)"));
    }
    if imports_from("go") || imports("gojs", "runtime.wasmExit") || section("go:buildid") || named("runtime.mallocgc") {
        return Some(why("a Go module", "the Go runtime's garbage-collected heap"));
    }
    if (exports("__new") || exports("__alloc")) && (exports("__pin") || exports("__retain") || exports("__collect"))
        || exports("__rtti_base")
    {
        return Some(why("an AssemblyScript module", "the AssemblyScript runtime's heap, managed by its garbage collector"));
    }
    None
}
