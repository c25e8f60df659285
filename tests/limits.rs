//! The limits that protect the host: a checkpoint of 100,000 shards neither exhausts its file
//! descriptors nor its memory mappings, and an entry crafted to make the decoder allocate
//! hundreds of megabytes is refused before it does, also under an address-space limit
//! (`RLIMIT_AS`, which SECURITY.md recommends and under which a failed allocation aborts).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ckview::format::proto::{tensor_shape_proto::Dim, BundleEntryProto, DataType, TensorShapeProto};
use ckview::format::writer::BundleWriter;
use ckview::format::{crc, Bundle, FormatError, Verify};
use ckview::io::LocalStorage;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-limits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn count_lines(path: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_hundred_thousand_shards_keep_descriptors_and_mappings_bounded() {
    const SHARDS: u32 = 100_000;
    let dir = scratch("shards");
    let prefix = dir.join("many");
    let mut writer = BundleWriter::create(&prefix).unwrap();
    writer.header_mut().num_shards = SHARDS as i32;
    for shard in 0..SHARDS {
        let bytes = shard.to_le_bytes();
        std::fs::write(dir.join(format!("many.data-{shard:05}-of-{SHARDS:05}")), bytes).unwrap();
        let entry = BundleEntryProto {
            dtype: DataType::DtUint32 as i32,
            shape: Some(TensorShapeProto::default()),
            shard_id: shard as i32,
            size: 4,
            crc32c: crc::mask(crc::crc32c(&bytes)),
            ..Default::default()
        };
        writer.add_entry(format!("t{shard:06}").as_bytes(), entry);
    }
    writer.finish().unwrap();
    let (descriptors, mappings) = (open_descriptors(), count_lines("/proc/self/maps"));

    let bundle = Bundle::open(&prefix).unwrap();
    let tensors = bundle.tensors().unwrap();
    assert_eq!(tensors.len(), SHARDS as usize);
    let mut value = [0u8; 4];
    for (index, (key, entry)) in tensors.iter().enumerate() {
        bundle.read_value(key, entry, &mut value, Verify::Checksums).unwrap();
        assert_eq!(u32::from_le_bytes(value), index as u32);
    }
    let after_reads = open_descriptors();
    println!("{SHARDS} shards read: {descriptors} descriptors before, {after_reads} after");
    assert!(after_reads <= descriptors + 70, "{after_reads} descriptors open after reading every shard ({descriptors} before)");

    // With memory maps, borrows map at most a bounded number of shards, then say so.
    let mapped = Bundle::open_with(&prefix, Arc::new(LocalStorage { mmap: true })).unwrap();
    let (mut borrowed, mut refused) = (0usize, 0usize);
    for (key, entry) in &tensors {
        match mapped.borrow_value(key, entry, Verify::Checksums) {
            Ok(bytes) => {
                assert_eq!(bytes.len(), 4);
                borrowed += 1;
            }
            Err(FormatError::Unsupported { reason, .. }) if reason.contains("memory-mapped at once") => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    let (maps_after, descriptors_after) = (count_lines("/proc/self/maps"), open_descriptors());
    println!("borrows: {borrowed} mapped, {refused} refused; {mappings} mappings before, {maps_after} after; {descriptors_after} descriptors");
    assert!(borrowed >= 256 && refused > 0 && borrowed + refused == SHARDS as usize);
    assert!(maps_after <= mappings + 600, "{maps_after} mappings ({mappings} before)");
    assert!(descriptors_after <= descriptors + 400, "{descriptors_after} descriptors ({descriptors} before)");
    drop((bundle, mapped));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An entry of ten million dimensions: 40 MB on disk, 320 MB once prost has built them.
fn write_ten_million_dims(dir: &Path) -> PathBuf {
    let mut writer = BundleWriter::create(&dir.join("dims")).unwrap();
    let shape = TensorShapeProto { dim: vec![Dim { size: 1, name: String::new() }; 10_000_000], unknown_rank: false };
    writer.add_entry(b"t", BundleEntryProto { dtype: DataType::DtFloat as i32, shape: Some(shape), size: 4, ..Default::default() });
    writer.finish().unwrap()
}

#[test]
fn an_entry_of_ten_million_dimensions_is_refused_under_an_address_space_limit() {
    let dir = scratch("dims");
    let prefix = write_ten_million_dims(&dir);
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args(["--exact", "opens_the_crafted_entry_in_a_child", "--ignored", "--nocapture"]).env("CKVIEW_LIMITS_PREFIX", &prefix);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        child.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 768 << 20, rlim_max: 768 << 20 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the child died under RLIMIT_AS: {}\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("refused: ") && stdout.contains("1 passed"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run by the test above, in a child process under `RLIMIT_AS`.
#[test]
#[ignore = "runs in a child process under RLIMIT_AS, started by the test above"]
fn opens_the_crafted_entry_in_a_child() {
    let prefix = PathBuf::from(std::env::var_os("CKVIEW_LIMITS_PREFIX").expect("started by the parent test"));
    let bundle = Bundle::open(&prefix).unwrap();
    match bundle.entry(b"t") {
        Err(FormatError::CorruptEntry { reason, .. }) if reason.contains("exceeds") => println!("refused: {reason}"),
        other => panic!("{other:?}"),
    }
}
