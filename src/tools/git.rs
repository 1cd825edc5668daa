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

/// Paths changed between `base` and `head` (or the work tree), each with its status letter
/// (`M`, `A`, `D`, ...): `STATUS\0PATH\0` per path. Renames are listed as a deletion and an
/// addition so both paths count. Give commit hashes (from [`rev_parse_commit`]), not what the user
/// typed.
pub fn diff_status(base: &str, head: Option<&str>) -> Cmd {
    Cmd::new("git")
        .args(["diff", "--name-status", "--no-renames", "-z", base])
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

/// Every file of revision `rev` (a commit hash), recursively, NUL-terminated:
/// `MODE TYPE OBJECT SIZE\tPATH`.
pub fn ls_tree(rev: &str) -> Cmd {
    Cmd::new("git")
        .args(["ls-tree", "-r", "-z", "-l", "--full-tree", rev])
        .local_query()
}

/// The content of each object named on stdin (one object hash per line), each as
/// `OBJECT TYPE SIZE\n` + content + `\n`. Its output is any file of the repo: never logged.
pub fn cat_file_batch(objects: &[&str]) -> Cmd {
    let mut input = objects.join("\n");
    input.push('\n');
    Cmd::new("git")
        .args(["cat-file", "--batch"])
        .stdin_doc(&input, &format!("<{} object names>", objects.len()))
        .local_query()
        .private_output()
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

/// `git --version` (`git version 2.43.0`).
pub fn version() -> Cmd {
    super::version_probe(Cmd::new("git").arg("--version"))
}

/// Read commit `rev`'s tree into a private index file (not the repository's index).
pub fn read_tree_into(rev: &str, index: &str) -> Cmd {
    Cmd::new("git")
        .args(["read-tree", &format!("--index-output={index}"), rev])
        .local_query()
}

/// Write every file of the index `index` under `dir` (which ends with `/`): a checkout of one
/// revision that leaves the work tree, the repository's index and HEAD alone.
pub fn checkout_index_into(index: &str, dir: &str) -> Cmd {
    Cmd::new("git")
        .env("GIT_INDEX_FILE", index)
        .args(["checkout-index", "--all", &format!("--prefix={dir}")])
        .local_query()
}
