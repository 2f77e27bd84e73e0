//! The short run of the differential fuzzer on mutants of the real fixtures (crates/fuzz/src/mutants.rs): none
//! may diverge. The long run is `cargo run --release -p wasmleak-fuzz -- --mutants CASES` (BENCHMARKS.md).

use wasmleak_fuzz::mutants::{compare, mutant, strip, PROGRAMS};
use wasmleak_fuzz::{Engines, Verdict};
use wasmleak_instrument::{ModuleInfo, Role};

#[test]
fn mutants_of_real_programs_behave_as_the_originals() {
    let cases: u64 = std::env::var("WASMLEAK_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).map_or(68, |n: u64| n / 10);
    let tally = wasmleak_fuzz::run_mutants(0..cases, 2).unwrap();
    println!("{tally}");
    assert!(tally.diverged.is_empty(), "{tally}");
    // Every program mutated, its allocator found in the stripped mutant and called.
    assert!(tally.with_allocator * 10 >= tally.cases * 9, "{tally}");
}

#[test]
fn mutants_are_stripped_and_changed() {
    let engines = Engines::new().unwrap();
    for seed in 0..PROGRAMS.len() as u64 {
        let (which, bytes) = mutant(&engines, seed).expect("every program mutates");
        assert_eq!(which, seed as usize);
        let info = ModuleInfo::parse(&bytes).unwrap();
        assert!(info.func_names.is_empty(), "{}: custom sections stripped", PROGRAMS[which].0);
        // Changed: not the stripped program itself.
        assert_ne!(bytes, strip(PROGRAMS[which].1).unwrap(), "{}: mutated", PROGRAMS[which].0);
    }
}

/// The comparison catches what this fuzzer is for: the free hook on a function that is not the allocator's free
/// (the checked free then skips calls the program makes) changes what the program does.
#[test]
fn a_hook_on_the_wrong_function_diverges() {
    let engines = Engines::new().unwrap();
    let which = 0; // rust_patterns rc_cycle 3, with its names
    let bytes = PROGRAMS[which].1;
    let info = ModuleInfo::parse(bytes).unwrap();
    let mut eps = wasmleak_instrument::find_allocator(bytes, &info, &Default::default(), &Default::default()).unwrap();
    let right = compare(&engines, which, bytes, info.clone(), &eps, false);
    assert!(matches!(right, Verdict::Same { allocator_calls: true, .. }), "{right:?}");
    // The allocation function hooked as a free.
    let alloc = eps.iter().find(|e| e.role == Role::RustAlloc).expect("__rust_alloc").func;
    for e in eps.iter_mut().filter(|e| e.role == Role::RustDealloc) {
        e.func = alloc;
    }
    eps.retain(|e| e.role != Role::RustAlloc);
    for js in [false, true] {
        let wrong = compare(&engines, which, bytes, info.clone(), &eps, js);
        assert!(matches!(wrong, Verdict::Diverged(_)), "{wrong:?}");
    }
}
