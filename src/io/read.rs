//! Reading a range of a file into memory the library owns.

use std::io;

use super::RandomAccess;

/// The `len` bytes at `offset`, in a buffer reserved fallibly: a crafted length that the memory
/// limit cannot hold is an `OutOfMemory` error, not an abort. The caller bounds `len` by the
/// file's size first, so the buffer is never larger than the file.
pub fn read_to_vec(file: &dyn RandomAccess, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let end = offset.checked_add(len).filter(|&end| end <= file.size());
    if end.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("bytes {offset}..{} lie past the end of the {}-byte file", offset.saturating_add(len), file.size()),
        ));
    }
    let len = usize::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "range too large"))?;
    let mut bytes = zeroed(len).ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot allocate {len} bytes")))?;
    if len >= crate::threads::SPLIT_BYTES_FROM {
        // Two threads, half each: the page faults of the fresh buffer and the copy share two cores.
        let (front, back) = bytes.split_at_mut(len / 2);
        let back_offset = offset + front.len() as u64;
        let (front, back) = crate::threads::join(|| file.read_exact_at(offset, front), || file.read_exact_at(back_offset, back));
        front.and(back)?;
    } else {
        file.read_exact_at(offset, &mut bytes)?;
    }
    Ok(bytes)
}

/// Buffers from this size up are asked to be backed by transparent huge pages.
const HUGE_PAGE_HINT_FROM: usize = 4 << 20;

/// `len` zero bytes, or `None` when the allocator refuses. Zeroed by the allocator: a large
/// block comes fresh from the kernel, already zero, so nothing is written twice before the
/// read fills it. A large block is also hinted to the kernel as one for huge pages: reading the
/// 37 MB object graph of a 300k-node model into 4 KiB pages faults 9,000 times, about as long
/// as decoding it.
fn zeroed(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: the layout's size is not zero.
    let data = unsafe { std::alloc::alloc_zeroed(layout) };
    if data.is_null() {
        return None;
    }
    if len >= HUGE_PAGE_HINT_FROM {
        hint_huge_pages(data, len);
    }
    // SAFETY: allocated by the global allocator with the layout of `[u8; len]`, every byte
    // initialised (zero); the Vec takes ownership and frees it with the same layout.
    Some(unsafe { Vec::from_raw_parts(data, len, len) })
}

/// Asks Linux to back the whole pages inside `[data, data + len)` with huge pages. A hint: any
/// failure is ignored, and the memory stays the caller's either way.
#[cfg(all(target_os = "linux", not(miri)))]
fn hint_huge_pages(data: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    let start = (data as usize).next_multiple_of(PAGE);
    let end = (data as usize + len) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation this process owns; MADV_HUGEPAGE changes
        // how pages are backed, never their contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn hint_huge_pages(_data: *mut u8, _len: usize) {}
