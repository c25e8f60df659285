//! The I/O layer: how the library reaches the bytes of a checkpoint's files.
//!
//! Everything above this layer asks for a file's size and for bytes at an offset, never for a
//! pointer into a file, so that a file that fails or shrinks while it is open gives an error,
//! not a signal. Three kinds of storage implement it: local files read with positioned reads
//! (the default), local files that may also be memory-mapped (opt-in, for zero-copy borrows;
//! a mapped page that cannot be read is a `SIGBUS`, as SQLite's documentation warns), and the
//! caller's own storage (the C ABI's callbacks, object stores in the command line).

mod confined;
mod local;
mod read;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use confined::Confined;
pub use local::{open_regular, LocalStorage};
pub use read::read_to_vec;

/// What is at a path, as far as a storage can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    File,
    Directory,
    /// Nothing, or something that is neither (a device, a socket).
    Other,
}

/// Where the files of a checkpoint live. Shared between threads: every method may be called
/// from several threads at once.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Opens the file at `path` for reading. Called once per file, and again for a data shard
    /// that was closed to keep the number of open files bounded.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>>;

    /// What is at `path`, or `None` when this storage cannot tell (an object store has no
    /// directories): then a directory is recognised by the `checkpoint` file inside it.
    fn kind(&self, path: &Path) -> Option<PathKind> {
        let _ = path;
        None
    }

    /// Whether files of this storage can be memory-mapped (`RandomAccess::map` answers).
    fn maps(&self) -> bool {
        false
    }
}

/// One open file: its size, and its bytes at any offset. Shared between threads.
pub trait RandomAccess: Send + Sync + fmt::Debug {
    /// The file's size in bytes, as it was when opened.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes at `offset`; a file that ends first is an
    /// `io::ErrorKind::UnexpectedEof` error.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// The whole file mapped into memory, for storages that map (`Storage::maps`). The bytes
    /// stay valid for as long as this value lives.
    fn map(&self) -> io::Result<&[u8]> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this storage does not memory-map files"))
    }

    /// Copies `len` bytes at `offset` into `out` at `out_offset` inside the kernel, without
    /// passing them through this process's memory, where the storage can (local files on
    /// Linux: `copy_file_range(2)`). `Ok(false)`: it cannot, nothing was written, and the caller
    /// copies through a buffer. A file that ends first is an `UnexpectedEof` error.
    fn copy_to(&self, offset: u64, len: u64, out: &std::fs::File, out_offset: u64) -> io::Result<bool> {
        let _ = (offset, len, out, out_offset);
        Ok(false)
    }
}

/// An error the caller's storage reported, carrying the caller's own code (an errno, an
/// exception's id) so that it reaches the caller intact.
#[derive(Debug)]
pub struct CallerError {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for CallerError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for CallerError {}

/// The caller's code inside an I/O error, if the caller's storage made it.
pub fn caller_code(error: &io::Error) -> Option<i32> {
    error.get_ref().and_then(|inner| inner.downcast_ref::<CallerError>()).map(|caller| caller.code)
}
