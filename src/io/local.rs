//! Local files: positioned reads (`pread`) by default, memory maps when asked for.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use super::{PathKind, RandomAccess, Storage};

/// The local filesystem. With `mmap`, files may also be mapped for zero-copy borrows; reads
/// still go through `pread`, so only borrowed bytes can fault.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalStorage {
    pub mmap: bool,
}

impl Storage for LocalStorage {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        let file = open_regular(path)?;
        let size = file.metadata()?.len();
        Ok(Arc::new(LocalFile { file, size, mmap: self.mmap, map: OnceLock::new() }))
    }

    fn kind(&self, path: &Path) -> Option<PathKind> {
        Some(match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => PathKind::File,
            Ok(metadata) if metadata.is_dir() => PathKind::Directory,
            _ => PathKind::Other,
        })
    }

    fn maps(&self) -> bool {
        self.mmap
    }
}

/// An open local file.
#[derive(Debug)]
struct LocalFile {
    file: File,
    size: u64,
    mmap: bool,
    /// The mapping, made on the first `map` call.
    map: OnceLock<Mapping>,
}

impl RandomAccess for LocalFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        // A file that shrank since it was opened ends early: UnexpectedEof, never a signal.
        self.file.read_exact_at(buf, offset)
    }

    fn map(&self) -> io::Result<&[u8]> {
        if !self.mmap {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "memory maps were not asked for at open"));
        }
        if let Some(mapping) = self.map.get() {
            return Ok(mapping.bytes());
        }
        let mapping = Mapping::new(&self.file, self.size)?;
        // Another thread may have mapped it meanwhile: keep theirs, unmap ours.
        Ok(self.map.get_or_init(|| mapping).bytes())
    }

    #[cfg(target_os = "linux")]
    fn copy_to(&self, offset: u64, len: u64, out: &File, out_offset: u64) -> io::Result<bool> {
        let too_large = || io::Error::new(io::ErrorKind::InvalidInput, "offset past what the kernel accepts");
        let mut from = libc::loff_t::try_from(offset).map_err(|_| too_large())?;
        let mut to = libc::loff_t::try_from(out_offset).map_err(|_| too_large())?;
        let mut left = len;
        while left > 0 {
            let chunk = left.min(1 << 30) as usize;
            // SAFETY: both descriptors stay open for the call; the kernel advances the offsets.
            let copied = unsafe { libc::copy_file_range(self.file.as_raw_fd(), &mut from, out.as_raw_fd(), &mut to, chunk, 0) };
            if copied < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Kernels before 5.3 and some pairs of filesystems cannot: said before any byte moves.
                let cannot = matches!(error.raw_os_error(), Some(libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM));
                if cannot && left == len {
                    return Ok(false);
                }
                return Err(error);
            }
            if copied == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended before the bytes to copy"));
            }
            left -= copied as u64;
        }
        Ok(true)
    }
}

/// A private read-only mapping of a whole file.
#[derive(Debug)]
struct Mapping {
    /// `None` for an empty file: `mmap` refuses a zero length.
    region: Option<(NonNull<u8>, usize)>,
}

// SAFETY: the mapping is private and read-only; shared references to it may cross threads.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(file: &File, size: u64) -> io::Result<Mapping> {
        let len = usize::try_from(size).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        if len == 0 {
            return Ok(Mapping { region: None });
        }
        // SAFETY: a fresh private read-only mapping of a file we hold open; the result is checked.
        let address = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(address.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(Mapping { region: Some((start, len)) })
    }

    fn bytes(&self) -> &[u8] {
        match self.region {
            // SAFETY: the mapping covers `len` readable bytes until `drop`.
            Some((start, len)) => unsafe { std::slice::from_raw_parts(start.as_ptr(), len) },
            None => &[],
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some((start, len)) = self.region {
            // SAFETY: unmapping exactly the region `new` mapped, once.
            unsafe { libc::munmap(start.as_ptr().cast(), len) };
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
