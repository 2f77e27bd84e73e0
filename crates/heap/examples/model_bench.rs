//! Events per second of the heap model, the work of `wasmleak check`'s model thread.
//!
//! `cargo run --release -p wasmleak-heap --example model_bench [RUNS] [growing|churn]`
//!
//! Two workloads: a growing heap (300,000 blocks of 24–72 bytes allocated one after another and never freed, as
//! `rc_cycle 100000` leaks them), and churn (a pool of 2,000 live blocks where each event frees a random one and
//! allocates again, the allocator reusing freed addresses, 3 million events, as `alloc_heavy`). Fifteen stacks.
//! And `sorted`: the grown heap's live blocks in address order (`live_sorted`, what the host asks for at exit), per
//! block.

use std::time::Instant;

use wasmleak_heap::{HeapModel, StackId};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

fn grown() -> HeapModel {
    let mut m = HeapModel::new();
    let mut rng = Rng(7);
    let mut addr = 1 << 20;
    for _ in 0..300_000 {
        let size = 24 + 8 * rng.below(7);
        m.alloc(addr, size, StackId(rng.below(15) as u32));
        addr += size + 8;
    }
    m
}

/// The live blocks in address order, as the host asks for them at exit: per block.
fn sorted() -> (u64, f64) {
    let m = grown();
    let t = Instant::now();
    let blocks = m.live_sorted();
    let s = t.elapsed().as_secs_f64();
    assert!(blocks.is_sorted_by_key(|b| b.addr));
    (blocks.len() as u64, s)
}

fn growing() -> (u64, f64) {
    let mut m = HeapModel::new();
    let mut rng = Rng(7);
    let t = Instant::now();
    let mut addr = 1 << 20;
    for _ in 0..300_000 {
        let size = 24 + 8 * rng.below(7);
        m.alloc(addr, size, StackId(rng.below(15) as u32));
        addr += size + 8;
    }
    (300_000, t.elapsed().as_secs_f64())
}

fn churn() -> (u64, f64) {
    let mut m = HeapModel::new();
    let mut rng = Rng(11);
    let mut live: Vec<u64> = Vec::new();
    let mut free_list: Vec<u64> = Vec::new();
    let mut top = 1u64 << 20;
    let mut next = |free_list: &mut Vec<u64>| free_list.pop().unwrap_or_else(|| { top += 64; top });
    for _ in 0..2_000 {
        let a = next(&mut free_list);
        m.alloc(a, 40, StackId(0));
        live.push(a);
    }
    let t = Instant::now();
    let n = 1_500_000;
    for _ in 0..n {
        let i = rng.below(live.len() as u64) as usize;
        let a = live[i];
        m.free(a, StackId(1));
        free_list.push(a);
        let b = next(&mut free_list);
        m.alloc(b, 8 + rng.below(56), StackId(rng.below(15) as u32));
        live[i] = b;
    }
    (2 * n, t.elapsed().as_secs_f64())
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let only = std::env::args().nth(2);
    for (name, f) in [("growing", growing as fn() -> (u64, f64)), ("churn", churn), ("sorted", sorted)] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let best = (0..runs).map(|_| f()).map(|(n, s)| s * 1e9 / n as f64).fold(f64::INFINITY, f64::min);
        println!("{name}: {best:.1} ns per event (best of {runs})");
    }
}
