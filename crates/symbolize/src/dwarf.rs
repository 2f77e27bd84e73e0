//! DWARF: the `.debug_*` sections, loaded on first use (with the DWARF of dead code neutralized, see
//! [`dead_code_patches`]), the `addr2line` context, and reading DIEs (names, enclosing scopes, language).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use gimli::Reader as _;
use gimli::{EndianArcSlice, LittleEndian};

use crate::dead_code::dead_code_patches;
use crate::module::DebugSections;
use crate::scopes::UnitScopes;

pub(crate) type Reader = EndianArcSlice<LittleEndian>;

pub(crate) struct DwarfState {
    pub(crate) ctx: Mutex<addr2line::Context<Reader>>,
}

/// The DWARF of one module, parsed lazily.
pub(crate) struct ModuleDwarf {
    /// A copy of the `.debug_*` section payloads, back to back; taken (and patched, see
    /// [`dead_code_patches`]) when the DWARF is loaded.
    data: Mutex<Option<Arc<[u8]>>>,
    /// `.debug_*` custom sections: name and byte range of the payload in `data`.
    debug_sections: Vec<(String, Range<usize>)>,
    /// Lowest DWARF address where code can live: the first body's size LEB (relative to the Code section
    /// payload). DWARF ranges starting below it describe code the linker dropped.
    first_live_address: u64,
    has_dwarf: bool,
    sections: OnceLock<Option<Arc<gimli::Dwarf<Reader>>>>,
    state: OnceLock<Result<DwarfState, String>>,
    /// Per DWARF unit (by `.debug_info` offset): enclosing scopes of DIEs, to qualify bare names.
    scopes: Mutex<HashMap<usize, Arc<UnitScopes>>>,
}

impl ModuleDwarf {
    pub(crate) fn new(debug: DebugSections, first_live_address: u64) -> ModuleDwarf {
        ModuleDwarf {
            data: Mutex::new(Some(debug.data)),
            debug_sections: debug.sections,
            first_live_address,
            has_dwarf: debug.has_dwarf,
            sections: OnceLock::new(),
            state: OnceLock::new(),
            scopes: Mutex::new(HashMap::new()),
        }
    }

    /// The module has non-empty `.debug_info` and `.debug_line` sections.
    pub(crate) fn has_dwarf(&self) -> bool {
        self.has_dwarf
    }

    /// The parsed sections; `None` without DWARF or when they do not load.
    pub(crate) fn sections(&self) -> Option<&Arc<gimli::Dwarf<Reader>>> {
        self.sections
            .get_or_init(|| {
                if !self.has_dwarf {
                    return None;
                }
                let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner()).take()?;
                let load = |data: &Arc<[u8]>| {
                    let whole = gimli::EndianReader::new(data.clone(), LittleEndian);
                    let dwarf = gimli::Dwarf::load(|id: gimli::SectionId| {
                        let r = self
                            .debug_sections
                            .iter()
                            .find(|(n, _)| n == id.name())
                            .map(|(_, r)| r.clone())
                            .unwrap_or(0..0);
                        Ok::<_, gimli::Error>(whole.range(r))
                    });
                    dwarf.ok().map(|d| (d, whole))
                };
                let (dwarf, whole) = load(&data)?;
                // Neutralize the DWARF of code the linker dropped, so that it cannot shadow live code.
                let patches = dead_code_patches(&dwarf, &whole, self.first_live_address);
                if patches.is_empty() {
                    return Some(Arc::new(dwarf));
                }
                drop((dwarf, whole));
                let buf = match Arc::get_mut(&mut data) {
                    Some(buf) => buf,
                    None => {
                        data = Arc::from(&data[..]);
                        Arc::get_mut(&mut data)?
                    }
                };
                for (pos, bytes) in patches {
                    if let Some(dst) = buf.get_mut(pos..pos + bytes.len()) {
                        dst.copy_from_slice(&bytes);
                    }
                }
                let (dwarf, _) = load(&data)?;
                Some(Arc::new(dwarf))
            })
            .as_ref()
    }

    /// The `addr2line` context, or why there is none; `None` without DWARF.
    pub(crate) fn state(&self) -> Option<&Result<DwarfState, String>> {
        if !self.has_dwarf {
            return None;
        }
        Some(self.state.get_or_init(|| {
            let Some(sections) = self.sections() else {
                return Err("could not load the DWARF sections".to_string());
            };
            match addr2line::Context::from_arc_dwarf(sections.clone()) {
                Ok(ctx) => Ok(DwarfState {
                    ctx: Mutex::new(ctx),
                }),
                Err(e) => Err(format!("DWARF: {e}")),
            }
        }))
    }

    /// Qualify the bare DWARF `name` of the DIE at `die` (a subprogram or an inlined subroutine) with its
    /// enclosing namespaces and types: `alloc::rc::{impl#14}::new<T>` instead of `new<T>`.
    pub(crate) fn qualify(
        &self,
        unit: &gimli::UnitRef<'_, Reader>,
        die: gimli::UnitOffset,
        name: &str,
    ) -> Option<String> {
        // The declaration: follow abstract origins / specifications.
        let mut decl = die;
        let mut entry = unit.entry(die).ok()?;
        for _ in 0..8 {
            match origin(unit, &entry) {
                Some(e) => {
                    decl = e.offset();
                    entry = e;
                }
                None => break,
            }
        }
        let key = unit.unit.header.offset().0;
        let scopes = {
            let mut cache = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .entry(key)
                .or_insert_with(|| Arc::new(UnitScopes::build(unit)))
                .clone()
        };
        scopes.qualify(decl.0, name)
    }

    /// Call `f(unit, scoped, entry)` for every DIE tagged `tag` whose abbreviation `keep` takes (its attributes and
    /// their forms: what the DIE can hold), in every unit that parses; `scoped`: the unit's language qualifies bare
    /// names by enclosing scopes (see [`has_scopes`]). Nothing without DWARF.
    pub(crate) fn for_each_die(
        &self,
        tag: gimli::DwTag,
        keep: impl Fn(&gimli::Abbreviation) -> bool,
        mut f: impl FnMut(&gimli::UnitRef<'_, Reader>, bool, &gimli::DebuggingInformationEntry<Reader>),
    ) {
        let Some(dwarf) = self.sections() else {
            return;
        };
        for_each_unit(dwarf, |unit| {
            let scoped = has_scopes(unit_language(unit));
            // Read raw: a DIE of another tag, or one `keep` does not take, is skipped by its abbreviation's attribute
            // forms, not parsed (most of a unit's DIEs: rust_patterns' statics 9.5 → 6.4 ms).
            let Ok(mut entries) = unit.entries_raw(None) else { return };
            while !entries.is_empty() {
                let offset = entries.next_offset();
                let Ok(abbrev) = entries.read_abbreviation() else { return };
                let Some(abbrev) = abbrev else { continue };
                if abbrev.tag() == tag
                    && keep(abbrev)
                    && let Ok(entry) = unit.entry(offset)
                {
                    f(unit, scoped, &entry);
                }
                if entries.skip_attributes(abbrev.attributes()).is_err() {
                    return;
                }
            }
        });
    }

    /// The name of a subprogram or variable DIE (see [`subprogram_name`]), a bare name qualified with its
    /// enclosing scopes when `scoped`, and whether it is a linkage name.
    pub(crate) fn die_name(
        &self,
        unit: &gimli::UnitRef<'_, Reader>,
        scoped: bool,
        entry: &gimli::DebuggingInformationEntry<Reader>,
    ) -> Option<(String, bool)> {
        let (name, linkage, decl) = subprogram_name(unit, entry)?;
        let name = if !linkage && scoped {
            self.qualify(unit, decl, &name).unwrap_or(name)
        } else {
            name
        };
        Some((name, linkage))
    }
}

/// Call `f` with every unit of `dwarf` that parses.
pub(crate) fn for_each_unit(
    dwarf: &gimli::Dwarf<Reader>,
    mut f: impl FnMut(&gimli::UnitRef<'_, Reader>),
) {
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        f(&unit.unit_ref(dwarf));
    }
}

/// The all-ones address of `address_size` bytes: the `-1` tombstone linkers write for dropped code.
pub(crate) fn max_address(address_size: u8) -> u64 {
    if address_size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * address_size)) - 1
    }
}

/// Linkage name (else name) of a subprogram DIE, following `DW_AT_abstract_origin` / `DW_AT_specification`
/// within the unit. Returns the name, whether it is a linkage name, and the offset of the last DIE of the
/// chain (the declaration, whose parents are the enclosing scopes).
fn subprogram_name(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<(String, bool, gimli::UnitOffset)> {
    let mut plain: Option<String> = None;
    let mut current = entry.clone();
    for _ in 0..8 {
        for at in [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name] {
            if let Some(v) = current.attr_value(at)
                && let Ok(s) = unit.attr_string(v)
                && let Ok(s) = s.to_string_lossy()
                && !s.is_empty()
            {
                return Some((s.into_owned(), true, current.offset()));
            }
        }
        if plain.is_none()
            && let Some(v) = current.attr_value(gimli::DW_AT_name)
            && let Ok(s) = unit.attr_string(v)
        {
            plain = s
                .to_string_lossy()
                .ok()
                .map(|s| s.into_owned())
                .filter(|s| !s.is_empty());
        }
        match origin(unit, &current) {
            Some(e) => current = e,
            None => break,
        }
    }
    plain.map(|p| (p, false, current.offset()))
}

/// The DIE named by `DW_AT_abstract_origin` or `DW_AT_specification` (same unit only).
pub(crate) fn origin(
    unit: &gimli::UnitRef<'_, Reader>,
    entry: &gimli::DebuggingInformationEntry<Reader>,
) -> Option<gimli::DebuggingInformationEntry<Reader>> {
    [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification]
        .into_iter()
        .find_map(|at| match entry.attr_value(at) {
            Some(gimli::AttributeValue::UnitRef(o)) => unit.entry(o).ok(),
            _ => None,
        })
}

fn unit_language(unit: &gimli::UnitRef<'_, Reader>) -> Option<gimli::DwLang> {
    let mut entries = unit.entries();
    let root = entries.next_dfs().ok()??;
    match root.attr_value(gimli::DW_AT_language) {
        Some(gimli::AttributeValue::Language(l)) => Some(l),
        _ => None,
    }
}

/// Languages whose bare DWARF names (`DW_AT_name`) are qualified by enclosing namespaces/types.
pub(crate) fn has_scopes(lang: Option<gimli::DwLang>) -> bool {
    matches!(
        lang,
        Some(
            gimli::DW_LANG_Rust
                | gimli::DW_LANG_C_plus_plus
                | gimli::DW_LANG_C_plus_plus_03
                | gimli::DW_LANG_C_plus_plus_11
                | gimli::DW_LANG_C_plus_plus_14
                | gimli::DW_LANG_C_plus_plus_17
                | gimli::DW_LANG_C_plus_plus_20
        )
    )
}
