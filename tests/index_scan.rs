//! A large index is listed by two threads, half of its blocks each: the listing must be the one
//! a scan from the start gives, and a damaged entry must be reported as that scan reports it.

use std::path::PathBuf;

use ckview::format::proto::BundleEntryProto;
use ckview::format::writer::BundleWriter;
use ckview::format::{Bundle, DataType, FormatError};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-index-scan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const TENSORS: usize = 20_000;

fn key(index: usize) -> Vec<u8> {
    format!("model/layer_{index:05}/kernel/.ATTRIBUTES/VARIABLE_VALUE").into_bytes()
}

/// A bundle of `TENSORS` one-element tensors, the entries `damaged` of dtype DT_INVALID, which
/// no bundle can hold.
fn bundle(name: &str, damaged: &[usize]) -> Bundle {
    let prefix = scratch(name).join("ckpt");
    let mut writer = BundleWriter::create(&prefix).unwrap();
    for index in 0..TENSORS {
        writer.add_raw(&key(index), DataType::DtFloat, &[1], &(index as f32).to_le_bytes()).unwrap();
    }
    for &index in damaged {
        writer.add_entry(&key(index), BundleEntryProto { dtype: DataType::DtInvalid as i32, ..Default::default() });
    }
    Bundle::open_prefix(&writer.finish().unwrap()).unwrap()
}

/// The entries one sequential scan visits, in its order.
fn scanned(bundle: &Bundle) -> Result<Vec<(Vec<u8>, String)>, FormatError> {
    let mut seen = Vec::new();
    bundle.for_each_tensor(|key, entry| seen.push((key.to_vec(), format!("{entry:?}"))))?;
    Ok(seen)
}

fn damaged_key(error: FormatError) -> String {
    match error {
        FormatError::CorruptEntry { key, .. } => key,
        other => panic!("expected a corrupt entry, got {other}"),
    }
}

#[test]
fn a_large_index_lists_as_one_scan_does() {
    let bundle = bundle("whole", &[]);
    // Bundle::tensors splits an index of 4 blocks or more (of 256 KiB, as TensorFlow writes them).
    assert!(bundle.table().num_blocks() >= 4, "{} blocks", bundle.table().num_blocks());
    let listed: Vec<(Vec<u8>, String)> = bundle.tensors().unwrap().into_iter().map(|(key, entry)| (key, format!("{entry:?}"))).collect();
    assert_eq!(listed.len(), TENSORS);
    assert!(listed == scanned(&bundle).unwrap(), "the listing differs from a scan");
    assert!(listed.iter().enumerate().all(|(index, (listed_key, _))| *listed_key == key(index)));
}

#[test]
fn the_first_damaged_entry_is_the_error_whichever_half_it_is_in() {
    for damaged in [&[150][..], &[TENSORS - 10], &[100, TENSORS - 10], &[TENSORS / 2]] {
        let bundle = bundle(&format!("damaged-{}", damaged[0]), damaged);
        let expected = damaged_key(scanned(&bundle).err().expect("a scan meets the damage"));
        assert_eq!(expected, String::from_utf8(key(damaged[0])).unwrap());
        assert_eq!(damaged_key(bundle.tensors().err().expect("the listing meets the damage")), expected, "damaged {damaged:?}");
    }
}
