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
        let finder = memchr::memmem::Finder::new(&needle);
        info.data.iter().any(|d| finder.find(&d.init).is_some())
    };
    let assemblyscript = (exports("__new") || exports("__alloc")) && (exports("__pin") || exports("__retain") || exports("__collect"))
        || exports("__rtti_base")
        || named("~lib/rt/")
        || utf16("~lib/rt/")
        || assemblyscript_statics(info);
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

/// AssemblyScript's static data, laid out as its heap is: from the first segment, its static objects one after
/// another, each a TLSF block (its size word `mmInfo`, a multiple of 16 less 4) holding a 16-byte object header
/// (`gcInfo`, `gcInfo2`: zero in static data; the class id; the payload's size, within the block) before its
/// payload; then, 16-aligned, the runtime's type table (`__rtti_base`: the number of classes, a flags word for each),
/// which ends the data and numbers every class id used. A build with `--use abort=` has no abort messages (no
/// `~lib/rt/` paths) and, stripped, no names: its exported malloc over the runtime's allocator was hooked, and the
/// objects the collector had not swept yet read lost, exit 1 (AS survey).
fn assemblyscript_statics(info: &ModuleInfo) -> bool {
    let mut segments: Vec<(u64, &[u8])> = info.data.iter().filter_map(|d| Some((d.offset?, &d.init[..]))).collect();
    segments.sort_by_key(|s| s.0);
    // Memory packing (-O3) splits the data at its runs of zeros: what no segment covers is zero.
    let word = |a: u64| -> u64 {
        let byte = |a: u64| {
            let i = segments.partition_point(|s| s.0 <= a).checked_sub(1);
            i.map(|i| segments[i]).filter(|(o, d)| a < o + d.len() as u64).map_or(0, |(o, d)| d[(a - o) as usize])
        };
        u32::from_le_bytes([byte(a), byte(a + 1), byte(a + 2), byte(a + 3)]) as u64
    };
    let (Some(start), Some(end)) = (segments.iter().map(|s| s.0).min(), segments.iter().map(|s| s.0 + s.1.len() as u64).max()) else {
        return false;
    };
    if start % 16 != 12 || end - start > 1 << 24 {
        return false;
    }
    let (mut at, mut most) = (start, None);
    loop {
        let block = word(at);
        let (gc, gc2, class, size) = (word(at + 4), word(at + 8), word(at + 12), word(at + 16));
        if block < 16 || (block + 4) % 16 != 0 || gc != 0 || gc2 != 0 || size + 16 > block || at + 4 + block > end {
            break;
        }
        most = most.max(Some(class));
        at += 4 + block;
    }
    let Some(most) = most else { return false };
    // The type table: its count covers every class id, and its flags words reach the end of the data (the last
    // ones, when zero, trimmed from it).
    (at.next_multiple_of(16)..end).step_by(16).any(|table| {
        let n = word(table);
        n > most && n <= 1 << 16 && table + 4 + 4 * n >= end
    })
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

    /// Without its runtime's paths (`--use abort=`) or names, AssemblyScript is told by its static data's layout:
    /// objects in TLSF blocks one after another from a 16-byte boundary less 4, then the type table ending the data —
    /// whole (-O0) or split at its zeros by memory packing (-O3: only the non-zero bytes are segments).
    #[test]
    fn assemblyscript_is_told_by_its_static_objects() {
        let words = |ws: &[u32]| ws.iter().flat_map(|w| w.to_le_bytes()).map(|b| format!("\\{b:02x}")).collect::<String>();
        let module = |segments: &[(u32, &[u32])]| {
            let data: String = segments.iter().map(|(at, ws)| format!(r#"(data (i32.const {at}) "{}")"#, words(ws))).collect();
            let bytes = wat::parse_str(format!("(module (memory 1) {data})")).unwrap();
            language_runtime(&ModuleInfo::parse(&bytes).unwrap())
        };
        // A string (class 2, 6 bytes), an array buffer (class 1, 16 bytes: two pointers), then, 16-aligned, 4 classes'
        // flags.
        let string = [28, 0, 0, 2, 6, 0x610061, 0x61, 0];
        let buffer = [44, 0, 0, 1, 16, 1056, 1056, 0, 0, 0, 0, 0];
        let table = [4, 0x20, 0x20, 0x20, 0x902];
        let whole = [&string[..], &buffer[..], &[0], &table[..]].concat();
        assert!(module(&[(1036, &whole)]).unwrap().contains("an AssemblyScript module"));
        // -O3: the blocks' size words, the class ids and sizes onwards, the table, each a segment of its own.
        assert!(module(&[(1036, &[28]), (1048, &string[3..6]), (1068, &[44]), (1080, &buffer[3..7]), (1120, &table)]).is_some());
        // Not a block chain: C data at the same place, or a chain without its type table.
        assert_eq!(module(&[(1036, &[7, 0, 0, 2, 6, 1, 2, 3])]), None);
        assert_eq!(module(&[(1036, &[&string[..], &buffer[..]].concat())]), None);
    }
}
