//! The iteration wrapper (`InstrumentOptions::iteration`): a fourth hook import `wasmleak.iteration`, one
//! more wrapper, every reference to the function redirected to it — and nothing of it without the option.

use std::collections::HashMap;

use wasmleak_instrument::{
    find_allocator, instrument, instrument_with, Error, InstrumentOptions, ModuleInfo, Overrides,
};
use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload, TypeRef};

/// An imported function first (so indices shift past imports), a table filled by an element segment, a
/// `ref.func`, an export and a direct call of `$handle`, which returns two values.
const MODULE: &str = r#"(module
  (type $t (func (param i32) (result i32 i64)))
  (import "env" "tick" (func $tick))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 70000))
  (table 2 funcref)
  (elem (i32.const 0) $handle)
  (func $malloc (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func $free (export "free") (param i32))
  (func $handle (export "handle") (param $i i32) (result i32 i64)
    (call $tick)
    (call $malloc (local.get $i))
    (i64.const 7))
  (func (export "_start")
    (table.set (i32.const 1) (ref.func $handle))
    (drop (drop (call $handle (i32.const 1))))
    (drop (drop (call_indirect (type $t) (i32.const 2) (i32.const 0)))))
)"#;

struct Parsed {
    imports: Vec<(String, String, u32)>,
    types: Vec<(Vec<wasmparser::ValType>, Vec<wasmparser::ValType>)>,
    func_types: Vec<u32>,
    exports: HashMap<String, u32>,
    elem_funcs: Vec<u32>,
    /// (defining function, callee) of every `call`, and every `ref.func` operand.
    calls: Vec<(u32, u32)>,
    ref_funcs: Vec<u32>,
    names: HashMap<u32, String>,
    bodies: Vec<Vec<String>>,
}

fn parse(bytes: &[u8]) -> Parsed {
    let mut p = Parsed {
        imports: vec![],
        types: vec![],
        func_types: vec![],
        exports: HashMap::new(),
        elem_funcs: vec![],
        calls: vec![],
        ref_funcs: vec![],
        names: HashMap::new(),
        bodies: vec![],
    };
    let mut nimp = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            Payload::TypeSection(r) => {
                for t in r.into_iter_err_on_gc_types() {
                    let f = t.unwrap();
                    p.types.push((f.params().to_vec(), f.results().to_vec()));
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    if let TypeRef::Func(t) = i.ty {
                        p.imports.push((i.module.to_string(), i.name.to_string(), t));
                        p.func_types.push(t);
                        nimp += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => p.func_types.extend(r.into_iter().map(|t| t.unwrap())),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    if e.kind == ExternalKind::Func {
                        p.exports.insert(e.name.to_string(), e.index);
                    }
                }
            }
            Payload::ElementSection(r) => {
                for e in r {
                    if let ElementItems::Functions(fs) = e.unwrap().items {
                        p.elem_funcs.extend(fs.into_iter().map(|f| f.unwrap()));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let me = nimp + p.bodies.len() as u32;
                let mut ops = body.get_operators_reader().unwrap();
                let mut text = vec![];
                while !ops.eof() {
                    let op = ops.read().unwrap();
                    match op {
                        Operator::Call { function_index } => p.calls.push((me, function_index)),
                        Operator::RefFunc { function_index } => p.ref_funcs.push(function_index),
                        _ => {}
                    }
                    text.push(format!("{op:?}"));
                }
                p.bodies.push(text);
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(n) = c.as_known() {
                    for sub in n {
                        if let wasmparser::Name::Function(map) = sub.unwrap() {
                            for n in map {
                                let n = n.unwrap();
                                p.names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    p
}

fn setup() -> (Vec<u8>, ModuleInfo, Vec<wasmleak_instrument::EntryPoint>, u32) {
    let bytes = wat::parse_str(MODULE).unwrap();
    let info = ModuleInfo::parse(&bytes).unwrap();
    let eps = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
    let handle = info.func_names.iter().find(|(_, n)| *n == "handle").map(|(i, _)| *i).unwrap();
    (bytes, info, eps, handle)
}

#[test]
fn without_the_option_the_rewrite_is_unchanged() {
    let (bytes, info, eps, _) = setup();
    let plain = instrument(&bytes, &info, &eps).unwrap();
    let default = instrument_with(&bytes, &info, &eps, &InstrumentOptions::default()).unwrap();
    assert_eq!(plain.bytes, default.bytes);
    assert_eq!(plain.iteration, None);
    let p = parse(&plain.bytes);
    let hooks: Vec<&str> = p.imports.iter().filter(|i| i.0 == "wasmleak").map(|i| i.1.as_str()).collect();
    assert_eq!(hooks, ["alloc", "free", "realloc"]);
    // The committed fixtures: the same bytes with and without an explicit default.
    for f in ["c_patterns.wasm", "rust_lib.wasm"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wasm").join(f);
        let bytes = std::fs::read(path).unwrap();
        let info = ModuleInfo::parse(&bytes).unwrap();
        let eps = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
        let a = instrument(&bytes, &info, &eps).unwrap();
        let b = instrument_with(&bytes, &info, &eps, &InstrumentOptions::default()).unwrap();
        assert!(a.bytes == b.bytes, "{f}");
        assert!(!parse(&a.bytes).imports.iter().any(|i| i.1 == "iteration"), "{f}");
    }
}

#[test]
fn every_reference_to_the_function_goes_through_the_wrapper_which_calls_the_hook_after_it() {
    let (bytes, info, eps, handle) = setup();
    let out = instrument_with(&bytes, &info, &eps, &InstrumentOptions { iteration: Some(handle), ..Default::default() }).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).expect("validates");
    assert_eq!(out.iteration, Some(handle));
    let p = parse(&out.bytes);
    // Imports: env.tick (0), then the four hooks (1..=4); iteration's type is [] -> [].
    let names: Vec<(&str, &str)> = p.imports.iter().map(|i| (i.0.as_str(), i.1.as_str())).collect();
    assert_eq!(names, [("env", "tick"), ("wasmleak", "alloc"), ("wasmleak", "free"), ("wasmleak", "realloc"), ("wasmleak", "iteration")]);
    let hook = 4;
    assert_eq!(p.types[p.imports[4].2 as usize], (vec![], vec![]));
    let body = handle + 4; // handle's own body, shifted past the four hooks
    // Wrappers: malloc's and free's, then handle's.
    let nfuncs = p.func_types.len() as u32;
    let wrapper = nfuncs - 1;
    assert_eq!(nfuncs, info.num_funcs() + 4 + eps.len() as u32 + 1);
    assert_eq!(p.func_types[wrapper as usize], p.func_types[body as usize], "same signature as handle");
    // The export, the element segment, `ref.func` and the direct call in _start all name the wrapper.
    assert_eq!(p.exports["handle"], wrapper);
    assert_eq!(p.elem_funcs, [wrapper]);
    assert_eq!(p.ref_funcs, [wrapper]);
    let start = p.exports["_start"];
    assert_eq!(p.calls.iter().filter(|(f, _)| *f == start).map(|c| c.1).collect::<Vec<_>>(), [wrapper]);
    // The wrapper: call handle's body, keep both results, call the hook, return them.
    let w = &p.bodies[(wrapper - 5) as usize];
    assert_eq!(
        w,
        &[
            "LocalGet { local_index: 0 }".to_string(),
            format!("Call {{ function_index: {body} }}"),
            "LocalSet { local_index: 2 }".into(),
            "LocalSet { local_index: 1 }".into(),
            format!("Call {{ function_index: {hook} }}"),
            "LocalGet { local_index: 1 }".into(),
            "LocalGet { local_index: 2 }".into(),
            "End".into(),
        ]
    );
    // Nothing else calls the hook.
    assert_eq!(p.calls.iter().filter(|c| c.1 == hook).count(), 1);
    // handle's body calls the import unshifted, and malloc through its wrapper.
    let in_handle: Vec<u32> = p.calls.iter().filter(|(f, _)| *f == body).map(|c| c.1).collect();
    assert_eq!(in_handle[0], 0);
    assert!(in_handle[1] > body, "malloc through its wrapper: {in_handle:?}");
    // Names: the hook and the wrapper are named; the body keeps its name.
    assert_eq!(p.names[&hook], "wasmleak.hook.iteration");
    assert_eq!(p.names[&wrapper], "wasmleak.iteration(handle)");
    assert_eq!(p.names[&body], "handle");
    // The code map: the hooks and the wrappers have no original function; handle's body maps back.
    assert_eq!(out.map.original_func(hook), None);
    assert_eq!(out.map.original_func(wrapper), None);
    assert_eq!(out.map.original_func(body), Some(handle));
    assert_eq!(out.map.original_func(0), Some(0));
}

#[test]
fn imports_allocator_entry_points_and_unknown_indices_are_refused() {
    let (bytes, info, eps, _) = setup();
    let err = |f: u32| match instrument_with(&bytes, &info, &eps, &InstrumentOptions { iteration: Some(f), ..Default::default() }) {
        Err(Error::BadIteration(m)) => m,
        other => panic!("function {f}: expected BadIteration, got {:?}", other.map(|o| o.iteration)),
    };
    let m = err(0);
    assert!(m.contains("env::tick") && m.contains("imported"), "{m}");
    let malloc = info.func_names.iter().find(|(_, n)| *n == "malloc").map(|(i, _)| *i).unwrap();
    assert!(err(malloc).contains("allocator entry point"));
    assert!(err(99).contains("out of range"));
}
