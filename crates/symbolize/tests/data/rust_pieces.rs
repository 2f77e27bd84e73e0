// A static that rustc (LLVM's GlobalOpt) splits into pieces at -O2: its DWARF location is
// `DW_OP_addr A, DW_OP_piece 4, …` with the fields at addresses of their own.
#![no_std]

pub struct State {
    count: u32,
    flag: bool,
    total: u64,
    last: u32,
}

static mut STATE: State = State { count: 0, flag: false, total: 0, last: 0 };
static mut PAIR: (u32, u64) = (0, 0);

#[unsafe(no_mangle)]
pub extern "C" fn bump(v: u32) -> u32 {
    unsafe {
        STATE.count += 1;
        STATE.total += v as u64;
        STATE.last = v;
        if v > 100 {
            STATE.flag = true;
        }
        PAIR.0 = v;
        PAIR.1 += 1;
        STATE.count + STATE.last + PAIR.0
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn total() -> u64 {
    unsafe { STATE.total + if STATE.flag { 1 } else { 0 } + PAIR.1 }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
