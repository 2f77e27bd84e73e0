//! `wasmleak why`: who keeps these blocks alive (retainer paths), or, for leaked blocks, who points at
//! them and which cycle they are in.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use wasmleak_heap::{Analysis, Holder, Kind, Snapshot};
use wasmleak_report::{runtime_stacks, site_name, type_of};

use crate::export::SnapshotNames;

/// Retainer paths: from which root (static, global, host handle) and through which blocks these blocks are
/// reachable; for leaked blocks, who points at them and the members of their cycle.
#[derive(Args)]
pub struct Opts {
    /// A snapshot (`check --save DIR`)
    snapshot: PathBuf,
    /// An address (0x...) inside a block, or text matching the allocation site's function or file
    target: String,
    /// How many blocks to explain
    #[arg(long, default_value_t = 3)]
    max: usize,
    #[command(flatten)]
    names: SnapshotNames,
}

/// `runtime`: per stack, a one-time allocation of the language runtime (`runtime_stacks`), which `check` counts
/// apart: its kind reads `runtime` here too.
fn describe(snap: &Snapshot, a: &Analysis, runtime: &[bool], i: usize) -> String {
    let b = &a.blocks[i];
    let stack: Vec<_> = snap.stack(b.stack.0).cloned().collect();
    let ty = type_of(&stack).map(|t| format!("{t} from ")).unwrap_or_default();
    let leaked = matches!(a.classes[i].kind, Kind::Lost | Kind::Indirect | Kind::Cycle);
    let kind = if leaked && runtime.get(b.stack.0 as usize).copied().unwrap_or(false) { "runtime" } else { a.classes[i].kind.as_str() };
    format!("block {:#x} ({} B, {kind}) {ty}{}", b.addr, b.size, site_name(&stack))
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let snap = self.names.load(&self.snapshot)?;
        let a = snap.analyze();
        let runtime = runtime_stacks(&snap);
        let describe = |i: usize| describe(&snap, &a, &runtime, i);
        let selected: Vec<usize> = match self.target.strip_prefix("0x").map(|h| u64::from_str_radix(h, 16)) {
            Some(Ok(addr)) => match a.block_containing(addr) {
                Some(i) => vec![i],
                None => bail!("no live block contains {:#x} in {}", addr, self.snapshot.display()),
            },
            _ => (0..a.blocks.len())
                .filter(|&i| {
                    snap.stack(a.blocks[i].stack.0).any(|f| {
                        f.function.contains(&self.target) || f.file.as_deref().is_some_and(|p| p.contains(&self.target))
                    })
                })
                .collect(),
        };
        if selected.is_empty() {
            bail!("no live block was allocated by a function or file matching `{}` in {}", self.target, self.snapshot.display());
        }
        println!("{} block(s) match `{}`; explaining {}", selected.len(), self.target, self.max.min(selected.len()));
        for &i in selected.iter().take(self.max) {
            let mut out = String::new();
            let _ = writeln!(out, "\n{}", describe(i));
            let class = a.classes[i];
            match class.kind {
                Kind::Reachable | Kind::Host | Kind::Indirect => {
                    let path = a.retainer_path(i);
                    let _ = writeln!(out, "  retained by:");
                    for step in &path {
                        let holder = match step.holder {
                            Holder::Root { index, addr } => format!("root {}", snap.root_word_name(index, addr)),
                            Holder::Block { index, offset } => format!("{} at +{offset}", describe(index)),
                        };
                        let into = step.value - a.blocks[step.target].addr;
                        let interior = if into > 0 { format!(" (+{into} into it)") } else { String::new() };
                        let _ = writeln!(out, "    {holder}\n      → {:#x}{interior}", step.value);
                    }
                    if class.kind == Kind::Indirect && runtime.get(a.blocks[i].stack.0 as usize).copied().unwrap_or(false) {
                        let _ = writeln!(out, "  the chain starts at the language runtime's own block (wasi-libc's copy of argv): not counted as a leak");
                    } else if class.kind == Kind::Indirect && class.on_cycle {
                        let _ = writeln!(
                            out,
                            "  the chain starts at a leaked block, and this one is also on a cycle of leaked blocks: if they are \
                             reference-counted (Rc/Arc/shared_ptr), fixing that owner leaves the cycle leaked"
                        );
                    } else if class.kind == Kind::Indirect {
                        let _ = writeln!(out, "  the chain starts at a leaked block: fixing that owner frees this one");
                    }
                }
                Kind::Lost if runtime.get(a.blocks[i].stack.0 as usize).copied().unwrap_or(false) => {
                    let _ = writeln!(
                        out,
                        "  nothing points to it, but the language runtime made it for itself once (wasi-libc's copy of argv) \
                         and never frees it: not counted as a leak"
                    );
                }
                Kind::Lost => {
                    let _ = writeln!(out, "  nothing points to it: no root, no other block (the last pointer was dropped)");
                }
                Kind::Cycle => {
                    let members: Vec<usize> =
                        (0..a.blocks.len()).filter(|&j| a.classes[j].cycle == class.cycle).collect();
                    let what = if class.counted {
                        "a reference cycle: one of them is a reference count's header (an Rc's, a shared_ptr's control block)"
                    } else {
                        "plain pointers, no reference count among them (a container's nodes pointing back at it, a doubly linked list)"
                    };
                    let _ = writeln!(out, "  in a cycle of {} blocks that only point at each other — {what}:", members.len());
                    for &j in members.iter().take(10) {
                        let targets: Vec<String> = a
                            .edges_from(j)
                            .iter()
                            .filter(|&&t| a.classes[t as usize].cycle == class.cycle)
                            .map(|&t| format!("{:#x}", a.blocks[t as usize].addr))
                            .collect();
                        let _ = writeln!(out, "    {} → {}", describe(j), targets.join(", "));
                    }
                    if members.len() > 10 {
                        let _ = writeln!(out, "    ... {} more", members.len() - 10);
                    }
                }
            }
            let referrers = a.referrers(i);
            if !referrers.is_empty() && class.kind != Kind::Cycle {
                let _ = writeln!(out, "  pointed at by {} block(s), e.g. {}", referrers.len(), describe(referrers[0]));
            }
            print!("{out}");
        }
        Ok(0)
    }
}
