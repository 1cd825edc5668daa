//! What the command line selects: the changed paths (given, read from a file, or from git for
//! `--base`), the labels, and the plan they make. Runs only local read-only git queries.

use std::path::Path;

use super::changes::{self, Range};
use crate::cli::ChangeArgs;
use crate::config::multi::MultiRepo;
use crate::config::{MissingPrograms, input};
use crate::log::Log;
use crate::plan::multi::{Changes, Plan};
use crate::runner::RealRunner;

/// The changed paths the user gave, or those git reports for `--base` (with the resolved range).
pub fn raw_changes(
    args: &ChangeArgs,
    root: &Path,
    log: &Log,
) -> anyhow::Result<(Vec<String>, Option<Range>)> {
    if let Some(base) = &args.base {
        if which::which("git").is_err() {
            return Err(MissingPrograms(vec!["git".into()]).into());
        }
        let runner = RealRunner::in_repo(root, log);
        let range = changes::range(&runner, base, args.head.as_deref())?;
        let paths = changes::changed_paths(&runner, &range)?;
        return Ok((paths, Some(range)));
    }
    if let Some(file) = &args.changed_from {
        let text = input::read_arg(file, "--changed-from ")?;
        return Ok((split_paths(&text), None));
    }
    Ok((args.paths.clone(), None))
}

/// One path per line, or NUL-separated (`git diff --name-only -z`), whichever the text is.
fn split_paths(text: &str) -> Vec<String> {
    let sep = if text.contains('\0') { '\0' } else { '\n' };
    text.split(sep)
        .map(|p| p.trim_end_matches('\r'))
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// The multi-cluster plan for the change options (git, paths, labels), notices logged.
pub fn multi_plan(repo: &MultiRepo, args: &ChangeArgs, log: &Log) -> anyhow::Result<Plan> {
    let (raw, range) = raw_changes(args, &repo.root, log)?;
    let mut changes = Changes::new(raw, args.labels.clone());
    if let Some(range) = &range {
        let runner = RealRunner::in_repo(&repo.root, log);
        let clusters = changes.changed_cluster_yamls();
        changes.base = Some(changes::base_cluster_files(
            &runner,
            &range.base,
            &clusters,
        )?);
    }
    let plan = crate::plan::multi::plan(repo, &changes)?;
    for n in &plan.notices {
        log.warn(n);
    }
    Ok(plan)
}
