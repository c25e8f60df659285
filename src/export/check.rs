//! Runs of tensors copied inside the kernel, checked against their stored crc32c by reading the
//! copy back from the output: on a second thread, while the next run is copied, so that reading
//! back costs no time of its own on a machine with two cores (checked inline where no thread can
//! start). The bytes verified are the bytes written, as before the thread.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::error::ExportError;
use super::plan::Planned;
use crate::format::{crc, Bundle, TensorEntry};

/// The piece of a copied run read back at a time.
const CHUNK: u64 = 1 << 20;
/// Copied runs waiting to be checked, at most: the copy runs ahead of the check by no more.
const QUEUE: usize = 2;

/// Tensors copied one after another to `position` of the output, `bytes` in all.
pub(super) struct CopiedRun<'p> {
    pub position: u64,
    pub bytes: u64,
    pub tensors: Vec<(&'p Planned, &'p TensorEntry)>,
}

/// Reads `run` back from `out` a chunk at a time and checks each tensor's crc32c.
fn check_run(bundle: &Bundle, out: &File, path: &Path, run: &CopiedRun<'_>, scratch: &mut Vec<u8>) -> Result<(), ExportError> {
    scratch.resize(scratch.len().max(CHUNK as usize), 0);
    // `window` is the part of the run in `scratch`, as offsets into the run.
    let mut window = 0..0u64;
    let mut start = 0u64;
    for (planned, entry) in &run.tensors {
        let (mut crc, mut at, end) = (0u32, start, start + planned.size);
        while at < end {
            if at == window.end {
                window = window.end..run.bytes.min(window.end + CHUNK);
                let piece = &mut scratch[..(window.end - window.start) as usize];
                out.read_exact_at(piece, run.position + window.start)
                    .map_err(|source| ExportError::Write { path: path.to_path_buf(), source })?;
            }
            let upto = end.min(window.end);
            crc = crc::extend(crc, &scratch[(at - window.start) as usize..(upto - window.start) as usize]);
            at = upto;
        }
        bundle.check_checksum(planned.key_bytes(), entry, crc)?;
        start = end;
    }
    Ok(())
}

/// Checks the runs of one output file as they are copied; [`Checker::finish`] waits for the last.
pub(super) struct Checker<'scope, 'p> {
    bundle: &'p Bundle,
    path: &'p Path,
    /// The checking thread's queue and handle, or `None` when checks run inline.
    thread: Option<(SyncSender<CopiedRun<'p>>, ScopedJoinHandle<'scope, Result<(), ExportError>>)>,
    /// The output, read back by inline checks.
    out: File,
    scratch: Vec<u8>,
}

impl<'scope, 'p: 'scope> Checker<'scope, 'p> {
    /// A checker reading the output through `out`, its own handle on the file.
    pub fn start<'env>(scope: &'scope Scope<'scope, 'env>, bundle: &'p Bundle, out: File, path: &'p Path) -> Checker<'scope, 'p>
    where
        'p: 'env,
    {
        let thread = out.try_clone().ok().and_then(|reader| {
            let (sender, receiver) = sync_channel::<CopiedRun<'p>>(QUEUE);
            let check = move || {
                let mut scratch = Vec::new();
                // Stops at the first failure: the sender then sees the queue closed.
                receiver.iter().try_for_each(|run| check_run(bundle, &reader, path, &run, &mut scratch))
            };
            let handle = crate::threads::spawn_helper(scope, "ckview-export-check", check).ok()?;
            Some((sender, handle))
        });
        Checker { bundle, path, thread, out, scratch: Vec::new() }
    }

    /// Checks `run` (already copied), on the thread or here; an error may be that of an
    /// earlier run, found since.
    pub fn check(&mut self, run: CopiedRun<'p>) -> Result<(), ExportError> {
        match &self.thread {
            Some((queue, _)) => match queue.send(run) {
                Ok(()) => Ok(()),
                // The thread stopped at a failure: wait for it to say which.
                Err(returned) => {
                    self.finish()?;
                    check_run(self.bundle, &self.out, self.path, &returned.0, &mut self.scratch)
                }
            },
            None => check_run(self.bundle, &self.out, self.path, &run, &mut self.scratch),
        }
    }

    /// Waits until every run given to [`Checker::check`] is checked.
    pub fn finish(&mut self) -> Result<(), ExportError> {
        let Some((queue, handle)) = self.thread.take() else { return Ok(()) };
        drop(queue);
        handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
