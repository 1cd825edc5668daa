//! `deploy run`: walks a [`RunPlan`]. Per cluster: credentials → support → staging hubs one at a
//! time → prod hubs in parallel. Clusters proceed independently and concurrently; a failure stays
//! in its cluster. At most `jobs` helm processes run at once across the whole run.
//!
//! The cluster flow is [`super::cluster`], the `--live` phase [`super::live_phase`], Flux-run
//! clusters [`super::flux`]; this module holds what they share.

use std::collections::BTreeMap;
use std::path::Path;

use super::context::Ctx;
pub use super::context::RunOptions;
use super::outcome::{Outcome, Status};
use super::pool::RunnerFactory;
use super::progress::with_heartbeat;
use crate::log::Log;
use crate::plan::live::Decision;
use crate::plan::run_plan::{ClusterPlan, RunPlan};

/// Run the plan; one outcome per job, in the order of the jobs it was built from.
pub fn run(
    root: &Path,
    plan: &RunPlan,
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> Vec<Outcome> {
    run_recorded(root, plan, factory, log, opts).0
}

/// [`run`], and the commands each cluster's credentials ran (redacted), by cluster.
pub fn run_recorded(
    root: &Path,
    plan: &RunPlan,
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> (Vec<Outcome>, BTreeMap<String, Vec<String>>) {
    let ctx = Ctx::new(root, factory, log, opts);
    ctx.expect_gates(plan);
    let results = with_heartbeat(log, &ctx.activity, opts.heartbeat, "upgrading", || {
        per_cluster(&ctx, plan, super::cluster::run_cluster)
    });
    let outcomes = results
        .into_iter()
        .zip(plan.steps())
        .map(|(o, step)| {
            o.unwrap_or_else(|| {
                Outcome::not_run(
                    &step.job,
                    Status::Failed,
                    "internal error: no outcome recorded",
                )
            })
        })
        .collect();
    let credentials = ctx
        .credentials
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (outcomes, credentials)
}

/// `deploy status`: each release of the plan as its cluster has it, in job order (after each
/// cluster's credentials). Nothing is changed.
pub fn status(
    root: &Path,
    plan: &RunPlan,
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> Vec<super::status::ReleaseState> {
    let ctx = Ctx::new(root, factory, log, opts);
    per_cluster(&ctx, plan, super::status::status_cluster)
        .into_iter()
        .flat_map(|s| {
            let (state, extra) = s.unwrap_or_default();
            std::iter::once(state).chain(extra)
        })
        .collect()
}

/// `deploy plan --live`: only the live check of each job (after each cluster's credentials), as
/// decisions in job order. Nothing is upgraded.
pub fn check(
    root: &Path,
    plan: &RunPlan,
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> Vec<Decision> {
    let ctx = Ctx::new(root, factory, log, opts);
    with_heartbeat(log, &ctx.activity, opts.heartbeat, "checking", || {
        per_cluster(&ctx, plan, super::live_phase::check_cluster)
    })
    .into_iter()
    .map(|d| d.unwrap_or_else(|| Decision::Keep("not checked".into())))
    .collect()
}

type ClusterFn<T> = fn(&Ctx<'_>, &ClusterPlan) -> Vec<(usize, T)>;

/// Each cluster to `f`, clusters concurrently (in order when sequential); the results by job
/// index.
fn per_cluster<T: Send>(ctx: &Ctx<'_>, plan: &RunPlan, f: ClusterFn<T>) -> Vec<Option<T>> {
    let per_cluster: Vec<Vec<(usize, T)>> = if ctx.opts.sequential {
        plan.clusters.iter().map(|c| f(ctx, c)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = plan
                .clusters
                .iter()
                .map(|c| s.spawn(move || f(ctx, c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut results: Vec<Option<T>> = (0..plan.len()).map(|_| None).collect();
    for (i, o) in per_cluster.into_iter().flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(o);
        }
    }
    results
}
