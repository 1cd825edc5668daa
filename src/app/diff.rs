//! `deploy diff`, and the rendered changes `plan --diff` adds to the Markdown plan.

use std::path::Path;

use crate::cli::{ChangeArgs, DiffArgs, DiffFormat};
use crate::config::UsageError;
use crate::config::multi::MultiRepo;
use crate::execute::changes::Range;
use crate::execute::diff::Report;
use crate::execute::outcome::{RunFailed, Verdict};
use crate::execute::select;
use crate::log::Log;
use crate::plan::multi::Plan;
use crate::report::{self, print_result};

pub(crate) fn diff_cmd(args: DiffArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    if !MultiRepo::detect(root) {
        return Err(UsageError(
            "deploy diff needs the multi-cluster layout (config/clusters/<cluster>/cluster.yaml); \
             in the legacy layout, `deploy <chart> --deploy --dry-run` shows what would run"
                .into(),
        )
        .into());
    }
    let changes = args.changes();
    if changes.base.is_none() {
        return Err(UsageError(
            "deploy diff compares two revisions: give --base REV (and --head REV; default: the \
             work tree), e.g. `deploy diff --base origin/main`"
                .into(),
        )
        .into());
    }
    let repo = MultiRepo::load(root)?;
    let (plan, range) = select::multi_plan_range(&repo, &changes, log)?;
    let report = rendered(root, &plan, range, &changes, log, args.jobs)?;
    let out = match args.format {
        DiffFormat::Text => report::diff::text(&report),
        DiffFormat::Markdown => report::diff::markdown(&report, usize::MAX, ""),
        DiffFormat::Json => serde_json::to_string_pretty(&report)?,
    };
    print_result(&log.scrub(&out))?;
    check(&report, log)
}

/// Render and compare the plan's releases between the range's two revisions.
pub(crate) fn rendered(
    root: &Path,
    plan: &Plan,
    range: Option<Range>,
    changes: &ChangeArgs,
    log: &Log,
    jobs: u16,
) -> anyhow::Result<Report> {
    let (Some(range), Some(base)) = (range, &changes.base) else {
        return Err(UsageError("the rendered diff needs --base REV".into()).into());
    };
    crate::execute::preflight::require_programs(&["helm".to_string()], false, log)?;
    let t0 = std::time::Instant::now();
    let report = crate::execute::diff::diff(
        root,
        plan,
        &range,
        (base, changes.head.as_deref()),
        &changes.labels,
        log,
        usize::from(jobs),
    )?;
    log.info(&format!(
        "diff: {} release(s) compared with {} helm template render(s) in {:.1}s",
        report.releases.len(),
        report.renders,
        t0.elapsed().as_secs_f64()
    ));
    Ok(report)
}

/// Exit 1 when a release could not be rendered at the head (its diff is missing); the others
/// were shown. One that only the base cannot render (a pull request that mends a chart broken on
/// main) is a warning: the change is what is reviewed.
pub(crate) fn check(report: &Report, log: &Log) -> anyhow::Result<()> {
    let at_base = report.failed() - report.failed_at_head();
    if at_base > 0 {
        log.warn(&format!(
            "{at_base} release(s) could not be rendered at the base, so their diff is not shown; \
             they render at the head"
        ));
    }
    match report.failed_at_head() {
        0 => Ok(()),
        n => Err(RunFailed {
            summary: format!("{n} release(s) could not be rendered; the others are shown"),
            verdict: Verdict::Failed,
        }
        .into()),
    }
}

/// Where the comment says the whole diff is: the workflow run's artifacts on GitHub Actions,
/// else the command that prints it.
pub(crate) fn full_diff_hint(changes: &ChangeArgs, file: Option<&Path>) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let name = file
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if let (Some(server), Some(repo), Some(run), Some(name)) = (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
        &name,
    ) {
        return format!(
            "The whole diff is `{name}` in the artifacts of [this workflow run]({server}/{repo}/actions/runs/{run})."
        );
    }
    let mut cmd = String::from("deploy diff");
    if let Some(b) = &changes.base {
        cmd.push_str(&format!(" --base {b}"));
    }
    if let Some(h) = &changes.head {
        cmd.push_str(&format!(" --head {h}"));
    }
    format!("`{cmd}` prints the whole diff.")
}
