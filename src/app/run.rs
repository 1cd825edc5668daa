//! `deploy run`, `upgrade-support`, `upgrade-hub`, `filter-prod`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;

use crate::cli::{ExecArgs, FilterProdArgs, RunArgs, UpgradeHubArgs, UpgradeSupportArgs};
use crate::config::cluster::Cluster;
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, UsageError, input};
use crate::execute::lease::LeaseSettings;
use crate::execute::outcome::{RunFailed, Status, Verdict};
use crate::execute::pool::{DryFactory, RealFactory};
use crate::execute::run::{self, RunOptions};
use crate::execute::{preflight, select};
use crate::log::Log;
use crate::plan::jobs::{Job, Kind};
use crate::plan::json::{filter_prod as filter, parse_plan_json, report_clusters};
use crate::plan::release;
use crate::plan::run_plan;
use crate::report::print_result;

pub(crate) fn load_repo(root: &Path, what: &str) -> anyhow::Result<MultiRepo> {
    if !MultiRepo::detect(root) {
        return Err(UsageError(format!(
            "`deploy {what}` needs the multi-cluster layout (config/clusters/<cluster>/cluster.yaml) \
             in {}; for a deploy.py-style repo use `deploy <chart> --deploy`",
            root.display()
        ))
        .into());
    }
    Ok(MultiRepo::load(root)?)
}

pub(crate) fn run_cmd(
    args: RunArgs,
    root: &Path,
    log: &Log,
    beat: Option<Duration>,
) -> anyhow::Result<()> {
    let repo = load_repo(root, "run")?;
    if args.plan.is_none() {
        args.changes.require("run")?;
    }
    let (jobs, removed) = match &args.plan {
        Some(p) => (
            parse_plan_json(&p.display().to_string(), &input::read_arg(p, "")?)?,
            Vec::new(),
        ),
        None => {
            let plan = select::multi_plan(&repo, &args.changes, log)?;
            (plan.jobs(), plan.removed)
        }
    };
    if jobs.is_empty() {
        log.info("nothing to deploy: the plan is empty");
    }
    let result = execute(&repo, &jobs, &args.exec, log, beat);
    if !args.prune || removed.is_empty() {
        return result;
    }
    if let Err(e) = &result {
        // (a usage or config error ran nothing, and says so itself)
        if e.downcast_ref::<RunFailed>().is_some() {
            log.warn(
                "--prune: the upgrades did not all succeed, so no removed hub was uninstalled",
            );
        }
        return result;
    }
    super::prune::prune(&repo, &removed, &args.exec, log)
}

pub(crate) fn upgrade_support(
    args: UpgradeSupportArgs,
    root: &Path,
    log: &Log,
    beat: Option<Duration>,
) -> anyhow::Result<()> {
    let repo = load_repo(root, "upgrade-support")?;
    let cluster = one_cluster(&repo, &args.cluster)?;
    if !cluster.has_support() {
        return Err(ConfigError::new(
            Cluster::yaml_path(&cluster.name),
            "has no `support:` block to upgrade",
        )
        .into());
    }
    let job = Job {
        kind: Kind::Support,
        provider: cluster.provider(),
        cluster: cluster.name.clone(),
        release: "support".into(),
        reason: "requested: deploy upgrade-support".into(),
    };
    execute(&repo, &[job], &args.exec, log, beat)
}

pub(crate) fn upgrade_hub(
    args: UpgradeHubArgs,
    root: &Path,
    log: &Log,
    beat: Option<Duration>,
) -> anyhow::Result<()> {
    let repo = load_repo(root, "upgrade-hub")?;
    let cluster = one_cluster(&repo, &args.cluster)?;
    if !cluster.file.hubs.iter().any(|h| h.name == args.hub) {
        let names: Vec<&str> = cluster.file.hubs.iter().map(|h| h.name.as_str()).collect();
        return Err(UsageError(format!(
            "cluster {} has no hub `{}`; its hubs: {}",
            cluster.name,
            args.hub,
            names.join(", ")
        ))
        .into());
    }
    let job = Job {
        kind: Kind::of_hub(&args.hub),
        provider: cluster.provider(),
        cluster: cluster.name.clone(),
        release: args.hub.clone(),
        reason: "requested: deploy upgrade-hub".into(),
    };
    execute(&repo, &[job], &args.exec, log, beat)
}

fn one_cluster(repo: &MultiRepo, name: &str) -> anyhow::Result<std::sync::Arc<Cluster>> {
    if !repo.has_cluster(name) {
        return Err(UsageError(format!(
            "unknown cluster `{name}`; clusters: {}",
            repo.cluster_names.join(", ")
        ))
        .into());
    }
    Ok(repo.load_cluster(name)?)
}

pub(crate) fn filter_prod(args: FilterProdArgs, log: &Log) -> anyhow::Result<()> {
    let jobs = parse_plan_json(
        &args.plan.display().to_string(),
        &input::read_arg(&args.plan, "")?,
    )?;
    let mut failed: BTreeSet<String> = args
        .failed_clusters
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    // a failed cluster must be one the inputs know: a typo would drop nothing, silently
    let mut known: BTreeSet<String> = jobs.iter().map(|j| j.cluster.clone()).collect();
    let unknown: Vec<&String> = failed.iter().filter(|c| !known.contains(*c)).collect();
    let mut from_reports = BTreeSet::new();
    for r in &args.results {
        let text = input::read_arg(r, "")?;
        let (all, bad) = report_clusters(&r.display().to_string(), &text)?;
        known.extend(all);
        from_reports.extend(bad);
    }
    let unknown: Vec<&str> = unknown
        .into_iter()
        .filter(|c| !known.contains(*c))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(UsageError(format!(
            "--failed-clusters names cluster(s) that are in neither the plan nor the --results \
             files: {} (give the whole plan with --plan, not only its prod jobs, when a failed \
             cluster has no prod jobs)",
            unknown.join(", ")
        ))
        .into());
    }
    failed.extend(from_reports);
    let dropped = jobs
        .iter()
        .filter(|j| j.kind == Kind::Prod && failed.contains(&j.cluster))
        .count();
    if dropped > 0 {
        log.warn(&format!(
            "dropping {dropped} prod job(s) of clusters whose support or staging failed: {}",
            failed.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let out = filter(&jobs, &failed);
    crate::report::github::write_outputs(&[("prod-jobs", out.clone())])?;
    print_result(&out)
}

/// How each release runs: `--timeout`, else deploy.yaml's `helm.timeout`, else helm's own 10m.
pub(crate) fn release_options(repo: &MultiRepo, exec: &ExecArgs) -> release::Options {
    release::Options {
        timeout: repo.helm_timeout(exec.timeout.as_ref()),
        force: exec.force,
        force_recover: exec.force_recover,
        skip_health_check: exec.no_health_check,
    }
}

/// `--report FILE` must be writable before anything runs: finding out after the upgrades would
/// lose the record of what they did.
fn check_report_path(path: &Path) -> anyhow::Result<()> {
    check_writable(path, "--report")
}

/// An output file named by `option` can be written (its folder exists and takes a file), checked
/// before anything runs.
pub(crate) fn check_writable(path: &Path, option: &str) -> anyhow::Result<()> {
    let bad = |why: String| UsageError(format!("{option} {}: {why}", path.display()));
    if path.is_dir() {
        return Err(bad("is a folder; give a file name".into()).into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad(format!("the folder {} does not exist", dir.display())).into());
    }
    tempfile::Builder::new()
        .prefix(".deploy-report-check-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| bad(format!("cannot write in {}: {e}", dir.display())).into())
}

fn execute(
    repo: &MultiRepo,
    jobs: &[Job],
    exec: &ExecArgs,
    log: &Log,
    beat: Option<Duration>,
) -> anyhow::Result<()> {
    if let Some(path) = &exec.report {
        check_report_path(path)?;
    }
    let plan = run_plan::build(repo, jobs, &release_options(repo, exec))?;
    preflight::require_programs(&plan.programs, exec.dry_run, log)?;
    preflight::before_run(repo, &plan, exec.dry_run, usize::from(exec.jobs), log)?;

    let opts = RunOptions {
        jobs: usize::from(exec.jobs),
        lease: LeaseSettings::new(exec.lock_timeout.duration()),
        sequential: exec.dry_run,
        live: exec.live.enabled(repo.settings.live),
        heartbeat: beat,
    };
    let t0 = Instant::now();
    let root = repo.root.clone();
    let outcomes = if exec.dry_run {
        let factory = DryFactory {
            root,
            out: || Box::new(std::io::stdout()),
        };
        run::run(&repo.root, &plan, &factory, log, &opts)
    } else {
        run::run(&repo.root, &plan, &RealFactory { root }, log, &opts)
    };
    let elapsed = t0.elapsed().as_secs_f64();

    if let Some(path) = &exec.report {
        std::fs::write(path, crate::report::run::json(&outcomes, elapsed) + "\n")
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    crate::report::github::write_summary(&crate::report::run::markdown(&outcomes))?;
    if !jobs.is_empty() {
        log.write_raw(&log.scrub(&crate::report::run::summary(&outcomes)));
    }
    match Verdict::of(&outcomes) {
        Verdict::Interrupted => Err(RunFailed {
            summary: "the run was interrupted".into(),
            verdict: Verdict::Interrupted,
        }
        .into()),
        Verdict::Failed => {
            let bad: Vec<String> = outcomes
                .iter()
                .filter(|o| matches!(o.status, Status::Failed | Status::Skipped))
                .map(|o| o.job.label())
                .collect();
            Err(RunFailed {
                summary: format!(
                    "{} release(s) failed or were skipped: {}",
                    bad.len(),
                    bad.join(", ")
                ),
                verdict: Verdict::Failed,
            }
            .into())
        }
        Verdict::Succeeded => {
            log.info(if exec.dry_run {
                "dry run: nothing was changed"
            } else {
                "done"
            });
            Ok(())
        }
    }
}
