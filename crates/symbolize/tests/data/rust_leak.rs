// Test input for wasmleak-symbolize (see build.sh): a Rust cdylib, names only (no DWARF).
use std::rc::Rc;
use std::cell::RefCell;
pub struct Node { pub next: RefCell<Option<Rc<Node>>>, pub data: Vec<u8> }
#[inline(never)]
fn make_node(n: usize) -> Rc<Node> { Rc::new(Node { next: RefCell::new(None), data: vec![7u8; n] }) }
#[unsafe(no_mangle)]
pub extern "C" fn leak(n: usize) -> usize {
    let a = make_node(n);
    let b = make_node(n);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    Rc::strong_count(&a)
}
