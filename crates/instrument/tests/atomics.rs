//! The experiments' scratch instance runs a threaded module's atomics as they behave on one thread
//! (`probe.rs`, `plain_atomic`): exact results of each kind of access on a shared memory.

fn results(wat: &str, funcs: u32) -> Vec<i32> {
    let bytes = wat::parse_str(wat).unwrap();
    let calls: Vec<(u32, Vec<i32>)> = (0..funcs).map(|f| (f, vec![])).collect();
    wasmleak_instrument::scratch_calls(&bytes, &calls).unwrap().into_iter().map(|r| r.unwrap().unwrap()).collect()
}

#[test]
fn atomic_accesses_act_as_on_one_thread() {
    let got = results(
        r#"(module
          (memory 1 1 shared)
          ;; rmw.add returns the old value and stores the sum: 5 + 3
          (func (result i32)
            (i32.atomic.store (i32.const 100) (i32.const 5))
            (i32.mul (i32.atomic.rmw.add (i32.const 100) (i32.const 3)) (i32.const 100))
            (i32.add (i32.atomic.load (i32.const 100))))
          ;; a byte-wide compare-exchange compares the expected value cut to a byte: 0x17f matches 0x7f
          (func (result i32)
            (i32.store8 (i32.const 200) (i32.const 0x7f))
            (i32.wrap_i64 (i64.shl (i64.atomic.rmw8.cmpxchg_u (i32.const 200) (i64.const 0x17f) (i64.const 0x1234)) (i64.const 8)))
            (i32.add (i32.load8_u (i32.const 200))))
          ;; a compare-exchange that does not match leaves the memory
          (func (result i32)
            (i32.store (i32.const 300) (i32.const 7))
            (i32.mul (i32.atomic.rmw.cmpxchg (i32.const 300) (i32.const 8) (i32.const 9)) (i32.const 100))
            (i32.add (i32.load (i32.const 300))))
          ;; exchange, then 16-bit subtraction wrapping within its 16 bits
          (func (result i32)
            (drop (i32.atomic.rmw.xchg (i32.const 400) (i32.const 2)))
            (drop (i32.atomic.rmw16.sub_u (i32.const 400) (i32.const 3)))
            (i32.load (i32.const 400)))
          ;; i64 and/or/xor
          (func (result i32)
            (i64.atomic.store (i32.const 500) (i64.const 0xff00))
            (drop (i64.atomic.rmw.and (i32.const 500) (i64.const 0x0ff0)))
            (drop (i64.atomic.rmw.or (i32.const 500) (i64.const 0x1)))
            (drop (i64.atomic.rmw.xor (i32.const 500) (i64.const 0x3)))
            (i32.wrap_i64 (i64.atomic.load (i32.const 500))))
          ;; one thread never waits, and wakes no one
          (func (result i32)
            atomic.fence
            (i32.add
              (i32.mul (memory.atomic.wait32 (i32.const 600) (i32.const 0) (i64.const -1)) (i32.const 10))
              (memory.atomic.notify (i32.const 600) (i32.const 1)))))"#,
        6,
    );
    assert_eq!(got, vec![508, 0x7f34, 707, 0xffff, 0x0f02, 10]);
}
