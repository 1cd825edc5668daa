//! `deploy rollback`, `deploy uninstall` and `deploy credentials`.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::{CredentialsArgs, OperateArgs, RollbackArgs, UninstallArgs};
use crate::config::UsageError;
use crate::config::cluster::Cluster;
use crate::config::multi::MultiRepo;
use crate::execute::context::{Ctx, RunOptions};
use crate::execute::lease::LeaseSettings;
use crate::execute::operate::{self, Operation, Target};
use crate::execute::outcome::{Failure, RunFailed, Status, Verdict};
use crate::execute::pool::RealFactory;
use crate::log::Log;
use crate::plan::release::Wait;
use crate::plan::run_plan::{self, RunPlan};
use crate::report::print_result;

fn multi(root: &Path, what: &str) -> anyhow::Result<MultiRepo> {
    if !MultiRepo::detect(root) {
        return Err(UsageError(format!(
            "deploy {what} needs the multi-cluster layout (config/clusters/<cluster>/cluster.yaml)"
        ))
        .into());
    }
    Ok(MultiRepo::load(root)?)
}

/// The cluster's access, its programs checked on PATH.
fn reach(repo: &MultiRepo, cluster: &str, log: &Log) -> anyhow::Result<RunPlan> {
    let plan = run_plan::cluster_only(repo, cluster)?;
    crate::execute::preflight::require_programs(&plan.programs, false, log)?;
    Ok(plan)
}

/// One release at a time, waiting up to `lock_timeout` for its Lease (`rollback`, `uninstall`,
/// `credentials`, `run --prune`).
pub(crate) fn options(lock_timeout: std::time::Duration) -> RunOptions {
    RunOptions {
        jobs: 1,
        lease: LeaseSettings::new(lock_timeout),
        sequential: true,
        live: false,
        heartbeat: None,
    }
}

fn failed(f: Failure) -> anyhow::Error {
    let verdict = if f.status() == Status::Interrupted {
        Verdict::Interrupted
    } else {
        Verdict::Failed
    };
    RunFailed {
        summary: f.to_string(),
        verdict,
    }
    .into()
}

fn run_op(
    repo: &MultiRepo,
    plan: &RunPlan,
    release: &str,
    w: &OperateArgs,
    op: Operation,
    log: &Log,
) -> anyhow::Result<()> {
    let opts = options(w.lock_timeout.duration());
    let factory = RealFactory {
        root: repo.root.clone(),
    };
    let ctx = Ctx::new(&repo.root, &factory, log, &opts);
    let timeout = repo.helm_timeout(w.timeout.as_ref());
    let target = Target {
        cluster: &plan.clusters[0],
        release,
        namespace: release,
        timeout: &timeout,
        wait: Wait::DeploymentsAndDaemonSets,
    };
    let done = operate::operate(&ctx, &target, op).map_err(failed)?;
    log.info(&done);
    print_result(&done)
}

pub(crate) fn rollback_cmd(args: RollbackArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let repo = multi(root, "rollback")?;
    let plan = reach(&repo, &args.cluster, log)?;
    let cluster = repo.load_cluster(&args.cluster)?;
    if !in_config(&cluster, &args.hub) {
        return Err(UsageError(format!(
            "{}: no hub `{}` (hubs: {}); a release no longer in the config is not rolled back but \
             uninstalled: `deploy uninstall {} {}`",
            Cluster::yaml_path(&args.cluster),
            args.hub,
            hub_names(&cluster),
            args.cluster,
            args.hub
        ))
        .into());
    }
    let op = Operation::Rollback { to: args.to };
    run_op(&repo, &plan, &args.hub, &args.wait, op, log)
}

/// Whether `release` (a hub, or `support`) is in the cluster's cluster.yaml.
fn in_config(c: &Cluster, release: &str) -> bool {
    if release == "support" {
        c.has_support()
    } else {
        c.file.hubs.iter().any(|h| h.name == release)
    }
}

fn hub_names(c: &Cluster) -> String {
    let names: Vec<&str> = c.file.hubs.iter().map(|h| h.name.as_str()).collect();
    names.join(", ")
}

pub(crate) fn uninstall_cmd(args: UninstallArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let repo = multi(root, "uninstall")?;
    let plan = reach(&repo, &args.cluster, log)?;
    let cluster = repo.load_cluster(&args.cluster)?;
    if in_config(&cluster, &args.hub) {
        return Err(UsageError(format!(
            "{}: `{}` is still in this file, so the next deploy would install it again; remove it \
             there first",
            Cluster::yaml_path(&args.cluster),
            args.hub
        ))
        .into());
    }
    crate::config::names::check_release_name(&args.hub)
        .map_err(|m| UsageError(format!("{}: {m}", args.hub)))?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!(
                "uninstalling {}/{} deletes the release and what it made: pass --yes to confirm \
                 (this is not a terminal to ask on)",
                args.cluster, args.hub
            ))
            .into());
        }
        eprint!(
            "Uninstall {}/{} and everything its chart made (namespace {} itself stays)? [y/N] ",
            args.cluster, args.hub, args.hub
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(UsageError("not confirmed: nothing was uninstalled".into()).into());
        }
    }
    run_op(
        &repo,
        &plan,
        &args.hub,
        &args.wait,
        Operation::Uninstall,
        log,
    )
}

pub(crate) fn credentials_cmd(args: CredentialsArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let repo = multi(root, "credentials")?;
    let plan = reach(&repo, &args.cluster, log)?;
    let opts = options(crate::config::duration::GoDuration::default().duration());
    let factory = RealFactory {
        root: repo.root.clone(),
    };
    let ctx = Ctx::new(&repo.root, &factory, log, &opts);
    let ended = operate::with_credentials(&ctx, &plan.clusters[0], &args.command);
    let summary = match ended.map_err(failed)? {
        operate::Ended::Exited(0) => return Ok(()),
        operate::Ended::Exited(code) => format!("the command exited with {code}"),
        operate::Ended::Signal(sig) => {
            format!("the command was ended by {}", crate::signals::describe(sig))
        }
    };
    Err(RunFailed {
        summary,
        verdict: Verdict::Failed,
    }
    .into())
}
