//! `--live` over one cluster's steps: the cluster's capabilities once, then each release checked
//! (in parallel, bounded like releases), then the decisions (`crate::plan::live::decide`), which
//! also drop canaries whose prod hubs were all dropped.

use std::time::Instant;

use super::context::{Ctx, connect, finish_release};
use super::credentials::ClusterAccess;
use super::live;
use super::outcome::Status;
use super::pool::{Guarded, parallel};
use super::release::InCluster;
use crate::log::Verbosity;
use crate::plan::jobs::Job;
use crate::plan::live::{Decision, Live};
use crate::plan::run_plan::{Access, ClusterPlan, Step};
use crate::signals;

/// What the live check of one job decided, and what it ran.
pub(super) struct Checked {
    pub decision: Decision,
    pub commands: Vec<String>,
    pub started: f64,
    pub duration: f64,
}

/// The live check of a cluster's steps, then the decisions (in the steps' order).
pub(super) fn live_phase(
    ctx: &Ctx<'_>,
    cluster: &ClusterPlan,
    access: &ClusterAccess,
    steps: &[&Step],
) -> Vec<Checked> {
    let started = ctx.now();
    let t0 = Instant::now();
    let guarded = Guarded::new(ctx.factory.make(ctx.log), &ctx.permits);
    let caps = live::capabilities(&InCluster {
        inner: &guarded,
        access,
    });
    let (_, cap_commands, _) = guarded.finish();
    let caps = match caps {
        Ok(c) => c,
        Err(e) => {
            let why = format!("not checked: reading the cluster's version failed: {e}");
            ctx.log.warn(&format!("{}: {why}", cluster.name));
            return steps
                .iter()
                .map(|_| Checked {
                    decision: Decision::Keep(why.clone()),
                    commands: cap_commands.clone(),
                    started,
                    duration: t0.elapsed().as_secs_f64(),
                })
                .collect();
        }
    };
    let shared = live::Shared {
        root: ctx.root,
        deps: &ctx.deps,
        renders: &ctx.renders,
        caps: caps.as_ref(),
    };
    let checks = parallel(ctx.workers(), steps, |step| {
        // bounded like releases: sops and the other non-helm work of many clusters at once
        ctx.in_flight.acquire();
        let started = ctx.now();
        let t0 = Instant::now();
        let (rlog, buf) = ctx.log.release_child(&step.job.label());
        let guarded = ctx.runner(&rlog, &step.job.label());
        let in_cluster = InCluster {
            inner: &guarded,
            access,
        };
        let (result, diff) = if signals::interrupted() {
            (
                Live::Kept("not checked (interrupted)".into()),
                String::new(),
            )
        } else {
            live::check(&in_cluster, &rlog, &shared, &step.spec)
        };
        let (_, commands, _) = guarded.finish();
        if matches!(result, Live::Failed(_)) || ctx.log.verbosity() == Verbosity::Verbose {
            let text = buf.text();
            if !text.is_empty() {
                ctx.log.write_raw(&text);
            }
        }
        ctx.in_flight.release();
        (result, diff, commands, started, t0.elapsed().as_secs_f64())
    });
    let jobs: Vec<Job> = steps.iter().map(|s| s.job.clone()).collect();
    let lives: Vec<Live> = checks.iter().map(|c| c.0.clone()).collect();
    let decisions = crate::plan::live::decide(&jobs, &lives);
    checks
        .into_iter()
        .zip(decisions)
        .zip(&jobs)
        .map(
            |(((live, diff, mut commands, started, duration), decision), job)| {
                let label = job.label();
                match (&decision, &live) {
                    // (the check's own log was shown above, when it is shown at all)
                    (Decision::Drop(why), _) => {
                        finish_release(ctx.log, &label, Status::Unchanged, duration, why, "");
                    }
                    (Decision::Keep(note), Live::Failed(_)) if !signals::interrupted() => {
                        ctx.log
                            .warn(&format!("{label}: {note}; kept (as if without --live)"));
                    }
                    (Decision::Keep(note), _) => {
                        ctx.log.info(&format!("kept      {label}: {note}"));
                        // what the upgrade would change, object by object (scrubbed by the log)
                        for line in diff.lines() {
                            ctx.log.output(line);
                        }
                    }
                }
                let mut all = cap_commands.clone();
                all.append(&mut commands);
                Checked {
                    decision,
                    commands: all,
                    started,
                    duration,
                }
            },
        )
        .collect()
}

/// `deploy plan --live` for one cluster: credentials, then the live check.
pub(super) fn check_cluster(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Vec<(usize, Decision)> {
    let keep_all = |why: String| {
        cluster
            .steps
            .iter()
            .map(|s| (s.index, Decision::Keep(why.clone())))
            .collect()
    };
    if matches!(cluster.access, Access::Flux(_)) {
        return keep_all("not checked (Flux applies this cluster's releases)".into());
    }
    match connect(ctx, cluster) {
        Ok(access) => {
            let steps: Vec<&Step> = cluster.steps.iter().collect();
            steps
                .iter()
                .map(|s| s.index)
                .zip(
                    live_phase(ctx, cluster, &access, &steps)
                        .into_iter()
                        .map(|c| c.decision),
                )
                .collect()
        }
        Err((_, msg)) => {
            let why = format!("not checked: {msg}");
            ctx.log.warn(&format!("{}: {why}", cluster.name));
            keep_all(why)
        }
    }
}
