//! `deploy status [CLUSTER...]`: what is deployed where. Only reads.

use std::path::Path;

use crate::cli::{StatusArgs, StatusFormat};
use crate::config::UsageError;
use crate::config::multi::MultiRepo;
use crate::execute::lease::LeaseSettings;
use crate::execute::outcome::{RunFailed, Verdict};
use crate::execute::pool::RealFactory;
use crate::execute::run::{self, RunOptions};
use crate::log::Log;
use crate::plan::jobs::{Job, Kind};
use crate::plan::release::Options;
use crate::report::{self, print_result};

pub(crate) fn status_cmd(args: StatusArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    if !MultiRepo::detect(root) {
        return Err(UsageError(
            "deploy status needs the multi-cluster layout (config/clusters/<cluster>/cluster.yaml)"
                .into(),
        )
        .into());
    }
    let repo = MultiRepo::load(root)?;
    let names = if args.clusters.is_empty() {
        repo.cluster_names.clone()
    } else {
        args.clusters.clone()
    };
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| !repo.has_cluster(n))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(UsageError(format!(
            "no such cluster in config/clusters/: {} (there: {})",
            unknown.join(", "),
            repo.cluster_names.join(", ")
        ))
        .into());
    }
    let mut jobs = Vec::new();
    for c in repo.load_clusters(&names)? {
        let job = |kind, release: &str| Job {
            kind,
            provider: c.provider(),
            cluster: c.name.clone(),
            release: release.to_string(),
            reason: "status".into(),
        };
        if c.has_support() {
            jobs.push(job(Kind::Support, "support"));
        }
        for h in &c.file.hubs {
            jobs.push(job(Kind::of_hub(&h.name), &h.name));
        }
    }
    let options = Options {
        timeout: "10m".into(),
        skip_health_check: true,
        ..Options::default()
    };
    let plan = crate::plan::run_plan::build(&repo, &jobs, &options)?;
    // what reading needs: the credentials' tools, helm and kubectl (and sops for encrypted keys);
    // jsonnet and the rest only to render, with --live
    let needed: Vec<String> = plan
        .programs
        .iter()
        .filter(|p| args.live || !matches!(p.as_str(), "jsonnet" | "curl"))
        .cloned()
        .collect();
    crate::execute::preflight::require_programs(&needed, false, log)?;
    let opts = RunOptions {
        jobs: usize::from(args.jobs),
        lease: LeaseSettings::new(std::time::Duration::ZERO),
        sequential: false,
        live: args.live,
        heartbeat: None,
    };
    let factory = RealFactory {
        root: repo.root.clone(),
    };
    // (with --live, each cluster's releases are compared under the same credentials)
    let states = run::status(&repo.root, &plan, &factory, log, &opts);
    let out = match args.format {
        StatusFormat::Table => report::status::table(&states, args.live),
        StatusFormat::Json => report::status::json(&states),
        StatusFormat::Markdown => report::status::markdown(&states, args.live),
    };
    print_result(&out)?;
    let unread = states.iter().filter(|s| s.error.is_some()).count();
    if unread > 0 {
        return Err(RunFailed {
            summary: format!("{unread} release(s) could not be read"),
            verdict: Verdict::Failed,
        }
        .into());
    }
    Ok(())
}
