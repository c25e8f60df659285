//! The `.index` file: a LevelDB-style sorted string table (FORMAT.md section 2).
//!
//! A block is validated as a whole when it is read (checksum, restart array, every entry, strictly
//! increasing keys), so that lookups and scans over it never meet malformed bytes. Opening reads the
//! footer and the index block only; a lookup then reads the one data block that can hold the key.
//! Every byte comes through the I/O layer into memory the table owns.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::coding::{fixed32_at, fixed64_at, Cursor};
use super::crc;
use super::error::{FormatError, Result};
use crate::io::{read_to_vec, RandomAccess, Storage};

const FOOTER_LEN: usize = 48;
const TABLE_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// Compression byte and masked crc32c after every block.
const TRAILER_LEN: u64 = 5;
/// A snappy block's declared uncompressed length is refused past this many times its compressed
/// size (snappy's best ratio on real data is far below; its format allows about 21x, a run
/// of copies) ...
const SNAPPY_MAX_RATIO: u64 = 32;
/// ... or past this many bytes, whatever the ratio: a crafted length must not claim memory.
const SNAPPY_MAX_BLOCK: u64 = 64 << 20;

/// Where a block lives in the file; `size` excludes the trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    fn decode(cursor: &mut Cursor<'_>) -> Option<BlockHandle> {
        Some(BlockHandle { offset: cursor.varint64()?, size: cursor.varint64()? })
    }
}

/// One entry of a block: where its key delta and value lie.
#[derive(Clone, Copy, Debug)]
struct EntryLayout {
    shared: usize,
    key_delta: (usize, usize),
    value: (usize, usize),
    end: usize,
}

/// A checked block: its entry region and its restart array (fixed32 offsets), both borrowed
/// from the block's bytes in memory.
#[derive(Debug)]
pub struct Block<'a> {
    entries: &'a [u8],
    restarts: &'a [u8],
}

/// Why a block is malformed; the table adds the file and block to it.
type BlockResult<T> = std::result::Result<T, String>;

impl<'a> Block<'a> {
    /// Checks the restart array and every entry of `contents` (trailer excluded).
    pub fn parse(contents: &'a [u8]) -> BlockResult<Block<'a>> {
        let block = Block::split(contents)?;
        block.check_entries()?;
        Ok(block)
    }

    /// Splits `contents` into entries and restart array, checking only that the count fits.
    fn split(contents: &'a [u8]) -> BlockResult<Block<'a>> {
        let len = contents.len();
        if len < 4 {
            return Err(format!("block of {len} bytes is shorter than its restart count"));
        }
        let num_restarts = fixed32_at(contents, len - 4).unwrap_or(0) as usize;
        if num_restarts > (len - 4) / 4 {
            return Err(format!("{num_restarts} restart points do not fit in a block of {len} bytes"));
        }
        let region_len = len - 4 - 4 * num_restarts;
        Ok(Block { entries: &contents[..region_len], restarts: &contents[region_len..len - 4] })
    }

    fn num_restarts(&self) -> usize {
        self.restarts.len() / 4
    }

    /// Offset of restart point `index` (which must exist).
    fn restart(&self, index: usize) -> usize {
        fixed32_at(self.restarts, 4 * index).expect("index below num_restarts") as usize
    }

    /// Walks every entry once: bounds, shared prefixes, key order and restart points.
    fn check_entries(&self) -> BlockResult<()> {
        if self.entries.is_empty() {
            // What writers emit for an empty block: one restart point, at offset 0 (or none).
            return match self.num_restarts() {
                0 => Ok(()),
                1 if self.restart(0) == 0 => Ok(()),
                count => Err(format!("a block without entries has {count} restart points")),
            };
        }
        if self.num_restarts() == 0 || self.restart(0) != 0 {
            return Err("the first restart point is not the first entry".into());
        }
        // One key buffer, updated in place: each entry costs its own bytes, never the length of
        // the prefix it shares, so a block of ever longer keys is checked in linear time.
        let mut key: Vec<u8> = Vec::new();
        let mut offset = 0usize;
        let mut next_restart = 0usize;
        let mut first = true;
        while offset < self.entries.len() {
            let is_restart = next_restart < self.num_restarts() && self.restart(next_restart) == offset;
            let layout = self.entry_at(offset, key.len())?;
            if is_restart {
                if layout.shared != 0 {
                    return Err(format!("restart point at offset {offset} shares a key prefix"));
                }
                next_restart += 1;
            }
            // The new key is key[..shared] + delta: it sorts after the old one exactly when
            // delta sorts after the old key's rest (an empty rest sorts first).
            let delta = self.slice(layout.key_delta);
            if !first && delta <= &key[layout.shared..] {
                return Err(format!("keys are not strictly increasing at offset {offset}"));
            }
            key.truncate(layout.shared);
            key.extend_from_slice(delta);
            first = false;
            offset = layout.end;
        }
        if next_restart != self.num_restarts() {
            return Err("a restart point is not at an entry boundary".into());
        }
        Ok(())
    }

    /// Decodes the entry header at `offset`, checking it against the previous key's length.
    fn entry_at(&self, offset: usize, previous_key_len: usize) -> BlockResult<EntryLayout> {
        let mut cursor = Cursor::new(&self.entries[offset..]);
        let bad = || format!("malformed entry header at offset {offset}");
        let shared = cursor.varint32().ok_or_else(bad)? as usize;
        let non_shared = cursor.varint32().ok_or_else(bad)? as usize;
        let value_len = cursor.varint32().ok_or_else(bad)? as usize;
        if shared > previous_key_len {
            return Err(format!("entry at offset {offset} shares {shared} bytes of a {previous_key_len}-byte key"));
        }
        let key_start = offset + cursor.position();
        let value_start = key_start + non_shared;
        let end = value_start
            .checked_add(value_len)
            .filter(|&end| end <= self.entries.len())
            .ok_or_else(|| format!("entry at offset {offset} runs past the end of its block"))?;
        Ok(EntryLayout { shared, key_delta: (key_start, value_start), value: (value_start, end), end })
    }

    fn slice(&self, (start, end): (usize, usize)) -> &'a [u8] {
        &self.entries[start..end]
    }

    /// The full key of the entry that starts a restart interval.
    fn restart_key(&self, restart: usize) -> &'a [u8] {
        let layout = self.entry_at(self.restart(restart), 0).expect("checked by parse");
        self.slice(layout.key_delta)
    }

    /// Iterates from the first entry.
    pub fn iter(&self) -> BlockIter<'_, 'a> {
        BlockIter { block: self, offset: 0, entry: 0, key: Vec::new(), value: &[] }
    }

    /// The full key of the entry at `offset` (an entry boundary), rebuilt from the restart point
    /// before it: the cost is one restart interval, whatever the key's length.
    fn key_at(&self, offset: usize) -> Vec<u8> {
        // The number of restart points at or before `offset`; the first is at 0.
        let (mut low, mut high) = (0usize, self.num_restarts());
        while low < high {
            let middle = low + (high - low) / 2;
            if self.restart(middle) <= offset {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let start = if low == 0 { 0 } else { self.restart(low - 1) };
        let mut iter = BlockIter { block: self, offset: start, entry: 0, key: Vec::new(), value: &[] };
        while iter.advance() && iter.entry < offset {}
        iter.key
    }

    /// Positions an iterator on the first entry whose key is `>= target`, using a binary search
    /// over the restart points and a short scan inside one restart interval.
    pub fn seek(&self, target: &[u8]) -> BlockIter<'_, 'a> {
        // Last restart whose key is < target: the target cannot start before it.
        let (mut low, mut high) = (0usize, self.num_restarts());
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            match self.restart_key(middle).cmp(target) {
                Ordering::Less => low = middle,
                _ => high = middle,
            }
        }
        let start = if low < self.num_restarts() { self.restart(low) } else { self.entries.len() };
        BlockIter { block: self, offset: start, entry: start, key: Vec::new(), value: &[] }
    }
}

/// A cursor over the entries of a checked block; `next` advances, `key`/`value` read the current.
pub struct BlockIter<'b, 'a> {
    block: &'b Block<'a>,
    /// Where the next entry starts.
    offset: usize,
    /// Where the current entry starts.
    entry: usize,
    key: Vec<u8>,
    value: &'a [u8],
}

impl<'b, 'a> BlockIter<'b, 'a> {
    /// Moves to the next entry; `false` at the end of the block.
    pub fn advance(&mut self) -> bool {
        if self.offset >= self.block.entries.len() {
            return false;
        }
        let layout = self.block.entry_at(self.offset, self.key.len()).expect("checked by parse");
        self.key.truncate(layout.shared);
        self.key.extend_from_slice(self.block.slice(layout.key_delta));
        self.value = self.block.slice(layout.value);
        self.entry = self.offset;
        self.offset = layout.end;
        true
    }

    /// Advances until the current key is `>= target`; `false` if the block ends first.
    pub fn advance_to(&mut self, target: &[u8]) -> bool {
        while self.advance() {
            if self.key.as_slice() >= target {
                return true;
            }
        }
        false
    }

    /// Key of the current entry.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Value of the current entry, borrowed from the block.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
}

/// Decompresses a snappy (raw format) block: its declared length is checked before anything is
/// allocated (at most `SNAPPY_MAX_RATIO` times the compressed size and `SNAPPY_MAX_BLOCK` bytes),
/// and the output is exactly that long or refused.
pub fn decompress_snappy(compressed: &[u8]) -> BlockResult<Vec<u8>> {
    let declared = snap::raw::decompress_len(compressed).map_err(|error| format!("snappy block: {error}"))? as u64;
    let limit = (compressed.len() as u64).saturating_mul(SNAPPY_MAX_RATIO).min(SNAPPY_MAX_BLOCK);
    if declared > limit {
        return Err(format!(
            "snappy block of {} bytes declares {declared} bytes uncompressed (at most {limit} are accepted)",
            compressed.len()
        ));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(declared as usize).map_err(|_| format!("cannot allocate {declared} bytes for a snappy block"))?;
    out.resize(declared as usize, 0);
    let written = snap::raw::Decoder::new()
        .decompress(compressed, &mut out)
        .map_err(|error| format!("snappy block does not decompress: {error}"))?;
    if written != out.len() {
        return Err(format!("snappy block decompresses to {written} bytes, not the {declared} it declares"));
    }
    Ok(out)
}

/// Data blocks kept in memory after their first read, at most this many bytes of them.
const BLOCK_CACHE_BYTES: usize = 8 << 20;

/// An open `.index` file (or V1 checkpoint file): its index block in memory, data blocks read
/// on demand and kept in a bounded cache. Memory is proportional to the index block, never to
/// the lengths its prefix-compressed keys expand to.
#[derive(Debug)]
pub struct Table {
    path: PathBuf,
    file: Arc<dyn RandomAccess>,
    /// The index block's contents, checked: its keys are the separators of the data blocks.
    index: Vec<u8>,
    /// For each data block in key order: where its separator's entry starts in `index`, and
    /// where the block is.
    blocks: Vec<(u32, BlockHandle)>,
    cache: Mutex<BlockCache>,
}

/// Checked data blocks by ordinal, evicted oldest first past `BLOCK_CACHE_BYTES`.
#[derive(Debug, Default)]
struct BlockCache {
    blocks: HashMap<usize, Arc<Vec<u8>>>,
    order: VecDeque<usize>,
    bytes: usize,
}

impl BlockCache {
    fn insert(&mut self, ordinal: usize, contents: Arc<Vec<u8>>) {
        if self.blocks.contains_key(&ordinal) || contents.len() > BLOCK_CACHE_BYTES {
            return;
        }
        self.bytes += contents.len();
        self.blocks.insert(ordinal, contents);
        self.order.push_back(ordinal);
        while self.bytes > BLOCK_CACHE_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(evicted) = self.blocks.remove(&oldest) {
                self.bytes -= evicted.len();
            }
        }
    }
}

impl Table {
    /// Opens the table at `path` in `storage`: reads its footer and index block.
    pub fn open(storage: &dyn Storage, path: &Path) -> Result<Table> {
        let file = storage.open(path).map_err(|source| FormatError::Io { path: path.to_path_buf(), source })?;
        Table::from_file(path, file)
    }

    /// Reads the footer and index block of an open file.
    pub fn from_file(path: &Path, file: Arc<dyn RandomAccess>) -> Result<Table> {
        let mut table = Table { path: path.to_path_buf(), file, index: Vec::new(), blocks: Vec::new(), cache: Mutex::default() };
        let index_handle = table.read_footer()?;
        table.index = table.read_block(index_handle, "index block")?;
        let index = Block::split(&table.index).map_err(|reason| table.corrupt(format!("index block: {reason}")))?;
        let mut blocks = Vec::new();
        let mut iter = index.iter();
        while iter.advance() {
            let handle = BlockHandle::decode(&mut Cursor::new(iter.value()))
                .ok_or_else(|| table.corrupt("index entry holds no block handle".into()))?;
            blocks.push((iter.entry as u32, handle));
        }
        table.blocks = blocks;
        Ok(table)
    }

    /// The file this table was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size of that file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file.size()
    }

    fn corrupt(&self, reason: String) -> FormatError {
        FormatError::CorruptTable { path: self.path.clone(), reason }
    }

    fn io_error(&self, source: std::io::Error) -> FormatError {
        FormatError::Io { path: self.path.clone(), source }
    }

    /// Checks the magic number and returns the index block's handle.
    fn read_footer(&self) -> Result<BlockHandle> {
        let size = self.file.size();
        let not_a_table = |reason: String| FormatError::NotATable { path: self.path.clone(), reason };
        if size < FOOTER_LEN as u64 {
            return Err(not_a_table(format!("{size} bytes is shorter than the 48-byte footer")));
        }
        let footer = read_to_vec(&*self.file, size - FOOTER_LEN as u64, FOOTER_LEN as u64).map_err(|e| self.io_error(e))?;
        if fixed64_at(&footer, FOOTER_LEN - 8) != Some(TABLE_MAGIC) {
            return Err(not_a_table("the footer lacks the table magic number".into()));
        }
        let mut cursor = Cursor::new(&footer[..FOOTER_LEN - 8]);
        let _metaindex = BlockHandle::decode(&mut cursor);
        BlockHandle::decode(&mut cursor).ok_or_else(|| self.corrupt("footer holds no index handle".into()))
    }

    /// Reads the block at `handle`, verifies its checksum, and checks it in full; returns its
    /// contents (trailer removed).
    fn read_block(&self, handle: BlockHandle, what: &str) -> Result<Vec<u8>> {
        let size = self.file.size();
        let with_trailer = handle.size.checked_add(TRAILER_LEN).filter(|&len| handle.offset.checked_add(len).is_some_and(|end| end <= size));
        let Some(with_trailer) = with_trailer else {
            return Err(self.corrupt(format!(
                "{what} at offset {} of {} bytes runs past the end of the {size}-byte file",
                handle.offset, handle.size
            )));
        };
        let mut bytes = read_to_vec(&*self.file, handle.offset, with_trailer).map_err(|e| self.io_error(e))?;
        let contents_end = handle.size as usize;
        let compression = bytes[contents_end];
        let stored = fixed32_at(&bytes, contents_end + 1).expect("the trailer was read");
        let computed = crc::extend(crc::crc32c(&bytes[..contents_end]), &[compression]);
        if crc::unmask(stored) != computed {
            return Err(FormatError::ChecksumMismatch {
                path: self.path.clone(),
                what: format!("{what} at offset {}", handle.offset),
                stored: crc::unmask(stored),
                computed,
            });
        }
        match compression {
            0 => bytes.truncate(contents_end),
            // The checksum above covered the compressed bytes, as TensorFlow's does.
            1 => bytes = decompress_snappy(&bytes[..contents_end]).map_err(|reason| self.corrupt(format!("{what} at offset {}: {reason}", handle.offset)))?,
            other => return Err(self.corrupt(format!("{what} has unknown compression type {other}"))),
        }
        Block::parse(&bytes).map_err(|reason| self.corrupt(format!("{what}: {reason}")))?;
        Ok(bytes)
    }

    fn index_block(&self) -> Block<'_> {
        Block::split(&self.index).expect("checked when the table was opened")
    }

    /// Data block `ordinal`, read and checked, its keys lying after the separator `lower` of the
    /// block before it and up to its own separator `upper`, so that a lookup (which picks the
    /// block by separator) and a scan agree on every key. Each comparison costs at most the
    /// length of a key stored in this block, so checking every block is linear in the file.
    fn load_block(&self, ordinal: usize, lower: Option<&[u8]>, upper: &[u8]) -> Result<Arc<Vec<u8>>> {
        let contents = self.read_block(self.blocks[ordinal].1, "data block")?;
        let block = Block::split(&contents).expect("checked by read_block");
        let mut iter = block.iter();
        if iter.advance() {
            if lower.is_some_and(|lower| iter.key() <= lower) {
                return Err(self.corrupt(format!("data block {ordinal} starts at or before the previous block's separator")));
            }
            while iter.advance() {}
            if iter.key() > upper {
                return Err(self.corrupt(format!("data block {ordinal} holds keys beyond its index separator")));
            }
        }
        Ok(Arc::new(contents))
    }

    /// Data block `ordinal`, from the cache or read.
    fn data_block(&self, ordinal: usize) -> Result<Arc<Vec<u8>>> {
        if let Some(cached) = self.cache.lock().unwrap_or_else(|poison| poison.into_inner()).blocks.get(&ordinal) {
            return Ok(Arc::clone(cached));
        }
        let index = self.index_block();
        let lower = (ordinal > 0).then(|| index.key_at(self.blocks[ordinal - 1].0 as usize));
        let upper = index.key_at(self.blocks[ordinal].0 as usize);
        let contents = self.load_block(ordinal, lower.as_deref(), &upper)?;
        self.cache.lock().unwrap_or_else(|poison| poison.into_inner()).insert(ordinal, Arc::clone(&contents));
        Ok(contents)
    }

    /// The value stored under exactly `key`, if any. Reads at most one data block.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // The first separator >= key names the only block that can hold it.
        let index = self.index_block();
        let mut separator = index.seek(key);
        if !separator.advance_to(key) {
            return Ok(None);
        }
        let ordinal = self.blocks.partition_point(|&(offset, _)| (offset as usize) < separator.entry);
        let contents = self.data_block(ordinal)?;
        let block = Block::split(&contents).expect("checked when read");
        let mut iter = block.seek(key);
        if iter.advance_to(key) && iter.key() == key {
            return Ok(Some(iter.value().to_vec()));
        }
        Ok(None)
    }

    /// Calls `visit` with each (key, value) from the first key `>= start` on, in key order, until
    /// it returns `false` or the table ends: an ordered scan from one lookup, reading only the
    /// blocks it walks through (from the cache, as `get` does).
    pub fn scan_from(&self, start: &[u8], mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool>) -> Result<()> {
        let index = self.index_block();
        let mut separator = index.seek(start);
        if !separator.advance_to(start) {
            return Ok(());
        }
        let first = self.blocks.partition_point(|&(offset, _)| (offset as usize) < separator.entry);
        for ordinal in first..self.blocks.len() {
            let contents = self.data_block(ordinal)?;
            let block = Block::split(&contents).expect("checked when read");
            let mut iter = if ordinal == first { block.seek(start) } else { block.iter() };
            while iter.advance() {
                if iter.key() >= start && !visit(iter.key(), iter.value())? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Calls `visit` with every (key, value) of the table in key order. Each block's keys are
    /// checked to lie between the separators around it, so they increase across blocks too.
    /// Blocks are read one at a time and not cached: a scan holds one block in memory.
    pub fn for_each(&self, visit: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        self.for_each_in(0..self.blocks.len(), visit)
    }

    /// The number of data blocks: [`Table::for_each_in`] takes ranges of them.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// [`Table::for_each`] over the data blocks `blocks` only, so that two threads can scan
    /// the two halves of a table.
    pub fn for_each_in(&self, blocks: std::ops::Range<usize>, mut visit: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        let index = self.index_block();
        // Two cursors over the separators, the second one block behind: each key is rebuilt
        // once, so walking the index stays linear however long its shared prefixes grow.
        let (mut upper, mut lower) = (index.iter(), index.iter());
        for ordinal in 0..blocks.end.min(self.blocks.len()) {
            upper.advance();
            if ordinal > 0 {
                lower.advance();
            }
            if ordinal < blocks.start {
                continue;
            }
            let contents = self.load_block(ordinal, (ordinal > 0).then(|| lower.key()), upper.key())?;
            let block = Block::split(&contents).expect("checked when read");
            let mut iter = block.iter();
            while iter.advance() {
                visit(iter.key(), iter.value())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::writer::BlockBuilder;

    fn block_bytes(keys: &[&[u8]], restart_interval: usize) -> Vec<u8> {
        let mut builder = BlockBuilder::new(restart_interval);
        for key in keys {
            builder.add(key, &[key.len() as u8]);
        }
        builder.finish()
    }

    #[test]
    fn seek_finds_every_key_and_the_gaps_between() {
        let keys: Vec<Vec<u8>> = (0..40u8).map(|i| format!("key/{:03}", i * 2).into_bytes()).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        for interval in [1, 3, 16] {
            let bytes = block_bytes(&refs, interval);
            let block = Block::parse(&bytes).unwrap();
            for key in &refs {
                let mut iter = block.seek(key);
                assert!(iter.advance_to(key) && iter.key() == *key && iter.value() == [key.len() as u8]);
            }
            let mut between = block.seek(b"key/003");
            assert!(between.advance_to(b"key/003") && between.key() == b"key/004");
            assert!(!block.seek(b"zzz").advance_to(b"zzz"));
        }
    }

    #[test]
    fn malformed_blocks_are_refused() {
        let good = block_bytes(&[b"a", b"b", b"c"], 2);
        // Every truncation either parses to fewer entries or is refused; none panics.
        for length in 0..good.len() {
            let _ = Block::parse(&good[..length]);
        }
        let mut unsorted = block_bytes(&[b"a", b"b"], 1);
        unsorted[3] = b'z'; // the first key's byte: now "z" then "b"
        assert!(Block::parse(&unsorted).unwrap_err().contains("strictly increasing"));
        // No entries but two restart points.
        let empty_two = [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0];
        assert!(Block::parse(&empty_two).is_err());
        assert!(Block::parse(&[0, 0, 0, 0, 1, 0, 0, 0]).is_ok());
    }
}
