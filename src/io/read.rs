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
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot allocate {len} bytes")))?;
    bytes.resize(len, 0);
    file.read_exact_at(offset, &mut bytes)?;
    Ok(bytes)
}
