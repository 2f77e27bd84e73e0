//! Neutralizing the DWARF of code the linker dropped.
//!
//! When the linker drops a function (`--gc-sections`, COMDAT folding), its DWARF stays: the linker writes a
//! tombstone into every address that pointed at it. lld writes `0xffffffff` (ignored by gimli/addr2line)
//! for some sections, but lld-14 (Emscripten 3.1.x) writes 0, and then the dropped function claims
//! `[0, size)`, overlapping the first live functions: addr2line may pick the dead unit/function/line
//! sequence. In wasm no code can start before the first body (address 0 is the function-count LEB), so
//! every range starting below it is dead. We rewrite those ranges, in our private copy of the DWARF, into
//! forms gimli/addr2line skip: empty ranges, and the `-1` tombstone for line-program addresses.

use gimli::Reader as _;

use crate::dwarf::{Reader, for_each_unit, max_address};

/// Byte patches `(position in buf, new bytes)` that neutralize DWARF describing code below `first_live`.
pub(crate) fn dead_code_patches(
    dwarf: &gimli::Dwarf<Reader>,
    whole: &Reader,
    first_live: u64,
) -> Vec<(usize, Vec<u8>)> {
    use gimli::Section as _;
    let buf: &[u8] = whole.bytes();
    let start_of = |r: &Reader| r.offset_from(whole);
    let mut p = Patcher {
        buf,
        first_live,
        debug_info: start_of(dwarf.debug_info.reader()),
        debug_addr: start_of(dwarf.debug_addr.reader()),
        debug_ranges: start_of(dwarf.ranges.debug_ranges().reader()),
        debug_rnglists: start_of(dwarf.ranges.debug_rnglists().reader()),
        out: Vec::new(),
        seen_ranges: std::collections::HashSet::new(),
        seen_lines: std::collections::HashSet::new(),
    };
    for_each_unit(dwarf, |unit| {
        // Errors stop the walk of this unit only; what was found so far is still patched.
        let _ = p.unit(unit);
        if let Some(lp) = &unit.line_program {
            let h = lp.header();
            let prog = h.raw_program_buf();
            let start = start_of(&prog);
            if p.seen_lines.insert(start) {
                let lengths = h.standard_opcode_lengths().to_slice().unwrap_or_default();
                p.line_program(
                    start,
                    prog.len(),
                    h.opcode_base(),
                    &lengths,
                    h.address_size(),
                );
            }
        }
    });
    p.out
}

struct Patcher<'a> {
    buf: &'a [u8],
    first_live: u64,
    debug_info: usize,
    debug_addr: usize,
    debug_ranges: usize,
    debug_rnglists: usize,
    out: Vec<(usize, Vec<u8>)>,
    seen_ranges: std::collections::HashSet<usize>,
    seen_lines: std::collections::HashSet<usize>,
}

/// A little-endian unsigned value of `size` bytes at `pos`.
fn read_uint(buf: &[u8], pos: usize, size: usize) -> Option<u64> {
    let b = buf.get(pos..pos.checked_add(size)?)?;
    if size > 8 {
        return None;
    }
    Some(
        b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// Two consecutive little-endian unsigned values of `size` bytes at `pos` (a range's begin and end).
fn read_uint_pair(buf: &[u8], pos: usize, size: usize) -> Option<(u64, u64)> {
    Some((
        read_uint(buf, pos, size)?,
        read_uint(buf, pos + size, size)?,
    ))
}

/// ULEB128 at `*pos` (advanced past it); `None` when truncated.
fn read_uleb(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            value |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
}

/// `len` bytes encoding ULEB128 0 (padded with continuation bytes).
fn zero_uleb(len: usize) -> Vec<u8> {
    let mut v = vec![0x80; len];
    if let Some(last) = v.last_mut() {
        *last = 0;
    }
    v
}

impl Patcher<'_> {
    fn dead(&self, address: u64) -> bool {
        address < self.first_live
    }

    fn patch(&mut self, pos: usize, bytes: Vec<u8>) {
        if pos
            .checked_add(bytes.len())
            .is_some_and(|end| end <= self.buf.len())
        {
            self.out.push((pos, bytes));
        }
    }

    /// Make the `low_pc`/`high_pc` of DIEs whose code is dead empty (`[-1, -1)`), and walk their range
    /// lists.
    fn unit(&mut self, unit: &gimli::UnitRef<'_, Reader>) -> gimli::Result<()> {
        let Some(info) = unit.header.debug_info_offset() else {
            return Ok(());
        };
        let unit_start = self.debug_info + info.0;
        let size = usize::from(unit.encoding().address_size);
        let addr_base = self.debug_addr + unit.addr_base.0;
        // Position of the value of an address attribute (in .debug_info or .debug_addr).
        let addr_pos =
            |form: gimli::DwForm, value: &gimli::AttributeValue<Reader>, pos: usize| match value {
                gimli::AttributeValue::Addr(_) if form == gimli::DW_FORM_addr => Some(pos),
                gimli::AttributeValue::DebugAddrIndex(i) => {
                    i.0.checked_mul(size).map(|o| addr_base + o)
                }
                _ => None,
            };
        let mut entries = unit.entries_raw(None)?;
        while !entries.is_empty() {
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            // A DIE with no address range (most: types, members, variables) is skipped by its abbreviation's forms,
            // not read attribute by attribute.
            let ranged = |a: &gimli::AttributeSpecification| {
                matches!(a.name(), gimli::DW_AT_low_pc | gimli::DW_AT_high_pc | gimli::DW_AT_ranges)
            };
            if !abbrev.attributes().iter().any(ranged) {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let mut low = None;
            let mut high = None;
            let mut has_ranges = false;
            for spec in abbrev.attributes() {
                let pos = unit_start + entries.next_offset().0;
                let attr = entries.read_attribute(*spec)?;
                let end = unit_start + entries.next_offset().0;
                // DW_FORM_indirect: the value does not start at `pos`; leave such attributes alone.
                let form = if attr.form() == spec.form() {
                    attr.form()
                } else {
                    gimli::DW_FORM_indirect
                };
                match attr.name() {
                    gimli::DW_AT_low_pc => low = Some((form, attr.value(), pos)),
                    gimli::DW_AT_high_pc => high = Some((form, attr.value(), pos, end)),
                    gimli::DW_AT_ranges => {
                        has_ranges = true;
                        if let Ok(Some(off)) = unit.attr_ranges_offset(attr.value()) {
                            self.ranges(unit, off.0);
                        }
                    }
                    _ => {}
                }
            }
            // With DW_AT_ranges, DW_AT_low_pc is the base address of the list, not a range.
            if has_ranges {
                continue;
            }
            let Some((form, value, pos)) = low else {
                continue;
            };
            let begin = match value {
                gimli::AttributeValue::Addr(a) => a,
                gimli::AttributeValue::DebugAddrIndex(i) => match unit.address(i) {
                    Ok(a) => a,
                    Err(_) => continue,
                },
                _ => continue,
            };
            if !self.dead(begin) {
                continue;
            }
            let Some(low_pos) = addr_pos(form, &value, pos) else {
                continue;
            };
            self.patch(low_pos, vec![0xff; size]);
            if let Some((form, value, pos, end)) = high {
                if let Some(p) = addr_pos(form, &value, pos) {
                    self.patch(p, vec![0xff; size]);
                } else if form == gimli::DW_FORM_udata {
                    self.patch(pos, zero_uleb(end - pos));
                } else if matches!(
                    form,
                    gimli::DW_FORM_data1
                        | gimli::DW_FORM_data2
                        | gimli::DW_FORM_data4
                        | gimli::DW_FORM_data8
                ) {
                    self.patch(pos, vec![0; end - pos]);
                }
            }
        }
        Ok(())
    }

    /// Empty the entries of the range list at `offset` that start below the first live address.
    fn ranges(&mut self, unit: &gimli::UnitRef<'_, Reader>, offset: usize) {
        let size = usize::from(unit.encoding().address_size);
        let ones = max_address(unit.encoding().address_size);
        let mut base = unit.low_pc;
        if unit.encoding().version <= 4 {
            let mut pos = self.debug_ranges + offset;
            if !self.seen_ranges.insert(pos) {
                return;
            }
            for _ in 0..1_000_000 {
                let Some((b, e)) = read_uint_pair(self.buf, pos, size) else {
                    return;
                };
                if b == 0 && e == 0 {
                    return;
                }
                if b == ones {
                    base = e;
                } else {
                    let begin = base.wrapping_add(b);
                    let end = base.wrapping_add(e);
                    if begin < end && self.dead(begin) {
                        // (1, 1): empty, and neither the end of the list nor a base address selection.
                        let mut one = vec![0; size];
                        one[0] = 1;
                        self.patch(pos, [one.clone(), one].concat());
                    }
                }
                pos += 2 * size;
            }
            return;
        }
        // DWARF 5 .debug_rnglists.
        let mut pos = self.debug_rnglists + offset;
        if !self.seen_ranges.insert(pos) {
            return;
        }
        let addrx = |i: u64| {
            unit.address(gimli::DebugAddrIndex(usize::try_from(i).ok()?))
                .ok()
        };
        for _ in 0..1_000_000 {
            let Some(&kind) = self.buf.get(pos) else {
                return;
            };
            pos += 1;
            match kind {
                0 => return, // DW_RLE_end_of_list
                1 => {
                    // DW_RLE_base_addressx
                    let Some(i) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    base = addrx(i).unwrap_or(ones);
                }
                2 | 3 => {
                    // DW_RLE_startx_endx, DW_RLE_startx_length
                    let Some(i) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let second = pos;
                    let Some(v) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let begin = addrx(i);
                    let end = if kind == 2 {
                        addrx(v)
                    } else {
                        begin.map(|b| b.wrapping_add(v))
                    };
                    if kind == 3
                        && let (Some(b), Some(e)) = (begin, end)
                        && b < e
                        && self.dead(b)
                    {
                        self.patch(second, zero_uleb(pos - second));
                    }
                }
                4 => {
                    // DW_RLE_offset_pair
                    let first = pos;
                    let (Some(b), Some(e)) =
                        (read_uleb(self.buf, &mut pos), read_uleb(self.buf, &mut pos))
                    else {
                        return;
                    };
                    let begin = base.wrapping_add(b);
                    if begin < base.wrapping_add(e) && self.dead(begin) {
                        // Both operands 0: an empty range.
                        let mut p = first;
                        read_uleb(self.buf, &mut p);
                        let mid = p;
                        self.patch(first, zero_uleb(mid - first));
                        self.patch(mid, zero_uleb(pos - mid));
                    }
                }
                5 => {
                    // DW_RLE_base_address
                    let Some(a) = read_uint(self.buf, pos, size) else {
                        return;
                    };
                    base = a;
                    pos += size;
                }
                6 => {
                    // DW_RLE_start_end: end := start.
                    let Some((b, e)) = read_uint_pair(self.buf, pos, size) else {
                        return;
                    };
                    if b < e && self.dead(b) {
                        self.patch(pos + size, self.buf[pos..pos + size].to_vec());
                    }
                    pos += 2 * size;
                }
                7 => {
                    // DW_RLE_start_length: length := 0.
                    let Some(b) = read_uint(self.buf, pos, size) else {
                        return;
                    };
                    pos += size;
                    let second = pos;
                    let Some(len) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    if len > 0 && self.dead(b) {
                        self.patch(second, zero_uleb(pos - second));
                    }
                }
                _ => return,
            }
        }
    }

    /// Turn every `DW_LNE_set_address` below the first live address into the `-1` tombstone: gimli then
    /// skips the rows up to the next `DW_LNE_set_address`.
    fn line_program(
        &mut self,
        start: usize,
        len: usize,
        opcode_base: u8,
        lengths: &[u8],
        address_size: u8,
    ) {
        let size = usize::from(address_size);
        let end = start.saturating_add(len).min(self.buf.len());
        let mut pos = start;
        while pos < end {
            let op = self.buf[pos];
            pos += 1;
            if op >= opcode_base {
                continue; // special opcode
            }
            match op {
                0 => {
                    // Extended opcode: ULEB length, sub-opcode, operands.
                    let Some(n) = read_uleb(self.buf, &mut pos) else {
                        return;
                    };
                    let Some(n) = usize::try_from(n).ok().filter(|&n| n <= end - pos) else {
                        return;
                    };
                    if n == 1 + size
                        && self.buf.get(pos) == Some(&0x02) // DW_LNE_set_address
                        && let Some(a) = read_uint(self.buf, pos + 1, size)
                        && self.dead(a)
                    {
                        self.patch(pos + 1, vec![0xff; size]);
                    }
                    pos += n;
                }
                9 => pos += 2, // DW_LNS_fixed_advance_pc: uhalf
                _ => {
                    let operands = lengths.get(usize::from(op) - 1).copied().unwrap_or(0);
                    for _ in 0..operands {
                        if read_uleb(self.buf, &mut pos).is_none() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
