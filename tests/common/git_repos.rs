//! Local git repositories for tests: a bare releases repo with one commit, and what it holds.

use std::path::Path;

use super::{git, text};

/// A bare releases repo with one commit on main.
pub fn bare_repo(dir: &Path) -> String {
    let bare = dir.join("releases.git");
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let seed = dir.join("seed");
    git(
        dir,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    std::fs::write(seed.join("README.md"), "releases\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    git(&seed, &["push", "-q", "origin", "HEAD:main"]);
    bare.display().to_string()
}

pub fn files_on_main(bare: &str) -> String {
    text(
        &std::process::Command::new("git")
            .args(["--git-dir", bare, "ls-tree", "-r", "--name-only", "main"])
            .output()
            .unwrap()
            .stdout,
    )
}
