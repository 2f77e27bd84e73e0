//! The error of [`Symbolizer::new`](crate::Symbolizer::new).

/// Errors from [`Symbolizer::new`](crate::Symbolizer::new).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input does not start with the wasm magic number.
    #[error("not a WebAssembly module: the input does not start with the `\\0asm` magic number")]
    NotWasm,
    /// The input is a component, not a core module.
    #[error(
        "not a core WebAssembly module: components are not supported, symbolize the core module inside"
    )]
    Component,
    /// A separate debug file (`--debug-file`) that is not a build of the module.
    #[error("{0}")]
    DebugMismatch(String),
    /// The module could not be parsed.
    #[error("malformed WebAssembly module at byte offset {offset:#x}: {message}")]
    Malformed {
        /// Byte offset in the module file where parsing failed.
        offset: usize,
        /// What went wrong.
        message: String,
    },
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::Malformed {
            offset: e.offset(),
            message: e.message().to_string(),
        }
    }
}
