//! `deploy run`: per cluster, credentials → support → staging hubs one at a time → prod hubs in
//! parallel. Clusters proceed independently and concurrently; a failure stays in its cluster.
//! At most `jobs` helm processes run at once across the whole run.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::credentials::{self, ClusterAccess};
use super::lease::LeaseSettings;
use super::live::{self, RenderCache};
use super::release::{self, DependencyCache, InCluster};
use crate::cmd::Cmd;
use crate::config::cluster::Cluster;
use crate::config::multi::HELM_CHARTS_DIR;
pub use crate::plan::jobs::{Job, Kind};
use crate::plan::live::{Decision, Live};
use crate::plan::release::ReleaseSpec;
use crate::report::log::{Ci, Log, Verbosity};
use crate::runner::{CmdError, Reply, Runner};
use crate::signals;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
    /// Dry run: shown, not run.
    DryRun,
    /// `--live`: not upgraded, since the upgrade would change nothing.
    Unchanged,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub job: Job,
    pub status: Status,
    /// Why it failed or was skipped (first line first).
    pub message: String,
    /// Seconds from the start of the run; `None` if it never started.
    pub started: Option<f64>,
    pub duration: f64,
    /// The commands run for it, redacted.
    pub commands: Vec<String>,
    /// `--live`: what the check found for a release that was kept (`changes: …`, `not installed
    /// yet`, …).
    pub live: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub jobs: usize,
    pub timeout: String,
    pub force: bool,
    /// `--force-recover`: recover a pending release even when someone may be working on it.
    pub force_recover: bool,
    pub lease: LeaseSettings,
    /// One release at a time, clusters in order (dry runs print a stable sequence).
    pub sequential: bool,
    /// Check each release against the cluster first and drop those that would not change.
    pub live: bool,
}

/// Makes the runner for one release, logging into that release's log.
pub trait RunnerFactory: Sync {
    fn make<'a>(&'a self, log: &Log) -> Box<dyn Runner + 'a>;
}

/// A counting semaphore: at most N helm processes at once.
struct Permits {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }
    fn acquire(&self) {
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self
                .cv
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
    }
    fn release(&self) {
        *self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.cv.notify_one();
    }
}

/// Limits helm processes and records the commands of one release.
struct Guarded<'a> {
    inner: Box<dyn Runner + 'a>,
    permits: &'a Permits,
    commands: Mutex<Vec<String>>,
    /// A command was only shown (dry run).
    shown: std::sync::atomic::AtomicBool,
}

impl<'a> Guarded<'a> {
    fn new(inner: Box<dyn Runner + 'a>, permits: &'a Permits) -> Self {
        Guarded {
            inner,
            permits,
            commands: Mutex::new(Vec::new()),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a command was only shown (a dry run), and the commands, redacted.
    fn finish(self) -> (bool, Vec<String>) {
        let shown = self.shown.load(Ordering::SeqCst);
        (
            shown,
            self.commands
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl Runner for Guarded<'_> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        self.commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(cmd.to_string());
        let helm = cmd.program == "helm";
        if helm {
            self.permits.acquire();
        }
        let r = self.inner.run(cmd);
        if helm {
            self.permits.release();
        }
        if matches!(r, Ok(Reply::NotRun)) {
            self.shown.store(true, Ordering::SeqCst);
        }
        r
    }
}

struct Ctx<'a> {
    root: &'a Path,
    factory: &'a dyn RunnerFactory,
    log: &'a Log,
    opts: &'a RunOptions,
    permits: Permits,
    /// Releases in flight: twice the helm limit, so the next releases' lease and status calls
    /// overlap running upgrades without a stampede of all of them at once (which on a small
    /// machine steals CPU from the upgrades).
    in_flight: Permits,
    deps: DependencyCache,
    renders: RenderCache,
    start: Instant,
}

/// Run the jobs; one outcome per job, in the order given.
pub fn run(
    root: &Path,
    clusters: &BTreeMap<String, Cluster>,
    jobs: &[Job],
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> Vec<Outcome> {
    let ctx = Ctx::new(root, factory, log, opts);
    let results = per_cluster(&ctx, clusters, jobs, run_cluster);
    jobs.iter()
        .zip(results)
        .map(|(j, o)| {
            o.unwrap_or_else(|| not_run(j, Status::Failed, "internal error: no outcome recorded"))
        })
        .collect()
}

/// `deploy plan --live`: only the live check of each job (after each cluster's credentials), as
/// decisions in the order of `jobs`. Nothing is upgraded.
pub fn check(
    root: &Path,
    clusters: &BTreeMap<String, Cluster>,
    jobs: &[Job],
    factory: &dyn RunnerFactory,
    log: &Log,
    opts: &RunOptions,
) -> Vec<Decision> {
    let ctx = Ctx::new(root, factory, log, opts);
    let results = per_cluster(&ctx, clusters, jobs, check_cluster);
    results
        .into_iter()
        .map(|d| d.unwrap_or_else(|| Decision::Keep("not checked".into())))
        .collect()
}

impl<'a> Ctx<'a> {
    fn new(
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
            deps: DependencyCache::default(),
            renders: RenderCache::default(),
            start: Instant::now(),
        }
    }
}

type ClusterFn<T> = fn(&Ctx<'_>, Option<&Cluster>, &[(usize, &Job)]) -> Vec<(usize, T)>;

/// Each cluster's jobs to `f`, clusters concurrently (in order when sequential); the results
/// by job index.
fn per_cluster<T: Send>(
    ctx: &Ctx<'_>,
    clusters: &BTreeMap<String, Cluster>,
    jobs: &[Job],
    f: ClusterFn<T>,
) -> Vec<Option<T>> {
    let mut by_cluster: BTreeMap<&str, Vec<(usize, &Job)>> = BTreeMap::new();
    for (i, j) in jobs.iter().enumerate() {
        by_cluster.entry(&j.cluster).or_default().push((i, j));
    }
    let per_cluster: Vec<Vec<(usize, T)>> = if ctx.opts.sequential {
        by_cluster
            .iter()
            .map(|(c, js)| f(ctx, clusters.get(*c), js))
            .collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = by_cluster
                .iter()
                .map(|(c, js)| {
                    let cluster = clusters.get(*c);
                    s.spawn(move || f(ctx, cluster, js))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut results: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    for (i, o) in per_cluster.into_iter().flatten() {
        results[i] = Some(o);
    }
    results
}

/// `f` over `items` on up to `workers` threads (taking the next item as each one finishes); the
/// results in item order.
fn parallel<T: Sync, R: Send>(workers: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(k) else { break };
                    let r = f(item);
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((k, r));
                }
            });
        }
    });
    let mut r = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    r.sort_by_key(|(k, _)| *k);
    r.into_iter().map(|(_, r)| r).collect()
}

/// The status of a release that ended with `e`: interrupted or failed, by the error's type.
fn status_of(e: &CmdError) -> Status {
    if matches!(e, CmdError::Interrupted { .. }) {
        Status::Interrupted
    } else {
        Status::Failed
    }
}

/// [`status_of`] the command error found in an error's chain (failed when there is none).
fn status_of_chain(e: &anyhow::Error) -> Status {
    e.chain()
        .find_map(|c| {
            c.downcast_ref::<CmdError>()
                .or_else(|| c.downcast_ref::<super::StepFailed>().map(|s| &s.source))
        })
        .map_or(Status::Failed, status_of)
}

fn not_run(job: &Job, status: Status, message: &str) -> Outcome {
    Outcome {
        job: job.clone(),
        status,
        message: message.to_string(),
        started: None,
        duration: 0.0,
        commands: Vec::new(),
        live: None,
    }
}

fn run_cluster(
    ctx: &Ctx<'_>,
    cluster: Option<&Cluster>,
    all_jobs: &[(usize, &Job)],
) -> Vec<(usize, Outcome)> {
    let mut out = Vec::with_capacity(all_jobs.len());
    let (cluster, access) = match connect_cluster(ctx, cluster) {
        Connected::Yes(cluster, access) => (cluster, access),
        Connected::Gitops(cluster, g) => return gitops_cluster(ctx, cluster, g, all_jobs),
        Connected::No(status, msg) => {
            for (i, j) in all_jobs {
                let o = if j.kind == Kind::Prod && status == Status::Failed {
                    not_run(j, Status::Skipped, "skipped (credentials failed)")
                } else {
                    not_run(j, status, &msg)
                };
                out.push((*i, o));
            }
            return out;
        }
    };

    // --live: drop what would not change; the rest carry what the check found
    let mut checked: BTreeMap<usize, Checked> = BTreeMap::new();
    let kept: Vec<(usize, &Job)> = if ctx.opts.live {
        let mut kept = Vec::new();
        for ((i, job), c) in all_jobs
            .iter()
            .zip(live_phase(ctx, cluster, &access, all_jobs))
        {
            match &c.decision {
                Decision::Drop(why) => out.push((
                    *i,
                    Outcome {
                        job: (*job).clone(),
                        status: Status::Unchanged,
                        message: why.clone(),
                        started: Some(c.started),
                        duration: c.duration,
                        commands: c.commands,
                        live: None,
                    },
                )),
                Decision::Keep(_) => {
                    kept.push((*i, *job));
                    checked.insert(*i, c);
                }
            }
        }
        kept
    } else {
        all_jobs.to_vec()
    };
    let jobs = &kept[..];
    let start = out.len();
    deploy_jobs(ctx, cluster, &access, jobs, &mut out);
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

enum Connected<'c> {
    Yes(&'c Cluster, ClusterAccess),
    Gitops(&'c Cluster, &'c crate::config::cluster::Gitops),
    /// Not connected: the status and message for its jobs.
    No(Status, String),
}

/// The cluster's credentials (or: it is Flux-run, unknown, or we were interrupted).
fn connect_cluster<'c>(ctx: &Ctx<'_>, cluster: Option<&'c Cluster>) -> Connected<'c> {
    let Some(cluster) = cluster else {
        return Connected::No(
            Status::Failed,
            "cluster not found in config/clusters/".into(),
        );
    };
    if signals::interrupted() {
        return Connected::No(Status::Interrupted, "not started (interrupted)".into());
    }
    if let Some(g) = &cluster.file.gitops {
        return Connected::Gitops(cluster, g);
    }
    let name = &cluster.name;
    ctx.log
        .info(&format!("start   {name}: cluster credentials"));
    let runner = ctx.factory.make(ctx.log);
    match credentials::connect(runner.as_ref(), ctx.log, ctx.root, cluster) {
        Ok(a) => Connected::Yes(cluster, a),
        Err(e) => {
            let status = status_of(&e);
            ctx.log
                .error(&format!("{name}: cluster credentials failed: {e}"));
            Connected::No(status, format!("cluster credentials failed: {e}"))
        }
    }
}

/// Support and staging one at a time; prod (in parallel) only if all of them succeeded.
fn deploy_jobs(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    access: &ClusterAccess,
    jobs: &[(usize, &Job)],
    out: &mut Vec<(usize, Outcome)>,
) {
    let skip_all = |out: &mut Vec<(usize, Outcome)>, from: usize, status: Status, msg: &str| {
        for (i, j) in &jobs[from..] {
            out.push((*i, not_run(j, status, msg)));
        }
    };
    let first_prod = jobs
        .iter()
        .position(|(_, j)| j.kind == Kind::Prod)
        .unwrap_or(jobs.len());
    for (n, (i, job)) in jobs[..first_prod].iter().enumerate() {
        let o = run_release(ctx, cluster, access, job);
        let status = o.status;
        out.push((*i, o));
        match status {
            Status::Succeeded | Status::DryRun | Status::Unchanged => {}
            Status::Interrupted => {
                skip_all(out, n + 1, Status::Interrupted, "not started (interrupted)");
                return;
            }
            Status::Failed | Status::Skipped => {
                let what = if job.kind == Kind::Support {
                    "support"
                } else {
                    "staging"
                };
                skip_all(
                    out,
                    n + 1,
                    Status::Skipped,
                    &format!("skipped ({what} failed)"),
                );
                return;
            }
        }
    }
    let prods = &jobs[first_prod..];
    let workers = if ctx.opts.sequential {
        1
    } else {
        ctx.opts.jobs
    };
    let results = parallel(workers, prods, |(i, job)| {
        let o = if signals::interrupted() {
            not_run(job, Status::Interrupted, "not started (interrupted)")
        } else {
            run_release(ctx, cluster, access, job)
        };
        (*i, o)
    });
    out.extend(results);
}

/// What the live check of one job decided, and what it ran.
struct Checked {
    decision: Decision,
    commands: Vec<String>,
    started: f64,
    duration: f64,
}

/// The live check of a cluster's jobs, in parallel, then the decisions (in job order).
fn live_phase(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    access: &ClusterAccess,
    jobs: &[(usize, &Job)],
) -> Vec<Checked> {
    let started = ctx.start.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let guarded = Guarded::new(ctx.factory.make(ctx.log), &ctx.permits);
    let caps = live::capabilities(&InCluster {
        inner: &guarded,
        access,
    });
    let (_, cap_commands) = guarded.finish();
    let caps = match caps {
        Ok(c) => c,
        Err(e) => {
            let why = format!("not checked: reading the cluster's version failed: {e}");
            ctx.log.warn(&format!("{}: {why}", cluster.name));
            return jobs
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
    let workers = if ctx.opts.sequential {
        1
    } else {
        ctx.opts.jobs
    };
    let checks = parallel(workers, jobs, |(_, job)| {
        // bounded like releases: sops and the other non-helm work of many clusters at once
        ctx.in_flight.acquire();
        let started = ctx.start.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let (rlog, buf) = ctx.log.buffered_child();
        let guarded = Guarded::new(ctx.factory.make(&rlog), &ctx.permits);
        let in_cluster = InCluster {
            inner: &guarded,
            access,
        };
        let result = if signals::interrupted() {
            Live::Kept("not checked (interrupted)".into())
        } else {
            match release_spec(cluster, job, &ctx.opts.timeout, ctx.opts.force) {
                None => Live::Kept(format!("hub {} is not in its cluster.yaml", job.release)),
                Some(spec) => live::check(&in_cluster, &rlog, &shared, &spec),
            }
        };
        let (_, commands) = guarded.finish();
        if matches!(result, Live::Failed(_)) || ctx.log.verbosity() == Verbosity::Verbose {
            let text = buf.text();
            if !text.is_empty() {
                ctx.log.write_raw(&text);
            }
        }
        ctx.in_flight.release();
        (result, commands, started, t0.elapsed().as_secs_f64())
    });
    let owned: Vec<Job> = jobs.iter().map(|(_, j)| (*j).clone()).collect();
    let lives: Vec<Live> = checks.iter().map(|c| c.0.clone()).collect();
    let decisions = crate::plan::live::decide(&owned, &lives);
    checks
        .into_iter()
        .zip(decisions)
        .zip(&owned)
        .map(
            |(((live, mut commands, started, duration), decision), job)| {
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
                        ctx.log.info(&format!("kept      {label}: {note}"))
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
fn check_cluster(
    ctx: &Ctx<'_>,
    cluster: Option<&Cluster>,
    jobs: &[(usize, &Job)],
) -> Vec<(usize, Decision)> {
    let keep_all = |why: String| {
        jobs.iter()
            .map(|(i, _)| (*i, Decision::Keep(why.clone())))
            .collect()
    };
    match connect_cluster(ctx, cluster) {
        Connected::Yes(cluster, access) => jobs
            .iter()
            .map(|(i, _)| *i)
            .zip(
                live_phase(ctx, cluster, &access, jobs)
                    .into_iter()
                    .map(|c| c.decision),
            )
            .collect(),
        Connected::Gitops(..) => {
            keep_all("not checked (Flux applies this cluster's releases)".into())
        }
        Connected::No(_, msg) => {
            let why = format!("not checked: {msg}");
            if let Some(c) = cluster {
                ctx.log.warn(&format!("{}: {why}", c.name));
            }
            keep_all(why)
        }
    }
}

/// What `helm upgrade` gets for a job.
pub fn release_spec(
    cluster: &Cluster,
    job: &Job,
    timeout: &str,
    force: bool,
) -> Option<ReleaseSpec> {
    let (chart, values) = if job.kind == Kind::Support {
        (
            format!("{HELM_CHARTS_DIR}/support"),
            cluster.support_files.clone(),
        )
    } else {
        let i = cluster
            .file
            .hubs
            .iter()
            .position(|h| h.name == job.release)?;
        (
            format!("{HELM_CHARTS_DIR}/{}", cluster.file.hubs[i].helm_chart),
            cluster.hub_values[i].clone(),
        )
    };
    Some(ReleaseSpec {
        release: job.release.clone(),
        namespace: job.release.clone(),
        chart,
        values,
        set_string: Vec::new(),
        timeout: timeout.to_string(),
        force,
        force_recover: false,
    })
}

fn run_release(ctx: &Ctx<'_>, cluster: &Cluster, access: &ClusterAccess, job: &Job) -> Outcome {
    ctx.in_flight.acquire();
    let o = run_release_now(ctx, cluster, access, job);
    ctx.in_flight.release();
    o
}

fn run_release_now(ctx: &Ctx<'_>, cluster: &Cluster, access: &ClusterAccess, job: &Job) -> Outcome {
    let label = job.label();
    let started = ctx.start.elapsed().as_secs_f64();
    let t0 = Instant::now();
    ctx.log.info(&format!("start   {label}"));
    let (rlog, buf) = ctx.log.buffered_child();
    let guarded = Guarded::new(ctx.factory.make(&rlog), &ctx.permits);
    let in_cluster = InCluster {
        inner: &guarded,
        access,
    };
    // the status comes from the error's type, the message is only shown
    let result = match release_spec(cluster, job, &ctx.opts.timeout, ctx.opts.force) {
        None => Err((
            Status::Failed,
            format!(
                "hub {} is not in {}",
                job.release,
                Cluster::yaml_path(&cluster.name)
            ),
        )),
        Some(mut spec) => {
            spec.force_recover = ctx.opts.force_recover;
            release::deploy(
                &in_cluster,
                &rlog,
                ctx.root,
                &ctx.deps,
                &ctx.opts.lease,
                &spec,
            )
            .map_err(|e| (status_of(&e.source), e.to_string()))
        }
    };
    let duration = t0.elapsed().as_secs_f64();
    let (dry, commands) = guarded.finish();
    let (status, message) = match result {
        Ok(()) if dry => (Status::DryRun, String::new()),
        Ok(()) => (Status::Succeeded, String::new()),
        Err(failed) => failed,
    };
    finish_release(ctx.log, &label, status, duration, &message, &buf.text());
    Outcome {
        job: job.clone(),
        status,
        message,
        started: Some(started),
        duration,
        commands,
        live: None,
    }
}

/// One line per release as it ends; its buffered log as a group on GitHub, or when it failed.
fn finish_release(
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

impl RunnerFactory for crate::runner::RecordingRunner {
    fn make<'a>(&'a self, _log: &Log) -> Box<dyn Runner + 'a> {
        Box::new(self)
    }
}

/// A Flux-run cluster: its releases become HelmReleases committed to its releases repo in one
/// push; Flux applies them, in deploy's order through `dependsOn`.
fn gitops_cluster(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    g: &crate::config::cluster::Gitops,
    jobs: &[(usize, &Job)],
) -> Vec<(usize, Outcome)> {
    let t0 = Instant::now();
    let started = ctx.start.elapsed().as_secs_f64();
    let source = g.source.as_deref().unwrap_or("hub-ops");
    let staging: Vec<String> = cluster
        .file
        .hubs
        .iter()
        .filter(|h| h.is_staging())
        .map(|h| h.name.clone())
        .collect();
    let mut files = Vec::new();
    let mut problems: Vec<(usize, String)> = Vec::new();
    for (i, job) in jobs {
        let Some(spec) = release_spec(cluster, job, &ctx.opts.timeout, false) else {
            problems.push((
                *i,
                format!(
                    "hub {} is not in {}",
                    job.release,
                    Cluster::yaml_path(&cluster.name)
                ),
            ));
            continue;
        };
        match helm_release_file(ctx.root, cluster, g, source, &staging, job, &spec) {
            Ok(file) => files.push(file),
            Err(m) => {
                ctx.log.error(&format!("{}: {m}", job.label()));
                problems.push((*i, m));
            }
        }
    }
    let (rlog, buf) = ctx.log.buffered_child();
    let guarded = Guarded::new(ctx.factory.make(&rlog), &ctx.permits);
    let label = format!("{}: gitops", cluster.name);
    ctx.log.info(&format!(
        "start   {label} ({} HelmRelease(s) to {})",
        files.len(),
        g.repo
    ));
    let result = if problems.is_empty() {
        let source_commit = crate::execute::gitops::source_commit(&guarded);
        let releases: Vec<&str> = jobs.iter().map(|(_, j)| j.release.as_str()).collect();
        let from = if source_commit.is_empty() {
            String::new()
        } else {
            format!(" from {source_commit}")
        };
        let message = format!("deploy {} to {}{from}", releases.join(", "), cluster.name);
        let branch = g.branch.as_deref().unwrap_or("main");
        let target = crate::execute::gitops::Target {
            url: &g.repo,
            branch,
            retries: 5,
        };
        crate::execute::gitops::push_files(&guarded, &rlog, &target, &files, &message)
            .map_err(|e| (status_of_chain(&e), format!("{e:#}")))
    } else {
        Err((
            Status::Failed,
            "not pushed: some of the cluster's HelmReleases could not be made".to_string(),
        ))
    };
    let duration = t0.elapsed().as_secs_f64();
    let (dry, commands) = guarded.finish();
    let (status, message) = match result {
        Ok(()) if dry => (Status::DryRun, String::new()),
        Ok(()) => (Status::Succeeded, String::new()),
        Err(failed) => failed,
    };
    finish_release(ctx.log, &label, status, duration, &message, &buf.text());
    jobs.iter()
        .map(|(i, job)| {
            let own = problems
                .iter()
                .find(|(k, _)| k == i)
                .map(|(_, m)| m.clone());
            let (status, message) = match own {
                Some(m) => (Status::Failed, m),
                None => (status, message.clone()),
            };
            let o = Outcome {
                job: (*job).clone(),
                status,
                message,
                started: Some(started),
                duration,
                commands: commands.clone(),
                live: None,
            };
            (*i, o)
        })
        .collect()
}

/// One release of a Flux-run cluster as `(path in the releases repo, HelmRelease YAML)`.
fn helm_release_file(
    root: &Path,
    cluster: &Cluster,
    g: &crate::config::cluster::Gitops,
    source: &str,
    staging: &[String],
    job: &Job,
    spec: &ReleaseSpec,
) -> Result<(String, String), String> {
    let mut docs = Vec::new();
    for f in &spec.values {
        let text =
            crate::config::input::read_text(root.join(f)).map_err(|e| format!("{f}: {e}"))?;
        if crate::execute::secrets::is_sops_encrypted(&text) {
            return Err(format!(
                "{f} is sops-encrypted: its values cannot be written in clear to the releases repo \
                 (give Flux the secret through valuesFrom and a sops-encrypted Secret instead)"
            ));
        }
        crate::config::yaml::check_depth(f, &text).map_err(|e| e.to_string())?;
        docs.push(
            serde_yaml::from_str::<serde_json::Value>(&text).map_err(|e| format!("{f}: {e}"))?,
        );
    }
    // Flux keeps deploy's order: staging after support, prod after every staging hub
    let depends_on: Vec<String> = match job.kind {
        Kind::Support => vec![],
        Kind::Staging if cluster.has_support() => vec!["support".into()],
        Kind::Staging => vec![],
        Kind::Prod => staging.to_vec(),
    };
    let values = crate::gitops::merge_values(docs);
    let hr = crate::gitops::helm_release(&spec.release, &spec.chart, source, values, &depends_on);
    crate::gitops::check(&hr)
        .map_err(|ps| format!("the HelmRelease is invalid: {}", ps.join("; ")))?;
    let text = serde_yaml::to_string(&hr).map_err(|e| e.to_string())?;
    Ok((
        // normalized when cluster.yaml was loaded: inside the releases repo
        format!(
            "{}/{}.yaml",
            crate::config::paths::normalize(&g.path).map_err(|e| format!("gitops.path: {e}"))?,
            spec.release
        ),
        text,
    ))
}
