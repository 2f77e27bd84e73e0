//! Throughput of `analyze` on a synthetic 256 MiB image with ~1M live blocks.
//!
//! `cargo run --release -p wasmleak-heap --example scan_bench [POINTER_PERCENT] [RUNS] [NEAR_PERCENT]`
//!
//! Block sizes are uniform in [8, 480] bytes with an 8-byte allocator header between blocks, so 1M blocks
//! fill ~252 MB. Each aligned word of a block is a pointer to a random block (POINTER_PERCENT %, default 12;
//! a quarter of them interior), or else zero, a small integer, ASCII text or a random 32-bit value (1 in 16
//! of which falls inside the heap's span and has to be looked up). Targets are uniformly random (the worst
//! case for the caches), except NEAR_PERCENT % of them (default 0) that go to a block within 64 blocks of
//! the holder, as in real heaps where objects allocated together point at each other. A 1 MiB data region holds pointers to 2,000 random blocks.

use std::time::Instant;

use wasmleak_heap::{analyze, Block, Kind, Memory, RootRegion, Roots, StackId};

const MEM: usize = 256 << 20;
const HEAP_START: u64 = 1 << 20;
const BLOCKS: usize = 1_000_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

/// Nanoseconds this thread has been on a CPU (Linux), to see through a machine shared with other jobs.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ptr_pct: u64 = args.next().map_or(12, |a| a.parse().expect("POINTER_PERCENT"));
    let runs: usize = args.next().map_or(3, |a| a.parse().expect("RUNS"));
    let near_pct: u64 = args.next().map_or(0, |a| a.parse().expect("NEAR_PERCENT"));

    let t = Instant::now();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut mem = vec![0u8; MEM];
    let mut blocks = Vec::with_capacity(BLOCKS);
    let mut addr = HEAP_START + 8;
    while blocks.len() < BLOCKS {
        let size = 8 * (1 + rng.below(60));
        if (addr + size) as usize > MEM {
            break;
        }
        blocks.push(Block { addr, size, seq: blocks.len() as u64, stack: StackId::NONE });
        addr += size + 8;
    }
    let n = blocks.len() as u64;
    let put = |mem: &mut [u8], at: u64, v: u32| mem[at as usize..at as usize + 4].copy_from_slice(&v.to_le_bytes());
    for (bi, b) in blocks.iter().enumerate() {
        for at in (b.addr..b.addr + b.size).step_by(4) {
            let r = rng.below(100);
            let v = if r < ptr_pct {
                let t = if rng.below(100) < near_pct {
                    &blocks[(bi as u64 + n - 64 + rng.below(129)) as usize % n as usize]
                } else {
                    &blocks[rng.below(n) as usize]
                };
                if rng.below(4) == 0 { t.addr + rng.below(t.size) } else { t.addr }
            } else {
                match rng.below(8) {
                    0..=2 => 0,
                    3 | 4 => rng.below(4096),
                    5 | 6 => u32::from_le_bytes([0; 4].map(|_| 0x20 + rng.below(0x5f) as u8)) as u64,
                    _ => rng.next() >> 32,
                }
            };
            put(&mut mem, at, v as u32);
        }
    }
    for k in 0..2000u64 {
        let t = blocks[rng.below(n) as usize].addr;
        put(&mut mem, 4096 + 8 * k, t as u32);
    }
    let roots = Roots { regions: vec![RootRegion { name: "data".into(), start: 1024, end: HEAP_START }], values: vec![], opaque: Vec::new() };
    let scanned: u64 = blocks.iter().map(|b| b.size).sum::<u64>() + (HEAP_START - 1024);
    eprintln!(
        "built {} blocks, {:.1} MiB image, {:.1} MiB to scan, {}% pointer words ({}% near), in {:.2?}",
        blocks.len(),
        MEM as f64 / (1 << 20) as f64,
        scanned as f64 / (1 << 20) as f64,
        ptr_pct,
        near_pct,
        t.elapsed()
    );

    let mut times = Vec::new();
    for run in 0..runs {
        let input = blocks.clone();
        let c0 = cpu_ns();
        let t = Instant::now();
        let a = analyze(input, Memory { bytes: &mem }, &roots);
        let dt = t.elapsed();
        let cpu = c0.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
        times.push((dt.as_secs_f64(), cpu));
        if run == 0 {
            let mut counts = [0usize; 5];
            for c in &a.classes {
                counts[c.kind as usize] += 1;
            }
            let kinds = [Kind::Lost, Kind::Indirect, Kind::Cycle, Kind::Host, Kind::Reachable];
            let summary: Vec<String> = kinds.iter().map(|k| format!("{} {}", k.as_str(), counts[*k as usize])).collect();
            eprintln!("edges {}, cycles {}, {}", a.edge_count(), a.cycle_count(), summary.join(", "));
            let deepest = (0..a.blocks.len()).step_by(997).map(|i| a.retainer_path(i).len()).max().unwrap_or(0);
            eprintln!("longest sampled retainer path: {deepest} steps");
        }
        let mbs = |s: f64| scanned as f64 / 1e6 / s;
        match cpu {
            Some(c) => eprintln!("run {run}: wall {dt:.3?} = {:.0} MB/s; on-CPU {c:.3} s = {:.0} MB/s", mbs(dt.as_secs_f64()), mbs(c)),
            None => eprintln!("run {run}: wall {dt:.3?} = {:.0} MB/s", mbs(dt.as_secs_f64())),
        }
    }
    let best = times.iter().map(|t| t.0).fold(f64::INFINITY, f64::min);
    println!(
        "scan_bench: {} blocks, {:.0} MB scanned, {}% pointer words ({}% near): best wall {:.3} s = {:.0} MB/s",
        blocks.len(),
        scanned as f64 / 1e6,
        ptr_pct,
        near_pct,
        best,
        scanned as f64 / 1e6 / best
    );
    if let Some(cpu) = times.iter().filter_map(|t| t.1).reduce(f64::min) {
        println!("  best on-CPU {:.3} s = {:.0} MB/s", cpu, scanned as f64 / 1e6 / cpu);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(l) = status.lines().find(|l| l.starts_with("VmHWM")) {
        let l = l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
        println!("  peak RSS {l} (the image is 256 MiB, the input blocks {} MiB)", (blocks.len() * 32) >> 20);
    }
}
