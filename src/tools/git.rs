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
