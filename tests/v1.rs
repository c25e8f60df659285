//! The V1 reader (TF1 `Saver(write_version=V1)`, "SavedTensorSlices") against TensorFlow's own
//! answers for the fixtures in tests/fixtures/v1 (tf_answers.json), including what TensorFlow
//! refuses to read (sliced tensors, float16, uint16, complex); then crafted V1 files and damaged
//! copies of a real one, which end in errors, never panics.

use std::path::{Path, PathBuf};

use ckview::format::proto::tensor_shape_proto::Dim;
use ckview::format::proto::tensor_slice_proto::{extent::HasLength, Extent};
use ckview::format::proto::{
    DataType, SavedSlice, SavedSliceMeta, SavedTensorSliceMeta, SavedTensorSlices, TensorProto, TensorShapeProto,
    TensorSliceProto, VersionDef,
};
use ckview::format::slice_key::slice_key;
use ckview::format::v1::{V1Checkpoint, V1Tensor};
use ckview::format::writer::TableBuilder;
use ckview::format::{FormatError, SliceExtent};
use ckview::io::LocalStorage;
use prost::Message;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn answers() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("tf_answers.json")).unwrap()).unwrap()
}

fn open(path: &Path) -> ckview::format::Result<V1Checkpoint> {
    V1Checkpoint::open(&LocalStorage::default(), path)
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
}

/// Little-endian bytes (as the fixtures record them) in the host's byte order.
fn host_order(mut bytes: Vec<u8>, unit: usize) -> Vec<u8> {
    if cfg!(target_endian = "big") && unit > 1 {
        bytes.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
    }
    bytes
}

fn swap_unit(dtype: DataType) -> usize {
    match dtype {
        DataType::DtComplex64 => 4,
        DataType::DtComplex128 => 8,
        other => ckview::format::element_size(other).unwrap_or(1) as usize,
    }
}

fn read_all(checkpoint: &V1Checkpoint, tensor: &V1Tensor) -> ckview::format::Result<Vec<u8>> {
    let mut out = vec![0u8; checkpoint.value_size(tensor)? as usize];
    checkpoint.read_value(tensor, &mut out)?;
    Ok(out)
}

/// One tensor's answer: `hex` bytes or `strings_hex` elements.
fn check_value(checkpoint: &V1Checkpoint, tensor: &V1Tensor, answer: &Value) {
    let name = tensor.name_text();
    if let Some(strings) = answer.get("strings_hex") {
        let expected: Vec<Vec<u8>> = strings.as_array().unwrap().iter().map(|s| unhex(s.as_str().unwrap())).collect();
        assert_eq!(checkpoint.read_strings(tensor).unwrap(), expected, "{name}");
        assert!(matches!(checkpoint.value_size(tensor), Err(FormatError::UnsupportedDtype { .. })));
    } else {
        let expected = host_order(unhex(answer["hex"].as_str().unwrap()), swap_unit(tensor.dtype));
        assert_eq!(read_all(checkpoint, tensor).unwrap(), expected, "{name}");
        assert!(matches!(checkpoint.read_strings(tensor), Err(FormatError::UnsupportedDtype { .. })));
    }
}

/// Names, shapes and dtypes as TensorFlow lists them, and every value TensorFlow reads; the
/// values TensorFlow refuses compared with what was written.
fn check_against_tf(relative: &str, checkpoint: &V1Checkpoint) -> usize {
    let answers = answers();
    let answer = &answers["checkpoints"][relative];
    let listed: Vec<(String, Vec<u64>)> = checkpoint.tensors().iter().map(|t| (t.name_text(), t.shape.clone())).collect();
    let expected: Vec<(String, Vec<u64>)> = answer["list_variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), pair[1].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect()))
        .collect();
    assert_eq!(listed, expected, "{relative}: list_variables");
    let mut refused = 0;
    for tensor in checkpoint.tensors() {
        let name = tensor.name_text();
        assert_eq!(tensor.dtype as i64, answer["dtype_enum"][&name].as_i64().unwrap(), "{relative}: dtype of {name}");
        assert_eq!(ckview::format::dtype_name(tensor.dtype), answer["dtype_map"][&name].as_str().unwrap());
        let tf = &answer["tensors"][&name];
        if tf.get("error").is_some() {
            refused += 1;
            if let Some(written) = answers["written"].get(&name) {
                check_value(checkpoint, tensor, written);
            }
        } else {
            assert_eq!(tf["dtype"], answer["dtype_map"][&name]);
            check_value(checkpoint, tensor, tf);
        }
    }
    refused
}

#[test]
fn single_file_matches_tensorflow_and_reads_what_it_refuses() {
    let checkpoint = open(&fixtures().join("model.ckpt")).unwrap();
    assert_eq!(checkpoint.tensors().len(), 17);
    // float16, uint16, complex64 and complex128: TensorFlow's V1 reader says "Data type not
    // supported"; they are compared with the values written.
    assert_eq!(check_against_tf("model.ckpt", &checkpoint), 4);
    let saved: Vec<String> = answers()["saved_variables"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().into()).collect();
    for name in saved {
        check_value(&checkpoint, checkpoint.require(name.as_bytes()).unwrap(), &answers()["written"][&name]);
    }
    assert!(matches!(checkpoint.require(b"nope"), Err(FormatError::KeyNotFound { .. })));
    let scalar = checkpoint.require(b"f32_scalar").unwrap();
    assert!(scalar.shape.is_empty() && !scalar.is_partitioned());
    let mut small = [0u8; 3];
    assert!(matches!(checkpoint.read_value(scalar, &mut small), Err(FormatError::BufferTooSmall { needed: 4, .. })));
}

#[test]
fn partitioned_variable_is_assembled() {
    let checkpoint = open(&fixtures().join("partitioned/model.ckpt")).unwrap();
    assert_eq!(check_against_tf("partitioned/model.ckpt", &checkpoint), 1);
    let part = checkpoint.require(b"part_var").unwrap();
    assert!(part.is_partitioned());
    assert_eq!(part.slices.len(), 3);
    // What the fixture script wrote: arange(40) - 20 as a 10x4 float32 matrix.
    let expected: Vec<u8> = (0..40).flat_map(|i| (i as f32 - 20.0).to_ne_bytes()).collect();
    assert_eq!(read_all(&checkpoint, part).unwrap(), expected);
}

#[test]
fn sharded_checkpoint_by_pattern_by_file_and_by_save_path() {
    let dir = fixtures().join("sharded");
    let pattern = open(&dir.join("model.ckpt-?????-of-00002")).unwrap();
    assert_eq!(pattern.files().len(), 2);
    assert_eq!(check_against_tf("sharded/model.ckpt-?????-of-00002", &pattern), 0);
    for shard in ["model.ckpt-00000-of-00002", "model.ckpt-00001-of-00002"] {
        let alone = open(&dir.join(shard)).unwrap();
        assert_eq!(alone.files().len(), 1);
        check_against_tf(&format!("sharded/{shard}"), &alone);
    }
    // TensorFlow cannot open the save path itself (NotFoundError); ckview finds the shards.
    let answers = answers();
    assert!(answers["checkpoints"]["sharded/model.ckpt"].get("load_error").is_some());
    let by_save_path = open(&dir.join("model.ckpt")).unwrap();
    assert_eq!(check_against_tf("sharded/model.ckpt-?????-of-00002", &by_save_path), 0);
    match open(&dir.join("missing.ckpt")) {
        Err(FormatError::NotFound { tried, .. }) => assert!(tried.len() > 2),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(open(&dir.join("model.ckpt-?????-of-00003")), Err(FormatError::Io { .. })));
}

// ---- crafted files -------------------------------------------------------------------------

fn shape(dims: &[i64]) -> TensorShapeProto {
    TensorShapeProto { dim: dims.iter().map(|&size| Dim { size, name: String::new() }).collect(), unknown_rank: false }
}

/// (start, length) per dimension; a length of -1 is "the whole dimension".
fn slice(extents: &[(i64, i64)]) -> TensorSliceProto {
    TensorSliceProto {
        extent: extents
            .iter()
            .map(|&(start, length)| Extent { start, has_length: (length >= 0).then_some(HasLength::Length(length)) })
            .collect(),
    }
}

fn extents(extents: &[(i64, i64)]) -> Vec<SliceExtent> {
    extents.iter().map(|&(start, length)| SliceExtent { start: start as u64, length: (length >= 0).then_some(length as u64) }).collect()
}

/// A V1 file: the table of contents `meta`, then one record per (name, slice, values).
fn v1_file(path: &Path, meta: Vec<SavedSliceMeta>, records: Vec<(&str, &[(i64, i64)], TensorProto)>) -> PathBuf {
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = records
        .into_iter()
        .map(|(name, extents_of, data)| {
            let record = SavedTensorSlices {
                meta: None,
                data: Some(SavedSlice { name: name.into(), slice: Some(slice(extents_of)), data: Some(data) }),
            };
            (slice_key(name.as_bytes(), &extents(extents_of)), record.encode_to_vec())
        })
        .collect();
    let toc = SavedTensorSlices {
        meta: Some(SavedTensorSliceMeta { tensor: meta, versions: Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: vec![] }) }),
        data: None,
    };
    rows.push((Vec::new(), toc.encode_to_vec()));
    rows.sort();
    let mut table = TableBuilder::default();
    for (key, value) in &rows {
        table.add(key, value);
    }
    std::fs::write(path, table.finish()).unwrap();
    path.to_path_buf()
}

fn meta(name: &str, dtype: DataType, dims: &[i64], slices: &[&[(i64, i64)]]) -> SavedSliceMeta {
    SavedSliceMeta { name: name.into(), shape: Some(shape(dims)), r#type: dtype as i32, slice: slices.iter().map(|s| slice(s)).collect() }
}

fn floats(values: &[f32]) -> TensorProto {
    TensorProto { float_val: values.to_vec(), ..Default::default() }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-v1-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn slices_in_two_shards_and_along_two_dimensions_are_assembled() {
    let dir = scratch("two_shards");
    // A 2x3 float matrix cut into a 2x1 column (shard 0) and a 2x2 block (shard 1), and a string
    // vector cut in two: TensorFlow's V1 reader refuses both.
    let left: &[(i64, i64)] = &[(0, -1), (0, 1)];
    let right: &[(i64, i64)] = &[(0, 2), (1, 2)];
    let head: &[(i64, i64)] = &[(0, 1)];
    let tail: &[(i64, i64)] = &[(1, 2)];
    v1_file(
        &dir.join("ck-00000-of-00002"),
        vec![meta("m", DataType::DtFloat, &[2, 3], &[left]), meta("s", DataType::DtString, &[3], &[tail])],
        vec![
            ("m", left, floats(&[1.0, 4.0])),
            ("s", tail, TensorProto { string_val: vec![b"b".to_vec(), b"".to_vec()], ..Default::default() }),
        ],
    );
    v1_file(
        &dir.join("ck-00001-of-00002"),
        vec![meta("m", DataType::DtFloat, &[2, 3], &[right]), meta("s", DataType::DtString, &[3], &[head])],
        vec![
            ("m", right, floats(&[2.0, 3.0, 5.0, 6.0])),
            ("s", head, TensorProto { string_val: vec![b"a\0".to_vec()], ..Default::default() }),
        ],
    );
    let checkpoint = open(&dir.join("ck")).unwrap();
    let matrix = checkpoint.require(b"m").unwrap();
    let expected: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_ne_bytes()).collect();
    assert_eq!(read_all(&checkpoint, matrix).unwrap(), expected);
    let strings = checkpoint.read_strings(checkpoint.require(b"s").unwrap()).unwrap();
    assert_eq!(strings, [b"a\0".to_vec(), b"b".to_vec(), b"".to_vec()]);
    // One shard alone lists the tensor but cannot cover it.
    let alone = open(&dir.join("ck-00000-of-00002")).unwrap();
    assert!(matches!(read_all(&alone, alone.require(b"m").unwrap()), Err(FormatError::CorruptEntry { .. })));
}

#[test]
fn crafted_listings_and_records_are_refused() {
    let dir = scratch("crafted");
    let whole: &[(i64, i64)] = &[(0, -1)];
    let cases: Vec<(&str, Vec<SavedSliceMeta>, Vec<(&str, &[(i64, i64)], TensorProto)>)> = vec![
        // A shape of 2^62 elements with no values: refused before any allocation.
        ("huge", vec![meta("t", DataType::DtFloat, &[1 << 30, 1 << 30], &[&[(0, -1), (0, -1)]])], vec![]),
        ("missing_record", vec![meta("t", DataType::DtFloat, &[2], &[whole])], vec![]),
        ("too_few_values", vec![meta("t", DataType::DtFloat, &[3], &[whole])], vec![("t", whole, floats(&[1.0]))]),
        ("too_many_values", vec![meta("t", DataType::DtFloat, &[1], &[whole])], vec![("t", whole, floats(&[1.0, 2.0]))]),
        (
            "wrong_field",
            vec![meta("t", DataType::DtInt32, &[1], &[whole])],
            vec![("t", whole, floats(&[1.0]))],
        ),
        (
            "overlap",
            vec![meta("t", DataType::DtFloat, &[3], &[&[(0, 2)], &[(1, 2)]])],
            vec![("t", &[(0, 2)], floats(&[1.0, 2.0])), ("t", &[(1, 2)], floats(&[3.0, 4.0]))],
        ),
        ("gap", vec![meta("t", DataType::DtFloat, &[3], &[&[(0, 2)]])], vec![("t", &[(0, 2)], floats(&[1.0, 2.0]))]),
        (
            "other_dtype_stored",
            vec![meta("t", DataType::DtFloat, &[1], &[whole])],
            vec![("t", whole, TensorProto { dtype: DataType::DtDouble as i32, float_val: vec![1.0], ..Default::default() })],
        ),
    ];
    for (name, listing, records) in cases {
        let checkpoint = open(&v1_file(&dir.join(name), listing, records)).unwrap();
        let tensor = checkpoint.require(b"t").unwrap();
        let error = checkpoint.value_size(tensor).expect_err(name);
        assert!(matches!(error, FormatError::CorruptEntry { .. } | FormatError::CorruptData { .. }), "{name}: {error}");
        assert!(checkpoint.read_value(tensor, &mut [0u8; 64]).is_err(), "{name}");
    }
    // Listings that cannot be opened at all.
    let bad_listings: Vec<(&str, Vec<SavedSliceMeta>)> = vec![
        ("negative_dim", vec![meta("t", DataType::DtFloat, &[-1], &[whole])]),
        ("slice_outside", vec![meta("t", DataType::DtFloat, &[2], &[&[(1, 2)]])]),
        ("slice_rank", vec![meta("t", DataType::DtFloat, &[2], &[&[(0, 1), (0, 1)]])]),
        ("unknown_dtype", vec![SavedSliceMeta { r#type: 99, ..meta("t", DataType::DtFloat, &[1], &[whole]) }]),
        ("overflow", vec![meta("t", DataType::DtDouble, &[1 << 40, 1 << 40], &[])]),
        ("two_listings", vec![meta("t", DataType::DtFloat, &[1], &[whole]), meta("t", DataType::DtInt32, &[1], &[whole])]),
    ];
    for (name, listing) in bad_listings {
        let error = open(&v1_file(&dir.join(name), listing, vec![])).expect_err(name);
        assert!(matches!(error, FormatError::CorruptEntry { .. }), "{name}: {error}");
    }
    // A table of contents that rules this reader out.
    let path = dir.join("version");
    v1_file(&path, vec![], vec![]);
    let toc = SavedTensorSlices {
        meta: Some(SavedTensorSliceMeta { tensor: vec![], versions: Some(VersionDef { producer: 1, min_consumer: 7, bad_consumers: vec![] }) }),
        data: None,
    };
    let mut table = TableBuilder::default();
    table.add(b"", &toc.encode_to_vec());
    std::fs::write(&path, table.finish()).unwrap();
    assert!(matches!(open(&path), Err(FormatError::UnsupportedVersion { .. })));
    // A V2 index is an sstable too, but not a V1 checkpoint.
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf1_name_based/model.ckpt.index");
    assert!(open(&v2).is_err());
}

/// One file in memory, as the caller's storage would serve it.
#[derive(Debug)]
struct MemoryFile(Vec<u8>);

impl ckview::io::RandomAccess for MemoryFile {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).ok().filter(|&start| start <= self.0.len());
        let bytes = start.and_then(|start| self.0.get(start..start.checked_add(buf.len())?));
        buf.copy_from_slice(bytes.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?);
        Ok(())
    }
}

/// A storage holding one file, `damaged`.
#[derive(Debug)]
struct OneFile(std::sync::Arc<MemoryFile>);

impl ckview::io::Storage for OneFile {
    fn open(&self, path: &Path) -> std::io::Result<std::sync::Arc<dyn ckview::io::RandomAccess>> {
        if path == Path::new("damaged") {
            Ok(self.0.clone())
        } else {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }
}

/// Opens and reads everything in `bytes`, keeping the first error; a panic fails the test.
fn read_everything(bytes: &[u8]) -> Result<(), FormatError> {
    let storage = OneFile(std::sync::Arc::new(MemoryFile(bytes.to_vec())));
    let checkpoint = V1Checkpoint::open(&storage, Path::new("damaged"))?;
    let mut first = None;
    for tensor in checkpoint.tensors() {
        let result = if tensor.dtype == DataType::DtString {
            checkpoint.read_strings(tensor).map(drop)
        } else {
            read_all(&checkpoint, tensor).map(drop)
        };
        if let Err(error) = result {
            first.get_or_insert(error);
        }
    }
    first.map_or(Ok(()), Err)
}

#[test]
fn truncations_and_byte_flips_are_errors_not_panics() {
    for source in ["model.ckpt", "partitioned/model.ckpt"] {
        let bytes = std::fs::read(fixtures().join(source)).unwrap();
        read_everything(&bytes).unwrap();
        for len in 0..bytes.len() {
            assert!(read_everything(&bytes[..len]).is_err(), "{source} truncated to {len} bytes");
        }
        let mut failures = 0;
        for at in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= mask;
                failures += usize::from(read_everything(&damaged).is_err());
            }
        }
        // Every block is checksummed: nearly every flip is caught (flips in the footer's padding
        // or the unused metaindex handle bytes may not be).
        assert!(failures > bytes.len() * 3 * 9 / 10, "{source}: only {failures} flips caught");
    }
}

#[test]
fn one_checkpoint_type_opens_both_formats() {
    use ckview::format::Checkpoint;
    let v1 = Checkpoint::open(&fixtures().join("model.ckpt")).unwrap();
    assert!(matches!(v1, Checkpoint::V1(_)));
    let listed: Vec<String> = v1.tensors().unwrap().iter().map(|t| String::from_utf8_lossy(&t.name).into_owned()).collect();
    assert_eq!(listed.len(), 17);
    let mut out = vec![0u8; v1.value_size(b"f16_vec").unwrap() as usize];
    v1.read_value(b"f16_vec", &mut out).unwrap();
    assert_eq!(out, host_order(unhex("003c00c0ff7b"), 2));
    assert_eq!(v1.read_strings(b"string_scalar").unwrap(), [b"scalar".to_vec()]);
    assert!(matches!(v1.value_size(b"nope"), Err(FormatError::KeyNotFound { .. })));
    assert_eq!(v1.tensor(b"i64_mat").unwrap().unwrap().shape, [2, 2]);

    let sharded = Checkpoint::open(&fixtures().join("sharded/model.ckpt-?????-of-00002")).unwrap();
    assert_eq!(sharded.tensors().unwrap().len(), 3);
    let partitioned = Checkpoint::open(&fixtures().join("partitioned/model.ckpt")).unwrap();
    assert_eq!(partitioned.value_size(b"part_var").unwrap(), 160);

    // A V2 bundle of the same era stays a V2 bundle.
    let v2_prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf1_name_based/model.ckpt");
    let v2 = Checkpoint::open(&v2_prefix).unwrap();
    assert!(matches!(v2, Checkpoint::V2(_)));
    for tensor in v2.tensors().unwrap() {
        if tensor.dtype == DataType::DtString {
            v2.read_strings(&tensor.name).unwrap();
        } else {
            let mut out = vec![0u8; v2.value_size(&tensor.name).unwrap() as usize];
            v2.read_value(&tensor.name, &mut out).unwrap();
        }
    }
    assert!(matches!(Checkpoint::open(&fixtures().join("absent")), Err(FormatError::NotFound { .. })));
    let not_a_table = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/tf_answers.json");
    assert!(Checkpoint::open(&not_a_table).is_err());
}
