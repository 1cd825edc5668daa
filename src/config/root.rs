//! Where the hub-ops repo is when no `-C` says: searched upward from the current folder, as git
//! finds its work tree.

use std::path::{Path, PathBuf};

/// What marks a hub-ops repo's root: the legacy layout's settings, or the multi-cluster folders.
const MARKERS: [&str; 2] = ["deploy.yaml", "config/clusters"];

/// The repo root for a run started in `start`: the nearest of `start` and the folders above it
/// that holds `deploy.yaml` or `config/clusters/`, not looking above a git work tree's top (a
/// folder with `.git`); `None` when there is none. The root is given relative to `start` (`.`,
/// `..`, `../..`), so messages name it as the user sees it.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    for (up, dir) in abs.ancestors().enumerate() {
        if MARKERS.iter().any(|m| dir.join(m).exists()) {
            return Some(match up {
                0 => start.to_path_buf(),
                n => start.join(vec![".."; n].join("/")),
            });
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Where [`find_root`] looked from `start`, for a message.
pub fn looked_in(start: &Path) -> String {
    let Ok(abs) = std::path::absolute(start) else {
        return start.display().to_string();
    };
    let here = start.display();
    match abs.ancestors().position(|d| d.join(".git").exists()) {
        Some(0) => format!("{here} (the top of its git work tree)"),
        Some(n) => format!("{here} and the {n} folder(s) above it, up to the git work tree's top"),
        None => format!("{here} and every folder above it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_nearest_folder_with_a_marker_within_the_work_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let deep = repo.join("config/clusters/alpha");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        assert_eq!(find_root(&deep).unwrap(), deep.join("../../.."));
        assert_eq!(find_root(&repo).unwrap(), repo);
        let legacy = tmp.path().join("legacy");
        std::fs::create_dir_all(legacy.join("hub-charts/x")).unwrap();
        std::fs::write(legacy.join("deploy.yaml"), "").unwrap();
        assert_eq!(
            find_root(&legacy.join("hub-charts/x")).unwrap(),
            legacy.join("hub-charts/x/../..")
        );
        assert_eq!(find_root(&legacy).unwrap(), legacy);
        // not above a work tree's top
        let other = tmp.path().join("other/sub");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::create_dir_all(tmp.path().join("other/.git")).unwrap();
        std::fs::write(tmp.path().join("deploy.yaml"), "").unwrap();
        assert_eq!(find_root(&other), None);
        assert!(
            looked_in(&other)
                .ends_with("sub and the 1 folder(s) above it, up to the git work tree's top")
        );
    }
}
