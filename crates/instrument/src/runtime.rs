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
    // AssemblyScript: its runtime exported (--exportRuntime), or its runtime's functions named (`~lib/rt/itcms/__new`),
    // or — stripped, nothing exported — the runtime's source paths in its data, as AssemblyScript's UTF-16 strings
    // (the abort messages name `~lib/rt/itcms.ts`).
    let utf16 = |text: &str| {
        let needle: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        info.data.iter().any(|d| d.init.windows(needle.len()).any(|w| w == needle))
    };
    let assemblyscript = (exports("__new") || exports("__alloc")) && (exports("__pin") || exports("__retain") || exports("__collect"))
        || exports("__rtti_base")
        || named("~lib/rt/")
        || utf16("~lib/rt/");
    if assemblyscript {
        // The stub runtime has no collector: it never frees.
        if named("~lib/rt/stub/") || utf16("~lib/rt/stub") {
            return Some(
                "this is an AssemblyScript module with the stub runtime (--runtime stub): its objects live in the \
                 runtime's heap, which has no collector and never frees them — a growing heap there is garbage it \
                 never reclaims (build with --runtime incremental); there is no malloc/free pair whose blocks \
                 wasmleak could track"
                    .into(),
            );
        }
        return Some(
            "this is an AssemblyScript module: its objects live in the AssemblyScript runtime's heap, managed by its \
             garbage collector (the incremental runtime collects on its own, the minimal one when the host calls \
             __collect); there is no malloc/free pair whose blocks wasmleak could track — what leaks there is an object \
             the host __pin-ned and never __unpin-ned, or reachable objects that keep growing"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stripped AssemblyScript module that exports nothing of its runtime (the default build) is told by the
    /// runtime's source paths its abort messages carry, as UTF-16; the stub runtime, which never frees, apart.
    #[test]
    fn assemblyscript_is_told_by_its_runtime_paths() {
        let module = |path: &str| {
            let data: String = path.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("\\{b:02x}")).collect();
            let bytes = wat::parse_str(format!(r#"(module (memory 1) (data (i32.const 1024) "{data}"))"#)).unwrap();
            language_runtime(&ModuleInfo::parse(&bytes).unwrap())
        };
        assert!(module("~lib/rt/itcms.ts").unwrap().contains("an AssemblyScript module"));
        assert!(module("~lib/rt/stub.ts").unwrap().contains("stub runtime"));
        assert_eq!(module("~lib/other.ts"), None);
    }
}
