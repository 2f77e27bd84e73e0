//! `scratch MODULE.wasm FUNC:ARG,ARG... ...`: call functions of a module in one scratch instance, in order, and
//! print each result (what the allocator experiments see).
fn main() {
    let mut args = std::env::args().skip(1);
    let bytes = std::fs::read(args.next().expect("MODULE")).unwrap();
    let calls: Vec<(u32, Vec<i32>)> = args
        .map(|a| {
            let (f, rest) = a.split_once(':').unwrap_or((&a, ""));
            (f.parse().unwrap(), rest.split(',').filter(|x| !x.is_empty()).map(|x| x.parse().unwrap()).collect())
        })
        .collect();
    for (c, r) in calls.iter().zip(wasmleak_instrument::scratch_calls(&bytes, &calls).unwrap()) {
        println!("func {}({:?}) = {:?}", c.0, c.1, r.map(|v| v.map(|p| format!("{p} ({p:#x})"))));
    }
}
