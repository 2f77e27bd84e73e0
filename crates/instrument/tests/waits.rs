//! The wait hooks (`InstrumentOptions::waits`): in a threaded module each `memory.atomic.wait32/64` becomes a call
//! of a function of the rewrite's, one per memarg offset, that passes the effective address and the other operands
//! to `wasmleak.wait32/64` — and nothing of it without the option.

use std::collections::HashMap;

use wasmleak_instrument::{find_allocator, instrument_with, InstrumentOptions, ModuleInfo, Overrides};
use wasmparser::{Parser, Payload, TypeRef, ValType};

const MODULE: &str = r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (global $top (mut i32) (i32.const 4096))
  (func $malloc (export "malloc") (param i32) (result i32)
    (global.get $top)
    (global.set $top (i32.add (global.get $top) (local.get 0))))
  (func $free (export "free") (param i32))
  (func (export "park") (param i32) (result i32)
    (i32.add
      (memory.atomic.wait32 offset=8 (local.get 0) (i32.const 0) (i64.const -1))
      (memory.atomic.wait64 (local.get 0) (i64.const 0) (i64.const 1000))))
  (func (export "park_again") (param i32) (result i32)
    (memory.atomic.wait32 offset=8 (local.get 0) (i32.const 1) (i64.const 5))))"#;

/// The instrumented module's function imports (module, name, type) and types, and every defined function's
/// operators, by function index.
struct Parsed {
    imports: Vec<(String, String, (Vec<ValType>, Vec<ValType>))>,
    bodies: HashMap<u32, Vec<String>>,
}

fn parse(bytes: &[u8]) -> Parsed {
    let (mut types, mut imports, mut bodies) = (Vec::new(), Vec::new(), HashMap::new());
    let mut next = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            Payload::TypeSection(r) => {
                for t in r.into_iter_err_on_gc_types() {
                    let f = t.unwrap();
                    types.push((f.params().to_vec(), f.results().to_vec()));
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    if let TypeRef::Func(t) = i.ty {
                        imports.push((i.module.to_string(), i.name.to_string(), types[t as usize].clone()));
                        next += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let ops = body.get_operators_reader().unwrap().into_iter().map(|o| format!("{:?}", o.unwrap())).collect();
                bodies.insert(next, ops);
                next += 1;
            }
            _ => {}
        }
    }
    Parsed { imports, bodies }
}

fn instrumented(waits: bool) -> Parsed {
    let bytes = wat::parse_str(MODULE).unwrap();
    let info = ModuleInfo::parse(&bytes).unwrap();
    let eps = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
    let options = InstrumentOptions { threads: true, waits, contexts: true, checked_frees: true, fused_free: true, ..Default::default() };
    let out = instrument_with(&bytes, &info, &eps, &options).unwrap();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&out.bytes).expect("validates");
    parse(&out.bytes)
}

#[test]
fn each_wait_calls_the_hook_with_its_effective_address() {
    let p = instrumented(true);
    let n = p.imports.len();
    let (i64t, i32t) = (ValType::I64, ValType::I32);
    assert_eq!(
        p.imports[n - 2..].iter().map(|(m, name, ty)| (m.as_str(), name.as_str(), ty.clone())).collect::<Vec<_>>(),
        [
            ("wasmleak", "wait32", (vec![i64t, i32t, i64t], vec![i32t])),
            ("wasmleak", "wait64", (vec![i64t, i64t, i64t], vec![i32t])),
        ],
        "after every other hook"
    );
    let (wait32, wait64) = (n as u32 - 2, n as u32 - 1);
    // No wait instruction is left; the two waits at offset 8 call one function, the one at 0 another.
    let all: Vec<&String> = p.bodies.values().flatten().collect();
    assert!(!all.iter().any(|o| o.starts_with("MemoryAtomicWait")), "{all:?}");
    let calls_hook = |hook: u32, offset: i64| {
        let body = [
            "LocalGet { local_index: 0 }".to_string(),
            "I64ExtendI32U".into(),
            format!("I64Const {{ value: {offset} }}"),
            "I64Add".into(),
            "LocalGet { local_index: 1 }".into(),
            "LocalGet { local_index: 2 }".into(),
            format!("Call {{ function_index: {hook} }}"),
            "End".into(),
        ];
        let found: Vec<u32> = p.bodies.iter().filter(|(_, ops)| **ops == body).map(|(&f, _)| f).collect();
        assert_eq!(found.len(), 1, "one function for wait{} at offset {offset}", if hook == wait32 { 32 } else { 64 });
        found[0]
    };
    let (at8, at0) = (calls_hook(wait32, 8), calls_hook(wait64, 0));
    let callers = |f: u32| p.bodies.values().filter(|ops| ops.contains(&format!("Call {{ function_index: {f} }}"))).count();
    assert_eq!((callers(at8), callers(at0)), (2, 1));
}

#[test]
fn without_the_option_the_waits_stay() {
    let p = instrumented(false);
    assert!(!p.imports.iter().any(|(_, name, _)| name.starts_with("wait")));
    assert_eq!(p.bodies.values().flatten().filter(|o| o.starts_with("MemoryAtomicWait")).count(), 3);
}

/// Below a stopped thread's stack pointer only a leaf that reads it and never moves it (LLVM's red zone) keeps a
/// frame: by function index, imports first (they are none).
#[test]
fn red_zone_leaves_read_the_stack_pointer_and_never_set_it() {
    let bytes = wat::parse_str(
        r#"(module
          (import "env" "f" (func))
          (memory 1)
          (global $sp (mut i32) (i32.const 4096))
          (func $leaf (result i32) (i32.store (i32.sub (global.get $sp) (i32.const 16)) (i32.const 1)) (i32.const 0))
          (func $framed (global.set $sp (i32.sub (global.get $sp) (i32.const 32))) (call 0)
            (global.set $sp (i32.add (global.get $sp) (i32.const 32))))
          (func $frameless (call 0)))"#,
    )
    .unwrap();
    assert_eq!(wasmleak_instrument::exit::red_zone_leaves(&bytes, 0), [false, true, false, false]);
}
