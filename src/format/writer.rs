//! Writing tensor bundles: an sstable builder and a single-shard bundle writer.
//!
//! ckview reads checkpoints; it writes them to make test inputs (crafted damage inside otherwise
//! valid files) and the large generated checkpoints of the benchmarks. The output follows what
//! TensorFlow writes (FORMAT.md section 2): uncompressed blocks, restart interval 16 in data
//! blocks and 1 in the index block, and a shortest-separator-free index (the last key of each
//! block is its separator, which is valid).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use super::bundle::index_path;
use super::crc;
use super::string_tensor::{extend_with_length, word_bytes32};
use super::proto::{bundle_header_proto, BundleEntryProto, BundleHeaderProto, DataType, TensorShapeProto, VersionDef};
use super::Endianness;

const BLOCK_TARGET: usize = 262_144;
const DATA_RESTART_INTERVAL: usize = 16;
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Builds one block: prefix-compressed entries, then the restart array and its length.
pub(crate) struct BlockBuilder {
    restart_interval: usize,
    bytes: Vec<u8>,
    restarts: Vec<u32>,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder { restart_interval, bytes: Vec::new(), restarts: vec![0], since_restart: 0, last_key: Vec::new() }
    }

    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.since_restart == self.restart_interval {
            self.restarts.push(self.bytes.len() as u32);
            self.since_restart = 0;
            0
        } else {
            self.last_key.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        put_varint(&mut self.bytes, shared as u64);
        put_varint(&mut self.bytes, (key.len() - shared) as u64);
        put_varint(&mut self.bytes, value.len() as u64);
        self.bytes.extend_from_slice(&key[shared..]);
        self.bytes.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.since_restart += 1;
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The finished contents; the builder starts over.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut bytes = std::mem::take(&mut self.bytes);
        for restart in &self.restarts {
            bytes.extend_from_slice(&restart.to_le_bytes());
        }
        bytes.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        *self = BlockBuilder::new(self.restart_interval);
        bytes
    }
}

/// Builds an sstable in memory from keys given in strictly increasing order.
pub struct TableBuilder {
    out: Vec<u8>,
    data: BlockBuilder,
    index: BlockBuilder,
    last_key: Option<Vec<u8>>,
}

impl Default for TableBuilder {
    fn default() -> Self {
        TableBuilder { out: Vec::new(), data: BlockBuilder::new(DATA_RESTART_INTERVAL), index: BlockBuilder::new(1), last_key: None }
    }
}

impl TableBuilder {
    /// Appends an entry. Panics when `key` does not sort after the previous key: that is a bug in
    /// the caller, not a property of input data.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        if let Some(last) = &self.last_key {
            assert!(key > last.as_slice(), "TableBuilder keys must strictly increase");
        }
        self.data.add(key, value);
        self.last_key = Some(key.to_vec());
        if self.data.bytes.len() >= BLOCK_TARGET {
            self.flush_data_block();
        }
    }

    /// Writes the pending data block and its index entry.
    fn flush_data_block(&mut self) {
        if self.data.is_empty() {
            return;
        }
        let separator = self.data.last_key.clone();
        let contents = self.data.finish();
        let handle = self.write_block(&contents);
        self.index.add(&separator, &handle);
    }

    /// Appends a block with its trailer; returns its encoded handle.
    fn write_block(&mut self, contents: &[u8]) -> Vec<u8> {
        let mut handle = Vec::new();
        put_varint(&mut handle, self.out.len() as u64);
        put_varint(&mut handle, contents.len() as u64);
        self.out.extend_from_slice(contents);
        self.out.push(0);
        let checksum = crc::mask(crc::extend(crc::crc32c(contents), &[0]));
        self.out.extend_from_slice(&checksum.to_le_bytes());
        handle
    }

    /// The complete table: data blocks, the empty metaindex, the index and the footer.
    pub fn finish(mut self) -> Vec<u8> {
        self.flush_data_block();
        let metaindex = BlockBuilder::new(1).finish();
        let metaindex_handle = self.write_block(&metaindex);
        let index = self.index.finish();
        let index_handle = self.write_block(&index);
        let mut footer = Vec::with_capacity(48);
        footer.extend_from_slice(&metaindex_handle);
        footer.extend_from_slice(&index_handle);
        footer.resize(40, 0);
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        self.out.extend_from_slice(&footer);
        self.out
    }
}

/// The DT_STRING payload of `strings` and its masked crc32c (FORMAT.md section 5).
pub fn encode_strings(strings: &[&[u8]], endianness: Endianness) -> (Vec<u8>, u32) {
    let mut bytes = Vec::new();
    let mut running = 0;
    for string in strings {
        put_varint(&mut bytes, string.len() as u64);
        running = extend_with_length(running, string.len() as u64, endianness);
    }
    let stored = word_bytes32(crc::mask(running), endianness);
    bytes.extend_from_slice(&stored);
    running = crc::extend(running, &stored);
    for string in strings {
        bytes.extend_from_slice(string);
        running = crc::extend(running, string);
    }
    (bytes, crc::mask(running))
}

/// Writes a one-shard bundle: tensors go to `P.data-00000-of-00001` as they are added, entries
/// are kept sorted and written to `P.index` by `finish`.
pub struct BundleWriter {
    prefix: PathBuf,
    data: BufWriter<File>,
    offset: u64,
    header: BundleHeaderProto,
    entries: BTreeMap<Vec<u8>, BundleEntryProto>,
}

impl BundleWriter {
    /// Starts a little-endian bundle at `prefix`, creating its data file.
    pub fn create(prefix: &Path) -> io::Result<BundleWriter> {
        BundleWriter::with_endianness(prefix, Endianness::Little)
    }

    /// Starts a bundle whose tensor bytes are in `endianness` (the caller supplies them so).
    pub fn with_endianness(prefix: &Path, endianness: Endianness) -> io::Result<BundleWriter> {
        let mut data_name = prefix.as_os_str().to_owned();
        data_name.push(".data-00000-of-00001");
        let data = BufWriter::new(File::create(PathBuf::from(data_name))?);
        let header = BundleHeaderProto {
            num_shards: 1,
            endianness: match endianness {
                Endianness::Little => bundle_header_proto::Endianness::Little as i32,
                Endianness::Big => bundle_header_proto::Endianness::Big as i32,
            },
            version: Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: Vec::new() }),
        };
        Ok(BundleWriter { prefix: prefix.to_path_buf(), data, offset: 0, header, entries: BTreeMap::new() })
    }

    /// The header `finish` will write; change it to craft version or shard-count damage.
    pub fn header_mut(&mut self) -> &mut BundleHeaderProto {
        &mut self.header
    }

    fn endianness(&self) -> Endianness {
        if self.header.endianness == bundle_header_proto::Endianness::Big as i32 {
            Endianness::Big
        } else {
            Endianness::Little
        }
    }

    /// Stores `bytes` (already in the bundle's byte order) as a tensor of `dtype` and `shape`.
    pub fn add_raw(&mut self, key: &[u8], dtype: DataType, shape: &[u64], bytes: &[u8]) -> io::Result<()> {
        let entry = BundleEntryProto {
            dtype: dtype as i32,
            shape: Some(shape_proto(shape)),
            shard_id: 0,
            offset: self.offset as i64,
            size: bytes.len() as i64,
            crc32c: crc::mask(crc::crc32c(bytes)),
            slices: Vec::new(),
        };
        self.data.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        self.entries.insert(key.to_vec(), entry);
        Ok(())
    }

    /// Stores a DT_STRING tensor.
    pub fn add_strings(&mut self, key: &[u8], shape: &[u64], strings: &[&[u8]]) -> io::Result<()> {
        let (bytes, crc32c) = encode_strings(strings, self.endianness());
        self.add_raw(key, DataType::DtString, shape, &bytes)?;
        self.entries.get_mut(key).expect("just added").crc32c = crc32c;
        Ok(())
    }

    /// Stores an entry exactly as given, with no data: for crafting damaged entries.
    pub fn add_entry(&mut self, key: &[u8], entry: BundleEntryProto) {
        self.entries.insert(key.to_vec(), entry);
    }

    /// Writes the index with the header first; returns the prefix.

    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.data.flush()?;
        let mut table = TableBuilder::default();
        table.add(b"", &self.header.encode_to_vec());
        for (key, entry) in &self.entries {
            table.add(key, &entry.encode_to_vec());
        }
        std::fs::write(index_path(&self.prefix), table.finish())?;
        Ok(self.prefix)
    }
}

pub(crate) fn shape_proto(shape: &[u64]) -> TensorShapeProto {
    use super::proto::tensor_shape_proto::Dim;
    TensorShapeProto {
        dim: shape.iter().map(|&size| Dim { size: size as i64, name: String::new() }).collect(),
        unknown_rank: false,
    }
}
