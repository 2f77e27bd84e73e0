//! Write the damaged copy of a file that a malformed-input case used:
//! `cargo run --release -p wasmleak-fuzz --example damage -- SEED IN OUT`
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [seed, input, out] = a.as_slice() else { panic!("usage: damage SEED IN OUT") };
    let bytes = std::fs::read(input).expect("reading IN");
    std::fs::write(out, wasmleak_fuzz::malformed::damage(&bytes, seed.parse().expect("SEED"))).expect("writing OUT");
}
