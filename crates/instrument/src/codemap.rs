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

impl CodeMap {
    /// Pairs the k-th instruction of every original function with the k-th of its rewritten copy, skipping the
    /// instructions the rewrite added (`added[i]`: their indices in defined function i's new body, sorted).
    pub(crate) fn build(
        old: &[u8],
        new: &[u8],
        num_imported_funcs: u32,
        added_imports: u32,
        added: &[Vec<u32>],
    ) -> Result<CodeMap, Error> {
        // Two parses of every instruction (a third of instrumenting a large module): one each on two cores.
        let (old_bodies, new_bodies) = wasmleak_heap::both(|| instruction_offsets(old), || instruction_offsets(new));
        let (old_bodies, new_bodies) = (old_bodies?, new_bodies?);
        let mut map = CodeMap {
            num_imported_funcs,
            added_imports,
            num_defined_funcs: old_bodies.len() as u32,
            runs: Vec::new(),
            added_code_start: u32::MAX,
        };
        if let Some(first_added) = new_bodies.get(old_bodies.len()) {
            map.added_code_start = first_added.first().copied().unwrap_or(u32::MAX);
        }
        let mut last_delta = None;
        for (i, (o, n)) in old_bodies.iter().zip(&new_bodies).enumerate() {
            let skip = added.get(i).map_or(&[][..], |a| &a[..]);
            if o.len() + skip.len() != n.len() {
                return Err(Error::Internal("rewritten function has a different instruction count".into()));
            }
            let mut skip = skip.iter().peekable();
            let kept = n.iter().enumerate().filter(|(k, _)| skip.next_if(|&&s| s as usize == *k).is_none()).map(|(_, o)| o);
            for (&oo, &no) in o.iter().zip(kept) {
                let delta = oo as i64 - no as i64;
                if last_delta != Some(delta) {
                    map.runs.push((no, oo));
                    last_delta = Some(delta);
                }
            }
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

/// Module offsets of every instruction of every function body, in order.
fn instruction_offsets(bytes: &[u8]) -> Result<Vec<Vec<u32>>, Error> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CodeSectionEntry(body) = payload? {
            let mut ops = body.get_operators_reader()?;
            let mut offsets = Vec::new();
            while !ops.eof() {
                let (_, off) = ops.read_with_offset()?;
                offsets.push(off as u32);
            }
            out.push(offsets);
        }
    }
    Ok(out)
}
