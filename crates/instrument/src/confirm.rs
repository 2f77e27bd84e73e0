//! Experiments that confirm what the shape of the code suggests: each candidate entry point is called in a
//! scratch instance of the module (`probe.rs`) and must behave as its role says — an allocator hands out
//! distinct, aligned, writable blocks that keep their contents while others are allocated; a free gives the
//! memory back (256 rounds of allocate and free reuse a few blocks and do not grow memory) without touching the
//! neighbours; a realloc keeps the contents; a calloc zeroes count × size bytes. A function that traps, loops, or does anything else fails,
//! so a function that merely looks like an allocator (a `main(argc, argv)`, a runtime's cleanup, drop glue)
//! is never hooked.

use crate::allocator::{Role, REALLOC_HEADER};
use crate::probe::{Lab, Scratch};

/// What a passed experiment showed, for `inspect` (one clause).
pub(crate) type Shown = String;

/// An experiment's outcome: what it showed, or why the candidate does not behave as its role.
pub(crate) type Outcome = Result<Shown, String>;

/// Bytes of the fill pattern of block `i`: never a valid address (a function that reads a pointer out of the
/// block it was given — drop glue, a destructor — dereferences out of bounds and traps).
fn pattern(i: usize) -> u8 {
    0xA5 ^ (i as u8).wrapping_mul(0x3b)
}

/// An entry point under test: function index and role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub func: u32,
    pub role: Role,
}

impl Candidate {
    pub(crate) fn new(func: u32, role: Role) -> Self {
        Candidate { func, role }
    }

    /// Allocates `size` bytes (alignment 8 where the role takes one).
    fn alloc(self, s: &mut Scratch, size: u32, align: u32, slot: u32) -> Result<u32, String> {
        let f = self.func;
        let (p, _) = self.role.signature();
        let r = match self.role {
            Role::Malloc if p == 1 => s.call(f, &[size as i32]),
            Role::Malloc => s.call(f, &[size as i32, 0]),
            // n × size with n > 1: a function that takes (handle, size) — libpng's png_calloc — allocates only
            // `size` and fails the contents checks.
            Role::Calloc => s.call(f, &[4, size.div_ceil(4) as i32]),
            Role::AlignedAlloc => s.call(f, &[align as i32, size as i32]),
            Role::RustAlloc => s.call(f, &[size as i32, align as i32]),
            Role::PosixMemalign => {
                let rc = s.call(f, &[slot as i32, align as i32, size as i32]).map_err(|e| format!("func {f} {e}"))?;
                if rc != Some(0) {
                    return Err(format!("func {f} returned {rc:?}, not 0, for posix_memalign(slot, {align}, {size})"));
                }
                return s.read_u32(slot).ok_or_else(|| format!("func {f}: the result slot is out of bounds"));
            }
            other => return Err(format!("{other} cannot allocate")),
        }
        .map_err(|e| format!("func {f} {e} when asked for {size} bytes"))?;
        Ok(r.unwrap_or(0) as u32)
    }

    fn release(self, s: &mut Scratch, ptr: u32, size: u32, align: u32) -> Result<(), String> {
        let f = self.func;
        let nparams = s.func_params(f).unwrap_or(1);
        let args: Vec<i32> = match self.role {
            Role::Free => [ptr as i32, size as i32, align as i32][..nparams.clamp(1, 3)].to_vec(),
            Role::RustDealloc => vec![ptr as i32, size as i32, align as i32],
            other => return Err(format!("{other} cannot free")),
        };
        s.call(f, &args).map(|_| ()).map_err(|e| format!("func {f} {e} when freeing a block"))
    }

    fn resize(self, s: &mut Scratch, ptr: u32, old: u32, new: u32) -> Result<u32, String> {
        let f = self.func;
        let r = match self.role {
            Role::Realloc | Role::HeaderRealloc => s.call(f, &[ptr as i32, new as i32]),
            Role::RustRealloc => s.call(f, &[ptr as i32, old as i32, 8, new as i32]),
            other => return Err(format!("{other} cannot resize")),
        }
        .map_err(|e| format!("func {f} {e} when resizing a block from {old} to {new} bytes"))?;
        Ok(r.unwrap_or(0) as u32)
    }
}

/// Live blocks of one experiment, with their fill patterns.
struct Blocks {
    live: Vec<(u32, u32, u8)>,
    /// Static data the module initialises: no block may overlap it.
    statics: Vec<std::ops::Range<u64>>,
}

impl Blocks {
    fn new(statics: &[std::ops::Range<u64>]) -> Self {
        Blocks { live: Vec::new(), statics: statics.to_vec() }
    }

    /// Checks a new block and fills it with its pattern.
    fn add(&mut self, s: &mut Scratch, ptr: u32, size: u32, align: u32, what: &str) -> Result<(), String> {
        if ptr == 0 {
            return Err(format!("{what} returned 0 (NULL) for {size} bytes"));
        }
        if ptr % align != 0 {
            return Err(format!("{what} returned {ptr:#x} for {size} bytes, not aligned to {align}"));
        }
        let end = ptr as u64 + size.max(1) as u64;
        if end > s.memory_size() {
            return Err(format!("{what} returned {ptr:#x} for {size} bytes, past the end of memory"));
        }
        if let Some(r) = self.statics.iter().find(|r| (ptr as u64) < r.end && end > r.start) {
            return Err(format!("{what} returned {ptr:#x}, inside the module's static data at {:#x}..{:#x}", r.start, r.end));
        }
        if let Some(&(q, n, _)) = self.live.iter().find(|&&(q, n, _)| ptr < q + n.max(1) && q < ptr + size.max(1)) {
            return Err(format!("{what} returned {ptr:#x} for {size} bytes, overlapping the live block {q:#x} ({n} bytes)"));
        }
        let byte = pattern(self.live.len());
        if !s.write(ptr, &vec![byte; size as usize]) {
            return Err(format!("{what} returned {ptr:#x}, which cannot be written"));
        }
        self.live.push((ptr, size, byte));
        Ok(())
    }

    /// Every live block still holds its pattern.
    fn intact(&self, s: &Scratch, after: &str) -> Result<(), String> {
        for &(p, n, b) in &self.live {
            match s.read(p, n) {
                Some(bytes) if bytes.iter().all(|&x| x == b) => {}
                _ => return Err(format!("the contents of the live block {p:#x} ({n} bytes) changed after {after}")),
            }
        }
        Ok(())
    }

    fn remove(&mut self, ptr: u32) {
        self.live.retain(|&(p, _, _)| p != ptr);
    }
}

/// Different blocks the rounds of allocate + free may get when the free works (a few: an allocator may keep
/// more than one block of a size around); a free that gives nothing back gets a new one every round.
const REUSED_AT_MOST: usize = 16;

/// The sizes an allocator is asked for: small, odd, repeated, page-sized and bigger than a page.
const SIZES: [u32; 9] = [24, 24, 1, 100, 7, 4000, 24, 65541, 16];

/// Alignment the roles guarantee: malloc-like functions 8 (wasm32 dlmalloc, emmalloc, the Rust `dlmalloc`
/// crate; wasi-libc gives 16), the aligned ones what they are asked for.
const ALIGN: u32 = 8;

pub(crate) struct Experiments<'a> {
    pub lab: &'a Lab,
    pub statics: Vec<std::ops::Range<u64>>,
    /// The malloc already confirmed, for the experiments that need memory of their own.
    pub malloc: std::cell::Cell<Option<Candidate>>,
    /// The module's constructors, run first in every instance: what the lab found, or the first of `inits` with
    /// which an allocator passed.
    pub init: std::cell::Cell<Option<u32>>,
    /// Other functions that may be the constructors (a minified build's `__wasm_call_ctors`, inlined out of
    /// shape): tried in turn when an allocator fails without them, as emmalloc does before its set-up.
    pub inits: Vec<u32>,
    /// Whether an allocator passed: from then on the constructors are settled.
    pub settled: std::cell::Cell<bool>,
}

impl Experiments<'_> {
    fn fresh(&self) -> Result<Scratch, String> {
        self.lab.fresh(self.init.get())
    }

    /// An allocation function: distinct, aligned, writable blocks that keep their contents. Until one has passed,
    /// a failure is tried again after each other function that may be the module's constructors.
    pub(crate) fn allocator(&self, a: Candidate) -> Outcome {
        let first = self.allocator_once(a);
        if first.is_ok() || self.settled.get() {
            self.settled.set(self.settled.get() || first.is_ok());
            return first;
        }
        let found = self.init.get();
        for &init in &self.inits {
            self.init.set(Some(init));
            if let Ok(shown) = self.allocator_once(a) {
                self.settled.set(true);
                return Ok(format!("{shown} (after func {init}, the module's constructors)"));
            }
        }
        self.init.set(found);
        first
    }

    fn allocator_once(&self, a: Candidate) -> Outcome {
        let mut s = self.fresh()?;
        let mut blocks = Blocks::new(&self.statics);
        let slot = self.slot(&mut s, a)?;
        let what = format!("func {}", a.func);
        for (i, &size) in SIZES.iter().enumerate() {
            let align = if matches!(a.role, Role::AlignedAlloc | Role::RustAlloc | Role::PosixMemalign) && i % 3 == 2 {
                64
            } else {
                ALIGN
            };
            let p = a.alloc(&mut s, size, align, slot)?;
            if a.role == Role::Calloc {
                if s.read(p, size).is_none_or(|b| b.iter().any(|&x| x != 0)) && p != 0 {
                    return Err(format!("{what} (calloc) returned a block that is not zeroed"));
                }
            }
            blocks.add(&mut s, p, size, align, &what)?;
            blocks.intact(&s, &format!("another allocation by {what}"))?;
        }
        if a.role == Role::Calloc {
            self.calloc_counts(&mut s, &mut blocks, a)?;
        }
        Ok(format!(
            "{} allocations of 1 to 65541 bytes gave distinct, aligned, writable blocks that kept their contents{}",
            SIZES.len(),
            if a.role == Role::Calloc { ", zeroed, of count × size bytes whichever way round" } else { "" }
        ))
    }

    /// calloc(n, size) is n × size bytes whichever is the bigger: `calloc(1, 24)` and `calloc(24, 1)` are both
    /// 24 bytes. A `(size, align)` allocator (Rust's `__rdl_alloc_zeroed`) taken for calloc allocates 1 byte for
    /// the first, and the block that follows overlaps it.
    fn calloc_counts(&self, s: &mut Scratch, blocks: &mut Blocks, c: Candidate) -> Result<(), String> {
        let what = format!("func {} (calloc)", c.func);
        // calloc(1, 4096) four times: blocks that follow each other, 8- or 16-aligned; a (size, align) function
        // gives four 4096-aligned 1-byte blocks.
        let mut aligned = 0;
        for _ in 0..4 {
            let p = s.call(c.func, &[1, 4096]).map_err(|e| format!("{what} {e} for calloc(1, 4096)"))?.unwrap_or(0) as u32;
            aligned += (p != 0 && p % 4096 == 0) as u32;
            blocks.add(s, p, 4096, ALIGN, &format!("{what} for calloc(1, 4096)"))?;
        }
        if aligned == 4 {
            return Err(format!(
                "{what} aligns its blocks to its second argument (calloc(1, 4096) gave four 4096-aligned blocks): it takes \
                 (size, align), not (count, size)"
            ));
        }
        for (n, size) in [(1u32, 24u32), (24, 1), (3, 8), (8, 3), (1, 40), (2, 20)] {
            let p = s.call(c.func, &[n as i32, size as i32]).map_err(|e| format!("{what} {e} for calloc({n}, {size})"))?.unwrap_or(0) as u32;
            if p != 0 && s.read(p, n * size).is_none_or(|b| b.iter().any(|&x| x != 0)) {
                return Err(format!("{what} returned a block that is not zeroed for calloc({n}, {size})"));
            }
            blocks.add(s, p, n * size, ALIGN, &format!("{what} for calloc({n}, {size})"))?;
            blocks.intact(s, &format!("calloc({n}, {size})"))?;
        }
        Ok(())
    }

    /// dlmalloc's free, with no malloc to make a block with: a chunk laid out by hand as dlmalloc lays them out
    /// (`head` = size | PINUSE | CINUSE before the user pointer, an in-use chunk after it) is freed as dlmalloc
    /// frees one: its head loses CINUSE, the next chunk's head loses PINUSE, and the next chunk's `prev_foot` gets
    /// its size. A function that is not dlmalloc's free does not write those three words that way.
    pub(crate) fn dlmalloc_free(&self, f: u32) -> Outcome {
        let mut s = self.fresh()?;
        let chunk = (s.memory_size() as u32).checked_sub(4096).ok_or("the memory is too small")? & !15;
        let word = |v: u32| v.to_le_bytes();
        let ok = s.write(chunk + 4, &word(32 | 3)) && s.write(chunk + 32 + 4, &word(16 | 3)) && s.write(chunk + 48 + 4, &word(16 | 3));
        let user = chunk + 8;
        if !ok || !s.write(user, &[pattern(0); 24]) {
            return Err("the memory cannot be written".into());
        }
        s.call(f, &[user as i32]).map_err(|e| format!("func {f} {e} when freeing a chunk"))?;
        let (head, next_foot, next_head) = (s.read_u32(chunk + 4), s.read_u32(chunk + 32), s.read_u32(chunk + 36));
        if head != Some(32 | 1) || next_foot != Some(32) || next_head.is_none_or(|h| h & 1 != 0) {
            return Err(format!(
                "func {f} did not free a dlmalloc chunk as dlmalloc does (head {head:?}, next chunk's prev_foot {next_foot:?} and head {next_head:?})"
            ));
        }
        s.call(f, &[0]).map_err(|e| format!("func {f} {e} for free(NULL)"))?;
        Ok("freed a chunk laid out as dlmalloc lays them out as dlmalloc frees one, and free(NULL) did nothing".into())
    }

    /// A word for posix_memalign's result: a block of the confirmed malloc's (any other place could be handed
    /// out by the allocator under test).
    fn slot(&self, s: &mut Scratch, a: Candidate) -> Result<u32, String> {
        if a.role != Role::PosixMemalign {
            return Ok(0);
        }
        let m = self.malloc.get().ok_or("posix_memalign is tested once malloc is known")?;
        let p = m.alloc(s, 16, ALIGN, 0)?;
        if p == 0 {
            return Err(format!("func {} returned 0 for the result slot", m.func));
        }
        Ok(p)
    }

    /// A free for allocator `a`: a freed block is given back (rounds of allocate and free do not grow memory),
    /// and the neighbours keep their contents. (Not free(NULL): the `dlmalloc` crate's free, which Rust never calls
    /// with null, does not accept it.)
    pub(crate) fn free(&self, a: Candidate, f: Candidate) -> Outcome {
        let mut s = self.fresh()?;
        let slot = self.slot(&mut s, a)?;
        let mut blocks = Blocks::new(&self.statics);
        let mut ptrs = Vec::new();
        for _ in 0..3 {
            let p = a.alloc(&mut s, 24, ALIGN, slot)?;
            blocks.add(&mut s, p, 24, ALIGN, &format!("func {}", a.func))?;
            ptrs.push(p);
        }
        f.release(&mut s, ptrs[1], 24, ALIGN)?;
        blocks.remove(ptrs[1]);
        blocks.intact(&s, &format!("func {} freed a neighbouring block", f.func))?;
        let again = a.alloc(&mut s, 24, ALIGN, slot)?;
        let reused = again == ptrs[1];
        if !reused {
            blocks.add(&mut s, again, 24, ALIGN, &format!("func {}", a.func))?;
        }
        // Rounds of allocate + free: a real free gives the block back, so the rounds reuse a few blocks and memory
        // does not grow; anything else walks through 1 MiB of new blocks (inside memory already there, when the
        // module starts with a big heap: so the blocks are counted, not only memory).
        const ROUNDS: u32 = 256;
        let mut settled = 0;
        let mut seen = std::collections::HashSet::new();
        for i in 0..ROUNDS {
            let size = 4096 + (i % 3) * 8;
            let p = a.alloc(&mut s, size, ALIGN, slot)?;
            if p == 0 || p % ALIGN != 0 || p as u64 + size as u64 > s.memory_size() {
                return Err(format!("func {} returned {p:#x} for {size} bytes in round {i}", a.func));
            }
            seen.insert(p);
            s.write(p, &[pattern(i as usize); 16]);
            f.release(&mut s, p, size, ALIGN)?;
            if i == 7 {
                settled = s.memory_size();
            }
        }
        if seen.len() > REUSED_AT_MOST {
            return Err(format!(
                "{ROUNDS} rounds of allocating 4 KiB with func {} and freeing it with func {} got {} different blocks: \
                 the freed blocks are not given back",
                a.func,
                f.func,
                seen.len()
            ));
        }
        let grew = s.memory_size().saturating_sub(settled);
        if grew > 0 {
            return Err(format!(
                "memory grew by {} KiB over {ROUNDS} rounds of allocating 4 KiB with func {} and freeing it with func {}: \
                 the memory is not given back",
                grew / 1024,
                a.func,
                f.func
            ));
        }
        blocks.intact(&s, &format!("{ROUNDS} rounds of allocate and free"))?;
        Ok(format!(
            "{ROUNDS} rounds of allocating 4 KiB and freeing it kept memory at {} KiB{}; the neighbours of a freed block kept their contents",
            s.memory_size() / 1024,
            if reused { ", and a freed block was handed out again" } else { "" }
        ))
    }

    /// A realloc over allocator `a` and free `f`: contents kept when growing and shrinking, realloc(NULL, n)
    /// allocates, and rounds of allocate + grow + free do not grow memory. A [`Role::HeaderRealloc`] works on
    /// pointers 8 bytes into blocks of `a`.
    pub(crate) fn realloc(&self, a: Candidate, f: Candidate, r: Candidate) -> Outcome {
        let hdr = if r.role == Role::HeaderRealloc { REALLOC_HEADER as u32 } else { 0 };
        let mut s = self.fresh()?;
        let slot = self.slot(&mut s, a)?;
        let mut blocks = Blocks::new(&self.statics);
        let what = format!("func {}", r.func);
        let p = a.alloc(&mut s, 24 + hdr, ALIGN, slot)? + hdr;
        blocks.add(&mut s, p, 24, ALIGN, &format!("func {}", a.func))?;
        let other = a.alloc(&mut s, 24, ALIGN, slot)?;
        blocks.add(&mut s, other, 24, ALIGN, &format!("func {}", a.func))?;
        let before = s.read(p, 24).map(<[u8]>::to_vec).unwrap_or_default();
        let q = r.resize(&mut s, p, 24, 200)?;
        if q == 0 || q % ALIGN != 0 || q as u64 + 200 > s.memory_size() {
            return Err(format!("{what} returned {q:#x} when growing a block to 200 bytes"));
        }
        if s.read(q, 24).map(<[u8]>::to_vec) != Some(before) {
            return Err(format!("{what} did not keep the contents of a block it grew"));
        }
        blocks.remove(p);
        blocks.intact(&s, &format!("{what} grew a block"))?;
        blocks.add(&mut s, q, 200, ALIGN, &what)?;
        let kept = s.read(q, 8).map(<[u8]>::to_vec);
        let q2 = r.resize(&mut s, q, 200, 8)?;
        if q2 == 0 || s.read(q2, 8).map(<[u8]>::to_vec) != kept {
            return Err(format!("{what} did not keep the contents of a block it shrank"));
        }
        blocks.remove(q);
        blocks.intact(&s, &format!("{what} shrank a block"))?;
        // realloc(NULL, n) is malloc(n) in C; the `dlmalloc` crate's realloc (Rust never passes null) may trap on
        // it, which is its own business: only a block it does return must be a fresh one.
        let mut null_allocates = false;
        if r.role == Role::Realloc
            && let Ok(n) = r.resize(&mut s, 0, 0, 40)
            && n != 0
        {
            blocks.add(&mut s, n, 40, ALIGN, &format!("{what} (realloc(NULL, 40))"))?;
            null_allocates = true;
        }
        const ROUNDS: u32 = 128;
        let mut settled = 0;
        let mut seen = std::collections::HashSet::new();
        for i in 0..ROUNDS {
            let p = a.alloc(&mut s, 16 + hdr, ALIGN, slot)? + hdr;
            let q = r.resize(&mut s, p, 16, 4096)?;
            if q == 0 {
                return Err(format!("{what} returned 0 growing a block to 4096 bytes in round {i}"));
            }
            seen.insert(q);
            f.release(&mut s, q - hdr, 4096 + hdr, ALIGN)?;
            if i == 7 {
                settled = s.memory_size();
            }
        }
        if seen.len() > REUSED_AT_MOST || s.memory_size() > settled {
            return Err(format!("memory grew over {ROUNDS} rounds of allocate, grow with {what}, free: it does not free the old block"));
        }
        blocks.intact(&s, &format!("{ROUNDS} rounds of allocate, grow and free"))?;
        Ok(format!(
            "grew and shrank a block keeping its contents{}, and {ROUNDS} rounds of allocate/grow/free kept memory flat",
            if null_allocates { ", realloc(NULL, n) allocated" } else { "" }
        ))
    }
}

