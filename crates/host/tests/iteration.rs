//! `--iteration FUNC`: the rewrite's iteration wrapper and the host's `wasmleak::iteration` hook, on a
//! hand-written command whose iteration function is reached by a direct call, through an element segment
//! and through `ref.func`, and leaks one 16-byte block per call.

use std::collections::HashMap;

use wasmleak_host::{tracked_run, Exit, Outcome, RunConfig, StackMode, Stdout};
use wasmleak_instrument::{find_allocator, instrument_with, InstrumentOptions, ModuleInfo, Overrides};

/// `_start` runs 3 rounds; each calls `handle` directly, via the table slot the element segment filled, and
/// via a slot `table.set` filled with `ref.func`: 9 iterations, 9 blocks of 16 B.
const COMMAND: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 70000))
  (table 2 funcref)
  (elem (i32.const 0) $handle)
  (func $malloc (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (i32.const 32)))
    (local.get $p))
  (func $free (param i32))
  (func $handle (param $i i32) (result i32)
    (drop (call $malloc (i32.const 16)))
    (local.get $i))
  (func (export "_start")
    (local $round i32)
    (table.set (i32.const 1) (ref.func $handle))
    (loop $again
      (drop (call $handle (i32.const 1)))
      (drop (call_indirect (type $t) (i32.const 2) (i32.const 0)))
      (drop (call_indirect (type $t) (i32.const 3) (i32.const 1)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $round) (i32.const 3)))))
)"#;

fn handle_index(info: &ModuleInfo) -> u32 {
    info.func_names.iter().find(|(_, n)| *n == "handle").map(|(i, _)| *i).unwrap()
}

fn run(cfg: RunConfig) -> (Outcome, u32) {
    run_with(cfg, true)
}

fn run_with(cfg: RunConfig, contexts: bool) -> (Outcome, u32) {
    let bytes = wat::parse_str(COMMAND).unwrap();
    let info = ModuleInfo::parse(&bytes).unwrap();
    let eps = find_allocator(&bytes, &info, &HashMap::new(), &Overrides::default()).unwrap();
    let handle = handle_index(&info);
    let options = InstrumentOptions { iteration: Some(handle), contexts, ..Default::default() };
    let ins = instrument_with(&bytes, &info, &eps, &options).unwrap();
    wasmparser::Validator::new().validate_all(&ins.bytes).expect("instrumented module validates");
    (tracked_run(&ins, &info, &cfg).unwrap(), handle)
}

fn cfg(every: Option<u32>, max: usize) -> RunConfig {
    RunConfig { stdout: Stdout::ToStderr, per_iteration: true, snapshot_every: every, max_snapshots: max, ..RunConfig::default() }
}

/// (iteration, live blocks) of every state.
fn series(o: &Outcome) -> Vec<(u64, usize)> {
    o.states.iter().map(|s| (s.iteration, s.blocks.len())).collect()
}

#[test]
fn every_return_counts_whether_called_directly_through_an_element_segment_or_through_ref_func() {
    let (o, _) = run(cfg(Some(2), 32));
    assert_eq!(o.exit, Exit::Returned);
    // States after iterations 2, 4, 6, 8, then the one at exit (9 iterations).
    assert_eq!(series(&o), vec![(2, 2), (4, 4), (6, 6), (8, 8), (9, 9)]);
    assert_eq!(o.model.allocations, 9);
}

#[test]
fn the_state_at_exit_stands_for_the_last_iteration() {
    // Every 3: iterations 3, 6, and 9 = the exit; no state is taken twice for the same iteration.
    let (o, _) = run(cfg(Some(3), 32));
    assert_eq!(series(&o), vec![(3, 3), (6, 6), (9, 9)]);
}

#[test]
fn past_the_maximum_every_other_state_goes_and_the_interval_doubles() {
    // Every iteration, at most 3 kept: 1,2,3 → (4) 2,4 → 2,4,6 → (8) 4,8 → exit 9.
    let (o, _) = run(cfg(None, 3));
    assert_eq!(series(&o), vec![(4, 4), (8, 8), (9, 9)]);
}

/// The three call sites of `handle` in `_start` (direct, element segment, ref.func) are three calling contexts:
/// three stack walks for nine allocations, and the same stacks as walking at every event or as a module
/// instrumented without contexts (its plain hooks are walked each time).
#[test]
fn calling_contexts_give_the_walked_stacks_with_one_walk_each() {
    let (ctx, handle) = run(cfg(Some(2), 32));
    let (walk, _) = run(RunConfig { stacks: StackMode::Walk, ..cfg(Some(2), 32) });
    let (plain, _) = run_with(cfg(Some(2), 32), false);
    assert_eq!((ctx.contexts, ctx.walks), (3, 3));
    assert_eq!((walk.walks, plain.walks, plain.contexts), (9, 9, 0));
    assert_eq!(series(&ctx), series(&walk));
    let info = ModuleInfo::parse(&wat::parse_str(COMMAND).unwrap()).unwrap();
    let stacks = |o: &Outcome| {
        let mut v: Vec<(u64, Vec<wasmleak_heap::RawFrame>)> =
            o.model.live_blocks().map(|b| (b.addr, o.model.stacks.get(b.stack).to_vec())).collect();
        v.sort();
        v
    };
    let got = stacks(&ctx);
    assert_eq!(got, stacks(&walk));
    assert_eq!(got, stacks(&plain));
    for (_, frames) in &got {
        // handle, then _start: the wrapper around handle (and the allocator's) are not frames.
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].func, handle);
        assert!(frames.iter().all(|f| f.func < info.num_funcs()), "{frames:?}");
    }
    // Three distinct call sites in _start.
    let sites: std::collections::HashSet<u32> = got.iter().map(|(_, f)| f[1].offset).collect();
    assert_eq!(sites.len(), 3);
}

#[test]
fn a_run_without_per_iteration_takes_no_iteration_states() {
    // The module reports iterations, but the run does not count them: only the state at exit.
    let (o, _) = run(RunConfig { per_iteration: false, ..cfg(Some(2), 32) });
    assert_eq!(series(&o), vec![(1, 9)]);
}
