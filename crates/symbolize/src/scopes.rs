//! Enclosing scopes (namespaces, types) of the DIEs of a unit, to qualify bare DWARF names.

use std::collections::HashMap;

use gimli::Reader as _;

use crate::dwarf::Reader;

/// Enclosing scopes of the DIEs of one unit.
#[derive(Default)]
pub(crate) struct UnitScopes {
    /// DIE offset -> offset of its parent, for subprograms and scope DIEs.
    parent: HashMap<usize, usize>,
    /// Scope DIE offset -> its name (namespaces, types).
    name: HashMap<usize, String>,
}

impl UnitScopes {
    pub(crate) fn build(unit: &gimli::UnitRef<'_, Reader>) -> UnitScopes {
        let mut scopes = UnitScopes::default();
        let mut stack: Vec<(isize, usize)> = Vec::new();
        let mut entries = unit.entries();
        while let Ok(Some(entry)) = entries.next_dfs() {
            let depth = entry.depth();
            let offset = entry.offset().0;
            while stack.last().is_some_and(|&(d, _)| d >= depth) {
                stack.pop();
            }
            let tag = entry.tag();
            let is_scope = matches!(
                tag,
                gimli::DW_TAG_namespace
                    | gimli::DW_TAG_structure_type
                    | gimli::DW_TAG_class_type
                    | gimli::DW_TAG_union_type
                    | gimli::DW_TAG_enumeration_type
                    | gimli::DW_TAG_interface_type
            );
            if (is_scope || tag == gimli::DW_TAG_subprogram || tag == gimli::DW_TAG_variable)
                && let Some(&(_, p)) = stack.last()
            {
                scopes.parent.insert(offset, p);
            }
            if is_scope {
                let name = entry
                    .attr_value(gimli::DW_AT_name)
                    .and_then(|v| unit.attr_string(v).ok())
                    .and_then(|s| s.to_string_lossy().ok().map(|s| s.into_owned()))
                    .unwrap_or_else(|| {
                        if tag == gimli::DW_TAG_namespace {
                            "(anonymous namespace)".to_string()
                        } else {
                            "(anonymous)".to_string()
                        }
                    });
                scopes.name.insert(offset, name);
            }
            if entry.has_children() {
                stack.push((depth, offset));
            }
        }
        scopes
    }

    /// `a::b::name` from the scopes enclosing `offset`; `None` when there are none.
    pub(crate) fn qualify(&self, offset: usize, name: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = offset;
        while let Some(&p) = self.parent.get(&cur) {
            match self.name.get(&p) {
                Some(n) => parts.push(n.as_str()),
                // A subprogram encloses it (a nested function): keep walking out.
                None if self.parent.contains_key(&p) => {}
                None => break,
            }
            if parts.len() > 64 {
                break;
            }
            cur = p;
        }
        if parts.is_empty() {
            return None;
        }
        parts.reverse();
        Some(format!("{}::{name}", parts.join("::")))
    }
}
