//! `deploy run --prune`: after a successful run, uninstall the hubs the change removed from their
//! cluster.yaml, each under its lease, as `deploy uninstall --yes` would.

use crate::cli::ExecArgs;
use crate::config::multi::MultiRepo;
use crate::execute::context::Ctx;
use crate::execute::operate::{self, NOT_INSTALLED, Operation, Target};
use crate::execute::outcome::{RunFailed, Verdict};
use crate::execute::pool::{DryFactory, RealFactory, RunnerFactory};
use crate::log::Log;
use crate::plan::release::Wait;
use crate::plan::run_plan;

pub(crate) fn prune(
    repo: &MultiRepo,
    removed: &[(String, String)],
    exec: &ExecArgs,
    log: &Log,
) -> anyhow::Result<()> {
    let opts = super::operate::options(exec.lock_timeout.duration());
    let real = RealFactory {
        root: repo.root.clone(),
    };
    let dry = DryFactory {
        root: repo.root.clone(),
        out: || Box::new(std::io::stdout()),
    };
    let factory: &dyn RunnerFactory = if exec.dry_run { &dry } else { &real };
    let ctx = Ctx::new(&repo.root, factory, log, &opts);
    let timeout = repo.helm_timeout(exec.timeout.as_ref());
    let mut failed = Vec::new();
    for (cluster, hub) in removed {
        if !repo.has_cluster(cluster) {
            continue;
        }
        let plan = run_plan::cluster_only(repo, cluster)?;
        let target = Target {
            cluster: &plan.clusters[0],
            release: hub,
            namespace: hub,
            timeout: &timeout,
            wait: Wait::DeploymentsAndDaemonSets,
        };
        match operate::operate(&ctx, &target, Operation::Uninstall) {
            Ok(done) => log.info(&format!("pruned  {done}")),
            Err(f) if f.step == NOT_INSTALLED => {
                log.info(&format!("pruned  {cluster}/{hub}: it was not installed"));
            }
            Err(f) => {
                log.error(&format!("--prune: {cluster}/{hub}: {f}"));
                failed.push(format!("{cluster}/{hub}"));
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(RunFailed {
        summary: format!("--prune could not uninstall: {}", failed.join(", ")),
        verdict: Verdict::Failed,
    }
    .into())
}
