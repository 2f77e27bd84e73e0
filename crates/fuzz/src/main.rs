//! The long runs of the differential fuzzer: `cargo run --release -p wasmleak-fuzz -- [--mutants] CASES [THREADS]
//! [FIRST_SEED]` prints the tally (BENCHMARKS.md records it) and exits 1 on any divergence, listing the seeds
//! (`cargo run --release -p wasmleak-fuzz --example one -- SEED` replays one; `--example case` writes its module).
//! `--mutants`: mutants of the real fixtures ([`wasmleak_fuzz::mutants`]) instead of wasm-smith modules.
fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mutants = args.first().is_some_and(|a| a == "--mutants");
    if mutants {
        args.remove(0);
    }
    let arg = |i: usize, default: u64| -> anyhow::Result<u64> {
        match args.get(i) {
            Some(a) => a.parse().map_err(|_| anyhow::anyhow!("argument {a} is not a number: [--mutants] CASES [THREADS] [FIRST_SEED]")),
            None => Ok(default),
        }
    };
    let (cases, threads, first) = (arg(0, 10_000)?, arg(1, 2)?, arg(2, 0)?);
    let started = std::time::Instant::now();
    // In chunks, with the tally so far after each: a long run stopped half-way still says what it saw.
    const CHUNK: u64 = 50_000;
    let mut tally = wasmleak_fuzz::Tally::default();
    let mut at = first;
    while at < first + cases {
        let seeds = at..(at + CHUNK).min(first + cases);
        at = seeds.end;
        tally.merge(if mutants { wasmleak_fuzz::run_mutants(seeds, threads)? } else { wasmleak_fuzz::run_cases(seeds, threads)? });
        if at < first + cases {
            println!("after seeds {first}..{at} ({:.0} s): {} cases, {} diverged", started.elapsed().as_secs_f64(), tally.cases, tally.diverged.len());
        }
    }
    print!("{tally}");
    println!("seeds {first}..{}, {threads} threads, {:.0} s", first + cases, started.elapsed().as_secs_f64());
    if !tally.diverged.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
