//! The embedding API (`wasmleak_host::embed`) as a plugin host uses it: the plugin in the host's own Store,
//! called in a loop, its heap read between calls. rust_lib.wasm's ground truth: fixtures/rust/src/lib.rs
//! (`leak_forget` forgets one 48-byte block per call, `process_ok` frees what it allocates,
//! `create_processor` returns a handle to a 20-byte Box holding a 256-byte buffer, which `destroy_processor`
//! frees).

use wasmleak_heap::{HeapState, Kind};
use wasmleak_host::embed::{self, HasTracker, Tracker};
use wasmtime::{Engine, Instance, Linker, Module, Store};

struct Host {
    tracker: Option<Tracker>,
}

impl HasTracker for Host {
    fn tracker(&mut self) -> &mut Tracker {
        self.tracker.as_mut().unwrap()
    }
}

fn plugin() -> (Store<Host>, Instance) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/wasm/rust_lib.wasm");
    let plugin = embed::instrument(&std::fs::read(path).unwrap()).unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, &plugin.instrumented.bytes).unwrap();
    let mut linker = Linker::new(&engine);
    embed::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(&engine, Host { tracker: Some(Tracker::new(&plugin)) });
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn kinds(s: &HeapState) -> Vec<Kind> {
    s.analyze().classes.iter().map(|c| c.kind).collect()
}

#[test]
fn a_plugin_that_forgets_a_block_per_call() {
    let (mut store, instance) = plugin();
    let f = instance.get_typed_func::<(), ()>(&mut store, "leak_forget").unwrap();
    let mut states = Vec::new();
    for i in 1..=40u64 {
        f.call(&mut store, ()).unwrap();
        if i % 20 == 0 {
            states.push(Tracker::heap_state(&mut store, &instance, i));
        }
    }
    assert_eq!(states[0].blocks.len(), 20);
    assert_eq!(states[1].blocks.len(), 40);
    assert!(states[1].blocks.iter().all(|b| b.size == 48));
    assert_eq!(kinds(&states[1]), vec![Kind::Lost; 40]);
    assert!(Tracker::invalid_frees(&mut store).is_empty());
    let model = Tracker::finish(&mut store, |h| h.tracker.take().unwrap());
    assert_eq!((model.allocations, model.frees, model.live_count()), (40, 0, 40));
    // Every block has its stack, through the export.
    let stack = model.stacks.get(states[1].blocks[0].stack);
    assert!(!stack.is_empty());
}

#[test]
fn a_leak_free_plugin_and_one_whose_handles_the_host_holds() {
    let (mut store, instance) = plugin();
    let ok = instance.get_typed_func::<(), i32>(&mut store, "process_ok").unwrap();
    for _ in 0..50 {
        ok.call(&mut store, ()).unwrap();
    }
    let s = Tracker::heap_state(&mut store, &instance, 50);
    assert!(s.blocks.is_empty(), "{:?}", s.blocks);
    assert!(s.allocations > 0 && s.allocations == s.frees);

    let create = instance.get_typed_func::<(), i32>(&mut store, "create_processor").unwrap();
    let destroy = instance.get_typed_func::<i32, ()>(&mut store, "destroy_processor").unwrap();
    let kept = create.call(&mut store, ()).unwrap();
    store.data_mut().tracker().hold("the processor the host keeps", kept as u32);
    let dropped = create.call(&mut store, ()).unwrap();
    let gone = create.call(&mut store, ()).unwrap();
    destroy.call(&mut store, gone).unwrap();
    let s = Tracker::heap_state(&mut store, &instance, 53);
    let mut sizes: Vec<u64> = s.blocks.iter().map(|b| b.size).collect();
    sizes.sort();
    assert_eq!(sizes, [20, 20, 256, 256]);
    // The processor the host holds (a 20-byte Box and its 256-byte buffer) is the host's; the one whose handle
    // it dropped is lost, and its buffer indirectly.
    let mut found: Vec<(u64, Kind)> = s.blocks.iter().map(|b| b.size).zip(kinds(&s)).collect();
    found.sort_by_key(|(size, k)| (*size, k.as_str()));
    assert_eq!(found, [(20, Kind::Host), (20, Kind::Lost), (256, Kind::Host), (256, Kind::Indirect)], "handles {kept:#x} {dropped:#x}");
}
