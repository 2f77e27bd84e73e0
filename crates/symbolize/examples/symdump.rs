//! Debug helper: `cargo run --release -p wasmleak-symbolize --example symdump -- MODULE.wasm [FUNC_NAME]`
//! prints every function name (with its source) and, for each `call` instruction of the functions whose
//! demangled name contains FUNC_NAME (all functions if omitted), the symbolized frames.
use wasmleak_symbolize::Symbolizer;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: symdump MODULE.wasm [FUNC_NAME]");
        std::process::exit(2);
    };
    let filter = args.get(2).cloned();
    let bytes = std::fs::read(path).expect("read module");
    let sym = Symbolizer::new(&bytes).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    println!(
        "{sym:?}\nname section: {}, dwarf: {}, imported funcs: {}",
        sym.has_name_section(),
        sym.has_dwarf(),
        sym.num_imported_funcs()
    );
    for f in sym.function_names() {
        println!(
            "func[{}] [{}] {} <- {}",
            f.index, f.source, f.demangled, f.raw
        );
    }
    // Walk code: symbolize each call instruction.
    let mut index = sym.num_imported_funcs();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let name = sym.function_name(index).unwrap_or("?").to_string();
            if filter.as_ref().is_none_or(|f| name.contains(f.as_str())) {
                let mut ops = body
                    .get_operators_reader()
                    .expect("ops")
                    .into_iter_with_offsets();
                while let Some(Ok((op, off))) = ops.next() {
                    if let wasmparser::Operator::Call { function_index } = op {
                        println!(
                            "{name} @ {off:#x}: call {}",
                            sym.function_name(function_index).unwrap_or("?")
                        );
                        for fr in sym.symbolize(index, Some(off as u32)) {
                            println!("    {fr}");
                        }
                    }
                }
            }
            index += 1;
        }
    }
}
