//! git: local, read-only queries.

use crate::cmd::Cmd;

/// The last `n` commits touching `path`: `<short hash>\t<short parent hashes>` per line.
pub fn log_path(path: &str, n: usize) -> Cmd {
    Cmd::new("git")
        .args([
            "log",
            "-n",
            &n.to_string(),
            "--pretty=format:%h%x09%p",
            "--",
            path,
        ])
        .local_query()
}

pub fn is_shallow() -> Cmd {
    Cmd::new("git")
        .args(["rev-parse", "--is-shallow-repository"])
        .local_query()
}

/// The commit `rev` names, as a full hash; fails (quietly) when it names none. `rev` comes from
/// the command line, so it goes after `--end-of-options`: `--output=x` is a revision to git here,
/// never an option.
pub fn rev_parse_commit(rev: &str) -> Cmd {
    Cmd::new("git")
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .local_query()
}

/// Whether the current folder is inside a git work tree (prints `true`).
pub fn is_inside_work_tree() -> Cmd {
    let mut c = Cmd::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .local_query();
    c.probe = true;
    c
}

/// Paths changed between `base` and `head` (or the work tree), NUL-separated. Renames are listed
/// as a deletion and an addition so both paths count. Give commit hashes (from
/// [`rev_parse_commit`]), not what the user typed.
pub fn diff_names(base: &str, head: Option<&str>) -> Cmd {
    Cmd::new("git")
        .args(["diff", "--name-only", "--no-renames", "-z", base])
        .args(head)
        .arg("--")
        .local_query()
}

/// Untracked, not ignored files of the work tree, NUL-separated.
pub fn untracked() -> Cmd {
    Cmd::new("git")
        .args(["ls-files", "--others", "--exclude-standard", "-z"])
        .local_query()
}

/// A file's content at a revision; exits non-zero when it does not exist there.
pub fn show(rev: &str, path: &str) -> Cmd {
    let mut c = Cmd::new("git")
        .arg("show")
        .arg(format!("{rev}:{path}"))
        .local_query();
    c.probe = true;
    c
}

/// `git -C dir …` (a repository other than the one we run in).
pub fn in_dir(dir: &str) -> Cmd {
    Cmd::new("git").args(["-C", dir])
}

pub fn clone_branch(url: &str, branch: &str, dest: &str) -> Cmd {
    Cmd::new("git")
        .args([
            "clone",
            "--quiet",
            "--branch",
            branch,
            "--single-branch",
            url,
            dest,
        ])
        .timeout(super::transfer_timeout())
}
