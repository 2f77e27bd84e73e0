//! The rewrite and the host together, on hand-written modules whose every allocator event is known.

use std::collections::HashMap;

use wasmleak_host::{tracked_run, Exit, Invoke, Outcome, RunConfig, StackMode, Stdout};
use wasmleak_instrument::{find_allocator, instrument_with, InstrumentOptions, Instrumented, ModuleInfo, Overrides};

/// A bump allocator named like libc's, plus whatever `body` defines.
fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 2)
          (global $sp (mut i32) (i32.const 65536))
          (global $bump (mut i32) (i32.const 70000))
          (func $malloc (param $n i32) (result i32)
            (local $p i32)
            (local.set $p (global.get $bump))
            (global.set $bump (i32.and (i32.add (i32.add (global.get $bump) (local.get $n)) (i32.const 15)) (i32.const -8)))
            (local.get $p))
          (func $free (param i32))
          (func $calloc (param i32 i32) (result i32) (call $malloc (i32.mul (local.get 0) (local.get 1))))
          (func $realloc (param $p i32) (param $n i32) (result i32)
            (local $q i32)
            (local.set $q (call $malloc (local.get $n)))
            (call $free (local.get $p))
            (local.get $q))
          (func $posix_memalign (param $out i32) (param $align i32) (param $n i32) (result i32)
            (i32.store (local.get $out) (call $malloc (local.get $n)))
            (i32.const 0))
          (func $__rust_alloc (param i32 i32) (result i32) (call $malloc (local.get 0)))
          (func $__rust_dealloc (param i32 i32 i32) (call $free (local.get 0)))
          {body}
        )"#
    ))
    .expect("test module parses")
}

/// What `check` instruments with: calling contexts, checked frees, events buffered in the module.
fn check_options() -> InstrumentOptions {
    InstrumentOptions { contexts: true, checked_frees: true, buffered: true, ..Default::default() }
}

/// Instrumented as `check` does it.
fn run(bytes: &[u8], cfg: RunConfig) -> Outcome {
    run_with(bytes, cfg, check_options())
}

/// Per-event hooks, every stack walked: what the buffered run must agree with.
fn run_walked(bytes: &[u8], cfg: RunConfig) -> Outcome {
    let options = InstrumentOptions { contexts: true, checked_frees: true, ..Default::default() };
    run_with(bytes, RunConfig { stacks: StackMode::Walk, ..cfg }, options)
}

fn run_with(bytes: &[u8], cfg: RunConfig, options: InstrumentOptions) -> Outcome {
    let (ins, info) = instrument(bytes, &options);
    tracked_run(&ins, &info, &cfg).unwrap()
}

/// The module with its allocator found by discovery, instrumented with `options` (and validated).
fn instrument(bytes: &[u8], options: &InstrumentOptions) -> (Instrumented, ModuleInfo) {
    let info = ModuleInfo::parse(bytes).unwrap();
    let eps = find_allocator(bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
    let ins = instrument_with(bytes, &info, &eps, options).unwrap();
    wasmparser::Validator::new().validate_all(&ins.bytes).expect("instrumented module validates");
    (ins, info)
}

fn cfg() -> RunConfig {
    RunConfig { stdout: Stdout::ToStderr, ..RunConfig::default() }
}

fn live(o: &Outcome) -> Vec<(u64, u64)> {
    o.model.live_sorted().iter().map(|b| (b.addr, b.size)).collect()
}

#[test]
fn nested_allocator_layers_report_once_with_the_outer_size() {
    let m = module(
        r#"(func (export "_start")
             (drop (call $__rust_alloc (i32.const 24) (i32.const 8)))
             (call $free (call $malloc (i32.const 10)))
             (call $__rust_dealloc (call $__rust_alloc (i32.const 100) (i32.const 4)) (i32.const 100) (i32.const 4)))"#,
    );
    let o = run(&m, cfg());
    assert_eq!(o.exit, Exit::Returned);
    // __rust_alloc calls malloc inside: one event each, not two.
    assert_eq!(o.model.allocations, 3);
    assert_eq!(o.model.frees, 2);
    assert_eq!(live(&o), vec![(70000, 24)]);
    assert!(o.model.invalid_frees.is_empty());
}

#[test]
fn calloc_realloc_and_posix_memalign_report_requested_sizes() {
    let m = module(
        r#"(func (export "_start")
             (local $p i32)
             (local.set $p (call $calloc (i32.const 4) (i32.const 8)))
             (local.set $p (call $realloc (local.get $p) (i32.const 100)))
             (drop (call $posix_memalign (i32.const 1024) (i32.const 64) (i32.const 200))))"#,
    );
    let o = run(&m, cfg());
    let sizes: Vec<u64> = live(&o).iter().map(|b| b.1).collect();
    // calloc(4, 8) = 32 bytes, realloc'd to 100 (the old block freed by realloc, once); posix_memalign 200.
    assert_eq!(sizes, vec![100, 200]);
    assert_eq!(o.model.allocations, 3);
    assert_eq!(o.model.frees, 1);
}

#[test]
fn double_and_invalid_frees_are_recorded_with_stacks() {
    let m = module(
        r#"(func $oops (param $p i32) (call $free (local.get $p)) (call $free (local.get $p)))
           (func (export "_start")
             (call $oops (call $malloc (i32.const 16)))
             (call $free (i32.const 4096)))"#,
    );
    let o = run(&m, cfg());
    let kinds: Vec<_> = o.model.invalid_frees.iter().map(|f| f.kind).collect();
    use wasmleak_heap::InvalidFreeKind::*;
    assert_eq!(kinds, vec![Double, Invalid]);
    let double = &o.model.invalid_frees[0];
    // The stacks of the bad free, the first free and the allocation, all in the one run.
    for s in [double.stack, double.first_free_stack, double.alloc_stack] {
        assert!(!o.model.stacks.get(s).is_empty());
    }
}

#[test]
fn stacks_map_back_to_the_original_call_instruction() {
    let m = module(
        r#"(func $leaky (drop (call $malloc (i32.const 48))))
           (func (export "_start") (call $leaky))"#,
    );
    let o = run(&m, cfg());
    let block = o.model.live_sorted()[0];
    let frames = o.model.stacks.get(block.stack);
    let info = ModuleInfo::parse(&m).unwrap();
    let leaky = info.func_names.iter().find(|(_, n)| *n == "leaky").map(|(i, _)| *i).unwrap();
    // Innermost frame: `leaky`, at the offset of its `call $malloc` in the *original* module.
    assert_eq!(frames[0].func, leaky);
    let call_offset = call_offsets(&m, leaky)[0];
    assert_eq!(frames[0].offset, call_offset);
    assert_eq!(frames.len(), 2, "leaky, _start: wrappers are not frames");
}

/// Offsets of the `call` instructions in function `func` of `bytes`.
fn call_offsets(bytes: &[u8], func: u32) -> Vec<u32> {
    let info = ModuleInfo::parse(bytes).unwrap();
    let mut i = info.num_imported_funcs;
    let mut out = Vec::new();
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionEntry(body) = p.unwrap() {
            if i == func {
                let mut r = body.get_operators_reader().unwrap();
                while !r.eof() {
                    let (op, off) = r.read_with_offset().unwrap();
                    if matches!(op, wasmparser::Operator::Call { .. }) {
                        out.push(off as u32);
                    }
                }
            }
            i += 1;
        }
    }
    out
}

#[test]
fn invoked_exports_return_host_held_pointers() {
    let m = module(r#"(func (export "make") (result i32) (call $malloc (i32.const 40)))"#);
    let c = RunConfig { invoke: Some(Invoke { export: "make".into(), args: vec![], repeat: 3 }), ..cfg() };
    let o = run(&m, c);
    assert_eq!(live(&o), vec![(70000, 40), (70048, 40), (70096, 40)]);
    let host: Vec<u64> = o.roots.values.iter().filter(|v| v.host).map(|v| v.value).collect();
    assert_eq!(host, vec![70000, 70048, 70096]);
}

#[test]
fn a_trap_keeps_what_was_tracked() {
    let m = module(r#"(func (export "_start") (drop (call $malloc (i32.const 8))) unreachable)"#);
    let o = run(&m, cfg());
    assert!(matches!(o.exit, Exit::Trap(ref t) if t.contains("unreachable")), "{:?}", o.exit);
    assert_eq!(live(&o), vec![(70000, 8)]);
}

#[test]
fn a_guest_past_its_timeout_is_stopped_and_reported() {
    let m = module(r#"(func (export "_start") (drop (call $malloc (i32.const 8))) (loop br 0))"#);
    let c = RunConfig { timeout: Some(std::time::Duration::from_millis(300)), ..cfg() };
    let o = run(&m, c);
    assert!(matches!(o.exit, Exit::Timeout(_)), "{:?}", o.exit);
    assert_eq!(live(&o), vec![(70000, 8)]);
    assert!(!o.model.stacks.get(o.model.live_sorted()[0].stack).is_empty());
}

/// Every block's and bad free's stack, sorted by address.
fn stacks(o: &Outcome) -> Vec<(u64, Vec<wasmleak_heap::RawFrame>)> {
    let mut v: Vec<_> = o.model.live_blocks().map(|b| (b.addr, o.model.stacks.get(b.stack).to_vec())).collect();
    for f in &o.model.invalid_frees {
        v.push((f.addr, o.model.stacks.get(f.stack).to_vec()));
    }
    v.sort();
    v
}

/// Calling-context ids give the stacks a walk at every event gives, whatever the shape of the calls: two call
/// sites in one function, recursion to different depths, calls through a table, a tail call, an allocation by
/// the export itself; and the module instrumented without contexts (plain hooks, walked) agrees too.
#[test]
fn calling_contexts_give_the_walked_stacks() {
    let m = wat::parse_str(
        r#"(module
          (type $v (func))
          (memory (export "memory") 2)
          (global $bump (mut i32) (i32.const 70000))
          (table 2 funcref)
          (elem (i32.const 0) $leaf $twice)
          (func $malloc (param $n i32) (result i32)
            (global.get $bump)
            (global.set $bump (i32.add (global.get $bump) (i32.const 32))))
          (func $free (param i32))
          (func $leaf (drop (call $malloc (i32.const 8))))
          (func $twice (call $leaf) (call $leaf))
          (func $rec (param $n i32)
            (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1)))) (else (call $leaf))))
          (func $tail return_call $twice)
          (func (export "_start")
            (call $twice)
            (call $rec (i32.const 0)) (call $rec (i32.const 1)) (call $rec (i32.const 5)) (call $rec (i32.const 5))
            (call_indirect (type $v) (i32.const 0)) (call_indirect (type $v) (i32.const 1))
            (call $tail)
            (drop (call $malloc (i32.const 16)))))"#,
    )
    .unwrap();
    let ctx = run(&m, cfg());
    let walk = run_walked(&m, cfg());
    let plain = run_with(&m, cfg(), InstrumentOptions::default());
    let unbuffered = run_with(&m, cfg(), InstrumentOptions { contexts: true, checked_frees: true, ..Default::default() });
    assert_eq!(stacks(&ctx), stacks(&unbuffered));
    assert_eq!((unbuffered.contexts, unbuffered.walks), (12, 12));
    assert_eq!(ctx.model.allocations, 12);
    assert_eq!(stacks(&ctx), stacks(&walk));
    assert_eq!(stacks(&ctx), stacks(&plain));
    // Every allocation its own stack: twice 2; rec 0, 1, 5, 5 (two sites) 4; the table 1 + 2; tail 2; _start 1.
    let distinct: std::collections::HashSet<_> = stacks(&ctx).into_iter().map(|(_, f)| f).collect();
    assert_eq!(distinct.len(), 12);
    assert_eq!((ctx.contexts, ctx.walks), (12, 12));
}

/// A run without a second pass: a program whose allocations depend on the clock or randomness gets every
/// stack from its one run.
#[test]
fn a_program_that_differs_run_to_run_gets_every_stack_in_one_run() {
    // Allocates 1..=1024 blocks as random_get decides: two runs differ.
    let m = wat::parse_str(
        r#"(module
          (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
          (memory (export "memory") 2)
          (global $bump (mut i32) (i32.const 70000))
          (func $malloc (param $n i32) (result i32)
            (global.get $bump)
            (global.set $bump (i32.add (global.get $bump) (i32.const 64))))
          (func $free (param i32))
          (func (export "_start")
            (local $n i32)
            (loop $again
              (drop (call $random (i32.const 1024) (i32.const 8)))
              (local.set $n (i32.add (i32.and (i32.load16_u (i32.const 1024)) (i32.const 1023)) (i32.const 1)))
              (block $done
                (loop $l
                  (br_if $done (i32.eqz (local.get $n)))
                  (drop (call $malloc (i32.const 8)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br $l))))))"#,
    )
    .unwrap();
    let o = run(&m, cfg());
    assert!(o.notes.is_empty(), "{:?}", o.notes);
    assert!(o.model.allocations >= 1);
    assert!(o.model.live_blocks().all(|b| !o.model.stacks.get(b.stack).is_empty()));
    assert_eq!((o.contexts, o.walks), (1, 1));
}

/// The buffered wrappers keep a live bitmap of 4-aligned blocks; blocks at other addresses (a custom allocator
/// may hand them out) go to the host one event at a time. Both kinds, reallocs between them, and double and
/// invalid frees of each: the same heap, the same bad frees and the same stacks as per-event hooks walked.
#[test]
fn buffered_hooks_agree_with_walked_ones_on_odd_and_aligned_addresses() {
    let m = wat::parse_str(
        r#"(module
          (memory (export "memory") 2)
          (global $bump (mut i32) (i32.const 70000))
          ;; Blocks at bump + 1 when the size is odd: addresses that are not 4-aligned.
          (func $malloc (param $n i32) (result i32)
            (local $p i32)
            (local.set $p (i32.add (global.get $bump) (i32.and (local.get $n) (i32.const 1))))
            (global.set $bump (i32.add (global.get $bump) (i32.const 64)))
            (local.get $p))
          (func $free (param i32))
          (func $realloc (param $p i32) (param $n i32) (result i32)
            (local $q i32)
            (local.set $q (call $malloc (local.get $n)))
            (call $free (local.get $p))
            (local.get $q))
          (func $odd (result i32) (call $malloc (i32.const 9)))
          (func $even (result i32) (call $malloc (i32.const 8)))
          (func (export "_start")
            (local $a i32) (local $b i32) (local $c i32) (local $d i32)
            (local.set $a (call $odd))
            (local.set $b (call $even))
            (local.set $c (call $odd))
            (local.set $d (call $even))
            (call $free (local.get $a))
            (call $free (local.get $a))                                 ;; double free, odd
            (call $free (local.get $b))
            (call $free (local.get $b))                                 ;; double free, aligned
            (call $free (i32.const 4100))                               ;; never allocated
            (local.set $c (call $realloc (local.get $c) (i32.const 16))) ;; odd -> aligned
            (local.set $d (call $realloc (local.get $d) (i32.const 17))) ;; aligned -> odd
            (drop (call $realloc (local.get $a) (i32.const 8)))         ;; realloc of a freed block
            (drop (call $even)) (drop (call $odd))))"#,
    )
    .unwrap();
    let buffered = run(&m, cfg());
    let walked = run_walked(&m, cfg());
    assert_eq!(live(&buffered), live(&walked));
    // c (16 B, aligned), d (17 B, odd), the last two.
    assert_eq!(live(&buffered).len(), 4, "{:?}", live(&buffered));
    let bad = |o: &Outcome| o.model.invalid_frees.iter().map(|f| (f.kind, f.addr)).collect::<Vec<_>>();
    use wasmleak_heap::InvalidFreeKind::*;
    assert_eq!(bad(&buffered), vec![(Double, 70001), (Double, 70064), (Invalid, 4100), (Double, 70001)]);
    assert_eq!(bad(&buffered), bad(&walked));
    assert_eq!(stacks(&buffered), stacks(&walked));
    assert_eq!((buffered.model.allocations, buffered.model.frees), (walked.model.allocations, walked.model.frees));
}

/// More calling contexts than the module's table holds at first (4096 entries, doubled past half full): 5,000
/// recursion depths, each reached from two call sites. Every block keeps the stack a walk gives it.
#[test]
fn the_context_table_grows() {
    let m = module(
        r#"(func $rec (param $n i32)
             (if (local.get $n)
               (then (call $rec (i32.sub (local.get $n) (i32.const 1))))
               (else (drop (call $malloc (i32.const 8))))))
           (func (export "_start")
             (local $i i32)
             (loop $l
               (call $rec (local.get $i))
               (call $rec (local.get $i))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 5000)))))"#,
    );
    let c = RunConfig { max_frames: 8, ..cfg() };
    let o = run(&m, c.clone());
    assert_eq!(o.model.allocations, 10_000);
    assert_eq!((o.contexts, o.walks), (10_000, 10_000));
    assert_eq!(stacks(&o), stacks(&run_walked(&m, c)));
}

/// Events through many segments of the ring (the model reads them in the events memory while the guest writes
/// others), a context table that grows meanwhile (the memory grows only with no segment in use), a last segment
/// partly written: the same heap, events and stacks as a module instrumented before the ring, whose one buffer
/// the host copies out (hosts still run those).
#[test]
fn the_ring_and_the_single_buffer_agree() {
    let m = module(
        r#"(func $rec (param $n i32)
             (if (local.get $n)
               (then (call $rec (i32.sub (local.get $n) (i32.const 1))))
               (else (call $free (call $malloc (i32.const 8))) (drop (call $malloc (i32.const 12))))))
           (func (export "_start")
             (local $i i32)
             (drop (memory.grow (i32.const 200)))
             (loop $l
               ;; 2,500 depths first (the table of 4,096 entries doubles twice), then 8.
               (call $rec (select (i32.rem_u (local.get $i) (i32.const 2500)) (i32.and (local.get $i) (i32.const 7))
                                  (i32.lt_u (local.get $i) (i32.const 5000))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 200000)))))"#,
    );
    let c = RunConfig { max_frames: 4, ..cfg() };
    let ring = run(&m, c.clone());
    let options = InstrumentOptions { contexts: true, checked_frees: true, buffered: true, before_ring: true, ..Default::default() };
    let single = run_with(&m, c, options);
    // 200,000 × (a free of two records, two allocations): ~195 segments, more than the ring's 128.
    assert_eq!((ring.model.allocations, ring.model.frees), (400_000, 200_000));
    assert_eq!((single.model.allocations, single.model.frees), (400_000, 200_000));
    assert_eq!(live(&ring).len(), 200_000);
    assert_eq!(live(&ring), live(&single));
    assert_eq!(stacks(&ring), stacks(&single));
    // Three call sites (free, malloc, malloc) at each of 2,500 depths.
    assert_eq!((ring.contexts, single.contexts), (7500, 7500));
}

/// A context's stack is checked by a walk now and then (a collision of ids would show there): at one flush of the
/// module's buffer in 16. 300,000 allocations and frees from two call sites make 900,000 records (a free writes
/// two), 220 full buffers of 4,096 records: 13 verifying walks besides the two first walks.
#[test]
fn contexts_are_verified_at_buffer_flushes() {
    let m = module(
        r#"(func (export "_start")
             (local $i i32)
             (loop $l
               (call $free (call $malloc (i32.const 8)))
               (global.set $bump (i32.const 70000))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 300000)))))"#,
    );
    let o = run(&m, cfg());
    assert_eq!((o.model.allocations, o.model.frees), (300_000, 300_000));
    assert_eq!((o.contexts, o.walks), (2, 2 + 13));
}

/// A direct call of an allocator entry point sets no context global: it calls the entry point's wrapper for direct
/// calls with its call site's constant, which works out the id (context.rs). Two direct calls of malloc in one
/// function and one through the table (which sets the global, and puts it back): three contexts, the walked stacks.
#[test]
fn direct_calls_of_the_allocator_set_no_context_global() {
    let m = module(
        r#"(type $m (func (param i32) (result i32)))
           (table 1 funcref)
           (elem (i32.const 0) $malloc)
           (func (export "_start")
             (drop (call $malloc (i32.const 8)))
             (drop (call $malloc (i32.const 16)))
             (drop (call_indirect (type $m) (i32.const 24) (i32.const 0))))"#,
    );
    let (ins, _) = instrument(&m, &check_options());
    // In the instrumented `_start`: the functions it calls by name, and its sets of the context global.
    let (mut names, mut start, mut ctx, mut bodies) = (HashMap::new(), None, None, Vec::new());
    let nimp = ModuleInfo::parse(&ins.bytes).unwrap().num_imported_funcs as usize;
    for payload in wasmparser::Parser::new(0).parse_all(&ins.bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    match e.name {
                        "_start" => start = Some(e.index),
                        "wasmleak:ctx" => ctx = Some(e.index),
                        _ => {}
                    }
                }
            }
            wasmparser::Payload::CodeSectionEntry(b) => bodies.push(b),
            wasmparser::Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(n) = c.as_known() {
                    for sub in n {
                        if let Ok(wasmparser::Name::Function(map)) = sub {
                            names.extend(map.into_iter().map(|n| n.unwrap()).map(|n| (n.index, n.name.to_string())));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let (start, ctx) = (start.unwrap(), ctx.unwrap());
    let (mut called, mut sets) = (Vec::new(), 0);
    for op in bodies[start as usize - nimp].get_operators_reader().unwrap() {
        match op.unwrap() {
            wasmparser::Operator::Call { function_index } => called.push(names.get(&function_index).cloned().unwrap_or_default()),
            wasmparser::Operator::GlobalSet { global_index } if global_index == ctx => sets += 1,
            _ => {}
        }
    }
    assert_eq!(called, ["wasmleak.wrap_direct(malloc)", "wasmleak.wrap_direct(malloc)"]);
    assert_eq!(sets, 2, "the call through the table: set, then put back");
    let o = run(&m, cfg());
    assert_eq!((o.model.allocations, o.contexts), (3, 3));
    assert_eq!(stacks(&o), stacks(&run_walked(&m, cfg())));
}

/// An indirect call keeps the context only when a function of its type that can be in a table reaches the
/// allocator (context.rs): `sum`'s call of `add` through the table (a type no allocating table function has) sets
/// nothing, and `sum` carries no id; `new`'s call of `make` does. With the table exported (the host could put a
/// function of its own there) every indirect call counts. The stacks are the walked ones either way.
#[test]
fn indirect_calls_that_cannot_allocate_keep_no_context() {
    let body = |export: &str| {
        module(&format!(
            r#"(type $pure (func (param i32 i32) (result i32)))
               (type $alloc (func (param i32) (result i32)))
               (table {export} 2 funcref)
               (elem (i32.const 0) $add $make)
               (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
               (func $make (param $n i32) (result i32) (call $malloc (local.get $n)))
               (func $sum (result i32) (call_indirect (type $pure) (i32.const 1) (i32.const 2) (i32.const 0)))
               (func $new (result i32) (call_indirect (type $alloc) (i32.const 8) (i32.const 1)))
               (func (export "_start") (drop (call $sum)) (drop (call $new)) (drop (call $new)))"#
        ))
    };
    let closed = body("");
    // `_start`, `new` and `make` keep it; not `sum`.
    assert_eq!(instrument(&closed, &check_options()).0.context_functions, 3);
    let o = run(&closed, cfg());
    assert_eq!((o.model.allocations, o.contexts), (2, 2));
    assert_eq!(stacks(&o), stacks(&run_walked(&closed, cfg())));
    let open = body(r#"(export "table")"#);
    assert_eq!(instrument(&open, &check_options()).0.context_functions, 4, "sum keeps it too");
    let o = run(&open, cfg());
    assert_eq!((o.model.allocations, o.contexts), (2, 2));
    assert_eq!(stacks(&o), stacks(&run_walked(&open, cfg())));
}

/// Free call edges (context.rs) leave the id as it is: a callee the host cannot enter takes its caller's id through
/// the call site in the deepest loop. The stacks stay those a walk gives: the callee reached through its free edge
/// and through another caller, two call sites of one callee, a mutual recursion whose two edges would be a cycle of
/// free edges (one is free, the other sets the id: every depth its own), and a tail call of the allocator from a
/// function entered both ways.
#[test]
fn free_call_edges_keep_the_walked_stacks() {
    let m = module(
        r#"(func $g (drop (call $malloc (i32.const 8))) (drop (call $malloc (i32.const 8))))
          (func $f (local $i i32)
            (loop $l
              (call $g)
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 3)))))
          (func $h (call $g))
          (func $a (param $n i32)
            (drop (call $malloc (i32.const 16)))
            (if (local.get $n) (then (call $b (i32.sub (local.get $n) (i32.const 1))))))
          (func $b (param $n i32) (drop (call $malloc (i32.const 24))) (call $a (local.get $n)))
          (func $t (result i32) (return_call $malloc (i32.const 40)))
          (func $u (drop (call $t)))
          (func (export "_start") (call $f) (call $h) (call $h) (call $a (i32.const 3)) (call $u) (drop (call $t)))"#,
    );
    // f → g (in the loop, not h → g), _start → f, one of _start → h, one of a → b, b → a, _start → u, and one of
    // u → t, _start → t (t, whose one call is a tail call of the allocator, still reads its id at entry).
    assert_eq!(instrument(&m, &check_options()).0.free_edges, 6);
    let ctx = run(&m, cfg());
    assert_eq!(ctx.model.allocations, 19);
    assert_eq!(stacks(&ctx), stacks(&run_walked(&m, cfg())));
    // g through f (two sites, three times each) 2, through h twice 4, a and b at seven depths 7, t from u and from
    // _start 2.
    let distinct: std::collections::HashSet<_> = stacks(&ctx).into_iter().map(|(_, f)| f).collect();
    assert_eq!(distinct.len(), 15);
    assert_eq!((ctx.contexts, ctx.walks), (15, 15));
}

/// `free(NULL)` is no event in any mode: the buffered hooks never record one, and a walked run (which reports every
/// call) numbers the events after it alike — the blocks' sequence numbers and the peak's event (flite.wasm's
/// `peak_event` was one apart between `--stacks walk` and the default).
#[test]
fn free_of_null_takes_no_sequence_number() {
    let m = module(
        r#"(func (export "_start")
            (drop (call $malloc (i32.const 16)))
            (call $free (i32.const 0))
            (call $free (i32.const 0))
            (drop (call $malloc (i32.const 32))))"#,
    );
    for o in [run(&m, cfg()), run_walked(&m, cfg())] {
        let seqs: Vec<u64> = o.model.live_sorted().iter().map(|b| b.seq).collect();
        assert_eq!((seqs, o.model.seq, o.model.frees), (vec![0, 1], 2, 0));
        assert_eq!(o.model.profile().peak_event, 1);
    }
}
