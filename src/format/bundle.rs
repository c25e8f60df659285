//! A tensor bundle: the `.index` table, its header, and the data shards it points into
//! (FORMAT.md sections 3-5).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use prost::Message;

use super::entry::TensorEntry;
use super::error::{FormatError, Result};
use super::locate::locate;
use super::mapped::MappedFile;
use super::proto::{bundle_header_proto, BundleHeaderProto};
use super::string_tensor::{decode_strings, StringPayloadError};
use super::table::Table;

/// The bundle format version this reader implements (TensorFlow's consumer version).
const CONSUMER_VERSION: i32 = 1;
/// Data files are named with five digits; far more shards than that is a crafted header, and
/// bounding it bounds the table of lazily mapped shards.
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

/// An open bundle. Data shards are mapped on first use and stay mapped until the bundle drops.
#[derive(Debug)]
pub struct Bundle {
    prefix: PathBuf,
    table: Table,
    header: BundleHeader,
    shards: Vec<OnceLock<Arc<MappedFile>>>,
}

impl Bundle {
    /// Opens the checkpoint `save_path` leads to: a prefix, a directory with a `checkpoint`
    /// state file, a `.index` file or a data shard.
    pub fn open(save_path: &Path) -> Result<Bundle> {
        Bundle::open_prefix(&locate(save_path)?)
    }

    /// Opens the bundle whose index is `prefix.index`.
    pub fn open_prefix(prefix: &Path) -> Result<Bundle> {
        let table = Table::open(&index_path(prefix))?;
        let header = read_header(&table)?;
        let shards = (0..header.num_shards).map(|_| OnceLock::new()).collect();
        Ok(Bundle { prefix: prefix.to_path_buf(), table, header, shards })
    }

    /// The checkpoint prefix (`P` of `P.index`).
    pub fn prefix(&self) -> &Path {
        &self.prefix
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
            Some(value) => self.decode_entry(key, value).map(Some),
        }
    }

    /// Every tensor of the bundle in key order with its checked entry, as TensorFlow's
    /// `list_variables` sees them: the header and the per-slice keys of partitioned tensors
    /// (which start with a 0x00 byte) are left out. Reads the whole index.
    pub fn tensors(&self) -> Result<Vec<(Vec<u8>, TensorEntry)>> {
        let mut tensors = Vec::new();
        self.table.for_each(|key, value| {
            if !key.is_empty() && key[0] != 0 {
                tensors.push((key.to_vec(), self.decode_entry(key, value)?));
            }
            Ok(())
        })?;
        Ok(tensors)
    }

    /// Checks an entry read from this bundle's index.
    pub fn decode_entry(&self, key: &[u8], value: &[u8]) -> Result<TensorEntry> {
        TensorEntry::decode(value, self.header.num_shards).map_err(|reason| FormatError::CorruptEntry {
            path: self.table.path().to_path_buf(),
            key: String::from_utf8_lossy(key).into_owned(),
            reason,
        })
    }

    /// Path of data shard `shard_id`: `P.data-00000-of-00001`.
    pub fn shard_path(&self, shard_id: u32) -> PathBuf {
        let mut name = self.prefix.as_os_str().to_owned();
        name.push(format!(".data-{shard_id:05}-of-{:05}", self.header.num_shards));
        PathBuf::from(name)
    }

    /// The mapped bytes of data shard `shard_id` (which `TensorEntry::decode` bounds-checked).
    fn shard(&self, shard_id: u32) -> Result<&Arc<MappedFile>> {
        let slot = self.shards.get(shard_id as usize).ok_or_else(|| FormatError::CorruptEntry {
            path: self.table.path().to_path_buf(),
            key: String::new(),
            reason: format!("shard id {shard_id} is not below the bundle's {} shards", self.shards.len()),
        })?;
        if let Some(mapped) = slot.get() {
            return Ok(mapped);
        }
        let path = self.shard_path(shard_id);
        let mapped = MappedFile::open(&path).map_err(|source| FormatError::Io { path, source })?;
        // Another thread may have mapped it meanwhile; either copy serves.
        Ok(slot.get_or_init(|| Arc::new(mapped)))
    }

    /// The stored bytes of an unsliced entry, bounds-checked against its shard (not verified).
    /// A partitioned tensor has no bytes of its own: its slices do.
    pub fn stored_bytes(&self, key: &[u8], entry: &TensorEntry) -> Result<&[u8]> {
        if !entry.slices.is_empty() {
            return Err(FormatError::CorruptEntry {
                path: self.table.path().to_path_buf(),
                key: String::from_utf8_lossy(key).into_owned(),
                reason: "a partitioned tensor's bytes are in its slices, not under its own key".into(),
            });
        }
        let shard = self.shard(entry.shard_id)?.bytes();
        let end = entry.offset + entry.size; // no overflow: checked by TensorEntry::decode
        if end > shard.len() as u64 {
            return Err(FormatError::CorruptData {
                path: self.shard_path(entry.shard_id),
                key: String::from_utf8_lossy(key).into_owned(),
                reason: format!(
                    "bytes {}..{end} lie past the end of the {}-byte shard",
                    entry.offset,
                    shard.len()
                ),
            });
        }
        Ok(&shard[entry.offset as usize..end as usize])
    }

    /// The single element of a DT_STRING scalar, verified, as bytes that stay mapped for as long
    /// as the returned value lives, even after the bundle is dropped.
    pub fn read_string_scalar(&self, key: &[u8], entry: &TensorEntry) -> Result<SharedBytes> {
        let strings = self.read_strings(key, entry)?;
        let (file, element) = (self.shard(entry.shard_id)?, strings[0]);
        let start = element.as_ptr() as usize - file.bytes().as_ptr() as usize;
        Ok(SharedBytes { file: Arc::clone(file), start, len: element.len() })
    }

    /// The elements of a DT_STRING entry, with both checksums verified.
    pub fn read_strings(&self, key: &[u8], entry: &TensorEntry) -> Result<Vec<&[u8]>> {
        let bytes = self.stored_bytes(key, entry)?;
        let path = || self.shard_path(entry.shard_id);
        let key_text = || String::from_utf8_lossy(key).into_owned();
        decode_strings(bytes, entry.num_elements(), self.header.endianness, entry.masked_crc32c).map_err(
            |error| match error {
                StringPayloadError::Malformed(reason) => {
                    FormatError::CorruptData { path: path(), key: key_text(), reason }
                }
                StringPayloadError::Checksum { what, stored, computed } => FormatError::ChecksumMismatch {
                    path: path(),
                    what: format!("{what} of key {:?}", key_text()),
                    stored,
                    computed,
                },
            },
        )
    }
}

/// A range of a mapped data shard that keeps the mapping alive.
#[derive(Clone, Debug)]
pub struct SharedBytes {
    file: Arc<MappedFile>,
    start: usize,
    len: usize,
}

impl SharedBytes {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.file.bytes()[self.start..self.start + self.len]
    }
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
    let header = BundleHeaderProto::decode(value).map_err(|error| corrupt(format!("undecodable header: {error}")))?;
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
