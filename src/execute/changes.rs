//! What changed, from git: the paths between two revisions (or a revision and the work tree) and
//! the base version of changed cluster.yaml files. Local read-only queries only.

use std::collections::BTreeMap;

use crate::config::UsageError;
use crate::config::cluster::Cluster;
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::git;

fn run(runner: &dyn Runner, cmd: &crate::cmd::Cmd) -> Result<crate::runner::Output, CmdError> {
    match runner.run(cmd)? {
        Reply::Ran(o) => Ok(o),
        Reply::NotRun => Ok(crate::runner::Output::default()),
    }
}

fn split_nul(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split('\0').filter(|p| !p.is_empty()).map(String::from)
}

/// `--base`/`--head` resolved to commit hashes, checked before git is asked anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub base: String,
    /// `None`: the work tree.
    pub head: Option<String>,
}

/// The commit a revision given as `flag` names. Outside a git repository, or for a revision
/// that names no commit here, a usage error that says which and what to do.
fn resolve(runner: &dyn Runner, flag: &str, rev: &str) -> anyhow::Result<String> {
    let inside = run(runner, &git::is_inside_work_tree())?;
    if !inside.success() || inside.stdout.trim() != "true" {
        return Err(UsageError(format!(
            "{flag} {rev}: this folder is not inside a git repository (run deploy in the \
             hub-ops checkout, or pass -C DIR), so there is nothing to compare"
        ))
        .into());
    }
    let mut cmd = git::rev_parse_commit(rev);
    cmd.probe = true;
    let out = run(runner, &cmd)?;
    let sha = out.stdout.trim();
    if !out.success() || sha.is_empty() {
        return Err(UsageError(format!(
            "{flag} {rev:?}: no such commit in this repository. In a shallow clone, fetch more \
             history (actions/checkout `fetch-depth: 0`, or `git fetch --deepen`), or pass a \
             reachable revision."
        ))
        .into());
    }
    Ok(sha.to_string())
}

/// Resolve `--base` and `--head`.
pub fn range(runner: &dyn Runner, base: &str, head: Option<&str>) -> anyhow::Result<Range> {
    Ok(Range {
        base: resolve(runner, "--base", base)?,
        head: head.map(|h| resolve(runner, "--head", h)).transpose()?,
    })
}

/// Changed paths between `base` and `head` (default: the work tree, untracked files included).
pub fn changed_paths(runner: &dyn Runner, r: &Range) -> anyhow::Result<Vec<String>> {
    let (base, head) = (r.base.as_str(), r.head.as_deref());
    let diff = run(runner, &git::diff_names(base, head)).map_err(|e| match e {
        CmdError::Failed { tail, .. } => anyhow::Error::new(UsageError(format!(
            "cannot compare {base}{}: {}\nIn a shallow clone, fetch more history \
             (actions/checkout `fetch-depth: 0`, or `git fetch --deepen`).",
            head.map(|h| format!(" with {h}")).unwrap_or_default(),
            tail.lines().last().unwrap_or("git diff failed")
        ))),
        other => other.into(),
    })?;
    let mut paths: Vec<String> = split_nul(&diff.stdout).collect();
    if head.is_none() {
        paths.extend(split_nul(&run(runner, &git::untracked())?.stdout));
    }
    Ok(paths)
}

/// The text of each named cluster's cluster.yaml at `rev` (`None` where it did not exist).
pub fn base_cluster_files(
    runner: &dyn Runner,
    rev: &str,
    clusters: &[String],
) -> anyhow::Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    for c in clusters {
        let o = run(runner, &git::show(rev, &Cluster::yaml_path(c)))?;
        out.insert(c.clone(), o.success().then_some(o.stdout));
    }
    Ok(out)
}
