//! What changed, from git: the paths between two revisions (or a revision and the work tree) and
//! the base version of changed cluster.yaml files. Local read-only queries only.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::revision::Revision;
use crate::config::UsageError;
use crate::config::cluster::Cluster;
use crate::config::tree::Tree;
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

/// What git says changed between `base` and `head` (default: the work tree, untracked files
/// included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub paths: Vec<String>,
    /// The paths deleted: they exist at the base only.
    pub deleted: Vec<String>,
}

/// The changed paths of a range.
pub fn changed_paths(runner: &dyn Runner, r: &Range) -> anyhow::Result<Changed> {
    let (base, head) = (r.base.as_str(), r.head.as_deref());
    let diff = run(runner, &git::diff_status(base, head)).map_err(|e| match e {
        CmdError::Failed { tail, .. } => anyhow::Error::new(UsageError(format!(
            "cannot compare {base}{}: {}\nIn a shallow clone, fetch more history \
             (actions/checkout `fetch-depth: 0`, or `git fetch --deepen`).",
            head.map(|h| format!(" with {h}")).unwrap_or_default(),
            tail.lines().last().unwrap_or("git diff failed")
        ))),
        other => other.into(),
    })?;
    let mut out = Changed::default();
    let mut fields = diff.stdout.split('\0');
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        if path.is_empty() {
            continue;
        }
        if status.starts_with('D') {
            out.deleted.push(path.to_string());
        }
        out.paths.push(path.to_string());
    }
    if head.is_none() {
        out.paths
            .extend(split_nul(&run(runner, &git::untracked())?.stdout));
    }
    Ok(out)
}

/// Each named cluster's cluster.yaml at `rev`: its text, why it cannot be read, or `None` where it
/// did not exist. Read with one git process.
pub fn base_cluster_files(
    runner: Arc<dyn Runner>,
    rev: &str,
    clusters: &[String],
) -> anyhow::Result<BTreeMap<String, Option<Result<String, String>>>> {
    let mut out = BTreeMap::new();
    if clusters.is_empty() {
        return Ok(out);
    }
    let base = Revision::open(runner, rev, rev)?;
    let paths: Vec<String> = clusters.iter().map(|c| Cluster::yaml_path(c)).collect();
    base.prefetch(&paths);
    for (c, path) in clusters.iter().zip(&paths) {
        let text = match base.read(path) {
            Ok(t) => t.map(Ok),
            Err(e) => Some(Err(e.message)),
        };
        out.insert(c.clone(), text);
    }
    Ok(out)
}
