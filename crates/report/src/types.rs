//! What a block is, when its allocation stack says: the generic arguments of the inlined constructor
//! frames (Rust `Box`/`Rc`/`Arc`/`Vec`/`String`/`HashMap`/`BTreeMap`/`VecDeque`, libc++ `make_shared`,
//! `vector`, `basic_string`, `make_unique`), and for C++ `new T` the constructor `T::T` another stack shows
//! being called from the very same call site. C allocations (`malloc`) carry no type: `None`.

use rustc_hash::FxHashMap as HashMap;

use wasmleak_heap::{SnapFrame, Snapshot};

use crate::hint::is_library_frame;

/// `alloc::rc::RcInner<core::cell::RefCell<app::Node>>` → `RcInner<RefCell<app::Node>>`: the standard
/// library's module paths (`alloc::`, `core::`, `std::`, libc++'s `std::__2::`) dropped, the program's kept;
/// allocator parameters (`, alloc::alloc::Global`, `, std::allocator<T>`) dropped.
pub fn short_type(t: &str) -> String {
    let t = strip_allocators(t);
    let mut out = String::with_capacity(t.len());
    let mut rest = t.as_str();
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        if end == 0 {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let path = &rest[..end];
        let std = ["alloc::", "core::", "std::"].iter().any(|p| path.starts_with(p));
        out.push_str(if std { path.rsplit("::").next().unwrap_or(path) } else { path });
        rest = &rest[end..];
    }
    // libc++ closes nested templates with `> >`.
    out.replace("> >", ">>").replace("> >", ">>")
}

/// Top-level generic arguments of `args` (the text between the outer `<` `>`).
fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = args[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

fn is_allocator_arg(a: &str) -> bool {
    a == "alloc::alloc::Global" || a == "Global" || a.starts_with("std::__2::allocator<") || a.starts_with("std::allocator<")
}

/// Drop allocator arguments everywhere in a type: `Vec<u8, alloc::alloc::Global>` → `Vec<u8>`.
fn strip_allocators(t: &str) -> String {
    let Some(open) = t.find('<') else { return t.to_string() };
    let Some(close) = matching_close(t, open) else { return t.to_string() };
    let args: Vec<String> =
        split_args(&t[open + 1..close]).into_iter().filter(|a| !is_allocator_arg(a)).map(strip_allocators).collect();
    let head = &t[..open];
    let tail = strip_allocators(&t[close + 1..]);
    if args.is_empty() { format!("{head}{tail}") } else { format!("{head}<{}>{tail}", args.join(", ")) }
}

fn matching_close(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s[open..].char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

// `last_segment` of a Rust frame name is `new<app::Node>` for both `alloc::sync::Arc<T>::new<app::Node>`
// (full DWARF: the demangled linkage name with the instantiation's arguments appended by the symbolizer)
// and `new<app::Node>` (line-tables-only DWARF).
use wasmleak_symbolize::last_segment;

/// The function's own segment of a Rust frame name, with all its generic arguments, the impl's first:
/// `new<app::Node>` for `alloc::sync::Arc<T>::new<app::Node>` (legacy, see [`last_segment`]), and for v0
/// names, whose impl types are concrete and whose own arguments follow a turbofish,
/// `<alloc::vec::Vec<u8>>::push` → `push<u8>`, `alloc::vec::from_elem::<u8>` → `from_elem<u8>`.
fn rust_segment(function: &str) -> String {
    let last = last_segment(function);
    let seg = last.replacen("::<", "<", 1);
    // Arguments written `name<...>` (DWARF's, all of them) are complete; v0's turbofish ones are the
    // function's own only.
    if !function.starts_with('<') || (last.contains('<') && !last.contains("::<")) {
        return seg;
    }
    // `<SelfType>::name`: the self type's arguments come first. Not `<SelfType as Trait>::name`: legacy
    // names have that shape too, with the impl's parameter names (`<alloc::vec::Vec<T,A> as ...>`).
    let Some(close) = matching_close(function, 0) else { return seg };
    let self_ty = &function[1..close];
    if self_ty.contains(" as ") {
        return seg;
    }
    let Some(open) = self_ty.find('<') else { return seg };
    let Some(end) = matching_close(self_ty, open) else { return seg };
    let mut args: Vec<&str> = split_args(&self_ty[open + 1..end]);
    let (base, own) = match seg.find('<') {
        Some(i) => (&seg[..i], seg[i..].strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or("")),
        None => (seg.as_str(), ""),
    };
    args.extend(split_args(own));
    format!("{base}<{}>", args.join(", "))
}

/// The generic arguments of `name<...>` when `function` is exactly that (`new<T>`, `push<T, A>`); callers
/// pass the [`last_segment`] of a frame name (`alloc::vec::Vec<T,A>::push` without arguments: none).
fn generics_of<'a>(function: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let inner = function.strip_prefix(name)?.strip_prefix('<')?.strip_suffix('>')?;
    Some(split_args(inner))
}

/// The generic arguments of the first `marker<...>` inside `function` (libc++ names: `std::__2::make_shared[abi:v160006]<Peer, , void>`).
fn generics_after<'a>(function: &'a str, marker: &str) -> Option<Vec<&'a str>> {
    let at = function.find(marker)? + marker.len();
    let rest = &function[at..];
    // Skip an `[abi:...]` tag.
    let rest_off = if rest.starts_with("[abi:") { rest.find(']')? + 1 } else { 0 };
    let open = at + rest_off;
    if !function[open..].starts_with('<') {
        return None;
    }
    let close = matching_close(function, open)?;
    Some(split_args(&function[open + 1..close]))
}

/// The bare function name of an inlined Rust frame, without generics: `with_capacity_in<u8, ..>` →
/// `with_capacity_in`.
fn base_name(function: &str) -> &str {
    function.split('<').next().unwrap_or(function)
}

/// The type one library frame says it allocates.
fn frame_type(f: &SnapFrame) -> Option<String> {
    let file = f.file.as_deref().unwrap_or("");
    let full = f.function.as_str();
    // Rust: the function's own segment, where its generic arguments are.
    let seg = rust_segment(full);
    let func = seg.as_str();
    let first = |args: Option<Vec<&str>>| args.and_then(|a| a.first().map(|t| short_type(t))).filter(|t| !t.is_empty());
    // Rust
    if file.ends_with("alloc/src/rc.rs") {
        return first(generics_of(func, "new")).map(|t| format!("Rc<{t}>"));
    }
    if file.ends_with("alloc/src/sync.rs") {
        return first(generics_of(func, "new")).map(|t| format!("Arc<{t}>"));
    }
    if file.ends_with("alloc/src/boxed.rs") {
        return first(generics_of(func, "new")).map(|t| format!("Box<{t}>"));
    }
    if file.contains("alloc/src/vec/") || file.ends_with("alloc/src/slice.rs") || file.ends_with("alloc/src/macros.rs") {
        // Every generic method of `Vec<T, A>` has T first (`push<T, A>`, `with_capacity<T>`, `from_elem<T>`).
        let base = base_name(func);
        if !base.is_empty() && !base.contains("::") && func.len() > base.len() {
            return first(generics_of(func, base_name(func))).map(|t| format!("Vec<{t}>"));
        }
        return None;
    }
    if file.ends_with("alloc/src/string.rs") || file.ends_with("alloc/src/str.rs") || file.ends_with("alloc/src/fmt.rs") {
        return Some("String".to_owned());
    }
    if file.contains("alloc/src/collections/vec_deque/") {
        if base_name(func).is_empty() || base_name(func).contains("::") {
            return None;
        }
        return first(generics_of(func, base_name(func))).map(|t| format!("VecDeque<{t}>"));
    }
    if file.contains("alloc/src/collections/btree/") && (file.ends_with("map.rs") || file.ends_with("set.rs")) {
        let kind = if file.ends_with("set.rs") { "BTreeSet" } else { "BTreeMap" };
        let args = generics_of(func, base_name(func))?;
        let n = if kind == "BTreeSet" { 1 } else { 2 };
        if args.len() < n {
            return None;
        }
        let a: Vec<String> = args[..n].iter().map(|t| short_type(t)).collect();
        return Some(format!("{kind}<{}>", a.join(", ")));
    }
    if file.contains("std/src/collections/hash/") {
        let set = file.ends_with("set.rs");
        let args = generics_of(func, base_name(func))?;
        let n = if set { 1 } else { 2 };
        if args.len() < n {
            return None;
        }
        let a: Vec<String> = args[..n].iter().map(|t| short_type(t)).collect();
        return Some(format!("{}<{}>", if set { "HashSet" } else { "HashMap" }, a.join(", ")));
    }
    // C++ (libc++)
    let func = full;
    if func.contains("std::__2::") || file.contains("/c++/v1/") {
        for marker in ["__shared_ptr_emplace", "make_shared", "allocate_shared"] {
            if let Some(t) = first(generics_after(func, marker)) {
                return Some(format!("shared_ptr<{t}>"));
            }
        }
        if let Some(t) = first(generics_after(func, "make_unique")) {
            return Some(t);
        }
        if let Some(t) = first(generics_after(func, "std::__2::vector")) {
            return Some(format!("vector<{t}>"));
        }
        if makes_string(func) {
            return Some("string".to_owned());
        }
        // A map's or set's node: a member of `map<K, V>` / `set<T>` or of their `__tree<__value_type<K, V>, …>`.
        let (_, name) = return_and_name(func);
        for (marker, kind) in [("std::__2::map", "map"), ("std::__2::multimap", "multimap"), ("std::__2::set", "set"), ("std::__2::multiset", "multiset")] {
            if name.starts_with(marker) && name[marker.len()..].starts_with('<') {
                let args = generics_after(name, marker)?;
                let n = if kind.ends_with("map") { 2 } else { 1 };
                let shown: Vec<String> = args.iter().take(n).map(|t| short_type(t)).collect();
                return (shown.len() == n).then(|| format!("{kind}<{}> node", shown.join(", ")));
            }
        }
        if name.starts_with("std::__2::__tree<") {
            let args = generics_after(name, "std::__2::__tree")?;
            let first = args.first()?;
            return Some(match generics_after(first, "std::__2::__value_type") {
                Some(kv) if kv.len() >= 2 => format!("map<{}, {}> node", short_type(kv[0]), short_type(kv[1])),
                _ => format!("set<{}> node", short_type(first)),
            });
        }
    }
    None
}

/// A libc++ frame that allocates a string's buffer: a member of `basic_string<char>` itself, or a std function that
/// returns one (`operator+`, `to_string`). A name that only mentions `basic_string` in its template arguments is
/// another container's (`__tree<__value_type<basic_string<char>, json>>` is a map node; nlohmann's maps read
/// "string").
fn makes_string(function: &str) -> bool {
    const STRING: &str = "std::__2::basic_string<char";
    let (ret, name) = return_and_name(function);
    name.starts_with(STRING) || (ret.starts_with(STRING) && name.starts_with("std::__2::"))
}

/// A demangled C++ function's return type and qualified name (before its parameter list): the return type ends at
/// the last space outside `<…>` before the `(`.
fn return_and_name(function: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut head_end = function.len();
    let mut name_start = 0;
    for (i, c) in function.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '(' if depth == 0 => {
                head_end = i;
                break;
            }
            ' ' if depth == 0 => name_start = i + 1,
            _ => {}
        }
    }
    let name_start = name_start.min(head_end);
    (&function[..name_start.saturating_sub(1)], &function[name_start..head_end])
}

/// What was allocated, from the library frames between the allocator and the program's own code (the
/// outermost one that names a type wins: `Rc::new` over the `Box::new` inside it). `None` when the stack
/// does not say (C `malloc`, a plain `operator new` call: see [`stack_types`] for those).
pub fn type_of<'a>(stack: impl IntoIterator<Item = &'a SnapFrame>) -> Option<String> {
    let mut ty = None;
    for f in stack {
        if !is_library_frame(&f.function, f.file.as_deref()) {
            break;
        }
        if let Some(t) = frame_type(f) {
            ty = Some(t);
        }
    }
    ty
}

/// `Widget::Widget(unsigned int)` → `Widget`; `ns::Box<int>::Box()` → `ns::Box<int>`; anything else: None.
fn constructor_class(function: &str) -> Option<&str> {
    let paren = function.find('(')?;
    let head = &function[..paren];
    let sep = head.rfind("::")?;
    let (class, method) = (&head[..sep], &head[sep + 2..]);
    let class_base = class.split('<').next().unwrap_or(class);
    let last = class_base.rsplit("::").next().unwrap_or(class_base);
    (!last.is_empty() && last == method).then_some(class)
}

fn same_place(a: &SnapFrame, b: &SnapFrame) -> bool {
    a.function == b.function && a.file == b.file && a.line == b.line && a.inlined == b.inlined
}

/// The type of every stack of `snap` (indexed like `snap.stacks`): [`type_of`], and for C++ `new T`
/// (whose stack, allocator frames dropped, starts at the calling function) the class `T` when another
/// stack shows the constructor `T::T` called from that same function and line with the same callers.
pub fn stack_types(snap: &Snapshot) -> Vec<Option<String>> {
    let stacks: Vec<Vec<&SnapFrame>> = (0..snap.stacks.len()).map(|s| snap.stack(s as u32).collect()).collect();
    let mut out: Vec<Option<String>> = stacks.iter().map(|s| type_of(s.iter().copied())).collect();
    // Constructor calls seen: (call site frames, outwards) → class.
    let mut ctor_at: HashMap<(&str, Option<&str>, Option<u32>, usize), Vec<(usize, &str)>> = HashMap::default();
    for (i, s) in stacks.iter().enumerate() {
        for (k, f) in s.iter().enumerate() {
            if let (Some(class), Some(caller)) = (constructor_class(&f.function), s.get(k + 1)) {
                ctor_at
                    .entry((&caller.function, caller.file.as_deref(), caller.line, s.len() - k - 1))
                    .or_default()
                    .push((i, class));
            }
        }
    }
    if ctor_at.is_empty() {
        return out;
    }
    for (i, s) in stacks.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let Some(top) = s.first() else { continue };
        let Some(cands) = ctor_at.get(&(top.function.as_str(), top.file.as_deref(), top.line, s.len())) else { continue };
        // The constructor's stack continues exactly as this one does (same call site, same callers).
        let mut found: Vec<&str> = cands
            .iter()
            .filter(|(j, class)| {
                let other = &stacks[*j];
                let k = other.len() - s.len();
                k >= 1 && other[k..].iter().zip(s).all(|(a, b)| same_place(a, b)) && constructor_class(&other[k - 1].function) == Some(*class)
            })
            .map(|&(_, class)| class)
            .collect();
        found.sort();
        found.dedup();
        // Several classes constructed there: the members of an aggregate (`new Impl{name, data}` constructs a string
        // and a vector at that line, and read `basic_string`), or a temporary beside the object. The program's own
        // class is the one `new` made; only library classes: no label rather than a wrong one (C++ survey).
        let own: Vec<&&str> = found.iter().filter(|c| !c.starts_with("std::")).collect();
        out[i] = match (found.len(), own.as_slice()) {
            (1, _) => Some(found[0].to_string()),
            (_, [one]) => Some(one.to_string()),
            _ => None,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: &str) -> SnapFrame {
        SnapFrame { function: function.into(), file: Some(file.into()), line: Some(1), column: None, inlined: true }
    }

    const RC: &str = "/rustc/x/library/alloc/src/rc.rs";
    const SYNC: &str = "/rustc/x/library/alloc/src/sync.rs";
    const BOXED: &str = "/rustc/x/library/alloc/src/boxed.rs";
    const VEC: &str = "/rustc/x/library/alloc/src/vec/mod.rs";

    /// `new T` is labelled by the constructor called from the same place — but where an aggregate's members are built
    /// there (`new Impl{name, data}`: a string and a vector), no library class is the object's: no label, not
    /// `basic_string`. The program's own class among them is (`new Widget("x")` builds a temporary string too).
    #[test]
    fn an_aggregates_members_do_not_label_the_object() {
        let at = |function: &str, line: u32| SnapFrame { function: function.into(), file: Some("a.cpp".into()), line: Some(line), column: None, inlined: false };
        let frames = vec![
            at("make()", 5),
            at("main", 9),
            at("std::__2::basic_string<char>::basic_string(char const*)", 1),
            at("std::__2::vector<int>::vector(unsigned long)", 1),
            at("Widget::Widget(int)", 1),
        ];
        let snap = |ctors: &[u32]| {
            let mut stacks = vec![vec![0, 1]];
            stacks.extend(ctors.iter().map(|&c| vec![c, 0, 1]));
            Snapshot { frames: frames.clone(), stacks, ..Snapshot::default() }
        };
        assert_eq!(stack_types(&snap(&[2, 3]))[0], None);
        assert_eq!(stack_types(&snap(&[2, 4]))[0].as_deref(), Some("Widget"));
        assert_eq!(stack_types(&snap(&[2]))[0].as_deref(), Some("std::__2::basic_string<char>"));
    }

    #[test]
    fn map_and_set_nodes() {
        let map = frame("std::__2::__tree<std::__2::__value_type<int, long>, std::__2::__map_value_compare<int>, std::__2::allocator<int>>::__construct_node<int>(int&&)", "/usr/include/c++/v1/__tree");
        assert_eq!(type_of(&[map, frame("main", "a.cpp")]).as_deref(), Some("map<int, long> node"));
        let set = frame("std::__2::__tree<int, std::__2::less<int>, std::__2::allocator<int>>::__construct_node<int const&>(int const&)", "/usr/include/c++/v1/__tree");
        assert_eq!(type_of(&[set, frame("main", "a.cpp")]).as_deref(), Some("set<int> node"));
        let emplace = frame("std::__2::pair<std::__2::__tree_iterator<int>, bool> std::__2::map<int, long, std::__2::less<int>, std::__2::allocator<int>>::emplace<int>(int&&)", "/usr/include/c++/v1/map");
        assert_eq!(type_of(&[emplace, frame("main", "a.cpp")]).as_deref(), Some("map<int, long> node"));
    }

    #[test]
    fn only_a_strings_own_frames_say_string() {
        assert!(makes_string("std::__2::basic_string<char, std::__2::char_traits<char>, std::__2::allocator<char>>::__grow_by(unsigned long)"));
        assert!(makes_string("std::__2::basic_string<char, std::__2::char_traits<char>, std::__2::allocator<char>> std::__2::operator+[abi:v160006]<char>(char const*, std::__2::basic_string<char>&&)"));
        assert!(!makes_string("std::__2::__tree<std::__2::__value_type<std::__2::basic_string<char>, json>, std::__2::less<void>>::__construct_node(std::__2::basic_string<char>&&)"));
        assert!(!makes_string("std::__2::basic_string<char>* nlohmann::basic_json<map>::create<std::__2::basic_string<char>>(char const*)"));
    }

    #[test]
    fn last_segment_ignores_paths_inside_generics() {
        assert_eq!(last_segment("alloc::sync::Arc<T>::new<std::sync::Mutex<app::N>>"), "new<std::sync::Mutex<app::N>>");
        assert_eq!(last_segment("new<alloc::rc::RcInner<app::N>>"), "new<alloc::rc::RcInner<app::N>>");
        assert_eq!(last_segment("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop"), "drop");
        assert_eq!(last_segment("alloc::vec::from_elem::<u8>"), "from_elem::<u8>");
        assert_eq!(last_segment("<fn() -> u8 as app::T>::f<u8>"), "f<u8>");
        assert_eq!(last_segment("main"), "main");
    }

    #[test]
    fn line_tables_only_bare_names() {
        let stack = [
            frame("new<alloc::rc::RcInner<core::cell::RefCell<app::Node>>>", BOXED),
            frame("new<core::cell::RefCell<app::Node>>", RC),
            frame("app::make", "src/main.rs"),
        ];
        assert_eq!(type_of(&stack).as_deref(), Some("Rc<RefCell<app::Node>>"));
        let stack = [frame("push<u8, alloc::alloc::Global>", VEC), frame("app::make", "src/main.rs")];
        assert_eq!(type_of(&stack).as_deref(), Some("Vec<u8>"));
    }

    #[test]
    fn full_dwarf_qualified_names_with_arguments() {
        let stack = [
            frame("alloc::boxed::box_new_uninit", BOXED),
            frame("alloc::boxed::Box<T>::new<alloc::sync::ArcInner<std::sync::poison::mutex::Mutex<app::N>>>", BOXED),
            frame("alloc::sync::Arc<T>::new<std::sync::poison::mutex::Mutex<app::N>>", SYNC),
            frame("app::make", "src/main.rs"),
        ];
        assert_eq!(type_of(&stack).as_deref(), Some("Arc<Mutex<app::N>>"));
        let stack = [
            frame("alloc::vec::Vec<T,A>::push<alloc::sync::Arc<app::N, alloc::alloc::Global>, alloc::alloc::Global>", VEC),
            frame("app::make", "src/main.rs"),
        ];
        assert_eq!(type_of(&stack).as_deref(), Some("Vec<Arc<app::N>>"));
    }

    #[test]
    fn v0_names() {
        let stack = [frame("alloc::vec::from_elem::<u8>", VEC), frame("app::make", "src/main.rs")];
        assert_eq!(type_of(&stack).as_deref(), Some("Vec<u8>"));
        let stack = [
            frame("<alloc::boxed::Box<alloc::rc::RcInner<core::cell::RefCell<app::Node>>>>::new", BOXED),
            frame("<alloc::rc::Rc<core::cell::RefCell<app::Node>>>::new", RC),
            frame("app::make", "src/main.rs"),
        ];
        assert_eq!(type_of(&stack).as_deref(), Some("Rc<RefCell<app::Node>>"));
        let stack = [frame("<alloc::vec::Vec<app::Node>>::push", VEC), frame("app::make", "src/main.rs")];
        assert_eq!(type_of(&stack).as_deref(), Some("Vec<app::Node>"));
        assert_eq!(rust_segment("<alloc::vec::Vec<u8> as core::clone::Clone>::clone"), "clone");
        // Legacy with DWARF's arguments appended: already complete.
        assert_eq!(rust_segment("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop<u8, alloc::alloc::Global>"), "drop<u8, alloc::alloc::Global>");
        assert_eq!(rust_segment("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop"), "drop");
        assert_eq!(rust_segment("<std::collections::hash::map::HashMap<u32, u8>>::insert::<u8>"), "insert<u32, u8, u8>");
    }

    #[test]
    fn qualified_names_without_arguments_say_nothing() {
        let stack = [
            frame("alloc::boxed::Box<T>::new", BOXED),
            frame("alloc::sync::Arc<T>::new", SYNC),
            frame("alloc::vec::Vec<T,A>::push", VEC),
            frame("app::make", "src/main.rs"),
        ];
        assert_eq!(type_of(&stack), None);
    }
}
