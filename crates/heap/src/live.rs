//! The set of live block addresses, kept where the allocator events happen (the guest's thread), so a free can
//! be checked before the allocator sees it (the checked-free hook, `wasmleak.check`). One bit per 4-byte
//! word: an update is an array access, cheap enough for every event of an allocation-heavy program.

use std::collections::HashSet;

#[derive(Default, Debug, Clone)]
pub struct LiveSet {
    /// Bit `a / 4` is set when a block starts at the 4-aligned address `a`.
    words: Vec<u64>,
    /// Blocks at addresses that are not 4-aligned (a custom allocator named with --alloc-fn may hand those out).
    odd: HashSet<u64>,
}

impl LiveSet {
    pub fn insert(&mut self, addr: u64) {
        if addr % 4 != 0 {
            self.odd.insert(addr);
            return;
        }
        let (w, b) = ((addr / 4 / 64) as usize, addr / 4 % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }

    pub fn remove(&mut self, addr: u64) {
        if addr % 4 != 0 {
            self.odd.remove(&addr);
            return;
        }
        let (w, b) = ((addr / 4 / 64) as usize, addr / 4 % 64);
        if let Some(word) = self.words.get_mut(w) {
            *word &= !(1 << b);
        }
    }

    pub fn contains(&self, addr: u64) -> bool {
        if addr % 4 != 0 {
            return self.odd.contains(&addr);
        }
        let (w, b) = ((addr / 4 / 64) as usize, addr / 4 % 64);
        self.words.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    /// The events as [`crate::HeapModel`] applies them.
    pub fn alloc(&mut self, ptr: u64) {
        if ptr != 0 {
            self.insert(ptr);
        }
    }
    pub fn free(&mut self, ptr: u64) {
        self.remove(ptr);
    }
    pub fn realloc(&mut self, old: u64, new: u64, size: u64) {
        // In place where no block lives: nothing (`HeapModel::realloc`).
        if new == old && !self.contains(old) {
            return;
        }
        if new == 0 {
            if size == 0 && old != 0 {
                self.remove(old);
            }
            return;
        }
        if old != 0 {
            self.remove(old);
        }
        self.insert(new);
    }
}

#[cfg(test)]
mod tests {
    use super::LiveSet;

    #[test]
    fn follows_the_events() {
        let mut s = LiveSet::default();
        s.alloc(0x10_0000);
        s.alloc(0x10_0010);
        s.alloc(6);
        assert!(s.contains(0x10_0000) && s.contains(0x10_0010) && s.contains(6));
        assert!(!s.contains(0x10_0004) && !s.contains(0x10_0008) && !s.contains(0));
        s.realloc(0x10_0000, 0x20_0000, 64);
        assert!(!s.contains(0x10_0000) && s.contains(0x20_0000));
        s.realloc(0x20_0000, 0, 64); // a failed realloc leaves the block
        assert!(s.contains(0x20_0000));
        s.realloc(0x20_0000, 0, 0); // realloc(p, 0) freed it
        assert!(!s.contains(0x20_0000));
        s.free(0x10_0010);
        s.free(6);
        assert!(!s.contains(0x10_0010) && !s.contains(6));
        s.free(0x7fff_fff0); // never allocated: nothing to do
    }
}
