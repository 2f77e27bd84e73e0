//! `wasmleak run`: the same engine and WASI host as `check`, nothing tracked.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use wasmleak_host::{plain_run, Exit, StackMode, Stdout};

use crate::common::{load, GuestOpts};

/// Run a module in the embedded wasmtime with nothing tracked (the baseline for `check`).
#[derive(Args)]
pub struct Opts {
    /// The module (.wasm)
    module: PathBuf,
    #[command(flatten)]
    guest: GuestOpts,
}

impl Opts {
    pub fn run(self) -> Result<i32> {
        let m = load(&self.module)?;
        let cfg = self.guest.config(&self.module, Stdout::Inherit, StackMode::Off)?;
        let (exit, guest) = plain_run(&m.bytes, &cfg)?;
        // The process ends next: the guest's memory goes back to the system whole (as `check` leaves it).
        std::mem::forget(guest);
        Ok(match exit {
            Exit::Returned => 0,
            Exit::Code(c) => c,
            other => {
                eprintln!("wasmleak: the guest {other}");
                2
            }
        })
    }
}
