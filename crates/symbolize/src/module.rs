//! Reading the sections of a module: function names, exports, imports, function bodies, and the
//! `.debug_*` custom sections.

use std::ops::Range;

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
}

/// The `.debug_*` custom sections of a module.
#[derive(Debug)]
pub(crate) struct DebugSections {
    /// A copy of the `.debug_*` section payloads, back to back.
    pub(crate) data: Vec<u8>,
    /// Name and byte range of each payload in `data`.
    pub(crate) sections: Vec<(String, Range<usize>)>,
    /// Non-empty `.debug_info` and `.debug_line` sections are present.
    pub(crate) has_dwarf: bool,
}

impl Module {
    /// Parse `module` (a module file).
    pub(crate) fn parse(module: &[u8]) -> Result<(Module, DebugSections), Error> {
        if module.len() < 8 || &module[0..4] != b"\0asm" {
            return Err(Error::NotWasm);
        }
        let mut num_imported_funcs = 0u32;
        let mut import_names = Vec::new();
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
        let nonempty = |n: &str| debug_sections.iter().any(|(s, r)| s == n && !r.is_empty());
        let has_dwarf = nonempty(".debug_info") && nonempty(".debug_line");
        // Keep only the `.debug_*` payloads, back to back; the ranges now point into that copy.
        let mut data = Vec::with_capacity(debug_sections.iter().map(|(_, r)| r.len()).sum());
        for (_, r) in &mut debug_sections {
            let start = data.len();
            data.extend_from_slice(&module[r.clone()]);
            *r = start..data.len();
        }

        Ok((
            Module {
                num_imported_funcs,
                code_payload_start,
                bodies,
                has_name_section,
                name_section_names,
                export_names,
                import_names,
            },
            DebugSections {
                data,
                sections: debug_sections,
                has_dwarf,
            },
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
