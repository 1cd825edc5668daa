//! Files' real paths (symlinks resolved) for the rules that a file must stay inside the repo and
//! its cluster folder, resolved once per folder: `canonicalize` of every file resolves every
//! component from `/` again (a `readlink` each), which for 5000 hubs' files was most of
//! validation's system time. A file's real path is its folder's real path and its name, unless the
//! file itself is a symlink, which is resolved in full.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub(super) struct RealPaths {
    root: PathBuf,
    /// The repo root's real path.
    pub(super) real_root: Option<PathBuf>,
    dirs: HashMap<String, Option<PathBuf>>,
    files: HashMap<String, Option<PathBuf>>,
}

impl RealPaths {
    pub(super) fn new(root: &Path) -> RealPaths {
        RealPaths {
            root: root.to_path_buf(),
            real_root: root.canonicalize().ok(),
            dirs: HashMap::new(),
            files: HashMap::new(),
        }
    }

    /// A repo folder's real path (`rel` repo-relative, normalised), `None` when it is not there.
    pub(super) fn dir(&mut self, rel: &str) -> Option<PathBuf> {
        if let Some(d) = self.dirs.get(rel) {
            return d.clone();
        }
        let real = match (rel, &self.real_root) {
            ("" | ".", Some(r)) => Some(r.clone()),
            _ => self.root.join(rel).canonicalize().ok(),
        };
        self.dirs.insert(rel.to_string(), real.clone());
        real
    }

    /// A repo file's (or folder's) real path, as `canonicalize` gives it; `None` when it does not
    /// exist (a symlink to nothing included).
    pub(super) fn file(&mut self, rel: &str) -> Option<PathBuf> {
        if let Some(f) = self.files.get(rel) {
            return f.clone();
        }
        let real = self.resolve(rel);
        self.files.insert(rel.to_string(), real.clone());
        real
    }

    fn resolve(&mut self, rel: &str) -> Option<PathBuf> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let path = self.root.join(rel);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.file_type().is_symlink() || matches!(name, "" | "." | "..") {
            return path.canonicalize().ok();
        }
        Some(self.dir(dir)?.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_canonicalize() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("elsewhere")).unwrap();
        std::fs::write(root.join("a/b/f.yaml"), "x: 1\n").unwrap();
        std::fs::write(root.join("elsewhere/s.yaml"), "x: 1\n").unwrap();
        std::os::unix::fs::symlink("../../elsewhere/s.yaml", root.join("a/b/link.yaml")).unwrap();
        std::os::unix::fs::symlink("../elsewhere", root.join("a/dirlink")).unwrap();
        std::os::unix::fs::symlink("nothing", root.join("a/b/dangling.yaml")).unwrap();
        let mut r = RealPaths::new(root);
        for rel in [
            "a/b/f.yaml",
            "a/b/link.yaml",
            "a/dirlink/s.yaml",
            "a/b/dangling.yaml",
            "a/b/missing.yaml",
            "a/b",
            "top-missing",
        ] {
            assert_eq!(r.file(rel), root.join(rel).canonicalize().ok(), "{rel}");
        }
    }
}
