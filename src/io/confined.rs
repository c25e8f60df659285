//! A storage that opens nothing outside one directory: for checkpoints from strangers, whose
//! `checkpoint` state file may name any path (an absolute one, `../..`), which TensorFlow
//! follows.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::{PathKind, RandomAccess, Storage};

/// `inner`, refusing every path that does not lie inside `root` once `.` and `..` are resolved
/// by name (symbolic links inside the directory are still followed).
#[derive(Debug)]
pub struct Confined {
    inner: Arc<dyn Storage>,
    root: PathBuf,
}

impl Confined {
    /// Confines `inner` to `root`.
    pub fn new(inner: Arc<dyn Storage>, root: &Path) -> Confined {
        Confined { inner, root: lexical(root) }
    }

    /// Confines `inner` to the directory of `save_path`: the path itself when it is a
    /// directory, else the directory that holds it.
    pub fn around(inner: Arc<dyn Storage>, save_path: &Path) -> Confined {
        let root = match inner.kind(save_path) {
            Some(PathKind::Directory) => save_path,
            _ => save_path.parent().unwrap_or(Path::new("")),
        };
        Confined::new(inner, root)
    }

    fn check(&self, path: &Path) -> io::Result<()> {
        if lexical(path).starts_with(&self.root) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} lies outside {}, to which the checkpoint is confined", path.display(), self.root.display()),
        ))
    }
}

impl Storage for Confined {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        self.check(path)?;
        self.inner.open(path)
    }

    fn kind(&self, path: &Path) -> Option<PathKind> {
        // Outside: not said, so that the open that follows fails with the reason why.
        self.check(path).ok().and_then(|()| self.inner.kind(path))
    }

    fn maps(&self) -> bool {
        self.inner.maps()
    }
}

/// `path` with `.` dropped and each `..` taking away the name before it; a `..` with nothing
/// left to take away stays, so such a path never lies inside a root below it.
fn lexical(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::LocalStorage;

    #[test]
    fn paths_are_inside_once_dots_are_resolved() {
        let confined = Confined::new(Arc::new(LocalStorage::default()), Path::new("models/run/./"));
        for inside in ["models/run/ckpt-1.index", "models/other/../run/ckpt-1.index", "./models/run/a/../b"] {
            assert!(confined.check(Path::new(inside)).is_ok(), "{inside}");
        }
        for outside in ["/etc/passwd", "models/run/../../secret", "models/runner/ckpt", "../models/run/x", "models"] {
            assert_eq!(confined.check(Path::new(outside)).unwrap_err().kind(), io::ErrorKind::PermissionDenied, "{outside}");
        }
    }
}
