//! What the command line selects: the changed paths (given, read from a file, or from git for
//! `--base`), the labels, and the plan they make. Runs only local read-only git queries.

use std::path::Path;
use std::sync::Arc;

use super::changes::{self, Range};
use super::revision::Revision;
use crate::cli::ChangeArgs;
use crate::config::multi::MultiRepo;
use crate::config::{MissingPrograms, input};
use crate::log::Log;
use crate::plan::multi::{Changes, Plan};
use crate::runner::{RealRunner, Runner};

/// The changed paths: those the user gave, or those git reports for `--base`.
#[derive(Debug, Default)]
pub struct RawChanges {
    pub paths: Vec<String>,
    /// `--base`: the paths git reports as deleted.
    pub deleted: Vec<String>,
    /// `--base`: the range, resolved.
    pub range: Option<Range>,
}

/// The changed paths the user gave, or those git reports for `--base` (with the resolved range).
pub fn raw_changes(args: &ChangeArgs, root: &Path, log: &Log) -> anyhow::Result<RawChanges> {
    if let Some(base) = &args.base {
        if which::which("git").is_err() {
            return Err(MissingPrograms(vec!["git".into()]).into());
        }
        let runner = RealRunner::in_repo(root, log);
        let range = changes::range(&runner, base, args.head.as_deref())?;
        let changed = changes::changed_paths(&runner, &range)?;
        if args.changed_from.is_some() || !args.paths.is_empty() {
            // (`deploy diff`: the files given plan the releases, those git says were deleted
            // as deleted; the range is what to compare)
            let paths = given_paths(args)?;
            let deleted = changed
                .deleted
                .into_iter()
                .filter(|d| paths.contains(d))
                .collect();
            return Ok(RawChanges {
                paths,
                deleted,
                range: Some(range),
            });
        }
        return Ok(RawChanges {
            paths: changed.paths,
            deleted: changed.deleted,
            range: Some(range),
        });
    }
    Ok(RawChanges {
        paths: given_paths(args)?,
        ..RawChanges::default()
    })
}

/// The paths given as arguments or in the --changed-from file.
fn given_paths(args: &ChangeArgs) -> anyhow::Result<Vec<String>> {
    Ok(match &args.changed_from {
        Some(file) => split_paths(&input::read_arg(file, "--changed-from ")?),
        None => args.paths.clone(),
    })
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

/// The multi-cluster plan for the change options (git, paths, labels), notices logged. With
/// `--head`, the config the plan reads (deploy.yaml, cluster files, charts) is that revision's,
/// wherever the work tree is; otherwise it is the work tree's (`repo`).
pub fn multi_plan(repo: &MultiRepo, args: &ChangeArgs, log: &Log) -> anyhow::Result<Plan> {
    multi_plan_range(repo, args, log).map(|(plan, _)| plan)
}

/// [`multi_plan`], and the `--base` range it planned from (resolved), if any.
pub fn multi_plan_range(
    repo: &MultiRepo,
    args: &ChangeArgs,
    log: &Log,
) -> anyhow::Result<(Plan, Option<Range>)> {
    let raw = raw_changes(args, &repo.root, log)?;
    let mut changes = Changes::new(raw.paths, args.labels.clone());
    let mut at_head = None;
    if let Some(range) = &raw.range {
        changes.set_deleted(raw.deleted);
        let runner: Arc<dyn Runner> = Arc::new(RealRunner::in_repo(&repo.root, log));
        let clusters = changes.changed_cluster_yamls();
        changes.base = Some(changes::base_cluster_files(
            Arc::clone(&runner),
            &range.base,
            &clusters,
        )?);
        if let (Some(head), Some(name)) = (&range.head, &args.head) {
            let tree = Arc::new(Revision::open(runner, head, name)?);
            at_head = Some(MultiRepo::load_from(&repo.root, tree)?);
        }
    }
    let plan = crate::plan::multi::plan(at_head.as_ref().unwrap_or(repo), &changes)?;
    for n in &plan.notices {
        log.warn(n);
    }
    Ok((plan, raw.range))
}
