//! Where the repo's config is read from: the work tree, or one git revision (`deploy plan --head
//! REV`). [`MultiRepo`](super::multi::MultiRepo) reads every file through a [`Tree`], so the
//! planner has one code path whichever it is. The work tree is here; a revision, which needs git,
//! is built by `execute` (config never starts a process).

use std::ffi::OsString;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::files::{self, ReadError};

/// A read-only view of the repo's files, by repo-relative path (normalized, `/`-separated).
pub trait Tree: Debug + Send + Sync {
    /// How notices name it: `the work tree`, `revision 1a2b3c4d5e6f`.
    fn describe(&self) -> String;

    /// How errors name one of its files: `rel` in the work tree, `1a2b3c4d5e6f:rel` (git's
    /// notation) at a revision.
    fn locate(&self, rel: &str) -> String {
        rel.to_string()
    }

    /// A file's text (checked as [`files`] describes); `Ok(None)` when there is nothing at `rel`.
    /// Errors name the file (and the revision).
    fn read(&self, rel: &str) -> Result<Option<String>, ConfigError>;

    /// Whether this is the work tree itself (its files are those on disk under the root).
    fn is_work_tree(&self) -> bool {
        false
    }

    /// A hint: these files are about to be read. A revision reads them all with one git process;
    /// the work tree ignores it.
    fn prefetch(&self, _rels: &[String]) {}

    /// Whether anything (a file, a folder, a symlink, a submodule) is at `rel`.
    fn exists(&self, rel: &str) -> bool;

    fn is_dir(&self, rel: &str) -> bool;

    /// Whether a file is at `rel` (a symlink to one counts).
    fn is_file(&self, rel: &str) -> bool;

    /// [`Tree::exists`] and [`Tree::is_file`] at once (the work tree asks the system once for a
    /// path that is not a symlink).
    fn presence(&self, rel: &str) -> Presence {
        if !self.exists(rel) {
            Presence::Absent
        } else if self.is_file(rel) {
            Presence::File
        } else {
            Presence::Other
        }
    }

    /// [`Tree::presence`] of each of `rels`, in order.
    fn presences(&self, rels: &[&str]) -> Vec<Presence> {
        rels.iter().map(|r| self.presence(r)).collect()
    }

    /// The names of the folders of `rel` that hold a file `file` (`config/clusters/*/cluster.yaml`,
    /// `helm-charts/*/Chart.yaml`), in no particular order.
    fn folders_with(&self, rel: &str, file: &str) -> Vec<OsString>;
}

/// What is at a path: nothing, a file (or a symlink to one), or something else (a folder, a
/// broken symlink, a submodule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Absent,
    File,
    Other,
}

/// The files on disk under the repo root.
#[derive(Debug)]
pub struct WorkTree {
    pub root: PathBuf,
}

impl WorkTree {
    pub fn new(root: &Path) -> WorkTree {
        WorkTree {
            root: root.to_path_buf(),
        }
    }

    /// [`Tree::folders_with`], one at a time (a caller that needs only the first stops there).
    pub fn each_folder_with(&self, rel: &str, file: &str) -> impl Iterator<Item = OsString> {
        std::fs::read_dir(self.root.join(rel))
            .into_iter()
            .flatten()
            .flatten()
            .filter(move |e| e.path().join(file).is_file())
            .map(|e| e.file_name())
    }
}

impl Tree for WorkTree {
    fn describe(&self) -> String {
        "the work tree".into()
    }

    fn is_work_tree(&self) -> bool {
        true
    }

    fn read(&self, rel: &str) -> Result<Option<String>, ConfigError> {
        match files::read_text(&self.root.join(rel)) {
            Ok(t) => Ok(Some(t)),
            Err(ReadError::Missing) => Ok(None),
            Err(e) => Err(ConfigError::new(rel, e.to_string())),
        }
    }

    fn exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.root.join(rel).is_dir()
    }

    fn is_file(&self, rel: &str) -> bool {
        self.root.join(rel).is_file()
    }

    fn presence(&self, rel: &str) -> Presence {
        let path = self.root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Err(_) => Presence::Absent,
            Ok(m) if m.is_file() => Presence::File,
            Ok(m) if m.is_symlink() && path.is_file() => Presence::File,
            Ok(_) => Presence::Other,
        }
    }

    fn presences(&self, rels: &[&str]) -> Vec<Presence> {
        crate::parallel::map(workers_for(rels.len()), rels, |r| self.presence(r))
    }

    fn folders_with(&self, rel: &str, file: &str) -> Vec<OsString> {
        let dir = self.root.join(rel);
        let names: Vec<OsString> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let has = crate::parallel::map(workers_for(names.len()), &names, |n| {
            dir.join(n).join(file).is_file()
        });
        names
            .into_iter()
            .zip(has)
            .filter_map(|(n, has)| has.then_some(n))
            .collect()
    }
}

/// Threads for `n` system calls of a few microseconds each (a `statx`): every core when there
/// are enough to pay for starting a thread (a 500-file change, 250 cluster folders), else this
/// one.
fn workers_for(n: usize) -> usize {
    if n < 128 { 1 } else { crate::parallel::cores() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_lookups_on_every_core_say_what_one_at_a_time_says() {
        let tmp = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        let mut rels = Vec::new();
        for i in 0..300 {
            let dir = tmp.path().join(format!("c/{i:03}"));
            std::fs::create_dir_all(&dir).unwrap();
            match i % 4 {
                0 => std::fs::write(dir.join("f.yaml"), "").unwrap(),
                1 => std::os::unix::fs::symlink("../000/f.yaml", dir.join("f.yaml")).unwrap(),
                2 => std::fs::create_dir(dir.join("f.yaml")).unwrap(),
                _ => {}
            }
            if i % 4 < 2 {
                want.push(format!("{i:03}"));
            }
            rels.push(format!("c/{i:03}/f.yaml"));
        }
        std::fs::write(tmp.path().join("c/file"), "").unwrap();
        let t = WorkTree::new(tmp.path());
        let mut found: Vec<String> = t
            .folders_with("c", "f.yaml")
            .into_iter()
            .map(|n| n.into_string().unwrap())
            .collect();
        found.sort();
        assert_eq!(found, want);
        let rels: Vec<&str> = rels.iter().map(String::as_str).collect();
        let one_at_a_time: Vec<Presence> = rels.iter().map(|r| t.presence(r)).collect();
        assert_eq!(t.presences(&rels), one_at_a_time);
        assert!(one_at_a_time.contains(&Presence::Other));
        assert!(one_at_a_time.contains(&Presence::Absent));
    }

    #[test]
    fn work_tree_reads_lists_and_tells_files_from_folders() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        std::fs::create_dir_all(tmp.path().join("a/c")).unwrap();
        std::fs::write(tmp.path().join("a/b/f.yaml"), "").unwrap();
        std::fs::write(tmp.path().join("a/x.yaml"), "\u{feff}k: 1\n").unwrap();
        std::os::unix::fs::symlink("gone", tmp.path().join("a/dangling")).unwrap();
        let t = WorkTree::new(tmp.path());
        assert_eq!(t.read("a/x.yaml").unwrap().as_deref(), Some("k: 1\n"));
        assert_eq!(t.read("a/none").unwrap(), None);
        assert!(
            t.read("a/b")
                .unwrap_err()
                .to_string()
                .starts_with("a/b: is a folder")
        );
        assert!(t.is_file("a/x.yaml") && !t.is_file("a/b") && t.is_dir("a/b"));
        assert!(t.exists("a/dangling") && !t.is_file("a/dangling") && !t.exists("a/none"));
        assert_eq!(t.folders_with("a", "f.yaml"), ["b"]);
        assert!(t.folders_with("a/x.yaml", "f.yaml").is_empty());
        // one lookup tells what `exists` and `is_file` tell (a symlink followed for the second)
        std::os::unix::fs::symlink("x.yaml", tmp.path().join("a/link")).unwrap();
        std::os::unix::fs::symlink("b", tmp.path().join("a/to-folder")).unwrap();
        for rel in [
            "a/x.yaml",
            "a/link",
            "a/b",
            "a/to-folder",
            "a/dangling",
            "a/none",
        ] {
            let by_default = match (t.exists(rel), t.is_file(rel)) {
                (false, _) => Presence::Absent,
                (true, true) => Presence::File,
                (true, false) => Presence::Other,
            };
            assert_eq!(t.presence(rel), by_default, "{rel}");
        }
        assert_eq!(t.presence("a/link"), Presence::File);
        assert_eq!(t.presence("a/to-folder"), Presence::Other);
    }
}
