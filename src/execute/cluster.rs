//! One cluster of a run: its credentials, the `--live` phase when asked, then support and the
//! staging hubs one at a time, and the prod hubs in parallel only if all of those succeeded.

use std::collections::BTreeMap;
use std::time::Instant;

use super::context::{Ctx, connect, finish_release};
use super::credentials::ClusterAccess;
use super::live_phase::{self, Checked};
use super::outcome::{Outcome, Status};
use super::pool::parallel;
use super::release::{self, InCluster};
use crate::plan::jobs::Kind;
use crate::plan::live::Decision;
use crate::plan::run_plan::{Access, ClusterPlan, Step};
use crate::signals;

/// Run one cluster's steps; outcomes by job index.
pub(super) fn run_cluster(ctx: &Ctx<'_>, cluster: &ClusterPlan) -> Vec<(usize, Outcome)> {
    if matches!(cluster.access, Access::Flux(_)) {
        return super::flux::flux_cluster(ctx, cluster);
    }
    let mut out = Vec::with_capacity(cluster.steps.len());
    let access = match connect(ctx, cluster) {
        Ok(access) => access,
        Err((status, msg)) => {
            for s in &cluster.steps {
                let o = if s.job.kind == Kind::Prod && status == Status::Failed {
                    Outcome::not_run(&s.job, Status::Skipped, "skipped (credentials failed)")
                } else {
                    Outcome::not_run(&s.job, status, &msg)
                };
                out.push((s.index, o));
            }
            return out;
        }
    };

    // --live: drop what would not change; the rest carry what the check found
    let mut checked: BTreeMap<usize, Checked> = BTreeMap::new();
    let kept: Vec<&Step> = if ctx.opts.live {
        let mut kept = Vec::new();
        let steps: Vec<&Step> = cluster.steps.iter().collect();
        for (step, c) in steps
            .iter()
            .zip(live_phase::live_phase(ctx, cluster, &access, &steps))
        {
            match &c.decision {
                Decision::Drop(why) => out.push((
                    step.index,
                    Outcome {
                        job: step.job.clone(),
                        status: Status::Unchanged,
                        message: why.clone(),
                        started: Some(c.started),
                        duration: c.duration,
                        queued: 0.0,
                        commands: c.commands,
                        live: None,
                        health: None,
                    },
                )),
                Decision::Keep(_) => {
                    kept.push(*step);
                    checked.insert(step.index, c);
                }
            }
        }
        kept
    } else {
        cluster.steps.iter().collect()
    };
    let start = out.len();
    deploy_steps(ctx, &access, &kept, &mut out);
    for (i, o) in &mut out[start..] {
        if let Some(c) = checked.remove(i) {
            if let Decision::Keep(note) = c.decision {
                o.live = Some(note);
            }
            let mut commands = c.commands;
            commands.append(&mut o.commands);
            o.commands = commands;
        }
    }
    out
}

/// Support and staging one at a time; prod (in parallel) only if all of them succeeded.
fn deploy_steps(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    steps: &[&Step],
    out: &mut Vec<(usize, Outcome)>,
) {
    let skip_rest = |out: &mut Vec<(usize, Outcome)>, from: usize, status: Status, msg: &str| {
        for s in &steps[from..] {
            out.push((s.index, Outcome::not_run(&s.job, status, msg)));
        }
    };
    let first_prod = steps
        .iter()
        .position(|s| s.job.kind == Kind::Prod)
        .unwrap_or(steps.len());
    for (n, step) in steps[..first_prod].iter().enumerate() {
        let o = run_release(ctx, access, step);
        let status = o.status;
        out.push((step.index, o));
        if !status.blocks() {
            continue;
        }
        if status == Status::Interrupted {
            skip_rest(out, n + 1, Status::Interrupted, "not started (interrupted)");
        } else {
            let what = if step.job.kind == Kind::Support {
                "support"
            } else {
                "staging"
            };
            skip_rest(
                out,
                n + 1,
                Status::Skipped,
                &format!("skipped ({what} failed)"),
            );
        }
        return;
    }
    let results = parallel(ctx.workers(), &steps[first_prod..], |step| {
        let o = if signals::interrupted() {
            Outcome::not_run(&step.job, Status::Interrupted, "not started (interrupted)")
        } else {
            run_release(ctx, access, step)
        };
        (step.index, o)
    });
    out.extend(results);
}

fn run_release(ctx: &Ctx<'_>, access: &ClusterAccess, step: &Step) -> Outcome {
    ctx.in_flight.acquire();
    let o = run_release_now(ctx, access, step);
    ctx.in_flight.release();
    o
}

fn run_release_now(ctx: &Ctx<'_>, access: &ClusterAccess, step: &Step) -> Outcome {
    let label = step.job.label();
    let started = ctx.now();
    let t0 = Instant::now();
    ctx.log.info(&format!("start   {label}"));
    let (rlog, buf) = ctx.log.release_child(&label);
    let guarded = ctx.runner(&rlog, &label);
    let in_cluster = InCluster {
        inner: &guarded,
        access,
    };
    let mut result = release::deploy(
        &in_cluster,
        &rlog,
        ctx.root,
        &ctx.deps,
        &ctx.opts.lease,
        &step.spec,
    );
    // a hub that does not answer fails as its upgrade would (its lease already given back)
    let mut health = None;
    if let (Ok(()), Some(spec)) = (&result, &step.spec.health) {
        let (h, r) = super::health::check(&in_cluster, &rlog, spec, &step.spec.namespace);
        if let Some(h) = h.as_ref().filter(|h| h.ok) {
            ctx.log
                .info(&format!("healthy {label} in {:.1}s: {}", h.secs, h.detail));
        }
        health = h;
        result = r;
    }
    let duration = t0.elapsed().as_secs_f64();
    let (dry, commands, queued) = guarded.finish();
    // the status comes from the failure's type; the message is only shown
    let (status, message) = match result {
        Ok(()) if dry => (Status::DryRun, String::new()),
        Ok(()) => (Status::Succeeded, String::new()),
        Err(f) => (f.status(), f.to_string()),
    };
    finish_release(ctx.log, &label, status, duration, &message, &buf.text());
    Outcome {
        job: step.job.clone(),
        status,
        message,
        started: Some(started),
        duration,
        queued,
        commands,
        live: None,
        health,
    }
}
