//! The short run of the differential fuzzer (crates/fuzz): every case compared, none may diverge. The long run
//! is `cargo run --release -p wasmleak-fuzz -- CASES` (BENCHMARKS.md).

#[test]
fn instrumented_modules_behave_as_the_originals() {
    let cases: u64 = std::env::var("WASMLEAK_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let tally = wasmleak_fuzz::run_cases(0..cases, 2).unwrap();
    println!("{tally}");
    assert!(tally.diverged.is_empty(), "{tally}");
    // The fuzzer must exercise the instrumenter: most cases compared, many calling the allocator.
    assert!(tally.same * 2 > tally.cases, "{tally}");
    assert!(tally.with_allocator * 5 > tally.cases, "{tally}");
}
