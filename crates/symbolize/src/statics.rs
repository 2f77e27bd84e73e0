//! Static variables: [`DataSymbol`]s read from DWARF `DW_TAG_variable`s at a fixed address.

use crate::demangle::demangle;
use crate::dwarf::{ModuleDwarf, Reader, max_address, origin};

/// A static variable (`DW_TAG_variable` at a fixed address) found in DWARF.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataSymbol {
    /// Demangled, qualified name (`rust_patterns::CACHE`, `std::io::stdio::STDOUT`, `static_buffer`).
    pub name: String,
    /// Address in linear memory.
    pub address: u64,
    /// Size in bytes from the variable's type (0 when DWARF does not say).
    pub size: u64,
}

/// The static variables of `dwarf`, sorted by address: see
/// [`Symbolizer::statics`](crate::Symbolizer::statics).
pub(crate) fn read_statics(dwarf: &ModuleDwarf) -> Vec<DataSymbol> {
    let mut out = Vec::new();
    // Type sizes by the type's `.debug_info` offset: a C program's statics share a few types (flite's 118,780).
    let mut sizes: std::collections::HashMap<usize, Option<u64>> = std::collections::HashMap::new();
    // Only variables with a location expression in the DIE itself (exprloc, or a block before DWARF 4): a local
    // with a location list, or none, is not at a fixed address.
    let located = |a: &gimli::Abbreviation| {
        a.attributes().iter().any(|s| {
            s.name() == gimli::DW_AT_location
                && matches!(s.form(), gimli::DW_FORM_exprloc | gimli::DW_FORM_block | gimli::DW_FORM_block1 | gimli::DW_FORM_block2 | gimli::DW_FORM_block4)
        })
    };
    dwarf.for_each_die(gimli::DW_TAG_variable, located, |unit, scoped, entry| {
        let Some(gimli::AttributeValue::Exprloc(expr)) = entry.attr_value(gimli::DW_AT_location)
        else {
            return;
        };
        let encoding = unit.encoding();
        // `DW_OP_addr X` alone, or pieces of the variable, some at fixed addresses: `DW_OP_addr X, DW_OP_piece N, …`
        // (rustc splits a static into pieces when it optimizes; a piece computed from other values or optimized
        // out has no address). Anything else is not a static at a fixed address (`DW_OP_addr X, DW_OP_plus` after a
        // wasm global is a thread-local).
        let mut pieces: Vec<(u64, u64, Option<u64>)> = Vec::new(); // (offset in the variable, address, bytes)
        let (mut pending, mut plain, mut offset, mut any_piece) = (None, true, 0u64, false);
        let mut ops = expr.operations(encoding);
        loop {
            match ops.next() {
                Ok(Some(gimli::Operation::Address { address })) if pending.is_none() && plain => pending = Some(address),
                Ok(Some(gimli::Operation::AddressIndex { index })) if pending.is_none() && plain => match unit.address(index) {
                    Ok(a) => pending = Some(a),
                    Err(_) => plain = false,
                },
                Ok(Some(gimli::Operation::Piece { size_in_bits, bit_offset: None })) if size_in_bits % 8 == 0 => {
                    any_piece = true;
                    if let (Some(a), true) = (pending.take(), plain) {
                        pieces.push((offset, a, Some(size_in_bits / 8)));
                    }
                    pending = None;
                    plain = true;
                    offset += size_in_bits / 8;
                }
                Ok(None) => break,
                Ok(Some(_)) => plain = false,
                Err(_) => return,
            }
        }
        if !any_piece {
            match (pending, plain) {
                (Some(a), true) => pieces.push((0, a, None)),
                _ => return,
            }
        } else if let (Some(a), true) = (pending, plain) {
            pieces.push((offset, a, None));
        }
        let ones = max_address(encoding.address_size);
        // Dropped by the linker (tombstone).
        pieces.retain(|&(_, a, _)| !(a == 0 || a == ones || a == ones - 1));
        let Some(&(first_offset, address, _)) = pieces.first() else { return };
        // The whole variable at one place: one symbol; scattered pieces: one per piece, named by its bytes.
        let whole = first_offset == 0 && pieces.windows(2).all(|w| w[0].2.is_some_and(|n| w[0].0 + n == w[1].0 && w[0].1 + n == w[1].1));
        let Some((name, linkage)) = dwarf.die_name(unit, scoped, entry) else {
            return;
        };
        let name = if linkage { demangle(&name) } else { name };
        let size = var_type(unit, entry)
            .and_then(|t| match t.to_debug_info_offset(&unit.header) {
                Some(at) => *sizes.entry(at.0).or_insert_with(|| type_size(unit, t, 0)),
                None => type_size(unit, t, 0),
            })
            .unwrap_or(0);
        let pieced: u64 = pieces.iter().filter_map(|p| p.2).sum();
        // Whole: one plain address, or pieces side by side that cover the variable's type.
        let whole = (pieces.len() == 1 && pieces[0].2.is_none()) || (whole && (size == 0 || pieced == size));
        if whole {
            out.push(DataSymbol { name, address, size: size.max(pieced) });
        } else {
            for (offset, address, n) in pieces {
                let n = n.unwrap_or(size.saturating_sub(offset));
                out.push(DataSymbol { name: format!("{name}[{offset}..{}]", offset + n), address, size: n });
            }
        }
    });
    out.sort_unstable_by(|a, b| {
        a.address
            .cmp(&b.address)
            .then(b.size.cmp(&a.size))
            .then(a.name.cmp(&b.name))
    });
    out.dedup();
    out
}

/// The static variable in `all` whose bytes contain `address` (the smallest, when they nest).
pub(crate) fn static_at(all: &[DataSymbol], address: u64) -> Option<DataSymbol> {
    all.iter()
        .filter(|d| d.address <= address && address < d.address + d.size.max(1))
        .min_by_key(|d| d.size)
        .cloned()
}

/// The `DW_AT_type` of a variable, following its declaration (`DW_AT_specification`) when the definition
/// has none.
fn var_type(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<gimli::UnitOffset> {
    if let Some(gimli::AttributeValue::UnitRef(t)) = entry.attr_value(gimli::DW_AT_type) {
        return Some(t);
    }
    let mut current = origin(unit, entry)?;
    for _ in 0..7 {
        if let Some(gimli::AttributeValue::UnitRef(t)) = current.attr_value(gimli::DW_AT_type) {
            return Some(t);
        }
        current = origin(unit, &current)?;
    }
    None
}

/// Byte size of the type at `offset`: `DW_AT_byte_size`, through typedefs and qualifiers; pointers without a
/// size are address-sized; arrays are element size × the product of their dimensions.
fn type_size(
    unit: &gimli::UnitRef<'_, Reader>,
    offset: gimli::UnitOffset,
    depth: u32,
) -> Option<u64> {
    if depth > 32 {
        return None;
    }
    let entry = unit.entry(offset).ok()?;
    if let Some(n) = entry
        .attr_value(gimli::DW_AT_byte_size)
        .and_then(|v| v.udata_value())
    {
        return Some(n);
    }
    let next = || match entry.attr_value(gimli::DW_AT_type) {
        Some(gimli::AttributeValue::UnitRef(t)) => Some(t),
        _ => None,
    };
    match entry.tag() {
        gimli::DW_TAG_typedef
        | gimli::DW_TAG_const_type
        | gimli::DW_TAG_volatile_type
        | gimli::DW_TAG_restrict_type
        | gimli::DW_TAG_atomic_type
        | gimli::DW_TAG_immutable_type
        | gimli::DW_TAG_shared_type => type_size(unit, next()?, depth + 1),
        gimli::DW_TAG_pointer_type
        | gimli::DW_TAG_reference_type
        | gimli::DW_TAG_rvalue_reference_type
        | gimli::DW_TAG_ptr_to_member_type => Some(u64::from(unit.encoding().address_size)),
        gimli::DW_TAG_array_type => {
            let element = type_size(unit, next()?, depth + 1)?;
            let mut count = 1u64;
            let mut any = false;
            let mut children = unit.entries_at_offset(offset).ok()?;
            let root_depth = children.next_dfs().ok()??.depth();
            while let Ok(Some(child)) = children.next_dfs() {
                if child.depth() <= root_depth {
                    break;
                }
                if child.depth() != root_depth + 1 || child.tag() != gimli::DW_TAG_subrange_type {
                    continue;
                }
                let n = if let Some(c) = child
                    .attr_value(gimli::DW_AT_count)
                    .and_then(|v| v.udata_value())
                {
                    c
                } else if let Some(u) = child
                    .attr_value(gimli::DW_AT_upper_bound)
                    .and_then(|v| v.udata_value())
                {
                    let lower = child
                        .attr_value(gimli::DW_AT_lower_bound)
                        .and_then(|v| v.udata_value())
                        .unwrap_or(0);
                    (u + 1).saturating_sub(lower)
                } else {
                    return None; // flexible array: unknown
                };
                count = count.saturating_mul(n);
                any = true;
            }
            any.then(|| element.saturating_mul(count))
        }
        _ => None,
    }
}
