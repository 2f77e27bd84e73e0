//! Demangling, and reading the structure of demangled names.

/// Demangle a symbol: Rust legacy and v0 (printed with `{:#}`, so without the hash suffix), C++ Itanium;
/// anything else is returned unchanged.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    // Only names that look Itanium-mangled: cpp_demangle also accepts bare type encodings
    // (e.g. "i" -> "int"), which would garble plain C names.
    if (name.starts_with("_Z") || name.starts_with("__Z"))
        && let Ok(sym) = cpp_demangle::Symbol::new(name.as_bytes())
        && let Ok(s) = sym.demangle()
    {
        return tidy_cxx(s);
    }
    without_legacy_hash(name)
}

/// Mend what cpp_demangle 0.5 prints wrong, as `llvm-cxxfilt` prints it: an empty template parameter pack leaves a
/// trailing `, ` (`f<>(void*, unsigned long, )`, `create<map<…>, >`) and an empty pack expansion of parameters a
/// lone `&&` (`create<…>(&&)`); a pointer to a template specialization puts its `*` before the arguments
/// (`std::__2::map*<…>` for `std::__2::map<…>*`).
fn tidy_cxx(s: String) -> String {
    let mut s = s.replace(", )", ")").replace(", >", ">").replace("(&&)", "()").replace("(&)", "()");
    // `name*<args>` → `name<args>*` (and `&`).
    while let Some(at) = sigil_before_args(&s) {
        let mut depth = 0usize;
        let Some(end) = s[at + 1..].char_indices().find_map(|(k, c)| {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(at + 1 + k);
                    }
                }
                _ => {}
            }
            None
        }) else {
            break;
        };
        let sigil = s.remove(at);
        s.insert(end, sigil);
    }
    s
}

/// Where a `*` or `&` stands between a name and its template arguments (not `operator*<…>`).
fn sigil_before_args(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (1..b.len().saturating_sub(1)).find(|&i| {
        matches!(b[i], b'*' | b'&')
            && b[i + 1] == b'<'
            && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
            && !s[..i].ends_with("operator")
    })
}

/// `app::f::h39f66cad3ca4bf1d` → `app::f`: a Rust legacy symbol already demangled with its hash, as
/// wasm-bindgen writes the name section it rewrites (also before a suffix: `…::h837972172758ba6b externref shim`).
fn without_legacy_hash(name: &str) -> String {
    let mut out = name.to_string();
    while let Some(i) = out.find("::h").filter(|&i| {
        let hex = &out.as_bytes()[i + 3..];
        hex.len() >= 16 && hex[..16].iter().all(|b| b.is_ascii_hexdigit()) && matches!(hex.get(16), None | Some(b' '))
    }) {
        out.replace_range(i..i + 19, "");
    }
    out
}

/// `__rustc[b7974e8690430dd9]::__rdl_alloc` → `__rustc::__rdl_alloc`: Rust v0 symbols demangled with their
/// crate disambiguators, as wasm-bindgen writes them to the name section it rewrites.
pub fn without_crate_hashes(f: &str) -> std::borrow::Cow<'_, str> {
    if !f.contains('[') {
        return f.into();
    }
    let mut out = String::with_capacity(f.len());
    let mut rest = f;
    while let Some(i) = rest.find('[') {
        let tail = &rest[i + 1..];
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(&rest[..i]);
        // a crate hash: a u64 in hex (8 digits or more but by a 2^-32 chance), never `[16]` of an array type
        if hex >= 8 && tail[hex..].starts_with(']') {
            rest = &tail[hex + 1..];
        } else {
            out.push('[');
            rest = tail;
        }
    }
    out.push_str(rest);
    out.into()
}

pub(crate) fn looks_mangled(name: &str) -> bool {
    name.starts_with("_Z") || name.starts_with("__Z") || name.starts_with("_R")
}

/// Byte index where the last `::`-separated segment of a demangled name starts (0 when there is one
/// segment); `::` inside `<...>` (`<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop`) does not count.
fn last_segment_start(name: &str) -> usize {
    let b = name.as_bytes();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' if i == 0 || b[i - 1] != b'-' => depth -= 1,
            // `name::<T>` (v0 turbofish) is one segment.
            b':' if depth == 0 && b.get(i + 1) == Some(&b':') && b.get(i + 2) != Some(&b'<') => {
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    start
}

/// The last `::`-separated segment of a demangled name: `new` in `alloc::sync::Arc<T>::new`,
/// `new<app::Node>` in `alloc::sync::Arc<T>::new<app::Node>`.
pub fn last_segment(name: &str) -> &str {
    &name[last_segment_start(name)..]
}

#[cfg(test)]
mod tests {
    use super::{demangle, tidy_cxx};

    /// cpp_demangle 0.5's slips with empty packs and pointers to specializations, mended (C++ survey; the names
    /// as llvm-cxxfilt prints them).
    #[test]
    fn empty_packs_and_pointers_to_specializations_read_as_cxxfilt_prints_them() {
        assert_eq!(
            demangle("_ZNSt3__227__do_deallocate_handle_sizeB7v160006IJEEEvPvmDpT_"),
            "void std::__2::__do_deallocate_handle_size[abi:v160006]<>(void*, unsigned long)"
        );
        assert_eq!(
            tidy_cxx("std::__2::map*<int, long> f<std::__2::map<int, long>, >(&&)".into()),
            "std::__2::map<int, long>* f<std::__2::map<int, long>>()"
        );
        assert_eq!(tidy_cxx("int* g(char*, int&)".into()), "int* g(char*, int&)");
        assert_eq!(tidy_cxx("bool operator*<int>(int)".into()), "bool operator*<int>(int)");
    }

    #[test]
    fn legacy_hashes_go_from_names_demangled_already() {
        assert_eq!(demangle("rust_bindgen_test::forget_buffer::h39f66cad3ca4bf1d"), "rust_bindgen_test::forget_buffer");
        assert_eq!(
            demangle("wasm_bindgen::convert::closures::_::invoke::h837972172758ba6b externref shim"),
            "wasm_bindgen::convert::closures::_::invoke externref shim"
        );
        assert_eq!(demangle("_ZN17rust_bindgen_test13forget_buffer17h39f66cad3ca4bf1dE"), "rust_bindgen_test::forget_buffer");
        // Not a hash: kept.
        assert_eq!(demangle("app::hello_world"), "app::hello_world");
        assert_eq!(demangle("app::h0123::x"), "app::h0123::x");
        assert_eq!(demangle("main"), "main");
    }
}
