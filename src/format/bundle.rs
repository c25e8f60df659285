//! A tensor bundle: the `.index` table, its header, and the data shards it points into
//! (FORMAT.md sections 3-5).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost::Message;

use super::crc;
use super::entry::TensorEntry;
use super::error::{FormatError, Result};
use super::locate::locate;
use super::proto::{bundle_header_proto, BundleHeaderProto, DataType};
use super::shards::Shards;
use super::slice_key::readable_key;
use super::string_tensor::{decode_strings, StringPayloadError};
use super::table::Table;
use super::variant_tensor::decode_variants;
use crate::io::{read_to_vec, LocalStorage, RandomAccess, Storage};

/// The bundle format version this reader implements (TensorFlow's consumer version).
const CONSUMER_VERSION: i32 = 1;
/// Data files are named with five digits; more shards than that is a crafted header. Open files
/// and maps are bounded separately (`shards.rs`), so the count itself costs a few bytes a shard.
const MAX_SHARDS: u32 = 100_000;

/// Byte order of the tensor data (the index is always little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endianness {
    Little,
    Big,
}

/// What the header entry (the empty key) says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleHeader {
    pub num_shards: u32,
    pub endianness: Endianness,
}

/// An open bundle. Data shards are opened on first use, through the bundle's storage.
#[derive(Debug)]
pub struct Bundle {
    prefix: PathBuf,
    table: Table,
    header: BundleHeader,
    shards: Shards,
}

/// The elements of a string tensor, in memory the caller owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strings {
    bytes: Vec<u8>,
    /// (start, end) of each element in `bytes`.
    ranges: Vec<(usize, usize)>,
}

impl Strings {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Element `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.ranges.get(index).map(|&(start, end)| &self.bytes[start..end])
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.ranges.iter().map(|&(start, end)| &self.bytes[start..end])
    }

    /// Every element as a slice, for APIs that take `&[&[u8]]`.
    pub fn as_slices(&self) -> Vec<&[u8]> {
        self.iter().collect()
    }

    /// The buffer the elements lie in, and (start, end) of each: element bytes without a copy.
    pub fn into_buffer(self) -> (Vec<u8>, Vec<(usize, usize)>) {
        (self.bytes, self.ranges)
    }

    /// Element `index` as owned bytes (empty when there is none), taking the buffer when there
    /// is one element: the object graph of a large model is one string of many megabytes.
    pub fn into_element(mut self, index: usize) -> Vec<u8> {
        match self.ranges.get(index).copied() {
            Some((start, end)) if self.ranges.len() == 1 => {
                self.bytes.truncate(end);
                self.bytes.drain(..start);
                self.bytes
            }
            Some((start, end)) => self.bytes[start..end].to_vec(),
            None => Vec::new(),
        }
    }
}

/// Elements read one by one (a V1 checkpoint's), laid out as a bundle's are.
impl From<Vec<Vec<u8>>> for Strings {
    fn from(elements: Vec<Vec<u8>>) -> Strings {
        let mut bytes = Vec::with_capacity(elements.iter().map(Vec::len).sum());
        let mut ranges = Vec::with_capacity(elements.len());
        for element in &elements {
            let start = bytes.len();
            bytes.extend_from_slice(element);
            ranges.push((start, bytes.len()));
        }
        Strings { bytes, ranges }
    }
}

impl std::ops::Index<usize> for Strings {
    type Output = [u8];

    fn index(&self, index: usize) -> &[u8] {
        self.get(index).expect("string index in range")
    }
}

impl Bundle {
    /// Opens the checkpoint `save_path` leads to on the local filesystem, read with positioned
    /// reads: a prefix, a directory with a `checkpoint` state file, a `.index` file or a data
    /// shard.
    pub fn open(save_path: &Path) -> Result<Bundle> {
        Bundle::open_with(save_path, Arc::new(LocalStorage::default()))
    }

    /// Opens the checkpoint `save_path` leads to in `storage` (local files with or without
    /// memory maps, or the caller's own).
    pub fn open_with(save_path: &Path, storage: Arc<dyn Storage>) -> Result<Bundle> {
        let prefix = locate(&*storage, save_path)?;
        Bundle::open_prefix_with(&prefix, storage)
    }

    /// Opens the bundle whose index is `prefix.index` on the local filesystem.
    pub fn open_prefix(prefix: &Path) -> Result<Bundle> {
        Bundle::open_prefix_with(prefix, Arc::new(LocalStorage::default()))
    }

    /// Opens the bundle whose index is `prefix.index` in `storage`.
    pub fn open_prefix_with(prefix: &Path, storage: Arc<dyn Storage>) -> Result<Bundle> {
        let table = Table::open(&*storage, &index_path(prefix))?;
        let header = read_header(&table)?;
        let shards = Shards::new(storage, prefix, header.num_shards);
        Ok(Bundle { prefix: prefix.to_path_buf(), table, header, shards })
    }

    /// The checkpoint prefix (`P` of `P.index`).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The storage the bundle reads from.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        self.shards.storage()
    }

    /// The header's shard count and byte order.
    pub fn header(&self) -> BundleHeader {
        self.header
    }

    /// The index table, for scans over every key.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The checked entry stored under `key`, or `None`. The empty key holds the bundle header,
    /// not a tensor: `None`.
    pub fn entry(&self, key: &[u8]) -> Result<Option<TensorEntry>> {
        if key.is_empty() {
            return Ok(None);
        }
        match self.table.get(key)? {
            None => Ok(None),
            Some(value) => self.decode_entry(key, &value).map(Some),
        }
    }

    /// Every tensor of the bundle in key order with its checked entry, as TensorFlow's
    /// `list_variables` sees them: the header and the per-slice keys of partitioned tensors
    /// (which start with a 0x00 byte) are left out. Reads the whole index.
    pub fn tensors(&self) -> Result<Vec<(Vec<u8>, TensorEntry)>> {
        // The two halves of a large index are decoded at once (a 300k-node model's 206k
        // entries); the front's error first, the one a scan from the start meets first.
        const SPLIT_FROM_BLOCKS: usize = 4;
        let blocks = self.table.num_blocks();
        let scan = |range: std::ops::Range<usize>| -> Result<Vec<(Vec<u8>, TensorEntry)>> {
            let mut tensors = Vec::new();
            self.for_each_tensor_in(range, |key, _, entry| tensors.push((key.to_vec(), entry)))?;
            Ok(tensors)
        };
        if blocks < SPLIT_FROM_BLOCKS {
            return scan(0..blocks);
        }
        let (front, back) = crate::threads::join(|| scan(0..blocks / 2), || scan(blocks / 2..blocks));
        let mut tensors = front?;
        tensors.extend(back?);
        Ok(tensors)
    }

    /// [`Bundle::tensors`] one at a time, for callers that keep them in their own form (no list
    /// of them all is built first).
    pub fn for_each_tensor(&self, mut visit: impl FnMut(&[u8], TensorEntry)) -> Result<()> {
        self.for_each_tensor_stored(|key, _, entry| visit(key, entry))
    }

    /// [`Bundle::for_each_tensor`] with each entry's bytes as stored in the index too, for a
    /// caller that keeps those (a few dozen bytes) rather than the decoded entry, and decodes
    /// again with [`Bundle::decode_entry`] what it needs later.
    pub fn for_each_tensor_stored(&self, visit: impl FnMut(&[u8], &[u8], TensorEntry)) -> Result<()> {
        self.for_each_tensor_in(0..self.table.num_blocks(), visit)
    }

    /// [`Bundle::for_each_tensor_stored`] over the index's data blocks `blocks` only.
    fn for_each_tensor_in(&self, blocks: std::ops::Range<usize>, mut visit: impl FnMut(&[u8], &[u8], TensorEntry)) -> Result<()> {
        self.table.for_each_in(blocks, |key, value| {
            if !key.is_empty() && key[0] != 0 {
                visit(key, value, self.decode_entry(key, value)?);
            }
            Ok(())
        })
    }

    /// Checks an entry read from this bundle's index.
    pub fn decode_entry(&self, key: &[u8], value: &[u8]) -> Result<TensorEntry> {
        TensorEntry::decode(value, self.header.num_shards).map_err(|reason| FormatError::CorruptEntry {
            path: self.table.path().to_path_buf(),
            key: readable_key(key),
            reason,
        })
    }

    /// Path of data shard `shard_id`: `P.data-00000-of-00001`.
    pub fn shard_path(&self, shard_id: u32) -> PathBuf {
        self.shards.path(shard_id)
    }

    /// Where an unsliced entry's bytes are, checked to lie within its shard (opening it). A
    /// partitioned tensor has no bytes of its own: its slices do.
    pub(crate) fn stored_range(&self, key: &[u8], entry: &TensorEntry) -> Result<StoredRange> {
        if !entry.slices.is_empty() {
            return Err(FormatError::CorruptEntry {
                path: self.table.path().to_path_buf(),
                key: readable_key(key),
                reason: "a partitioned tensor's bytes are in its slices, not under its own key".into(),
            });
        }
        if let Some(reason) = &entry.inconsistent {
            return Err(FormatError::CorruptEntry {
                path: self.table.path().to_path_buf(),
                key: readable_key(key),
                reason: reason.clone(),
            });
        }
        let shard_size = self.shards.file(entry.shard_id)?.size();
        let end = entry.offset + entry.size; // no overflow: checked by TensorEntry::decode
        if end > shard_size {
            return Err(FormatError::CorruptData {
                path: self.shard_path(entry.shard_id),
                key: readable_key(key),
                reason: format!("bytes {}..{end} lie past the end of the {shard_size}-byte shard", entry.offset),
            });
        }
        Ok(StoredRange { shard_id: entry.shard_id, offset: entry.offset, size: entry.size })
    }

    /// The open file of data shard `shard_id`.
    pub(crate) fn shard_file(&self, shard_id: u32) -> Result<Arc<dyn RandomAccess>> {
        self.shards.file(shard_id)
    }

    /// Reads `out.len()` bytes of a stored range, starting `skip` bytes into it.
    pub(crate) fn read_range(&self, range: StoredRange, skip: u64, out: &mut [u8]) -> Result<()> {
        let file = self.shards.file(range.shard_id)?;
        file.read_exact_at(range.offset + skip, out)
            .map_err(|source| FormatError::Io { path: self.shard_path(range.shard_id), source })
    }

    /// The stored bytes of an unsliced entry, read into memory (not verified).
    pub fn read_stored(&self, key: &[u8], entry: &TensorEntry) -> Result<Vec<u8>> {
        let range = self.stored_range(key, entry)?;
        let file = self.shards.file(range.shard_id)?;
        read_to_vec(&*file, range.offset, range.size).map_err(|source| FormatError::Io { path: self.shard_path(range.shard_id), source })
    }

    /// Checks the stored crc32c of an unsliced entry against its bytes, read in chunks: memory
    /// stays constant whatever the tensor's size (what `verify` needs for strings and variants,
    /// whose values are not read otherwise).
    ///
    /// A DT_VARIANT entry is checked as TensorFlow checks it (per-element checksums, then the
    /// running crc: see [`super::variant_tensor`]), its bytes read into memory as a string
    /// tensor's are.
    pub fn check_stored_checksum(&self, key: &[u8], entry: &TensorEntry) -> Result<()> {
        const CHUNK: u64 = 1 << 20;
        if entry.dtype == DataType::DtVariant {
            return self.read_variants(key, entry).map(drop);
        }
        let range = self.stored_range(key, entry)?;
        let mut buffer = vec![0u8; CHUNK.min(range.size) as usize];
        let (mut crc, mut done) = (0u32, 0u64);
        while done < range.size {
            let piece = &mut buffer[..CHUNK.min(range.size - done) as usize];
            self.read_range(range, done, piece)?;
            crc = crc::extend(crc, piece);
            done += piece.len() as u64;
        }
        self.check_checksum(key, entry, crc)
    }

    /// The stored bytes of an unsliced entry inside the shard's memory map (not verified):
    /// only for a bundle whose storage maps files.
    pub(crate) fn mapped_stored(&self, key: &[u8], entry: &TensorEntry) -> Result<&[u8]> {
        let range = self.stored_range(key, entry)?;
        let mapped = self.shards.mapped(range.shard_id)?;
        // The map covers the file as it was when opened; a shorter map means it shrank.
        mapped.get(range.offset as usize..(range.offset + range.size) as usize).ok_or_else(|| FormatError::CorruptData {
            path: self.shard_path(range.shard_id),
            key: readable_key(key),
            reason: "the shard is shorter than when it was opened".into(),
        })
    }

    /// The single element of a DT_STRING scalar, verified, in memory the caller owns.
    pub fn read_string_scalar(&self, key: &[u8], entry: &TensorEntry) -> Result<Vec<u8>> {
        Ok(self.read_strings(key, entry)?.into_element(0))
    }

    /// The serialized `VariantTensorDataProto` elements of an unsliced DT_VARIANT entry, every
    /// checksum verified.
    pub fn read_variants(&self, key: &[u8], entry: &TensorEntry) -> Result<Strings> {
        if entry.dtype != DataType::DtVariant {
            return Err(FormatError::UnsupportedDtype {
                path: self.table.path().to_path_buf(),
                key: readable_key(key),
                dtype: format!("{} (not a variant tensor)", entry.dtype_label()),
            });
        }
        let bytes = self.read_stored(key, entry)?;
        let elements = decode_variants(&bytes, entry.num_elements(), self.header.endianness, entry.masked_crc32c)
            .map_err(|error| self.payload_error(key, entry, error))?;
        let base = bytes.as_ptr() as usize;
        let ranges = elements.iter().map(|element| (element.as_ptr() as usize - base, element.as_ptr() as usize - base + element.len())).collect();
        Ok(Strings { bytes, ranges })
    }

    fn payload_error(&self, key: &[u8], entry: &TensorEntry, error: StringPayloadError) -> FormatError {
        let path = self.shard_path(entry.shard_id);
        match error {
            StringPayloadError::Malformed(reason) => FormatError::CorruptData { path, key: readable_key(key), reason },
            StringPayloadError::Checksum { what, stored, computed } => {
                FormatError::ChecksumMismatch { path, what: format!("{what} of key {:?}", readable_key(key)), stored, computed }
            }
        }
    }

    /// The elements of a DT_STRING entry, with both checksums verified.
    pub fn read_strings(&self, key: &[u8], entry: &TensorEntry) -> Result<Strings> {
        let bytes = self.read_stored(key, entry)?;
        let elements = decode_strings(&bytes, entry.num_elements(), self.header.endianness, entry.masked_crc32c)
            .map_err(|error| self.payload_error(key, entry, error))?;
        let base = bytes.as_ptr() as usize;
        let ranges = elements.iter().map(|element| (element.as_ptr() as usize - base, element.as_ptr() as usize - base + element.len())).collect();
        Ok(Strings { bytes, ranges })
    }
}

/// Where an unsliced tensor's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StoredRange {
    pub shard_id: u32,
    pub offset: u64,
    pub size: u64,
}

/// `P.index` for prefix `P`.
pub fn index_path(prefix: &Path) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".index");
    PathBuf::from(name)
}

/// Decodes the header and applies TensorFlow's version rules.
fn read_header(table: &Table) -> Result<BundleHeader> {
    let path = table.path().to_path_buf();
    let corrupt = |reason: String| FormatError::CorruptEntry { path: path.clone(), key: String::new(), reason };
    let value = table.get(b"")?.ok_or_else(|| corrupt("the bundle header (empty key) is missing".into()))?;
    let header = BundleHeaderProto::decode(value.as_slice()).map_err(|error| corrupt(format!("undecodable header: {error}")))?;
    if let Some(version) = &header.version {
        let unsupported = |reason: String| FormatError::UnsupportedVersion { path: path.clone(), reason };
        if version.producer < 0 {
            return Err(unsupported(format!("negative producer version {}", version.producer)));
        }
        if version.min_consumer > CONSUMER_VERSION {
            return Err(unsupported(format!(
                "needs a reader of version {} or newer; this one is {CONSUMER_VERSION}",
                version.min_consumer
            )));
        }
        if version.bad_consumers.contains(&CONSUMER_VERSION) {
            return Err(unsupported(format!("reader version {CONSUMER_VERSION} is listed as bad")));
        }
    }
    let num_shards = u32::try_from(header.num_shards)
        .ok()
        .filter(|&count| count >= 1)
        .ok_or_else(|| corrupt(format!("invalid shard count {}", header.num_shards)))?;
    if num_shards > MAX_SHARDS {
        return Err(FormatError::Unsupported {
            path: path.clone(),
            reason: format!("{num_shards} data shards (at most {MAX_SHARDS} are read)"),
        });
    }
    let endianness = match bundle_header_proto::Endianness::try_from(header.endianness) {
        Ok(bundle_header_proto::Endianness::Little) => Endianness::Little,
        Ok(bundle_header_proto::Endianness::Big) => Endianness::Big,
        Err(_) => return Err(corrupt(format!("unknown endianness {}", header.endianness))),
    };
    Ok(BundleHeader { num_shards, endianness })
}
