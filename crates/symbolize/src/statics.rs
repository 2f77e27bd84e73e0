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
    dwarf.for_each_die(gimli::DW_TAG_variable, |unit, scoped, entry| {
        let Some(gimli::AttributeValue::Exprloc(expr)) = entry.attr_value(gimli::DW_AT_location)
        else {
            return;
        };
        let encoding = unit.encoding();
        let mut ops = expr.operations(encoding);
        let address = match ops.next() {
            Ok(Some(gimli::Operation::Address { address })) => Some(address),
            Ok(Some(gimli::Operation::AddressIndex { index })) => unit.address(index).ok(),
            _ => None,
        };
        // Exactly one operation: `DW_OP_addr X, DW_OP_plus` after a wasm global is a thread-local.
        let Some(address) = address else { return };
        if !matches!(ops.next(), Ok(None)) {
            return;
        }
        let ones = max_address(encoding.address_size);
        if address == 0 || address == ones || address == ones - 1 {
            return; // dropped by the linker (tombstone)
        }
        let Some((name, linkage)) = dwarf.die_name(unit, scoped, entry) else {
            return;
        };
        let name = if linkage { demangle(&name) } else { name };
        let size = var_type(unit, entry)
            .and_then(|t| type_size(unit, t, 0))
            .unwrap_or(0);
        out.push(DataSymbol {
            name,
            address,
            size,
        });
    });
    out.sort_by(|a, b| {
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
    let mut current = entry.clone();
    for _ in 0..8 {
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
