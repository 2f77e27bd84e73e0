//! The long run of the differential fuzzer: `cargo run --release -p wasmleak-fuzz -- CASES [THREADS] [FIRST_SEED]`
//! prints the tally (BENCHMARKS.md records it) and exits 1 on any divergence, listing the seeds
//! (`cargo run --release -p wasmleak-fuzz --example one -- SEED` replays one; `--example case` writes its module).
fn main() -> anyhow::Result<()> {
    let arg = |i: usize, default: u64| -> anyhow::Result<u64> {
        match std::env::args().nth(i) {
            Some(a) => a.parse().map_err(|_| anyhow::anyhow!("argument {i} ({a}) is not a number: CASES [THREADS] [FIRST_SEED]")),
            None => Ok(default),
        }
    };
    let (cases, threads, first) = (arg(1, 10_000)?, arg(2, 2)?, arg(3, 0)?);
    let started = std::time::Instant::now();
    let tally = wasmleak_fuzz::run_cases(first..first + cases, threads)?;
    print!("{tally}");
    println!("seeds {first}..{}, {threads} threads, {:.0} s", first + cases, started.elapsed().as_secs_f64());
    if !tally.diverged.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
