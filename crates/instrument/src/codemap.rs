//! Old ↔ new code positions. Rewriting shifts function indices (three hook imports come first) and so changes
//! the size of `call` instructions, and calling contexts add instructions around calls; frames captured in the
//! instrumented module must be symbolized against the original, whose names and DWARF describe the original
//! offsets.

use wasmparser::{Parser, Payload};

use crate::Error;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CodeMap {
    num_imported_funcs: u32,
    added_imports: u32,
    num_defined_funcs: u32,
    /// Points where `old - new` changes, sorted by new offset: `(new_offset, old_offset)`.
    runs: Vec<(u32, u32)>,
    /// New module offsets at or past this are in code wasmleak added (wrappers).
    added_code_start: u32,
}

/// Where a rewritten body's original instructions went, recorded while it is written: `(offset from the start of the
/// new body, module offset in the original)` at its first instruction and wherever `old - new` changes — the code
/// map's runs, one body's worth, before the body has a place in the new module.
#[derive(Default)]
pub(crate) struct BodyOffsets {
    runs: Vec<(u32, u32)>,
    delta: Option<i64>,
}

impl BodyOffsets {
    /// The original instruction at module offset `old` starts `new` bytes into the rewritten body (locals included).
    pub(crate) fn kept(&mut self, new: usize, old: usize) {
        let delta = old as i64 - new as i64;
        if self.delta != Some(delta) {
            self.runs.push((new as u32, old as u32));
            self.delta = Some(delta);
        }
    }
}

impl CodeMap {
    /// The map of `new` (the rewritten module), from each original body's offsets as the rewrite wrote it (`bodies`,
    /// by defined function); the bodies after them are wasmleak's. Reads only where `new`'s bodies start: no second
    /// parse of every instruction of both modules (a third of instrumenting a large module).
    pub(crate) fn from_rewrite(new: &[u8], num_imported_funcs: u32, added_imports: u32, bodies: &[BodyOffsets]) -> Result<CodeMap, Error> {
        let mut map = CodeMap {
            num_imported_funcs,
            added_imports,
            num_defined_funcs: bodies.len() as u32,
            runs: Vec::new(),
            added_code_start: u32::MAX,
        };
        let mut last_delta = None;
        let mut k = 0;
        for payload in Parser::new(0).parse_all(new) {
            let Payload::CodeSectionEntry(body) = payload? else { continue };
            let start = body.range().start as u32;
            match bodies.get(k) {
                Some(b) => {
                    for &(rel, old) in &b.runs {
                        let new = start + rel;
                        let delta = old as i64 - new as i64;
                        if last_delta != Some(delta) {
                            map.runs.push((new, old));
                            last_delta = Some(delta);
                        }
                    }
                }
                None => {
                    // The first of ours: where its first instruction is.
                    map.added_code_start = body.get_operators_reader()?.original_position() as u32;
                    break;
                }
            }
            k += 1;
        }
        Ok(map)
    }

    /// Function index in the original module, `None` for functions wasmleak added (hooks, wrappers).
    pub fn original_func(&self, new: u32) -> Option<u32> {
        let n = self.num_imported_funcs;
        if new < n {
            Some(new)
        } else if new < n + self.added_imports {
            None
        } else if new - self.added_imports < n + self.num_defined_funcs {
            Some(new - self.added_imports)
        } else {
            None
        }
    }

    /// Offset in the original module of the instruction at `new` in the instrumented one.
    pub fn original_offset(&self, new: u32) -> Option<u32> {
        if new >= self.added_code_start {
            return None;
        }
        let i = self.runs.partition_point(|&(n, _)| n <= new).checked_sub(1)?;
        let (n, o) = self.runs[i];
        Some(o + (new - n))
    }
}
