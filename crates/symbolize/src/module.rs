//! Reading the sections of a module: function names, exports, imports, function bodies, and the
//! `.debug_*` custom sections.

use std::ops::Range;
use std::sync::Arc;

use crate::Error;

/// A function body in the Code section.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    /// Module offset of the body's size LEB (what DWARF `low_pc` points at).
    pub(crate) entry_start: u32,
    /// Module offset of the body proper (local declarations), right after the size LEB.
    pub(crate) start: u32,
    /// Module offset one past the body's last byte (the `end` opcode).
    pub(crate) end: u32,
}

/// What [`Module::parse`] reads from a module, apart from the DWARF.
#[derive(Debug)]
pub(crate) struct Module {
    pub(crate) num_imported_funcs: u32,
    /// Module offset of the Code section payload (0 when there is no Code section).
    pub(crate) code_payload_start: u32,
    pub(crate) bodies: Vec<Body>,
    pub(crate) has_name_section: bool,
    /// Name section name of each function (imports included), by index.
    pub(crate) name_section_names: Vec<Option<String>>,
    pub(crate) export_names: Vec<(u32, String)>,
    pub(crate) import_names: Vec<String>,
    /// Names of runtime functions recognised by what they call, for functions the name section leaves
    /// unnamed (see [`inferred_names`]).
    pub(crate) inferred_names: Vec<(u32, &'static str)>,
}

/// The `.debug_*` custom sections of a module.
#[derive(Debug)]
pub(crate) struct DebugSections {
    /// The `.debug_*` section payloads: a copy of them back to back, or the whole module.
    pub(crate) data: Arc<[u8]>,
    /// Name and byte range of each payload in `data`.
    pub(crate) sections: Vec<(String, Range<usize>)>,
    /// Non-empty `.debug_info` and `.debug_line` sections are present.
    pub(crate) has_dwarf: bool,
}

/// The byte range of the Code section's payload in a module file.
pub(crate) fn code_section(module: &[u8]) -> Result<Option<Range<usize>>, Error> {
    if module.len() < 8 || &module[0..4] != b"\0asm" {
        return Err(Error::NotWasm);
    }
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CodeSectionStart { range, .. } = payload? {
            return Ok(Some(range));
        }
    }
    Ok(None)
}

impl DebugSections {
    /// The `.debug_*` payloads of `module` (at `sections`), copied back to back; the ranges then point into that copy.
    /// Written where the DWARF reader keeps it (an `Arc<[u8]>` made from a `Vec` is a second copy).
    fn copied(module: &[u8], mut sections: Vec<(String, Range<usize>)>, has_dwarf: bool) -> DebugSections {
        let mut data = Arc::<[u8]>::new_uninit_slice(sections.iter().map(|(_, r)| r.len()).sum());
        let out = Arc::get_mut(&mut data).expect("not shared yet");
        let mut at = 0;
        for (_, r) in &mut sections {
            let payload = &module[r.clone()];
            for (o, &b) in out[at..at + payload.len()].iter_mut().zip(payload) {
                o.write(b);
            }
            *r = at..at + payload.len();
            at += payload.len();
        }
        // SAFETY: every byte was written: the payloads fill the slice back to back.
        let data = unsafe { data.assume_init() };
        DebugSections { data, sections, has_dwarf }
    }
}

impl Module {
    /// Parse `module` (a module file).
    /// The module's facts, and its DWARF: copied out of `module`, or — given the module `shared` — read where it is.
    pub(crate) fn parse(module: &[u8], shared: Option<&Arc<[u8]>>) -> Result<(Module, DebugSections), Error> {
        if module.len() < 8 || &module[0..4] != b"\0asm" {
            return Err(Error::NotWasm);
        }
        let mut num_imported_funcs = 0u32;
        let mut import_names = Vec::new();
        // Function indices of WASI's `args_sizes_get` and `args_get` (see `inferred_names`).
        let mut args_imports: [Option<u32>; 2] = [None, None];
        let mut code_payload_start = 0u32;
        let mut bodies = Vec::new();
        let mut has_name_section = false;
        let mut name_pairs: Vec<(u32, String)> = Vec::new();
        let mut export_names = Vec::new();
        let mut debug_sections: Vec<(String, Range<usize>)> = Vec::new();
        let mut next_entry_start = 0u32;

        for payload in wasmparser::Parser::new(0).parse_all(module) {
            use wasmparser::Payload::*;
            match payload? {
                Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return Err(Error::Component);
                }
                ImportSection(reader) => {
                    for imp in reader.into_imports() {
                        let imp = imp?;
                        if matches!(
                            imp.ty,
                            wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                        ) {
                            if imp.module.starts_with("wasi_") {
                                match imp.name {
                                    "args_sizes_get" => args_imports[0] = Some(num_imported_funcs),
                                    "args_get" => args_imports[1] = Some(num_imported_funcs),
                                    _ => {}
                                }
                            }
                            num_imported_funcs += 1;
                            import_names.push(imp.name.to_string());
                        }
                    }
                }
                ExportSection(reader) => {
                    for exp in reader {
                        let exp = exp?;
                        if exp.kind == wasmparser::ExternalKind::Func {
                            export_names.push((exp.index, exp.name.to_string()));
                        }
                    }
                }
                CodeSectionStart { range, .. } => {
                    code_payload_start = range.start as u32;
                    // Skip the function-count LEB: the first body's size LEB follows it.
                    let tail = module
                        .get(range.start..range.end.min(module.len()))
                        .unwrap_or(&[]);
                    let mut r = wasmparser::BinaryReader::new(tail, range.start);
                    r.read_var_u32()?;
                    next_entry_start = r.original_position() as u32;
                }
                CodeSectionEntry(body) => {
                    let range = body.range();
                    bodies.push(Body {
                        entry_start: next_entry_start,
                        start: range.start as u32,
                        end: range.end as u32,
                    });
                    next_entry_start = range.end as u32;
                }
                CustomSection(reader) => {
                    let name = reader.name();
                    if name == "name" {
                        has_name_section = true;
                        // A malformed name section is ignored from the bad byte on, not fatal.
                        let r = wasmparser::BinaryReader::new(reader.data(), reader.data_offset());
                        'sub: for sub in wasmparser::NameSectionReader::new(r) {
                            let Ok(wasmparser::Name::Function(map)) = sub else {
                                if sub.is_err() {
                                    break;
                                }
                                continue;
                            };
                            for naming in map {
                                let Ok(naming) = naming else { break 'sub };
                                name_pairs.push((naming.index, naming.name.to_string()));
                            }
                        }
                    } else if name.starts_with(".debug_")
                        && !debug_sections.iter().any(|(n, _)| n == name)
                    {
                        let start = reader.data_offset();
                        debug_sections.push((name.to_string(), start..start + reader.data().len()));
                    }
                }
                _ => {}
            }
        }

        let total = num_imported_funcs as usize + bodies.len();
        let mut name_section_names = vec![None; total];
        for (idx, name) in name_pairs {
            if let Some(slot) = name_section_names.get_mut(idx as usize)
                && slot.is_none()
            {
                *slot = Some(name);
            }
        }
        let inferred_names = match args_imports {
            [Some(sizes), Some(get)] => inferred_names(module, &bodies, num_imported_funcs, &name_section_names, sizes, get),
            _ => Vec::new(),
        };
        let nonempty = |n: &str| debug_sections.iter().any(|(s, r)| s == n && !r.is_empty());
        let has_dwarf = nonempty(".debug_info") && nonempty(".debug_line");
        let debug = match shared {
            // The module itself, shared with its reader (`Symbolizer::new_shared`): no copy of what may be most of it.
            Some(bytes) => DebugSections { data: bytes.clone(), sections: debug_sections, has_dwarf },
            None => DebugSections::copied(module, debug_sections, has_dwarf),
        };
        Ok((
            Module {
                num_imported_funcs,
                code_payload_start,
                bodies,
                has_name_section,
                name_section_names,
                export_names,
                import_names,
                inferred_names,
            },
            debug,
        ))
    }


    /// Lowest DWARF address where code can live: the first body's size LEB (relative to the Code section
    /// payload). DWARF ranges starting below it describe code the linker dropped.
    pub(crate) fn first_live_address(&self) -> u64 {
        self.bodies
            .first()
            .map_or(1, |b| u64::from(b.entry_start - self.code_payload_start))
    }

    /// The body of defined function `func_index`; `None` for imports and out-of-range indices.
    pub(crate) fn body(&self, func_index: u32) -> Option<&Body> {
        let i = func_index.checked_sub(self.num_imported_funcs)?;
        self.bodies.get(i as usize)
    }

    /// Index in `bodies` of the body (size LEB included) that contains `module_offset`.
    pub(crate) fn body_index_containing(&self, module_offset: u32) -> Option<usize> {
        let i = self.bodies.partition_point(|b| b.end <= module_offset);
        let b = self.bodies.get(i)?;
        (b.entry_start <= module_offset && module_offset < b.end).then_some(i)
    }
}

/// In a module without names: wasi-libc's `__main_void`, the one function that reaches both
/// `args_sizes_get` and `args_get` directly or through one wrapper (`__wasi_args_get` calls the import); it
/// copies argv into the heap before `main`. Reports count what it allocates as the runtime's, not as leaks,
/// and that works by name. Its callers reach both imports only through it, two calls or more away.
fn inferred_names(
    module: &[u8],
    bodies: &[Body],
    num_imported_funcs: u32,
    names: &[Option<String>],
    sizes: u32,
    get: u32,
) -> Vec<(u32, &'static str)> {
    if bodies.iter().enumerate().all(|(i, _)| names.get(num_imported_funcs as usize + i).is_some_and(|n| n.is_some())) {
        return Vec::new();
    }
    // Only bodies whose bytes hold a `call` of `sizes` or `get`, or of a function that calls one, are parsed: a
    // call is its opcode and index in the bytes, so a body without them calls neither (parsing every body of a
    // 30 MB module took 250 ms).
    let holds_call = |b: &Body, targets: &[u32]| {
        module.get(b.start as usize..b.end as usize).is_some_and(|bytes| calls_in_bytes(bytes, targets))
    };
    let parse_calls = |b: &Body| {
        let mut out = Vec::new();
        let Some(bytes) = module.get(b.start as usize..b.end as usize) else { return out };
        let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(bytes, b.start as usize));
        let Ok(ops) = body.get_operators_reader() else { return out };
        for op in ops {
            match op {
                Ok(wasmparser::Operator::Call { function_index }) => out.push(function_index),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        out
    };
    let direct: Vec<u32> = bodies
        .iter()
        .enumerate()
        .filter(|(_, b)| holds_call(b, &[sizes.min(get), sizes.max(get)]) && parse_calls(b).iter().any(|&c| c == sizes || c == get))
        .map(|(i, _)| num_imported_funcs + i as u32)
        .collect();
    let mut targets: Vec<u32> = [sizes, get].into_iter().chain(direct).collect();
    targets.sort_unstable();
    let calls: Vec<Vec<u32>> = bodies.iter().map(|b| if holds_call(b, &targets) { parse_calls(b) } else { Vec::new() }).collect();
    let callees = |f: u32| f.checked_sub(num_imported_funcs).and_then(|i| calls.get(i as usize)).map_or(&[][..], Vec::as_slice);
    // Reaches `target` by a direct call, or through a function that calls it directly.
    let reaches = |f: u32, target: u32| callees(f).iter().any(|&c| c == target || callees(c).contains(&target));
    let found: Vec<u32> = (0..bodies.len() as u32)
        .map(|i| num_imported_funcs + i)
        .filter(|&f| names.get(f as usize).is_none_or(|n| n.is_none()))
        .filter(|&f| reaches(f, sizes) && reaches(f, get))
        .collect();
    // Two candidates would be a guess.
    if let [f] = found[..] { vec![(f, "__main_void")] } else { Vec::new() }
}

/// Whether `bytes` (a function body) may hold a `call` of one of `targets` (sorted): the opcode 0x10 followed by
/// the index's LEB128. No false negatives; a match inside an immediate is weeded out by parsing the body.
fn calls_in_bytes(bytes: &[u8], targets: &[u32]) -> bool {
    bytes.iter().enumerate().filter(|&(_, &b)| b == 0x10).any(|(at, _)| {
        let (mut v, mut shift) = (0u32, 0u32);
        for &b in bytes[at + 1..].iter().take(5) {
            v |= ((b & 0x7F) as u32).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return targets.binary_search(&v).is_ok();
            }
            shift += 7;
        }
        false
    })
}
