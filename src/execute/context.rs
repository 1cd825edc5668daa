//! What the clusters of a run share ([`Ctx`]: options, limits, caches, the clock), and the
//! pieces of a cluster's flow that the run and `plan --live` both use: connecting to a cluster
//! and the line that ends a release.

use std::path::Path;
use std::time::Instant;

use super::credentials::{self, ClusterAccess};
use super::lease::LeaseSettings;
use super::live::RenderCache;
use super::outcome::{Failure, Status};
use super::pool::{Guarded, Permits, RunnerFactory};
use super::prepare::DependencyCache;
use crate::log::{Ci, Log, Verbosity};
use crate::plan::jobs::Kind;
use crate::plan::run_plan::ClusterPlan;
use crate::signals;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub jobs: usize,
    pub lease: LeaseSettings,
    /// One release at a time, clusters in order (dry runs print a stable sequence).
    pub sequential: bool,
    /// Check each release against the cluster first and drop those that would not change.
    pub live: bool,
    /// How often to say what is still running (none: never).
    pub heartbeat: Option<std::time::Duration>,
}

/// What every cluster of a run shares.
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub factory: &'a dyn RunnerFactory,
    pub log: &'a Log,
    pub opts: &'a RunOptions,
    /// helm processes in flight, across the whole run.
    pub permits: Permits,
    /// Releases in flight: twice the helm limit, so the next releases' lease and status calls
    /// overlap running upgrades without a stampede of all of them at once (which on a small
    /// machine steals CPU from the upgrades).
    pub in_flight: Permits,
    /// The clusters' gates: prod releases get ready while the release before them upgrades.
    pub gates: super::gate::Board,
    pub deps: DependencyCache,
    pub renders: RenderCache,
    /// What runs now, for the heartbeat.
    pub activity: super::progress::Activity,
    pub start: Instant,
    /// The commands each cluster's credentials ran, redacted, by cluster.
    pub credentials: std::sync::Mutex<std::collections::BTreeMap<String, Vec<String>>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        root: &'a Path,
        factory: &'a dyn RunnerFactory,
        log: &'a Log,
        opts: &'a RunOptions,
    ) -> Self {
        Ctx {
            root,
            factory,
            log,
            opts,
            permits: Permits::new(opts.jobs),
            in_flight: Permits::new(opts.jobs.saturating_mul(2)),
            gates: Default::default(),
            deps: DependencyCache::default(),
            renders: RenderCache::default(),
            activity: Default::default(),
            start: Instant::now(),
            credentials: Default::default(),
        }
    }

    /// Seconds since the run started.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The runner for one piece of work (`label`), logging into `log`: within the helm limit,
    /// its commands recorded, and what it runs shown by the heartbeat until it is finished.
    pub fn runner(&self, log: &Log, label: &str) -> Guarded<'_> {
        let tracked = super::progress::Tracked::new(self.factory.make(log), &self.activity, label);
        Guarded::new(Box::new(tracked), &self.permits)
    }

    /// Count the clusters of `plan` that will reach a gate (see [`super::gate`]).
    pub fn expect_gates(&self, plan: &crate::plan::run_plan::RunPlan) {
        self.gates
            .expect(plan.clusters.iter().filter(|c| has_gate(c)).count());
    }

    /// `cluster`'s turn at the gates.
    pub fn turn(&self, cluster: &ClusterPlan) -> super::gate::Turn<'_> {
        super::gate::Turn::new(&self.gates, has_gate(cluster))
    }

    /// How many releases of one cluster run at once.
    pub fn workers(&self) -> usize {
        if self.opts.sequential {
            1
        } else {
            self.opts.jobs
        }
    }
}

/// Whether a cluster has releases to run before its prod releases (and is not Flux's).
fn has_gate(c: &ClusterPlan) -> bool {
    !matches!(c.access, crate::plan::run_plan::Access::Flux(_))
        && c.steps.iter().any(|s| s.job.kind != Kind::Prod)
}

/// The cluster's credentials, or the status and message for its jobs (interrupted, or the
/// login failed).
pub fn connect(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Result<ClusterAccess, (Status, String)> {
    if signals::interrupted() {
        return Err((Status::Interrupted, "not started (interrupted)".into()));
    }
    let name = &cluster.name;
    ctx.log
        .info(&format!("start   {name}: cluster credentials"));
    let guarded = ctx.runner(ctx.log, &format!("{name}: cluster credentials"));
    let result = credentials::connect(&guarded, ctx.log, ctx.root, cluster);
    let (_, commands, _) = guarded.finish();
    ctx.credentials
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(name.clone(), commands);
    result.map_err(|e| {
        let f = Failure::at("cluster credentials")(e);
        ctx.log
            .error(&format!("{name}: cluster credentials failed: {}", f.cause));
        (
            f.status(),
            format!("cluster credentials failed: {}", f.cause),
        )
    })
}

/// One line per release as it ends; its buffered log as a group on GitHub, or when it failed.
pub fn finish_release(
    log: &Log,
    label: &str,
    status: Status,
    secs: f64,
    message: &str,
    buffered: &str,
) {
    let line = match status {
        Status::Succeeded => format!("done    {label} in {secs:.1}s"),
        Status::DryRun => format!("shown   {label}"),
        Status::Failed => format!(
            "FAILED  {label} after {secs:.1}s: {}",
            message.lines().next().unwrap_or("")
        ),
        Status::Interrupted => format!("stopped {label} after {secs:.1}s (interrupted)"),
        Status::Skipped => format!("skipped {label}: {message}"),
        Status::Unchanged => format!("unchanged {label}: {message}"),
    };
    let show_log =
        log.ci() == Ci::GitHub || status == Status::Failed || log.verbosity() == Verbosity::Verbose;
    if show_log && !buffered.is_empty() {
        if log.ci() == Ci::GitHub {
            log.write_raw(&format!("::group::{line}\n{buffered}::endgroup::\n"));
        } else {
            log.write_raw(buffered);
        }
    }
    if status == Status::Failed {
        log.error(&format!("{label}: {message}"));
    } else {
        log.info(&line);
    }
}
