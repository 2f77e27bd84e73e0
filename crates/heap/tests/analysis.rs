//! Exact facts of the analysis on small synthetic memory images.

use wasmleak_heap::{
    analyze, Analysis, Block, BlockClass, Holder, Kind, Memory, PathStep, RootRegion, RootValue, Roots, StackId,
};

/// A synthetic memory image: blocks placed by hand, pointers written as little-endian words.
struct Img {
    mem: Vec<u8>,
    blocks: Vec<Block>,
    roots: Roots,
}

impl Img {
    fn new() -> Img {
        Img { mem: vec![0; 8192], blocks: Vec::new(), roots: Roots::default() }
    }
    fn block(&mut self, addr: u64, size: u64) -> u64 {
        let seq = self.blocks.len() as u64;
        self.blocks.push(Block { addr, size, seq, stack: StackId::NONE });
        addr
    }
    fn put(&mut self, at: u64, value: u64) {
        let at = at as usize;
        self.mem[at..at + 4].copy_from_slice(&(value as u32).to_le_bytes());
    }
    fn region(&mut self, name: &str, start: u64, end: u64) {
        self.roots.regions.push(RootRegion { name: name.into(), start, end });
    }
    fn value(&mut self, name: &str, value: u64, host: bool) {
        self.roots.values.push(RootValue { name: name.into(), value, host });
    }
    fn run(&self) -> Result {
        Result(analyze(self.blocks.clone(), Memory { bytes: &self.mem }, &self.roots))
    }
}

struct Result(Analysis);

impl Result {
    fn idx(&self, addr: u64) -> usize {
        self.0.blocks.iter().position(|b| b.addr == addr).expect("no block at addr")
    }
    fn class(&self, addr: u64) -> BlockClass {
        self.0.classes[self.idx(addr)]
    }
    fn kind(&self, addr: u64) -> Kind {
        self.class(addr).kind
    }
}

const DATA: u64 = 0; // data region [0, 256)
const HEAP: u64 = 1024;

#[test]
fn block_referenced_only_from_a_data_region_is_reachable_with_its_root() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    m.region("stack", 512, 768);
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 64, 16);
    m.put(520, a); // in the second region
    m.put(40, b); // in the first
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(1), on_cycle: false, counted: false });
    assert_eq!(r.class(b), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
}

/// An allocator over a static array hands out blocks inside static data: the words of a live block there are
/// not roots — a leaked block holding another kept it "reachable" (Emscripten -sMALLOC=none with the program's own
/// arena: 18 of 40 leaked blocks). The arena's bookkeeping outside the blocks still is a root.
#[test]
fn blocks_inside_a_data_region_are_no_roots_themselves() {
    let mut m = Img::new();
    m.region("data", DATA, 1024);
    let a = m.block(256, 16); // leaked, holds b
    let b = m.block(272, 16);
    let c = m.block(288, 16); // the arena's free list (outside any block) holds it
    m.put(256, b);
    m.put(512, c);
    let r = m.run();
    assert_eq!(r.kind(a), Kind::Lost);
    assert_eq!(r.kind(b), Kind::Indirect);
    assert_eq!(r.kind(c), Kind::Reachable);
}

#[test]
fn block_without_references_is_lost() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 24);
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Lost, cycle: None, interior_only: false, root: None, on_cycle: false, counted: false });
    assert!(r.0.retainer_path(r.idx(a)).is_empty());
}

#[test]
fn lost_blocks_child_and_grandchild_are_indirect() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let lost = m.block(HEAP, 16);
    let child = m.block(HEAP + 32, 16);
    let grandchild = m.block(HEAP + 64, 16);
    m.put(lost + 4, child);
    m.put(child + 12, grandchild);
    let r = m.run();
    assert_eq!(r.kind(lost), Kind::Lost);
    assert_eq!(r.kind(child), Kind::Indirect);
    assert_eq!(r.kind(grandchild), Kind::Indirect);
    assert_eq!(r.class(grandchild).root, None);
    // The path of an indirect block starts at its lost owner.
    assert_eq!(
        r.0.retainer_path(r.idx(grandchild)),
        vec![
            PathStep { holder: Holder::Block { index: r.idx(lost), offset: 4 }, value: child, target: r.idx(child) },
            PathStep {
                holder: Holder::Block { index: r.idx(child), offset: 12 },
                value: grandchild,
                target: r.idx(grandchild)
            },
        ]
    );
}

#[test]
fn unreferenced_two_block_cycle_is_one_cycle() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    m.put(a, b);
    m.put(b + 8, a);
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Cycle, cycle: Some(0), interior_only: false, root: None, on_cycle: false, counted: false });
    assert_eq!(r.class(b), BlockClass { kind: Kind::Cycle, cycle: Some(0), interior_only: false, root: None, on_cycle: false, counted: false });
    assert_eq!(r.0.cycle_count(), 1);
}

/// A ring counts references where one of its blocks is a reference count's header: an `RcBox` (strong, weak counts
/// first); a libc++ control block (vtable, owners − 1, weak owners − 1) that a shared_ptr (object address, then the
/// control block's) points at. A container's ring (nodes pointing back at it) and an object with a vtable and small
/// fields first, which no shared_ptr points at, count nothing. All stay `Cycle` (docs/contracts.md).
#[test]
fn a_ring_counts_references_only_with_a_reference_counts_header() {
    const VTABLE: u64 = 2000;
    let ring = |setup: &dyn Fn(&mut Img, u64, u64)| {
        let mut m = Img::new();
        m.region("data", DATA, 256);
        // Above a vtable's address (static data from 1024 on, as wasm-ld lays it out).
        let a = m.block(4096, 32);
        let b = m.block(4096 + 64, 32);
        setup(&mut m, a, b);
        let r = m.run();
        assert_eq!((r.kind(a), r.kind(b)), (Kind::Cycle, Kind::Cycle));
        (r.class(a).counted, r.class(b).counted)
    };
    // Rc<RefCell<Node>>: strong 1, weak 1, borrow flag 0, then the next Rc.
    assert_eq!(ring(&|m, a, b| {
        m.put(a, 1);
        m.put(a + 4, 1);
        m.put(a + 12, b);
        m.put(b, 1);
        m.put(b + 4, 1);
        m.put(b + 12, a);
    }), (true, true));
    // make_shared<Node>: vtable (static data), owners − 1 = 0, weak − 1 = 0, the Node at +12 holding a shared_ptr
    // (object, control block) to the other.
    assert_eq!(ring(&|m, a, b| {
        for (x, y) in [(a, b), (b, a)] {
            m.put(x, VTABLE);
            m.put(x + 12, y + 12);
            m.put(x + 16, y);
        }
    }), (true, true));
    // A container and its node: list head {prev, next, size}, node {prev, next, value}.
    assert_eq!(ring(&|m, a, b| {
        m.put(a, b);
        m.put(a + 4, b);
        m.put(a + 8, 1);
        m.put(b, a);
        m.put(b + 4, a);
        m.put(b + 8, 42);
    }), (false, false));
    // An object with a vtable and two small fields first, whose member points at a node that points back.
    assert_eq!(ring(&|m, a, b| {
        m.put(a, VTABLE);
        m.put(a + 4, 3);
        m.put(a + 16, b);
        m.put(b, a + 8);
    }), (false, false));
}

#[test]
fn cycle_referenced_by_a_lost_block_is_indirect() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let lost = m.block(HEAP, 16);
    let a = m.block(HEAP + 32, 16);
    let b = m.block(HEAP + 64, 16);
    m.put(lost, a);
    m.put(a, b);
    m.put(b, a);
    let r = m.run();
    assert_eq!(r.kind(lost), Kind::Lost);
    // Indirect (the lost block owns them), and on a cycle: freeing the owner does not free a ring of Rc.
    assert_eq!(r.class(a), BlockClass { kind: Kind::Indirect, cycle: None, interior_only: false, root: None, on_cycle: true, counted: false });
    assert_eq!(r.class(b), BlockClass { kind: Kind::Indirect, cycle: None, interior_only: false, root: None, on_cycle: true, counted: false });
    assert_eq!(r.0.cycle_count(), 0);
}

/// A block whose only pointer is its own is lost, not a one-block cycle (LeakSanitizer: "only external
/// pointers count"): the edge is kept (the report names an Rc that holds itself), the kind is `lost`.
#[test]
fn self_loop_is_lost() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 16);
    m.put(a + 8, a);
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Lost, cycle: None, interior_only: false, root: None, on_cycle: false, counted: false });
    assert_eq!(r.0.edges_from(r.idx(a)), &[r.idx(a) as u32]);
    assert_eq!(r.0.cycle_count(), 0);
}

/// A pointer into a block's own middle (a string's pointer to its inline buffer; stale bytes of the block
/// freed before at that address) is no edge: the block is lost, not a cycle nor reached through an interior
/// pointer. A pointer to its own start stays an edge (a self-loop, which makes no cycle).
#[test]
fn a_pointer_into_the_block_itself_is_no_edge() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 32);
    m.put(a + 4, a + 16);
    let b = m.block(HEAP + 64, 32);
    m.put(b + 4, b + 16);
    m.put(b + 8, b);
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Lost, cycle: None, interior_only: false, root: None, on_cycle: false, counted: false });
    assert!(r.0.edges_from(r.idx(a)).is_empty());
    assert_eq!(r.kind(b), Kind::Lost);
    assert_eq!(r.0.edges_from(r.idx(b)), &[r.idx(b) as u32]);
}

#[test]
fn cycle_referenced_from_a_root_is_reachable() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    m.put(a, b);
    m.put(b, a);
    m.put(100, b);
    let r = m.run();
    assert_eq!(r.class(a), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
    assert_eq!(r.class(b), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
    assert_eq!(r.0.cycle_count(), 0);
}

#[test]
fn host_values_make_host_blocks_unless_a_strong_root_also_reaches_them() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let h = m.block(HEAP, 16);
    let h_child = m.block(HEAP + 32, 16);
    let both = m.block(HEAP + 64, 16);
    let glob = m.block(HEAP + 96, 16);
    m.put(h, h_child);
    m.put(h + 4, both);
    m.put(200, both); // the data region holds `both` too
    m.value("__stack_pointer", 4096, false); // not a block
    m.value("returned", h, true); // root 2
    m.value("global", glob + 4, false); // root 3: a global, interior pointer
    let r = m.run();
    assert_eq!(r.class(h), BlockClass { kind: Kind::Host, cycle: None, interior_only: false, root: Some(2), on_cycle: false, counted: false });
    assert_eq!(r.class(h_child), BlockClass { kind: Kind::Host, cycle: None, interior_only: false, root: Some(2), on_cycle: false, counted: false });
    assert_eq!(r.class(both), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
    assert_eq!(r.class(glob), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: true, root: Some(3), on_cycle: false, counted: false });
    assert_eq!(
        r.0.retainer_path(r.idx(h_child)),
        vec![
            PathStep { holder: Holder::Root { index: 2, addr: None }, value: h, target: r.idx(h) },
            PathStep { holder: Holder::Block { index: r.idx(h), offset: 0 }, value: h_child, target: r.idx(h_child) },
        ]
    );
}

#[test]
fn interior_only_pointer_still_reaches() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let inner = m.block(HEAP, 32);
    let start = m.block(HEAP + 64, 32);
    let both = m.block(HEAP + 128, 32);
    let child = m.block(HEAP + 192, 8);
    m.put(8, inner + 12);
    m.put(12, start);
    m.put(16, both + 31); // last byte
    m.put(start + 4, both);
    m.put(inner + 4, child + 4);
    let r = m.run();
    assert_eq!(r.class(inner), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: true, root: Some(0), on_cycle: false, counted: false });
    assert!(!r.class(start).interior_only);
    assert!(!r.class(both).interior_only);
    assert_eq!(r.kind(both), Kind::Reachable);
    assert_eq!(r.class(child), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: true, root: Some(0), on_cycle: false, counted: false });
}

#[test]
fn interior_only_also_holds_for_leaks() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let lost = m.block(HEAP, 16);
    let child = m.block(HEAP + 32, 16);
    m.put(lost, child + 8);
    let r = m.run();
    assert_eq!(r.class(lost), BlockClass { kind: Kind::Lost, cycle: None, interior_only: false, root: None, on_cycle: false, counted: false });
    assert_eq!(r.class(child), BlockClass { kind: Kind::Indirect, cycle: None, interior_only: true, root: None, on_cycle: false, counted: false });
}

#[test]
fn pointer_one_past_the_end_is_not_an_edge() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 16);
    let holder = m.block(HEAP + 64, 16);
    let adj = m.block(HEAP + 128, 16);
    let adj_next = m.block(HEAP + 144, 16); // starts exactly where `adj` ends
    m.put(20, a + 16);
    m.put(24, holder);
    m.put(holder, a + 16);
    m.put(28, adj + 16); // == adj_next: points at adj_next, not adj
    let r = m.run();
    assert_eq!(r.kind(a), Kind::Lost);
    assert!(r.0.edges_from(r.idx(holder)).is_empty());
    assert_eq!(r.kind(adj), Kind::Lost);
    assert_eq!(r.class(adj_next), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
}

#[test]
fn zero_size_block_is_pointed_at_by_its_address() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let before = m.block(HEAP, 16);
    let zero = m.block(HEAP + 16, 0); // right after `before`: HEAP+16 is one past `before`'s end
    let zero2 = m.block(HEAP + 64, 0);
    m.put(0, zero);
    m.put(4, zero2 + 4); // not zero2
    let r = m.run();
    assert_eq!(r.class(zero), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(0), on_cycle: false, counted: false });
    assert_eq!(r.kind(before), Kind::Lost);
    assert_eq!(r.kind(zero2), Kind::Lost);
}

#[test]
fn unaligned_words_are_ignored() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    m.region("odd", 258, 270); // aligned words fully inside: 260, 264 (not 256, not 268)
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    let c = m.block(HEAP + 64, 16);
    let d = m.block(HEAP + 96, 16);
    let e = m.block(HEAP + 128, 16);
    let f = m.block(HEAP + 160, 16);
    let g = m.block(HEAP + 192, 16);
    let holder = m.block(HEAP + 1026, 10); // unaligned block: words at +2 and +6 (addresses 2052, 2056)
    m.put(2, a); // unaligned word in the data region
    m.put(264, b); // aligned word in "odd": a root
    m.put(268, c); // aligned but crosses the end of "odd"
    m.put(256, d); // before "odd", outside data
    m.put(holder - 2, e); // aligned but starts before the block
    m.put(holder + 2, f); // aligned, inside
    m.put(holder + 10, g); // one past the end of the block
    m.put(40, holder);
    let r = m.run();
    assert_eq!(r.kind(a), Kind::Lost);
    assert_eq!(r.class(b), BlockClass { kind: Kind::Reachable, cycle: None, interior_only: false, root: Some(1), on_cycle: false, counted: false });
    assert_eq!(r.kind(c), Kind::Lost);
    assert_eq!(r.kind(d), Kind::Lost);
    assert_eq!(r.kind(e), Kind::Lost);
    assert_eq!(r.kind(f), Kind::Reachable);
    assert_eq!(r.kind(g), Kind::Lost);
    assert_eq!(r.0.edges_from(r.idx(holder)), &[r.idx(f) as u32]);
    assert_eq!(r.0.retainer_path(r.idx(f))[1].holder, Holder::Block { index: r.idx(holder), offset: 2 });
}

#[test]
fn regions_are_clamped_to_memory() {
    let mut m = Img::new();
    let a = m.block(HEAP, 16);
    let len = m.mem.len() as u64;
    m.put(len - 4, a);
    m.region("huge", len - 8, u64::MAX);
    m.region("outside", len + 100, len + 200);
    let r = m.run();
    assert_eq!(r.class(a).root, Some(0));
}

#[test]
fn independent_cycles_get_different_dense_ids() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    let c = m.block(HEAP + 64, 16);
    let d = m.block(HEAP + 96, 16);
    let e = m.block(HEAP + 128, 16);
    m.put(a, c);
    m.put(c, a);
    m.put(b, d);
    m.put(d, e);
    m.put(e, b);
    let r = m.run();
    let ca = r.class(a).cycle.unwrap();
    let cb = r.class(b).cycle.unwrap();
    assert_ne!(ca, cb);
    assert_eq!(r.class(c).cycle, Some(ca));
    assert_eq!(r.class(d).cycle, Some(cb));
    assert_eq!(r.class(e).cycle, Some(cb));
    assert_eq!((ca, cb), (0, 1)); // in address order
    assert_eq!(r.0.cycle_count(), 2);
}

#[test]
fn a_cycle_below_a_self_referencing_block_is_indirect() {
    let mut m = Img::new();
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    let c = m.block(HEAP + 64, 16);
    m.put(a, a); // a self loop: no cycle, the lost source
    m.put(a + 4, b);
    m.put(b, c);
    m.put(c, b);
    let r = m.run();
    assert_eq!(r.class(a).kind, Kind::Lost);
    assert_eq!(r.kind(b), Kind::Indirect);
    assert_eq!(r.kind(c), Kind::Indirect);
    assert_eq!(r.0.retainer_path(r.idx(b))[0].holder, Holder::Block { index: r.idx(a), offset: 4 });
}

#[test]
fn retainer_path_two_hops_from_a_region_root() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    m.region("stack", 512, 768);
    let a = m.block(HEAP, 32);
    let b = m.block(HEAP + 64, 16);
    m.put(600, a); // stack word at 600
    m.put(a + 4, b + 100); // not into b
    m.put(a + 20, b + 4); // interior pointer at offset 20
    m.put(a + 24, b); // a second pointer to b, later in a
    let r = m.run();
    let (ia, ib) = (r.idx(a), r.idx(b));
    assert_eq!(
        r.0.retainer_path(ib),
        vec![
            PathStep { holder: Holder::Root { index: 1, addr: Some(600) }, value: a, target: ia },
            PathStep { holder: Holder::Block { index: ia, offset: 20 }, value: b + 4, target: ib },
        ]
    );
    assert_eq!(r.0.retainer_path(ia).len(), 1);
    assert_eq!(r.class(b).root, Some(1));
}

#[test]
fn recorded_root_is_the_one_with_the_shortest_path() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    m.region("stack", 512, 768);
    let a = m.block(HEAP, 16);
    let b = m.block(HEAP + 32, 16);
    let c = m.block(HEAP + 64, 16);
    m.put(0, a); // data → a → b → c
    m.put(a, b);
    m.put(b, c);
    m.put(700, c); // stack → c directly
    let r = m.run();
    assert_eq!(r.class(b).root, Some(0));
    assert_eq!(r.class(c).root, Some(1));
    assert_eq!(r.0.retainer_path(r.idx(c)).len(), 1);
}

#[test]
fn graph_accessors() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let a = m.block(HEAP, 32);
    let b = m.block(HEAP + 64, 16);
    let c = m.block(HEAP + 96, 16);
    m.put(a, c);
    m.put(a + 4, b + 8);
    m.put(a + 8, c + 4);
    m.put(b, c);
    let r = m.run();
    let (ia, ib, ic) = (r.idx(a) as u32, r.idx(b) as u32, r.idx(c) as u32);
    assert_eq!(r.0.edges_from(ia as usize), &[ic, ib, ic]);
    assert_eq!(r.0.edges_from(ib as usize), &[ic]);
    assert!(r.0.edges_from(ic as usize).is_empty());
    assert_eq!(r.0.referrers(ic as usize), vec![ia as usize, ib as usize]);
    assert_eq!(r.0.referrers(ia as usize), Vec::<usize>::new());
    assert_eq!(r.0.edge_count(), 4);
    assert_eq!(r.0.block_containing(b + 15), Some(ib as usize));
    assert_eq!(r.0.block_containing(b + 16), None);
}

#[test]
fn blocks_come_back_sorted() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let c = m.block(HEAP + 64, 8);
    let a = m.block(HEAP, 8);
    let b = m.block(HEAP + 32, 8);
    m.put(0, b);
    let r = m.run();
    let addrs: Vec<u64> = r.0.blocks.iter().map(|b| b.addr).collect();
    assert_eq!(addrs, vec![a, b, c]);
    assert_eq!(r.kind(b), Kind::Reachable);
    assert_eq!(r.0.classes.len(), 3);
}

#[test]
fn empty_inputs() {
    let r = analyze(Vec::new(), Memory { bytes: &[] }, &Roots::default());
    assert!(r.blocks.is_empty() && r.classes.is_empty());
    // Blocks beyond the memory image are classified but have no words.
    let blocks = vec![Block { addr: 1 << 20, size: 64, seq: 0, stack: StackId::NONE }];
    let r = analyze(blocks, Memory { bytes: &[0; 16] }, &Roots::default());
    assert_eq!(r.classes[0].kind, Kind::Lost);
}

/// Long chains and cycles: the searches must not recurse.
#[test]
fn deep_graphs_do_not_overflow() {
    const N: u64 = 300_000;
    let mut mem = vec![0u8; (HEAP + 16 * 2 * N + 64) as usize];
    let mut blocks = Vec::new();
    // A ring of N blocks (one cycle), then a chain of N blocks from a lost head.
    for i in 0..2 * N {
        let addr = HEAP + 16 * i;
        blocks.push(Block { addr, size: 16, seq: i, stack: StackId::NONE });
        let next = if i == N - 1 { HEAP } else if i == 2 * N - 1 { 0 } else { addr + 16 };
        mem[addr as usize..addr as usize + 4].copy_from_slice(&(next as u32).to_le_bytes());
    }
    let r = analyze(blocks, Memory { bytes: &mem }, &Roots::default());
    assert!(r.classes[..N as usize].iter().all(|c| c.kind == Kind::Cycle && c.cycle == Some(0)));
    assert_eq!(r.classes[N as usize].kind, Kind::Lost);
    assert!(r.classes[N as usize + 1..].iter().all(|c| c.kind == Kind::Indirect));
    assert_eq!(r.retainer_path(2 * N as usize - 1).len(), N as usize - 1);
}

// ---- randomized comparison with a naive reference implementation ----

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn naive_target(blocks: &[Block], mem: &[u8], v: u64) -> Option<usize> {
    blocks.iter().position(|b| if b.size == 0 { v == b.addr } else { v >= b.addr && v < b.addr + b.size }).or_else(|| {
        // C++ `new T[0]`'s count, one word of 0, is held by the pointer past it (`the_end_of_a_new_array…`).
        let cookie = |b: &Block| b.size == 4 && v == b.addr + 4 && mem.get(b.addr as usize..b.addr as usize + 4) == Some(&[0u8; 4][..]);
        blocks.iter().position(cookie)
    })
}

fn naive_words(mem: &[u8], start: u64, end: u64) -> Vec<(u64, u64)> {
    let end = end.min(mem.len() as u64);
    let mut out = Vec::new();
    let mut a = start.div_ceil(4) * 4;
    while a + 4 <= end {
        let w = u32::from_le_bytes(mem[a as usize..a as usize + 4].try_into().unwrap()) as u64;
        out.push((a, w));
        a += 4;
    }
    out
}

fn bfs_dist(adj: &[Vec<usize>], seeds: &[usize]) -> Vec<Option<usize>> {
    let mut dist = vec![None; adj.len()];
    let mut q = std::collections::VecDeque::new();
    for &s in seeds {
        if dist[s].is_none() {
            dist[s] = Some(0);
            q.push_back(s);
        }
    }
    while let Some(u) = q.pop_front() {
        for &t in &adj[u] {
            if dist[t].is_none() {
                dist[t] = Some(dist[u].unwrap() + 1);
                q.push_back(t);
            }
        }
    }
    dist
}

#[test]
fn random_images_match_a_naive_reference() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut seen = std::collections::BTreeMap::new();
    for round in 0..1000 {
        let nblocks = 1 + rng.below(40) as usize;
        let mut mem = vec![0u8; 4096];
        let mut blocks = Vec::new();
        let mut addr = 512 + rng.below(8);
        for i in 0..nblocks {
            let size = match rng.below(6) {
                0 => 0,
                1 => 1 + rng.below(5),
                _ => 4 + rng.below(40),
            };
            if addr + size >= 4096 {
                break;
            }
            blocks.push(Block { addr, size, seq: i as u64, stack: StackId::NONE });
            addr += size.max(1) + [0, 0, 1, 2, 4, 8][rng.below(6) as usize];
        }
        // Sprinkle pointers (start, interior, end) and noise, sparse enough to leave leaks.
        let density = 1 + rng.below(20);
        for a in (0..4096u64).step_by(4) {
            let r = rng.below(100);
            let v = if r < density && !blocks.is_empty() {
                let b = blocks[rng.below(blocks.len() as u64) as usize];
                match rng.below(4) {
                    0 | 1 => b.addr,
                    2 => b.addr + rng.below(b.size + 1),
                    _ => b.addr + b.size,
                }
            } else if r < density + 3 {
                rng.below(4096)
            } else {
                0
            };
            let off = if rng.below(10) == 0 { a + 1 } else { a }; // some unaligned writes
            if off + 4 <= 4096 {
                mem[off as usize..off as usize + 4].copy_from_slice(&(v as u32).to_le_bytes());
            }
        }
        let mut roots = Roots::default();
        roots.regions.push(RootRegion { name: "data".into(), start: rng.below(8), end: 64 + rng.below(64) });
        roots.regions.push(RootRegion { name: "stack".into(), start: 300 + rng.below(8), end: 340 });
        for j in 0..rng.below(4) {
            let v = if blocks.is_empty() { 0 } else { blocks[rng.below(blocks.len() as u64) as usize].addr };
            roots.values.push(RootValue { name: format!("v{j}"), value: v, host: rng.below(2) == 0 });
        }
        let mut shuffled = blocks.clone();
        shuffled.reverse();
        let res = analyze(shuffled, Memory { bytes: &mem }, &roots);
        check_against_naive(round, &blocks, &mem, &roots, &res);
        for c in &res.classes {
            *seen.entry((c.kind, c.interior_only)).or_insert(0usize) += 1;
        }
    }
    // The generator must exercise every kind, with and without interior-only pointers.
    eprintln!("{seen:?}");
    for kind in [Kind::Lost, Kind::Indirect, Kind::Cycle, Kind::Host, Kind::Reachable] {
        for interior in [false, true] {
            if kind == Kind::Lost && interior {
                assert!(!seen.contains_key(&(kind, interior)), "a lost block has no pointer at all");
                continue;
            }
            assert!(seen.get(&(kind, interior)).copied().unwrap_or(0) >= 10, "{kind:?} {interior}: {seen:?}");
        }
    }
}

fn check_against_naive(round: usize, blocks: &[Block], mem: &[u8], roots: &Roots, res: &Analysis) {
    let n = blocks.len();
    assert_eq!(res.blocks, blocks, "round {round}");
    // Graph.
    let mut adj = vec![Vec::new(); n];
    let mut pointed = vec![(false, false); n];
    for (i, b) in blocks.iter().enumerate() {
        for (_, w) in naive_words(mem, b.addr, b.addr + b.size) {
            // A pointer into the block's own middle is no edge.
            if let Some(t) = naive_target(blocks, mem, w).filter(|&t| t != i || w == blocks[t].addr) {
                adj[i].push(t);
                if w == blocks[t].addr { pointed[t].0 = true } else { pointed[t].1 = true }
            }
        }
        let got: Vec<usize> = res.edges_from(i).iter().map(|&t| t as usize).collect();
        assert_eq!(got, adj[i], "round {round}: edges of {i}");
    }
    // Roots: (root index, target).
    let mut root_hits: Vec<(usize, usize, bool)> = Vec::new(); // (root, target, strong)
    for (r, reg) in roots.regions.iter().enumerate() {
        for (_, w) in naive_words(mem, reg.start, reg.end) {
            if let Some(t) = naive_target(blocks, mem, w) {
                root_hits.push((r, t, true));
                if w == blocks[t].addr { pointed[t].0 = true } else { pointed[t].1 = true }
            }
        }
    }
    for (j, rv) in roots.values.iter().enumerate() {
        if let Some(t) = naive_target(blocks, mem, rv.value) {
            root_hits.push((roots.regions.len() + j, t, !rv.host));
            if rv.value == blocks[t].addr { pointed[t].0 = true } else { pointed[t].1 = true }
        }
    }
    let strong: Vec<usize> = root_hits.iter().filter(|h| h.2).map(|h| h.1).collect();
    let all: Vec<usize> = root_hits.iter().map(|h| h.1).collect();
    let d_strong = bfs_dist(&adj, &strong);
    let d_all = bfs_dist(&adj, &all);
    // Reach matrix among all blocks.
    let reach: Vec<Vec<bool>> = (0..n)
        .map(|s| {
            let d = bfs_dist(&adj, &[s]);
            d.iter().enumerate().map(|(t, x)| x.is_some() && (t != s || adj[s].contains(&s) || adj_cycle(&adj, s))).collect()
        })
        .collect();
    let unreach: Vec<bool> = (0..n).map(|i| d_all[i].is_none()).collect();
    let mut cycle_of: Vec<Option<u32>> = vec![None; n];
    for i in 0..n {
        let c = &res.classes[i];
        assert_eq!(c.interior_only, pointed[i].1 && !pointed[i].0, "round {round}: interior_only of {i}");
        let expect = if d_strong[i].is_some() {
            Kind::Reachable
        } else if d_all[i].is_some() {
            Kind::Host
        } else {
            // Unreachable: its SCC within the unreachable subgraph; reach only goes through unreachable
            // blocks anyway (a reachable block never leads back to an unreachable one).
            let scc: Vec<usize> = (0..n).filter(|&j| j == i || (reach[i][j] && reach[j][i])).collect();
            // A self loop alone makes no cycle (LeakSanitizer's rule).
            let cyclic = scc.len() > 1;
            let source = !(0..n).any(|w| unreach[w] && !scc.contains(&w) && scc.iter().any(|&s| adj[w].contains(&s)));
            match (source, cyclic) {
                (true, true) => Kind::Cycle,
                (true, false) => Kind::Lost,
                _ => Kind::Indirect,
            }
        };
        assert_eq!(c.kind, expect, "round {round}: kind of block {i} ({:?})", blocks[i]);
        cycle_of[i] = c.cycle;
        assert_eq!(c.cycle.is_some(), expect == Kind::Cycle, "round {round}");
        assert_eq!(c.root.is_some(), matches!(expect, Kind::Reachable | Kind::Host), "round {round}");
        // Path checks: every step is a real pointer, the chain is connected and (for roots) shortest.
        let path = res.retainer_path(i);
        match expect {
            Kind::Lost | Kind::Cycle => assert!(path.is_empty()),
            Kind::Indirect => assert!(matches!(path[0].holder, Holder::Block { index, .. } if matches!(res.classes[index].kind, Kind::Lost | Kind::Cycle))),
            _ => {
                let d = if expect == Kind::Reachable { d_strong[i] } else { d_all[i] }.unwrap();
                assert_eq!(path.len(), d + 1, "round {round}: shortest path to {i}");
                let Holder::Root { index, addr } = path[0].holder else { panic!("path starts at a root") };
                assert_eq!(Some(index), c.root);
                let hit = root_hits.iter().any(|h| h.0 == index as usize && h.1 == path[0].target);
                assert!(hit, "round {round}: root {index} does not hold block {}", path[0].target);
                if let Some(addr) = addr {
                    let w = u32::from_le_bytes(mem[addr as usize..addr as usize + 4].try_into().unwrap());
                    assert_eq!(w as u64, path[0].value);
                } else {
                    assert_eq!(roots.values[index as usize - roots.regions.len()].value, path[0].value);
                }
            }
        }
        for (k, step) in path.iter().enumerate() {
            assert_eq!(naive_target(blocks, mem, step.value), Some(step.target));
            if k + 1 == path.len() {
                assert_eq!(step.target, i);
            }
            if k > 0 {
                let Holder::Block { index, offset } = step.holder else { panic!("root in the middle") };
                assert_eq!(index, path[k - 1].target);
                assert_eq!(offset % 4, (4 - blocks[index].addr % 4) % 4);
                assert!(offset + 4 <= blocks[index].size);
                let a = (blocks[index].addr + offset) as usize;
                assert_eq!(u32::from_le_bytes(mem[a..a + 4].try_into().unwrap()) as u64, step.value);
            }
        }
    }
    // Cycle ids: dense, equal iff same component.
    let ids: std::collections::BTreeSet<u32> = cycle_of.iter().flatten().copied().collect();
    assert_eq!(ids.len() as u32, res.cycle_count());
    assert!(ids.iter().copied().eq(0..res.cycle_count()), "round {round}: dense ids");
    for i in 0..n {
        for j in 0..n {
            if let (Some(a), Some(b)) = (cycle_of[i], cycle_of[j]) {
                let same = i == j || (reach[i][j] && reach[j][i]);
                assert_eq!(a == b, same, "round {round}: cycle ids of {i} and {j}");
            }
        }
    }
}

/// `s` lies on a cycle of length >= 1.
fn adj_cycle(adj: &[Vec<usize>], s: usize) -> bool {
    adj[s].iter().any(|&t| t == s || bfs_dist(adj, &[t])[s].is_some())
}

/// Dense small blocks next to a huge one: most blocks share a few buckets of the lookup table.
#[test]
fn clustered_addresses_resolve_exactly() {
    let mut mem = vec![0u8; 3 << 20];
    let mut blocks = Vec::new();
    for i in 0..2000u64 {
        blocks.push(Block { addr: 16384 + 12 * i, size: 12 - (i % 3) * 4, seq: i, stack: StackId::NONE });
    }
    let huge = 1u64 << 20;
    blocks.push(Block { addr: huge, size: 1 << 20, seq: 9999, stack: StackId::NONE });
    // The data region points at the last byte of every small block (or at it, when zero-size), and into the
    // gap after the 8-byte ones.
    let mut at = 0usize;
    let mut put = |mem: &mut Vec<u8>, v: u64| {
        mem[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
        at += 4;
    };
    for b in &blocks[..2000] {
        put(&mut mem, b.addr + b.size.max(1) - 1);
    }
    let gap = blocks[1].addr + blocks[1].size; // 8-byte block: [addr+8, addr+12) is a hole
    put(&mut mem, gap);
    put(&mut mem, huge + (1 << 20) - 1);
    let roots = Roots { regions: vec![RootRegion { name: "data".into(), start: 0, end: at as u64 }], values: vec![], opaque: Vec::new() };
    let r = analyze(blocks, Memory { bytes: &mem }, &roots);
    for (i, c) in r.classes.iter().enumerate() {
        assert_eq!(c.kind, Kind::Reachable, "block {i}");
        assert_eq!(c.interior_only, r.blocks[i].size > 1, "block {i}");
        let p = r.retainer_path(i);
        let Holder::Root { index: 0, addr: Some(a) } = p[0].holder else { panic!() };
        assert_eq!(a, if i == 2000 { 4 * 2001 } else { 4 * i as u64 });
    }
}

/// Over 16 MiB of blocks the scan runs on two threads, each over half of the bytes: their edges, counts
/// and pointed-at flags must merge into exactly what one thread finds.
#[test]
fn a_heap_scanned_on_two_threads_matches_the_naive_reference() {
    let mut rng = Rng(0x2545f4914f6cdd1d);
    for round in 0..3 {
        let size = 600 * 1024u64;
        let nblocks = 40u64;
        let base = 4096u64;
        let mem_len = (base + nblocks * (size + 64)) as usize;
        let mut mem = vec![0u8; mem_len];
        let blocks: Vec<Block> = (0..nblocks)
            .map(|i| Block { addr: base + i * (size + 64), size, seq: i, stack: StackId::NONE })
            .collect();
        // A few hundred pointers anywhere in the heap to anywhere in it: across the two halves too.
        for _ in 0..300 {
            let from = blocks[rng.below(nblocks) as usize];
            let to = blocks[rng.below(nblocks) as usize];
            let at = (from.addr + rng.below(size - 4)) & !3;
            let v = to.addr + if rng.below(2) == 0 { 0 } else { rng.below(size) };
            mem[at as usize..at as usize + 4].copy_from_slice(&(v as u32).to_le_bytes());
        }
        let mut roots = Roots::default();
        roots.regions.push(RootRegion { name: "data".into(), start: 0, end: 64 });
        let held = blocks[rng.below(nblocks) as usize].addr;
        mem[8..12].copy_from_slice(&(held as u32).to_le_bytes());
        let res = analyze(blocks.clone(), Memory { bytes: &mem }, &roots);
        check_against_naive(round, &blocks, &mem, &roots, &res);
    }
}

/// `check`'s analysis scans on two threads from 1 MiB (the snapshots wait for it): the same result as one thread's,
/// and the caller told once, when the scan is done.
#[test]
fn the_scan_first_analysis_matches_the_one_thread_one() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let (size, nblocks, base) = (100 * 1024u64, 20u64, 4096u64);
    let mut mem = vec![0u8; (base + nblocks * (size + 64)) as usize];
    let blocks: Vec<Block> = (0..nblocks).map(|i| Block { addr: base + i * (size + 64), size, seq: i, stack: StackId::NONE }).collect();
    // Few pointers: some blocks stay unreachable.
    for _ in 0..12 {
        let (from, to) = (blocks[rng.below(nblocks) as usize], blocks[rng.below(nblocks) as usize]);
        let at = (from.addr + rng.below(size - 4)) & !3;
        let v = to.addr + if rng.below(2) == 0 { 0 } else { rng.below(size) };
        mem[at as usize..at as usize + 4].copy_from_slice(&(v as u32).to_le_bytes());
    }
    let mut roots = Roots::default();
    roots.regions.push(RootRegion { name: "data".into(), start: 0, end: 64 });
    mem[8..12].copy_from_slice(&(blocks[3].addr as u32).to_le_bytes());
    let one = wasmleak_heap::analyze_sorted(&blocks, Memory { bytes: &mem }, &roots);
    let told = std::cell::Cell::new(0);
    let two = wasmleak_heap::analyze_sorted_scan_first(&blocks, Memory { bytes: &mem }, &roots, || told.set(told.get() + 1));
    assert_eq!(told.get(), 1);
    assert_eq!(format!("{two:?}"), format!("{one:?}"));
    assert!(two.edge_count() > 0 && two.classes.iter().any(|c| c.kind == Kind::Reachable) && two.classes.iter().any(|c| c.kind != Kind::Reachable));
}

/// C++ `new T[0]` of a `T` with a destructor: one word, the element count 0, and the program keeps the pointer past
/// it — the block's end. LeakSanitizer counts that pointer as the block's (valgrind's leak_cpp_interior, LSan
/// survey); a word past the end of any other block is not a pointer to it.
#[test]
fn the_end_of_a_new_array_of_nothing_holds_its_block() {
    let mut m = Img::new();
    m.region("data", DATA, 256);
    let cookie = m.block(HEAP, 4); // its word: 0
    let other = m.block(HEAP + 64, 4);
    m.put(other, 7); // a word that is no count of nothing
    m.put(DATA, cookie + 4);
    m.put(DATA + 4, other + 4);
    let r = m.run();
    assert_eq!(r.kind(cookie), Kind::Reachable);
    assert_eq!(r.kind(other), Kind::Lost);
}
