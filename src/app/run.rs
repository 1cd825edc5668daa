//! `deploy run`, `upgrade-support`, `upgrade-hub`, `filter-prod`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use super::{MissingPrograms, print_result, read_input};
use crate::cli::{ExecArgs, FilterProdArgs, RunArgs, UpgradeHubArgs, UpgradeSupportArgs};
use crate::config::cluster::{Cluster, Provider, is_staging_name};
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, UsageError};
use crate::execute::lease::LeaseSettings;
use crate::execute::run::{self, Job, Kind, RunOptions, RunnerFactory};
use crate::execute::secrets::is_sops_encrypted;
use crate::plan::jobs::{filter_prod as filter, parse_plan_json, report_clusters};
use crate::report::log::Log;
use crate::report::run::Overall;
use crate::runner::{DryRunner, RealRunner, Runner};

/// Some release failed or was skipped (exit 1), or the run was interrupted (exit 130).
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub struct RunFailed {
    pub summary: String,
    pub interrupted: bool,
}

struct RealFactory {
    root: PathBuf,
}

impl RunnerFactory for RealFactory {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a> {
        let mut r = RealRunner::new(log.clone());
        r.base_dir = Some(self.root.clone());
        Box::new(r)
    }
}

struct DryFactory {
    root: PathBuf,
}

impl RunnerFactory for DryFactory {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a> {
        let mut r = RealRunner::new(log.clone());
        r.base_dir = Some(self.root.clone());
        Box::new(DryRunner::new(r, Box::new(std::io::stdout())))
    }
}

fn load_repo(root: &Path, what: &str) -> anyhow::Result<MultiRepo> {
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

pub(crate) fn run_cmd(args: RunArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let repo = load_repo(root, "run")?;
    let jobs = match &args.plan {
        Some(p) => parse_plan_json(&p.display().to_string(), &read_input(p, "")?)?,
        None => crate::plan::jobs::jobs(&super::plan::multi_plan(&repo, &args.changes, root, log)?),
    };
    if jobs.is_empty() {
        log.info("nothing to deploy: the plan is empty");
    }
    execute(&repo, &jobs, &args.exec, log)
}

pub(crate) fn upgrade_support(
    args: UpgradeSupportArgs,
    root: &Path,
    log: &Log,
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
    execute(&repo, &[job], &args.exec, log)
}

pub(crate) fn upgrade_hub(args: UpgradeHubArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
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
        kind: if is_staging_name(&args.hub) {
            Kind::Staging
        } else {
            Kind::Prod
        },
        provider: cluster.provider(),
        cluster: cluster.name.clone(),
        release: args.hub.clone(),
        reason: "requested: deploy upgrade-hub".into(),
    };
    execute(&repo, &[job], &args.exec, log)
}

fn one_cluster(repo: &MultiRepo, name: &str) -> anyhow::Result<Cluster> {
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
        &read_input(&args.plan, "")?,
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
        let text = read_input(r, "")?;
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

/// The programs a run needs: helm, kubectl, the providers' tools, sops when a file is encrypted.
fn programs(
    repo: &MultiRepo,
    clusters: &BTreeMap<String, Cluster>,
    jobs: &[Job],
) -> Vec<&'static str> {
    // a run where every cluster is Flux-run starts no helm or kubectl
    let mut p = if clusters.values().all(|c| c.file.gitops.is_some()) {
        vec![]
    } else {
        vec!["helm", "kubectl"]
    };
    let mut files: Vec<String> = Vec::new();
    for c in clusters.values() {
        let f = &c.file;
        let (tool, key) = match c.provider() {
            Provider::Gcp => ("gcloud", f.gcp.as_ref().map(|g| g.key.clone())),
            Provider::Aws => ("aws", f.aws.as_ref().map(|a| a.key.clone())),
            Provider::Azure => ("az", f.azure.as_ref().map(|a| a.key.clone())),
            Provider::Kubeconfig => ("kubectl", f.kubeconfig.as_ref().map(|k| k.file.clone())),
        };
        p.push(if c.file.gitops.is_some() { "git" } else { tool });
        files.extend(key.and_then(|k| crate::config::paths::join(&c.dir, &k).ok()));
    }
    for j in jobs {
        if let Some(c) = clusters.get(&j.cluster)
            && let Some(spec) = run::release_spec(c, j, "0s", false)
        {
            files.extend(spec.values);
        }
    }
    files.sort();
    files.dedup();
    if files.iter().any(|f| {
        is_sops_encrypted(&crate::config::input::read_text(repo.root.join(f)).unwrap_or_default())
    }) {
        p.push("sops");
    }
    p.sort_unstable();
    p.dedup();
    p
}

/// The clusters a list of jobs names, loaded, after checking every job fits its cluster.
pub(crate) fn clusters_for(
    repo: &MultiRepo,
    jobs: &[Job],
) -> anyhow::Result<BTreeMap<String, Cluster>> {
    let mut names: Vec<String> = jobs.iter().map(|j| j.cluster.clone()).collect();
    names.sort();
    names.dedup();
    let missing_clusters: Vec<&String> = names.iter().filter(|n| !repo.has_cluster(n)).collect();
    if !missing_clusters.is_empty() {
        return Err(UsageError(format!(
            "the plan names clusters that are not in config/clusters/: {}",
            missing_clusters
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let clusters: BTreeMap<String, Cluster> = repo
        .load_clusters(&names)?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    let mut problems = Vec::new();
    for j in jobs {
        let c = &clusters[&j.cluster];
        if run::release_spec(c, j, "0s", false).is_none() {
            problems.push(ConfigError::new(
                Cluster::yaml_path(&c.name),
                format!(
                    "the plan names hub `{}`, which is not in this file",
                    j.release
                ),
            ));
        }
        if j.kind == Kind::Support && !c.has_support() {
            problems.push(ConfigError::new(
                Cluster::yaml_path(&c.name),
                "the plan upgrades support, but there is no `support:` block",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::config::ConfigErrors(problems).into());
    }
    Ok(clusters)
}

/// Stop (exit 2) when a program the jobs need is not on PATH; a dry run only warns.
pub(crate) fn require_programs(
    repo: &MultiRepo,
    clusters: &BTreeMap<String, Cluster>,
    jobs: &[Job],
    dry_run: bool,
    log: &Log,
) -> anyhow::Result<()> {
    let missing: Vec<String> = programs(repo, clusters, jobs)
        .into_iter()
        .filter(|p| which::which(p).is_err())
        .map(String::from)
        .collect();
    if !missing.is_empty() {
        if !dry_run {
            return Err(MissingPrograms(missing).into());
        }
        log.warn(&format!(
            "not on PATH (a real run would stop here): {}",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// helm's timeout: `--timeout`, else deploy.yaml's, else helm's own default.
fn timeout(repo: &MultiRepo, given: Option<&crate::config::duration::GoDuration>) -> String {
    given
        .cloned()
        .or_else(|| repo.settings.helm.timeout.clone())
        .unwrap_or_default()
        .to_string()
}

/// `deploy plan --live`: the decision for each job, after checking it against its cluster.
pub(crate) fn live_decisions(
    repo: &MultiRepo,
    jobs: &[Job],
    helm_jobs: u16,
    log: &Log,
) -> anyhow::Result<Vec<crate::plan::live::Decision>> {
    let clusters = clusters_for(repo, jobs)?;
    require_programs(repo, &clusters, jobs, false, log)?;
    let opts = RunOptions {
        jobs: usize::from(helm_jobs),
        timeout: timeout(repo, None),
        force: false,
        force_recover: false,
        lease: LeaseSettings::new(std::time::Duration::ZERO),
        sequential: false,
        live: true,
    };
    let factory = RealFactory {
        root: repo.root.clone(),
    };
    let decisions = run::check(&repo.root, &clusters, jobs, &factory, log, &opts);
    if crate::signals::interrupted() {
        return Err(RunFailed {
            summary: "the live check was interrupted".into(),
            interrupted: true,
        }
        .into());
    }
    Ok(decisions)
}

/// `--report FILE` must be writable before anything runs: finding out after the upgrades would
/// lose the record of what they did.
fn check_report_path(path: &Path) -> anyhow::Result<()> {
    let bad = |why: String| UsageError(format!("--report {}: {why}", path.display()));
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

fn execute(repo: &MultiRepo, jobs: &[Job], exec: &ExecArgs, log: &Log) -> anyhow::Result<()> {
    if let Some(path) = &exec.report {
        check_report_path(path)?;
    }
    let clusters = clusters_for(repo, jobs)?;
    require_programs(repo, &clusters, jobs, exec.dry_run, log)?;
    super::validate::before_run(repo, &clusters, jobs, exec.dry_run, log)?;

    let opts = RunOptions {
        jobs: usize::from(exec.jobs),
        timeout: timeout(repo, exec.timeout.as_ref()),
        force: exec.force,
        force_recover: exec.force_recover,
        lease: LeaseSettings::new(exec.lock_timeout.duration()),
        sequential: exec.dry_run,
        live: exec.live.enabled(repo.settings.live),
    };
    let t0 = Instant::now();
    let outcomes = if exec.dry_run {
        run::run(
            &repo.root,
            &clusters,
            jobs,
            &DryFactory {
                root: repo.root.clone(),
            },
            log,
            &opts,
        )
    } else {
        run::run(
            &repo.root,
            &clusters,
            jobs,
            &RealFactory {
                root: repo.root.clone(),
            },
            log,
            &opts,
        )
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
    match crate::report::run::overall(&outcomes) {
        Overall::Interrupted => Err(RunFailed {
            summary: "the run was interrupted".into(),
            interrupted: true,
        }
        .into()),
        Overall::Failed => {
            let bad: Vec<String> = outcomes
                .iter()
                .filter(|o| matches!(o.status, run::Status::Failed | run::Status::Skipped))
                .map(|o| o.job.label())
                .collect();
            Err(RunFailed {
                summary: format!(
                    "{} release(s) failed or were skipped: {}",
                    bad.len(),
                    bad.join(", ")
                ),
                interrupted: false,
            }
            .into())
        }
        Overall::Succeeded => {
            log.info(if exec.dry_run {
                "dry run: nothing was changed"
            } else {
                "done"
            });
            Ok(())
        }
    }
}
