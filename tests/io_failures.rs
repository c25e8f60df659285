//! Files that fail, shrink or are rewritten under an open view or reader: every call returns an
//! error, none raises a signal (reads are positioned reads into memory the library owns; memory
//! maps are opt-in), and a storage of the caller's that fails is reported the same way.

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ckview::format::{Bundle, FormatError, Verify};
use ckview::io::{LocalStorage, RandomAccess, Storage};
use ckview::CheckpointView;
use common::fixture_dir;

/// A copy of fixture `name`'s files in a fresh folder; returns the folder.
fn copy_fixture(name: &str, label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-io-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture_dir(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

/// Reads every tensor of `bundle`; returns how many reads succeeded and how many failed.
fn read_all(bundle: &Bundle) -> (usize, usize) {
    let Ok(tensors) = bundle.tensors() else { return (0, 1) };
    let (mut ok, mut failed) = (0, 0);
    for (key, entry) in tensors {
        let result = match bundle.value_size(&key, &entry) {
            Ok(size) => bundle.read_value(&key, &entry, &mut vec![0u8; size as usize], Verify::Checksums),
            Err(FormatError::UnsupportedDtype { .. }) => bundle.read_strings(&key, &entry).map(drop),
            Err(error) => Err(error),
        };
        if result.is_ok() { ok += 1 } else { failed += 1 }
    }
    (ok, failed)
}

fn shard(dir: &Path, prefix: &str) -> PathBuf {
    dir.join(format!("{prefix}.data-00000-of-00001"))
}

#[test]
fn truncating_the_files_under_an_open_view_gives_errors() {
    let dir = copy_fixture("keras_adam", "truncate");
    let view = CheckpointView::open(dir.join("model")).unwrap();
    let reader = Bundle::open(&dir.join("model")).unwrap();
    let paths: Vec<Option<String>> = (0..view.num_nodes() as u32).map(|node| view.path(node).unwrap()).collect();
    let (healthy, none_failed) = read_all(view.bundle());
    assert!(healthy > 10 && none_failed == 0);
    let data = shard(&dir, "model");
    let length = std::fs::metadata(&data).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&data).unwrap().set_len(length / 2).unwrap();
    for bundle in [view.bundle(), &reader] {
        let (ok, failed) = read_all(bundle);
        assert!(ok > 0 && failed > 0 && ok + failed == healthy, "half a shard: {ok} read, {failed} failed");
    }
    std::fs::OpenOptions::new().write(true).open(&data).unwrap().set_len(0).unwrap();
    assert_eq!(read_all(&reader), (0, healthy));
    // The graph was copied at open: the view still answers, its names intact.
    assert_eq!((0..view.num_nodes() as u32).map(|node| view.path(node).unwrap()).collect::<Vec<_>>(), paths);
    std::fs::write(dir.join("model.index"), b"").unwrap();
    // Index blocks already read may be cached; whatever is not gives an error, not a signal.
    let _ = read_all(&reader);
    assert!(Bundle::open(&dir.join("model")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// TensorFlow's `Checkpoint.write` to an existing prefix truncates and rewrites its files in
/// place. A reader following a trainer meets files of either version, or half of one.
#[test]
fn files_rewritten_in_place_while_read_give_answers_or_errors() {
    let dir = copy_fixture("doc_children", "rewrite");
    let versions: Vec<(Vec<u8>, Vec<u8>)> = ["doc_children", "doc_diff"]
        .iter()
        .map(|name| {
            let source = fixture_dir(name);
            (std::fs::read(source.join("tf_ckpts-1.index")).unwrap(), std::fs::read(shard(&source, "tf_ckpts-1")).unwrap())
        })
        .collect();
    let prefix = dir.join("tf_ckpts-1");
    let view = CheckpointView::open(&prefix).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (dir, done) = (dir.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut rewrites = 0usize;
            while !done.load(Ordering::Relaxed) && rewrites < 100_000 {
                let (index, data) = &versions[rewrites % 2];
                std::fs::write(dir.join("tf_ckpts-1.index"), index).unwrap();
                std::fs::write(shard(&dir, "tf_ckpts-1"), data).unwrap();
                rewrites += 1;
            }
            rewrites
        })
    };
    let (mut rounds, mut opened, mut read, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        rounds += 1;
        let (ok, bad) = read_all(view.bundle());
        (read, failed) = (read + ok, failed + bad);
        if let Ok(fresh) = CheckpointView::open(&prefix) {
            opened += 1;
            let (ok, bad) = read_all(fresh.bundle());
            (read, failed) = (read + ok, failed + bad);
            assert!(fresh.descendants().len() <= fresh.num_nodes());
        }
    }
    done.store(true, Ordering::Relaxed);
    let rewrites = writer.join().unwrap();
    println!("{rounds} rounds against {rewrites} rewrites: {opened} views opened, {read} tensors read, {failed} reads failed");
    assert!(rounds > 10 && rewrites > 10, "{rounds} rounds, {rewrites} rewrites");
    assert!(read > 0, "no read succeeded");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Local files whose reads fail from the `n`-th on, with the errno a failing disk gives.
#[derive(Debug)]
struct FailingStorage {
    reads_left: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct FailingFile {
    inner: Arc<dyn RandomAccess>,
    reads_left: Arc<AtomicUsize>,
}

impl Storage for FailingStorage {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        Ok(Arc::new(FailingFile { inner: LocalStorage::default().open(path)?, reads_left: Arc::clone(&self.reads_left) }))
    }
}

impl RandomAccess for FailingFile {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if self.reads_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_err() {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.read_exact_at(offset, buf)
    }
}

#[test]
fn a_storage_whose_reads_fail_gives_io_errors_from_every_call_that_meets_it() {
    let prefix = common::prefix("keras_adam");
    let mut outcomes = std::collections::BTreeSet::new();
    for reads in 0..40 {
        let storage = FailingStorage { reads_left: Arc::new(AtomicUsize::new(reads)) };
        match CheckpointView::open_with(&prefix, Arc::new(storage)) {
            Err(error) => {
                assert!(error.to_string().contains("Input/output error"), "{error}");
                outcomes.insert("open failed");
            }
            Ok(view) => {
                let (ok, failed) = read_all(view.bundle());
                outcomes.insert(if failed == 0 { "all read" } else if ok == 0 { "no read" } else { "some read" });
            }
        }
    }
    assert!(outcomes.contains("open failed") && outcomes.contains("some read"), "{outcomes:?}");
}

/// A `checkpoint` state file may name any prefix; `CKVIEW_OPEN_CONFINE` opens none outside the
/// directory passed.
#[test]
fn a_confined_open_does_not_follow_a_state_file_out_of_its_directory() {
    use ckview::ffi::{ckview_close, ckview_error_free, ckview_error_message, ckview_open_options, ckview_open_with, ckview_status, CKVIEW_OPEN_CONFINE};
    let outer = copy_fixture("doc_children", "confine");
    let run = outer.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let absolute = outer.join("tf_ckpts-1");
    for (label, target) in [("relative", "../tf_ckpts-1".to_string()), ("absolute", absolute.display().to_string())] {
        std::fs::write(run.join("checkpoint"), format!("model_checkpoint_path: \"{target}\"\n")).unwrap();
        assert!(CheckpointView::open(&run).is_ok(), "{label}: TensorFlow follows the state file, and so does ckview by default");
        let confined = ckview::io::Confined::around(Arc::new(LocalStorage::default()), &run);
        assert!(matches!(CheckpointView::open_with(&run, Arc::new(confined)), Err(ckview::GraphError::Format(FormatError::NotFound { .. }))), "{label}");
        // The same through the C ABI's flag.
        let path = std::ffi::CString::new(run.as_os_str().as_encoded_bytes()).unwrap();
        let options = ckview_open_options { flags: CKVIEW_OPEN_CONFINE, io: std::ptr::null(), io_userdata: std::ptr::null_mut() };
        let (mut view, mut error) = (std::ptr::null_mut(), std::ptr::null_mut());
        let status = unsafe { ckview_open_with(path.as_ptr(), &options, &mut view, &mut error) };
        assert_eq!(status, ckview_status::CKVIEW_NOT_FOUND, "{label}");
        let message = unsafe { std::ffi::CStr::from_ptr(ckview_error_message(error)) }.to_string_lossy().into_owned();
        assert!(message.contains("outside"), "{label}: {message}");
        ckview_error_free(error);
        // Inside the directory, a confined open works as any other.
        let inside = std::ffi::CString::new(outer.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { ckview_open_with(inside.as_ptr(), &options, &mut view, std::ptr::null_mut()) }, ckview_status::CKVIEW_OK);
        unsafe { ckview_close(view) };
    }
    std::fs::remove_dir_all(&outer).unwrap();
}
