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

/// Changed paths between `base` and `head` (default: the work tree, untracked files included).
pub fn changed_paths(
    runner: &dyn Runner,
    base: &str,
    head: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let diff = run(runner, &git::diff_names(base, head)).map_err(|e| match e {
        CmdError::Failed { tail, .. } => anyhow::Error::new(UsageError(format!(
            "cannot compare with --base {base}{}: {}\nIn a shallow clone, fetch more history \
             (actions/checkout `fetch-depth: 0`, or `git fetch --deepen`), or pass a reachable revision.",
            head.map(|h| format!(" --head {h}")).unwrap_or_default(),
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
