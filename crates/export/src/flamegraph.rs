use std::io::{self, Write};

use wasmleak_heap::{Analysis, Snapshot};

pub fn write(_snap: &Snapshot, _analysis: &Analysis, _out: &mut dyn Write) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "not written yet"))
}

pub fn write_collapsed(_snap: &Snapshot, _analysis: &Analysis, _out: &mut dyn Write) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "not written yet"))
}
