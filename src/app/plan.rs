//! `deploy plan`.

use std::io::IsTerminal;
use std::path::Path;

use super::{print_result, real_runner};
use crate::cli::{ChangeArgs, PlanArgs, PlanFormat};
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::execute;
use crate::plan::multi::{Changes, Plan};
use crate::report;
use crate::report::log::Log;

/// The changed paths the user gave, or those git reports for `--base` (with the resolved
/// range).
pub(crate) fn raw_changes(
    args: &ChangeArgs,
    root: &Path,
    log: &Log,
) -> anyhow::Result<(Vec<String>, Option<execute::changes::Range>)> {
    if let Some(base) = &args.base {
        if which::which("git").is_err() {
            return Err(super::MissingPrograms(vec!["git".into()]).into());
        }
        let runner = real_runner(root, log);
        let range = execute::changes::range(&runner, base, args.head.as_deref())?;
        let paths = execute::changes::changed_paths(&runner, &range)?;
        return Ok((paths, Some(range)));
    }
    if let Some(file) = &args.changed_from {
        let text = super::read_input(file, "--changed-from ")?;
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

pub(crate) fn plan_cmd(args: PlanArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        PlanFormat::Table
    } else {
        PlanFormat::Json
    });
    let out = if MultiRepo::detect(root) {
        let repo = MultiRepo::load(root)?;
        let mut plan = multi_plan(&repo, &args.changes, root, log)?;
        if args.live.enabled(repo.settings.live) {
            let jobs = crate::plan::jobs::jobs(&plan);
            let decisions = super::run::live_decisions(&repo, &jobs, args.jobs, log)?;
            crate::plan::live::apply(&mut plan, &jobs, &decisions);
            let dropped = plan.dropped.len();
            log.info(&format!(
                "live check: {dropped} of {} planned release(s) unchanged, not upgraded",
                jobs.len()
            ));
        }
        match format {
            PlanFormat::Json => report::plan::json(&plan),
            PlanFormat::Table => report::plan::table(&plan),
            PlanFormat::Markdown => report::plan::markdown(&plan),
            PlanFormat::Github => {
                report::github::plan_outputs(&plan)?;
                report::plan::json(&plan)
            }
        }
    } else {
        let repo = LegacyRepo::load(root)?;
        if args.live.enabled(repo.settings.live) {
            return Err(crate::config::UsageError(
                "--live (or `live: true` in deploy.yaml) needs the multi-cluster layout \
                 (config/clusters/<cluster>/cluster.yaml); `deploy <chart> --deploy` always \
                 upgrades"
                    .into(),
            )
            .into());
        }
        let (raw, _) = raw_changes(&args.changes, root, log)?;
        let changes = Changes::new(raw, args.changes.labels.clone());
        let plan = crate::plan::legacy_changes::plan(&repo, &changes)?;
        for n in &plan.notices {
            log.warn(n);
        }
        match format {
            PlanFormat::Json => report::plan::legacy_json(&plan),
            PlanFormat::Table => report::plan::legacy_table(&plan),
            PlanFormat::Markdown => report::plan::legacy_markdown(&plan),
            PlanFormat::Github => {
                report::github::legacy_plan_outputs(&plan)?;
                report::plan::legacy_json(&plan)
            }
        }
    };
    print_result(&out)
}

/// The multi-cluster plan for the change options (git, paths, labels), notices logged.
pub(crate) fn multi_plan(
    repo: &MultiRepo,
    args: &ChangeArgs,
    root: &Path,
    log: &Log,
) -> anyhow::Result<Plan> {
    let (raw, range) = raw_changes(args, root, log)?;
    let mut changes = Changes::new(raw, args.labels.clone());
    if let Some(range) = &range {
        let runner = real_runner(root, log);
        let clusters = changes.changed_cluster_yamls();
        changes.base = Some(execute::changes::base_cluster_files(
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
