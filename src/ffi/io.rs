//! Open options: memory maps, and the caller's own storage (as SQLite's VFS lets its host
//! supply file reads). The callbacks become a [`Storage`] the rest of the library reads through.

use std::ffi::{c_char, c_void, CStr, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use super::error::{ckview_error, report};
use super::status::ckview_status::{self, *};
use crate::io::{CallerError, Confined, LocalStorage, RandomAccess, Storage};

/// Open flag: memory-map data shards so that `ckview_tensor_borrow` can hand out their bytes
/// without a copy. Off by default because a mapped page that cannot be read (a failing disk, a
/// network filesystem, a file truncated or rewritten in place under the open view) kills the
/// process with SIGBUS instead of returning an error. Reads never go through the map.
pub const CKVIEW_OPEN_MMAP: u32 = 1;

/// Open flag: open nothing outside the directory of `save_path` (the path itself when it is a
/// directory). A `checkpoint` state file may name any prefix, an absolute path or `../..`, and
/// TensorFlow follows it; with this flag such a prefix is not opened, and the open fails with
/// `CKVIEW_NOT_FOUND`. For checkpoints from strangers. Symbolic links are still followed.
pub const CKVIEW_OPEN_CONFINE: u32 = 2;

/// Every flag this version knows.
const KNOWN_FLAGS: u32 = CKVIEW_OPEN_MMAP | CKVIEW_OPEN_CONFINE;

/// The caller's storage: how ckview opens, sizes, reads and closes the files of a checkpoint.
/// Every callback takes the `io_userdata` of the options first and returns 0 on success, or a
/// nonzero code of the caller's choosing (an errno, say), which the failing ckview call returns
/// as `CKVIEW_IO_ERROR` with that code in its error (`ckview_error_callback_code`).
///
/// The callbacks may be called from any thread that calls ckview with the view or reader, at
/// the same time, and must be safe for that; also from a helper thread that a ckview call
/// starts and joins before it returns (a read of 16 MiB or more is made in two halves at
/// once). They run synchronously, inside the ckview call.
/// The table and `io_userdata` must stay valid until the view or reader is freed; each file
/// opened is closed exactly once, at the latest by then (ckview closes shards it has not used
/// lately, to bound the number of open files, and opens them again when needed).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ckview_io_methods {
    /// Opens the file at `path` (`path_len` bytes, not NUL-terminated; a path inside the
    /// checkpoint, such as `dir/ckpt-1.index`), writing an opaque handle to `*file_out`. A file
    /// that does not exist is an error like any other: ckview then tries the next path form.
    pub open: Option<unsafe extern "C" fn(userdata: *mut c_void, path: *const c_char, path_len: usize, file_out: *mut *mut c_void) -> i32>,
    /// Writes the file's size in bytes to `*size_out`.
    pub size: Option<unsafe extern "C" fn(userdata: *mut c_void, file: *mut c_void, size_out: *mut u64) -> i32>,
    /// Fills all `length` bytes of `buffer` with the file's bytes at `offset`; a file that ends
    /// first is a failure.
    pub read: Option<unsafe extern "C" fn(userdata: *mut c_void, file: *mut c_void, offset: u64, buffer: *mut c_void, length: usize) -> i32>,
    /// Closes the file. May be NULL when there is nothing to close.
    pub close: Option<unsafe extern "C" fn(userdata: *mut c_void, file: *mut c_void)>,
}

/// How to open a checkpoint: `flags` (`CKVIEW_OPEN_MMAP`, `CKVIEW_OPEN_CONFINE`, or 0), and `io` with its
/// `io_userdata` for the caller's own storage (NULL: the local filesystem). Zero-initialised
/// options mean the defaults.
#[repr(C)]
pub struct ckview_open_options {
    pub flags: u32,
    pub io: *const ckview_io_methods,
    pub io_userdata: *mut c_void,
}

/// The caller's callbacks as a storage.
#[derive(Clone, Copy)]
struct CallerStorage {
    open: unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut *mut c_void) -> i32,
    size: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut u64) -> i32,
    read: unsafe extern "C" fn(*mut c_void, *mut c_void, u64, *mut c_void, usize) -> i32,
    close: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    userdata: *mut c_void,
}

// SAFETY: the header requires the callbacks and their userdata to be safe to call from any
// thread, at the same time.
unsafe impl Send for CallerStorage {}
unsafe impl Sync for CallerStorage {}

impl std::fmt::Debug for CallerStorage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CallerStorage")
    }
}

fn caller_error(what: &str, path: &Path, code: i32) -> io::Error {
    io::Error::other(CallerError { code, message: format!("the caller's {what} callback failed for {}", path.display()) })
}

impl Storage for CallerStorage {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        let bytes = path.as_os_str().as_bytes();
        let mut handle = std::ptr::null_mut();
        // SAFETY: the caller's callback, called as the header describes.
        let code = unsafe { (self.open)(self.userdata, bytes.as_ptr().cast(), bytes.len(), &mut handle) };
        if code != 0 {
            return Err(caller_error("open", path, code));
        }
        let mut file = CallerFile { storage: *self, handle, size: 0, path: path.display().to_string() };
        let mut size = 0u64;
        // SAFETY: as above, on the handle the caller's open returned.
        match unsafe { (self.size)(self.userdata, handle, &mut size) } {
            0 => file.size = size,
            code => return Err(caller_error("size", path, code)), // `file` drops: closed
        }
        Ok(Arc::new(file))
    }
}

/// A file the caller's storage opened; closed when dropped.
struct CallerFile {
    storage: CallerStorage,
    handle: *mut c_void,
    size: u64,
    path: String,
}

// SAFETY: as for `CallerStorage`: the header requires thread-safe callbacks.
unsafe impl Send for CallerFile {}
unsafe impl Sync for CallerFile {}

impl std::fmt::Debug for CallerFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "CallerFile({})", self.path)
    }
}

impl RandomAccess for CallerFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: the caller's callback, writing at most `buf.len()` bytes into `buf`.
        match unsafe { (self.storage.read)(self.storage.userdata, self.handle, offset, buf.as_mut_ptr().cast(), buf.len()) } {
            0 => Ok(()),
            code => Err(caller_error("read", Path::new(&self.path), code)),
        }
    }
}

impl Drop for CallerFile {
    fn drop(&mut self) {
        if let Some(close) = self.storage.close {
            // SAFETY: the handle the caller's open returned, closed once.
            unsafe { close(self.storage.userdata, self.handle) };
        }
    }
}

/// The path and storage an open call names, or the status it fails with.
pub(crate) struct OpenRequest<'p> {
    pub path: &'p Path,
    pub storage: Arc<dyn Storage>,
}

impl OpenRequest<'_> {
    /// Checks the arguments shared by `ckview_open_with` and `ckview_reader_open_with`.
    pub(crate) unsafe fn new<'p>(
        function: &str,
        save_path: *const c_char,
        options: *const ckview_open_options,
        error_out: *mut *mut ckview_error,
    ) -> Result<OpenRequest<'p>, ckview_status> {
        if save_path.is_null() {
            return Err(report(error_out, CKVIEW_INVALID_ARGUMENT, &format!("{function}: save_path must not be NULL")));
        }
        // SAFETY: a NUL-terminated string that outlives the call, by contract.
        let path = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(save_path) }.to_bytes()));
        // SAFETY: NULL or readable options, by contract.
        let Some(options) = (unsafe { options.as_ref() }) else {
            return Ok(OpenRequest { path, storage: Arc::new(LocalStorage::default()) });
        };
        let invalid = |message: &str| report(error_out, CKVIEW_INVALID_ARGUMENT, &format!("{function}: {message}"));
        if options.flags & !KNOWN_FLAGS != 0 {
            return Err(invalid(&format!("unknown flags {:#x}", options.flags & !KNOWN_FLAGS)));
        }
        let mmap = options.flags & CKVIEW_OPEN_MMAP != 0;
        let confine = |storage: Arc<dyn Storage>| -> Arc<dyn Storage> {
            match options.flags & CKVIEW_OPEN_CONFINE {
                0 => storage,
                _ => Arc::new(Confined::around(storage, path)),
            }
        };
        // SAFETY: NULL or a readable table, by contract.
        let Some(io) = (unsafe { options.io.as_ref() }) else {
            return Ok(OpenRequest { path, storage: confine(Arc::new(LocalStorage { mmap })) });
        };
        if mmap {
            return Err(invalid("CKVIEW_OPEN_MMAP maps local files; it cannot be combined with the caller's io"));
        }
        let (Some(open), Some(size), Some(read)) = (io.open, io.size, io.read) else {
            return Err(invalid("the io table needs open, size and read"));
        };
        let storage = CallerStorage { open, size, read, close: io.close, userdata: options.io_userdata };
        Ok(OpenRequest { path, storage: confine(Arc::new(storage)) })
    }
}
