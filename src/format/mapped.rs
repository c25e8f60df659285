//! A read-only memory map of a whole file.
//!
//! Mapping instead of reading means that opening a checkpoint touches only the pages it looks at:
//! the footer, the index block, one data block and the object graph's bytes.
//! Like every reader built on `mmap`, it assumes nobody truncates the file while it is open.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;

/// The bytes of one file, mapped read-only for as long as the value lives.
#[derive(Debug)]
pub struct MappedFile {
    /// `None` for an empty file: `mmap` refuses a zero length.
    map: Option<(NonNull<u8>, usize)>,
}

// SAFETY: the mapping is private, read-only and never changed after creation, so shared
// references to its bytes may cross threads.
unsafe impl Send for MappedFile {}
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Maps `path`; fails for anything that is not a readable regular file.
    pub fn open(path: &Path) -> io::Result<MappedFile> {
        let file = open_regular(path)?;
        let metadata = file.metadata()?;
        let len = usize::try_from(metadata.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: a fresh private read-only mapping of a file we hold open; the result is checked.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(address.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(MappedFile { map: Some((start, len)) })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self.map {
            // SAFETY: the mapping covers `len` readable bytes until `drop`.
            Some((start, len)) => unsafe { std::slice::from_raw_parts(start.as_ptr(), len) },
            None => &[],
        }
    }
}

/// Opens `path` for reading only if it is a regular file. Its type is checked before the open,
/// so a device planted in a checkpoint folder is never opened, and the open does not block, so
/// a FIFO swapped in meanwhile cannot hang the caller; the type is checked again after.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if let Some((start, len)) = self.map {
            // SAFETY: unmapping exactly the region `open` mapped, once.
            unsafe {
                libc::munmap(start.as_ptr().cast(), len);
            }
        }
    }
}
