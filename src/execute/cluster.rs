//! One cluster of a run: its credentials, the `--live` phase when asked, then support and the
//! staging hubs one at a time, and the prod hubs in parallel only if all of those succeeded.

use std::collections::BTreeMap;
use std::time::Instant;

use super::context::{Ctx, connect, finish_release};
use super::credentials::ClusterAccess;
use super::gate::{self, Gate, Turn};
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
    let turn = ctx.turn(cluster);
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
    deploy_steps(ctx, &access, &kept, &mut out, turn);
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

/// Support and staging one at a time; prod (in parallel) only if all of them succeeded. Each
/// release after the first gets ready while the one before it upgrades ([`super::gate`]).
fn deploy_steps(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    steps: &[&Step],
    out: &mut Vec<(usize, Outcome)>,
    turn: Turn<'_>,
) {
    let first_prod = steps
        .iter()
        .position(|s| s.job.kind == Kind::Prod)
        .unwrap_or(steps.len());
    let (before, prods) = steps.split_at(first_prod);
    if before.is_empty() {
        drop(turn);
        out.extend(run_prods(ctx, access, prods, None));
        return;
    }
    let gates: Vec<Gate<'_>> = before.iter().map(|_| ctx.gates.gate()).collect();
    let turn = &turn;
    // each release before prod answers the gate after it (its keeper shuts it if it cannot)
    let mut keepers = gates.iter().map(gate::Keeper);
    let step_after = |n: usize, keeper| {
        let step = before[n];
        let behind = n.checked_sub(1).map(|k| &gates[k]);
        vec![(
            step.index,
            pre_prod(ctx, access, step, behind, keeper, turn),
        )]
    };
    if ctx.workers() <= 1 {
        // one at a time, in order (a dry run's commands in a stable order)
        for (n, keeper) in keepers.enumerate() {
            out.extend(step_after(n, keeper));
        }
        turn.settled();
        out.extend(run_prods(ctx, access, prods, gates.last()));
        return;
    }
    std::thread::scope(|s| {
        let first = keepers.next();
        let mut handles: Vec<_> = keepers
            .enumerate()
            .map(|(n, keeper)| s.spawn(move || step_after(n + 1, keeper)))
            .collect();
        if !prods.is_empty() {
            let last = gates.last();
            handles.push(s.spawn(move || run_prods(ctx, access, prods, last)));
        }
        if let Some(keeper) = first {
            out.extend(step_after(0, keeper));
        }
        for h in handles {
            out.extend(h.join().unwrap_or_default());
        }
    });
}

/// One release before prod, behind the gate of the one before it (if any); it answers the gate
/// `opens` keeps: open once it has passed, else shut with what the releases after it then say.
fn pre_prod(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    step: &Step,
    behind: Option<&Gate<'_>>,
    opens: gate::Keeper<'_, '_>,
    turn: &Turn<'_>,
) -> Outcome {
    let ahead = Some((turn, opens.0));
    let o = match behind.and_then(|g| behind_gate(ctx, access, step, g, ahead)) {
        Some(o) => o,
        None => {
            turn.preparing();
            let place = Place {
                behind: None,
                ahead,
            };
            run_release(ctx, access, step, place)
        }
    };
    // not run, or not passed, because of the gate before it: the releases after it say the same
    let answer = match behind.map(Gate::wait) {
        Some(Err(f)) => Some((f.status(), f.message())),
        _ => not_passed(step, o.status),
    };
    match answer {
        Some((status, why)) => {
            turn.settled();
            opens.0.shut(status, &why);
        }
        None => opens.0.open(),
    }
    o
}

/// When a release before prod did not pass: the status and message of the releases after it.
fn not_passed(step: &Step, status: Status) -> Option<(Status, String)> {
    if !status.blocks() {
        return None;
    }
    Some(if status == Status::Interrupted {
        (Status::Interrupted, "not started (interrupted)".into())
    } else {
        let what = if step.job.kind == Kind::Support {
            "support"
        } else {
            "staging"
        };
        (Status::Skipped, format!("skipped ({what} failed)"))
    })
}

/// The prod releases, in parallel; behind `gate`, the first of them get ready while it is
/// pending (see [`Gate::wait_to_get_ready`]) when a slot is free, and the others wait for it to
/// open.
fn run_prods(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    prods: &[&Step],
    gate: Option<&Gate<'_>>,
) -> Vec<(usize, Outcome)> {
    parallel(ctx.workers(), prods, |step| {
        if let Some(o) = gate.and_then(|g| behind_gate(ctx, access, step, g, None)) {
            return (step.index, o);
        }
        let o = if signals::interrupted() {
            Outcome::not_run(&step.job, Status::Interrupted, "not started (interrupted)")
        } else {
            run_release(ctx, access, step, Place::default())
        };
        (step.index, o)
    })
}

/// A release behind `gate`: its outcome when it got ready early (the gate allowed it and an
/// in-flight slot was free) or the gate shut; `None` when the gate opened first: it runs now.
fn behind_gate<'g>(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    step: &Step,
    gate: &'g Gate<'g>,
    ahead: Option<(&'g Turn<'g>, &'g Gate<'g>)>,
) -> Option<Outcome> {
    if gate.wait_to_get_ready() && ctx.in_flight.try_acquire() {
        let place = Place {
            behind: Some(gate),
            ahead,
        };
        let o = run_release_now(ctx, access, step, place);
        ctx.in_flight.release();
        return Some(o);
    }
    let shut = gate.wait().err()?;
    Some(Outcome::not_run(&step.job, shut.status(), &shut.message()))
}

fn run_release(ctx: &Ctx<'_>, access: &ClusterAccess, step: &Step, place: Place<'_>) -> Outcome {
    ctx.in_flight.acquire();
    let o = run_release_now(ctx, access, step, place);
    ctx.in_flight.release();
    o
}

/// A release among its cluster's gates.
#[derive(Clone, Copy, Default)]
struct Place<'g> {
    /// It got ready early, and waits at this gate before it changes anything.
    behind: Option<&'g Gate<'g>>,
    /// A release before prod: its cluster's turn, and the gate it opens (its upgrade's start
    /// lets the releases behind it get ready; its passing opens it, when no health check
    /// follows: else the caller does, after that).
    ahead: Option<(&'g Turn<'g>, &'g Gate<'g>)>,
}

/// A release that got ready early, at its gate: how long it waited there (not its own time, as
/// waiting for a slot is not), and its `start` line once the gate opens.
struct Waiting<'a> {
    gate: &'a Gate<'a>,
    waited: std::cell::Cell<f64>,
    log: &'a crate::log::Log,
    label: &'a str,
}

impl release::Gate for Waiting<'_> {
    fn wait(&self) -> Result<(), super::outcome::Failure> {
        let t = Instant::now();
        let r = self.gate.wait();
        self.waited.set(t.elapsed().as_secs_f64());
        if r.is_ok() {
            self.log.info(&format!("start   {}", self.label));
        }
        r
    }

    fn shut(&self) -> bool {
        self.gate.is_shut()
    }
}

/// Run one release (its slot taken).
fn run_release_now(
    ctx: &Ctx<'_>,
    access: &ClusterAccess,
    step: &Step,
    place: Place<'_>,
) -> Outcome {
    let gate = place.behind;
    let upgrading = place.ahead.map(|(turn, gate)| {
        move || {
            gate.upgrading();
            turn.settled();
        }
    });
    let passed = place
        .ahead
        .filter(|_| step.spec.health.is_none())
        .map(|(_, g)| move || g.open());
    let label = step.job.label();
    let started = ctx.now();
    let t0 = Instant::now();
    let waiting = gate.map(|gate| Waiting {
        gate,
        waited: std::cell::Cell::new(0.0),
        log: ctx.log,
        label: &label,
    });
    if gate.is_some() {
        ctx.log.info(&format!(
            "ready   {label}: takes its lease and reads its records while the release before it upgrades"
        ));
    } else {
        ctx.log.info(&format!("start   {label}"));
    }
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
        release::Order {
            behind: waiting.as_ref().map(|w| w as &dyn release::Gate),
            upgrading: upgrading.as_ref().map(|g| g as &dyn Fn()),
            passed: passed.as_ref().map(|g| g as &dyn Fn()),
        },
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
        Err(f) => (f.status(), f.message()),
    };
    finish_release(ctx.log, &label, status, duration, &message, &buf.text());
    Outcome {
        job: step.job.clone(),
        status,
        message,
        started: Some(started),
        duration,
        // (waiting at the gate is waiting too, as for a slot: not its own time)
        queued: queued + waiting.map_or(0.0, |w| w.waited.get()),
        commands,
        live: None,
        health,
    }
}
