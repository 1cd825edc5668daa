//! `deploy plan`.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::{PlanArgs, PlanFormat};
use crate::config::UsageError;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::execute::lease::LeaseSettings;
use crate::execute::outcome::{RunFailed, Verdict};
use crate::execute::pool::{DryFactory, RealFactory};
use crate::execute::run::{self, RunOptions};
use crate::execute::{preflight, select};
use crate::log::{Log, Verbosity};
use crate::plan::multi::{Changes, Plan};
use crate::plan::release;
use crate::plan::run_plan;
use crate::report::{self, print_result};

pub(crate) fn plan_cmd(
    args: PlanArgs,
    root: &Path,
    log: &Log,
    beat: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        PlanFormat::Table
    } else {
        PlanFormat::Json
    });
    let comment_body = args
        .comment_body
        .clone()
        .or_else(|| (format == PlanFormat::Github).then(|| std::path::PathBuf::from(COMMENT_BODY)));
    if let Some(path) = &comment_body {
        super::run::check_writable(path, "--comment-body")?;
    }
    let out = if MultiRepo::detect(root) {
        let mut repo = MultiRepo::load(root)?;
        // this command reads no cluster text after parsing, but those the plan keeps to compare
        repo.let_go_of_texts();
        args.changes.require("plan")?;
        if args.diff.diff && args.changes.base.is_none() {
            return Err(UsageError(
                "--diff renders each release at two revisions: give --base REV (and --head REV; \
                 default: the work tree)"
                    .into(),
            )
            .into());
        }
        if let Some(path) = &args.diff.diff_file {
            super::run::check_writable(path, "--diff-file")?;
        }
        let (mut plan, range) = select::multi_plan_range(&repo, &args.changes, log)?;
        if args.live.enabled(repo.settings.live) {
            live_check(&repo, &mut plan, args.jobs, log, beat)?;
        }
        let diff = if args.diff.diff {
            let d = super::diff::rendered(root, &plan, range, &args.changes, log, args.jobs)?;
            if let Some(path) = &args.diff.diff_file {
                write_file(path, &log.scrub(&report::diff::text(&d)), "the diff")?;
            }
            Some(d)
        } else {
            None
        };
        // the Markdown plan, with the rendered changes when asked, under a comment's limit
        let markdown = || {
            let plan_md = report::plan::markdown(&plan);
            let Some(d) = &diff else { return plan_md };
            let hint = super::diff::full_diff_hint(&args.changes, args.diff.diff_file.as_deref());
            let budget = report::diff::COMMENT_BUDGET.saturating_sub(plan_md.len() + 2);
            log.scrub(&format!(
                "{plan_md}\n{}",
                report::diff::markdown(d, budget, &hint)
            ))
        };
        if let Some(path) = &comment_body {
            write_comment_body(path, &markdown())?;
        }
        let out = match format {
            PlanFormat::Json => crate::plan::json::json(&plan),
            PlanFormat::Table => match &diff {
                Some(d) => format!(
                    "{}\n{}",
                    report::plan::table(&plan),
                    log.scrub(&report::diff::text(d))
                ),
                None => report::plan::table(&plan),
            },
            PlanFormat::Markdown => markdown(),
            PlanFormat::Github => {
                report::github::plan_outputs(&plan)?;
                crate::plan::json::json(&plan)
            }
            PlanFormat::Commands => commands(&repo, &plan, log)?,
        };
        if let Some(d) = &diff {
            print_result(&out)?;
            return super::diff::check(d, log);
        }
        // The process ends once the plan is printed: freeing every parsed cluster piece by piece
        // (on this thread, though other threads parsed them) took, in a perf timeline of a
        // 500-file plan at 5000 hubs, about as long as parsing them; the system takes the memory
        // back at once. So with the plan: its 5000 jobs of a base chart change took 5M
        // instructions to free.
        std::mem::forget(repo);
        std::mem::forget(plan);
        out
    } else {
        let repo = LegacyRepo::load(root)?;
        if args.live.enabled(repo.settings.live) {
            return Err(UsageError(
                "--live (or `live: true` in deploy.yaml) needs the multi-cluster layout \
                 (config/clusters/<cluster>/cluster.yaml); `deploy <chart> --deploy` always \
                 upgrades"
                    .into(),
            )
            .into());
        }
        if args.diff.diff {
            // (the shipped workflow passes --diff whatever the layout)
            log.warn(
                "--diff: the legacy layout has no rendered diff (it needs \
                 config/clusters/<cluster>/cluster.yaml); planned without it",
            );
        }
        if format == PlanFormat::Commands {
            return Err(UsageError(
                "--format commands needs the multi-cluster layout; in this layout \
                 `deploy <chart> --build --push --deploy --dry-run` prints every command"
                    .into(),
            )
            .into());
        }
        args.changes.require("plan")?;
        let raw = select::raw_changes(&args.changes, root, log)?.paths;
        let changes = Changes::new(raw, args.changes.labels.clone());
        let plan = crate::plan::legacy_changes::plan(&repo, &changes)?;
        for n in &plan.notices {
            log.warn(n);
        }
        if let Some(path) = &comment_body {
            write_comment_body(path, &report::plan::legacy_markdown(&plan))?;
        }
        match format {
            PlanFormat::Json | PlanFormat::Commands => crate::plan::json::legacy_json(&plan),
            PlanFormat::Table => report::plan::legacy_table(&plan),
            PlanFormat::Markdown => report::plan::legacy_markdown(&plan),
            PlanFormat::Github => {
                report::github::legacy_plan_outputs(&plan)?;
                crate::plan::json::legacy_json(&plan)
            }
        }
    };
    print_result(&out)
}

/// Where `--format github` writes the PR comment's body unless `--comment-body` says: the name
/// 2i2c's workflow gives it.
const COMMENT_BODY: &str = "comment-body.txt";

fn write_comment_body(path: &Path, markdown: &str) -> anyhow::Result<()> {
    write_file(path, markdown, "the comment body")
}

fn write_file(path: &Path, text: &str, what: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::write(path, text).with_context(|| format!("writing {what} to {}", path.display()))
}

/// How each release of a plan runs: deploy.yaml's `helm.timeout`, else helm's own 10m.
fn release_options(repo: &MultiRepo) -> release::Options {
    release::Options {
        timeout: repo
            .settings
            .helm
            .timeout
            .clone()
            .unwrap_or_default()
            .to_string(),
        force: false,
        force_recover: false,
        skip_health_check: false,
    }
}

/// `--live`: check each planned release against its cluster and drop those whose upgrade would
/// change nothing.
fn live_check(
    repo: &MultiRepo,
    plan: &mut Plan,
    helm_jobs: u16,
    log: &Log,
    beat: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let jobs = plan.jobs();
    let run_plan = run_plan::build(repo, &jobs, &release_options(repo))?;
    preflight::require_programs(&run_plan.programs, false, log)?;
    let opts = RunOptions {
        jobs: usize::from(helm_jobs),
        lease: LeaseSettings::new(std::time::Duration::ZERO),
        sequential: false,
        live: true,
        heartbeat: beat,
    };
    let factory = RealFactory {
        root: repo.root.clone(),
    };
    let decisions = run::check(&repo.root, &run_plan, &factory, log, &opts);
    if crate::signals::interrupted() {
        return Err(RunFailed {
            summary: "the live check was interrupted".into(),
            verdict: Verdict::Interrupted,
        }
        .into());
    }
    crate::plan::live::apply(plan, &jobs, &decisions);
    log.info(&format!(
        "live check: {} of {} planned release(s) unchanged, not upgraded",
        plan.dropped.len(),
        jobs.len()
    ));
    Ok(())
}

/// `--format commands`: the plan's run plan walked by the dry runner, sequentially, and the
/// commands each cluster's credentials and each release would run, redacted. Only local
/// read-only queries run; nothing is decrypted.
fn commands(repo: &MultiRepo, plan: &Plan, log: &Log) -> anyhow::Result<String> {
    let run_plan = run_plan::build(repo, &plan.jobs(), &release_options(repo))?;
    preflight::require_jsonnet(&run_plan.programs, log)?;
    let factory = DryFactory {
        root: repo.root.clone(),
        out: || Box::new(std::io::sink()),
    };
    let opts = RunOptions {
        jobs: 1,
        lease: LeaseSettings::new(std::time::Duration::ZERO),
        sequential: true,
        live: false,
        heartbeat: None,
    };
    // the walk's own progress lines are not the result: only warnings and errors show
    let quiet = log.with_verbosity(Verbosity::Quiet);
    let (outcomes, credentials) = run::run_recorded(&repo.root, &run_plan, &factory, &quiet, &opts);
    Ok(report::plan::commands(&run_plan, &outcomes, &credentials))
}
