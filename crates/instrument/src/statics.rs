//! The allocator's own static state (dlmalloc's `malloc_state`: bins, `top`, `dv`). It keeps stale pointers
//! to freed chunks, and `top` can point into the last word of a live block; scanned as a root it would make
//! leaked blocks look reachable. We find it as the static addresses the allocator's private code touches.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload};

use crate::allocator::EntryPoint;
use crate::module::ModuleInfo;
use crate::Error;

/// Addresses closer than this are taken as one structure.
const GAP: u64 = 64;
/// How far past its last constant address a structure may run.
const MAX_EXTENSION: u64 = 1024;

pub(crate) fn allocator_statics(bytes: &[u8], info: &ModuleInfo, eps: &[EntryPoint]) -> Result<Vec<Range<u64>>, Error> {
    let Some(data_start) = info.data.iter().filter_map(|d| d.offset).min() else { return Ok(Vec::new()) };
    let mem_end = info.memories.first().map_or(0, |m| m.initial_pages.saturating_mul(65536));
    let nimp = info.num_imported_funcs;
    let mut callees: Vec<HashSet<u32>> = Vec::new();
    let mut touched: Vec<Vec<u64>> = Vec::new();
    // Functions reachable other than by a direct call: exported, in a table, or taken by ref.func.
    let mut escaping: HashSet<u32> = info
        .exports
        .iter()
        .filter(|e| e.kind == ExternalKind::Func)
        .map(|e| e.index)
        .collect();
    escaping.extend(info.start);
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ElementSection(r) => {
                for e in r {
                    match e?.items {
                        ElementItems::Functions(fs) => {
                            for f in fs {
                                escaping.insert(f?);
                            }
                        }
                        ElementItems::Expressions(_, exprs) => {
                            for ex in exprs {
                                for op in ex?.get_operators_reader() {
                                    if let Ok(Operator::RefFunc { function_index }) = op {
                                        escaping.insert(function_index);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut calls = HashSet::new();
                let mut addrs = Vec::new();
                let in_static = |a: u64| a >= data_start && a < mem_end;
                for op in body.get_operators_reader()? {
                    match op? {
                        Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                            calls.insert(function_index);
                        }
                        Operator::RefFunc { function_index } => {
                            escaping.insert(function_index);
                        }
                        Operator::I32Const { value } if in_static(value as u32 as u64) => addrs.push(value as u32 as u64),
                        op => {
                            if let Some(offset) = memarg_offset(&op)
                                && in_static(offset) {
                                    addrs.push(offset);
                                }
                        }
                    }
                }
                callees.push(calls);
                touched.push(addrs);
            }
            _ => {}
        }
    }
    // Private allocator code: the entry points, and every function only they call (transitively).
    let mut callers: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, cs) in callees.iter().enumerate() {
        for &c in cs {
            callers.entry(c).or_default().push(i as u32 + nimp);
        }
    }
    let mut private: HashSet<u32> = eps.iter().map(|e| e.func).collect();
    loop {
        let before = private.len();
        for (&f, cs) in &callers {
            if f >= nimp && !private.contains(&f) && !escaping.contains(&f) && cs.iter().all(|c| private.contains(c)) {
                private.insert(f);
            }
        }
        if private.len() == before {
            break;
        }
    }
    let mut addrs: Vec<u64> = private
        .iter()
        .filter(|&&f| f >= nimp)
        .filter_map(|&f| touched.get((f - nimp) as usize))
        .flatten()
        .copied()
        .collect();
    addrs.sort_unstable();
    addrs.dedup();
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for a in addrs {
        match ranges.last_mut() {
            Some(r) if a <= r.end + GAP => r.end = a + 4,
            _ => ranges.push(a..a + 4),
        }
    }
    // Arrays inside the state (dlmalloc's bins) are reached through computed addresses, so the last
    // constant is not the structure's end: it runs on until the next static the rest of the program uses.
    let mut others: Vec<u64> = (0..touched.len() as u32)
        .filter(|i| !private.contains(&(i + nimp)))
        .flat_map(|i| touched[i as usize].iter().copied())
        .collect();
    others.sort_unstable();
    for r in &mut ranges {
        let next = others[others.partition_point(|&a| a < r.end)..].first().copied().unwrap_or(u64::MAX);
        r.end = next.min(r.end + MAX_EXTENSION);
    }
    Ok(ranges)
}

fn memarg_offset(op: &Operator<'_>) -> Option<u64> {
    use Operator::*;
    let m = match op {
        I32Load { memarg } | I64Load { memarg } | F32Load { memarg } | F64Load { memarg } | I32Load8S { memarg }
        | I32Load8U { memarg } | I32Load16S { memarg } | I32Load16U { memarg } | I64Load8S { memarg }
        | I64Load8U { memarg } | I64Load16S { memarg } | I64Load16U { memarg } | I64Load32S { memarg }
        | I64Load32U { memarg } | I32Store { memarg } | I64Store { memarg } | F32Store { memarg }
        | F64Store { memarg } | I32Store8 { memarg } | I32Store16 { memarg } | I64Store8 { memarg }
        | I64Store16 { memarg } | I64Store32 { memarg } => memarg,
        _ => return None,
    };
    (m.memory == 0).then_some(m.offset)
}
