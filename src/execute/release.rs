//! Deploying one Helm release, the same way for `deploy <chart> --deploy`, `deploy run`,
//! `upgrade-support` and `upgrade-hub`: its chart in place and dependencies updated (see
//! [`prepare`]) → lease → recover a stuck release (see [`recovery`]) → what runs before it
//! (support: cert-manager, the tigera operator) → its CRDs → its values decrypted and rendered →
//! upgrade, marked as ours → rollout of its Deployments (and DaemonSets).

use std::path::Path;

use super::credentials::ClusterAccess;
use super::lease::{self, LeaseSettings};
use super::outcome::Failure;
use super::prepare;
use super::records::Found;
use super::recovery::{self, LeaseOrigin, Refusal};
use crate::cmd::Cmd;
use crate::log::Log;
use crate::plan::release::{Extra, ReleaseSpec, Wait};
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::{helm, kubectl};

/// A runner that gives every command the cluster's environment (its private KUBECONFIG).
pub struct InCluster<'a> {
    pub inner: &'a dyn Runner,
    pub access: &'a ClusterAccess,
}

impl Runner for InCluster<'_> {
    fn run(&self, cmd: &Cmd) -> Result<Reply, CmdError> {
        self.inner.run(&self.access.apply(cmd.clone()))
    }
    fn run_started(&self, cmd: &Cmd, started: &dyn Fn()) -> Result<Reply, CmdError> {
        self.inner
            .run_started(&self.access.apply(cmd.clone()), started)
    }
}

/// Where a release that gets ready before the releases it follows have passed waits for them
/// (see [`super::gate`]).
pub trait Gate {
    /// Wait until they have passed; `Err` when they did not, and it is not to go on.
    fn wait(&self) -> Result<(), Failure>;
    /// Whether they did not pass (asked without waiting): what it waits for meanwhile (another
    /// run's lease) is no longer worth waiting for. Once true it stays true, and [`Gate::wait`]
    /// then returns `Err` at once (a gate is answered once).
    fn shut(&self) -> bool;
}

/// Where a release stands among its cluster's releases (see [`super::gate`]).
#[derive(Clone, Copy, Default)]
pub struct Order<'a> {
    /// It gets ready early, and waits here before it changes anything.
    pub behind: Option<&'a dyn Gate>,
    /// Told when its `helm upgrade` has started (the releases behind it get ready then).
    pub upgrading: Option<&'a dyn Fn()>,
    /// Told when it has passed: upgraded and rolled out (before its lease is given back).
    pub passed: Option<&'a dyn Fn()>,
}

/// Upgrade one release. `runner` already applies the cluster's environment. With a gate
/// (`order.behind`), only what changes nothing on its cluster runs before it opens: its chart's
/// dependency update, its lease (not the namespace a first install makes) and the read of its
/// records.
pub fn deploy(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    deps: &prepare::DependencyCache,
    lease_settings: &LeaseSettings,
    spec: &ReleaseSpec,
    order: Order<'_>,
) -> Result<(), Failure> {
    let gate = order.behind;
    let placed = prepare::place_chart(runner, root, deps, spec).or_else(|f| after_gate(gate, f))?;
    std::thread::scope(|scope| {
        let (ns, release) = (spec.namespace.as_str(), spec.release.as_str());
        let failed = Failure::at("taking the release lease");
        let take = || lease::acquire(scope, runner, lease_settings, ns, release).map_err(&failed);
        // a release behind a gate also reads its records before the gate (read again after it
        // when a revision was pending then)
        let (held, seen) = match gate {
            None => (take()?, None),
            Some(at) => {
                let shut = || at.shut();
                match lease::acquire_if_namespace(scope, runner, lease_settings, ns, release, &shut)
                    .map_err(&failed)
                    .or_else(|f| after_gate(gate, f))?
                {
                    Some(held) => {
                        let seen = recovery::look(runner, spec).ok();
                        if let Err(f) = at.wait() {
                            if let Some(lost) = held.release() {
                                log.warn(&lost);
                            }
                            return Err(f);
                        }
                        if held.is_lost() {
                            // (renewing it failed while it waited: it is not ours to delete,
                            // and what was read under it may be stale)
                            log.warn(&format!(
                                "{release}: its lease could not be renewed while it waited for \
                                 the release before it; taking it again"
                            ));
                            held.abandon();
                            (take()?, None)
                        } else {
                            (held, seen)
                        }
                    }
                    // a first install: its namespace is made once the gate has opened (or the gate
                    // shut while another run held its lease: it ends as the gate says)
                    None => {
                        at.wait()?;
                        (take()?, None)
                    }
                }
            }
        };
        let origin = match &held.took_over_from {
            Some(from) => {
                log.warn(&format!(
                    "{}: took over the expired lease of {from}",
                    spec.release
                ));
                LeaseOrigin::TakenOver
            }
            None => LeaseOrigin::Free,
        };
        let result = upgrade_holding_lease(runner, log, &placed, spec, (origin, seen), order);
        match result {
            Err(Refusal {
                error,
                leave_lease: true,
            }) => {
                held.abandon();
                Err(error)
            }
            result => {
                if result.is_ok()
                    && let Some(passed) = order.passed
                {
                    passed();
                }
                if let Some(lost) = held.release() {
                    log.warn(&lost);
                }
                result.map_err(|r| r.error)
            }
        }
    })
}

/// A failure before the gate is the release's own only once the gate has opened: else it would
/// not have run at all, and ends as the gate says.
fn after_gate<T>(gate: Option<&dyn Gate>, f: Failure) -> Result<T, Failure> {
    if let Some(at) = gate {
        at.wait()?;
    }
    Err(f)
}

fn upgrade_holding_lease(
    runner: &dyn Runner,
    log: &Log,
    placed: &prepare::Placed,
    spec: &ReleaseSpec,
    (origin, seen): (LeaseOrigin, Option<Found>),
    order: Order<'_>,
) -> Result<(), Refusal> {
    let next = recovery::prepare(runner, log, spec, origin, seen)?;
    for extra in &spec.before {
        before(runner, extra)?;
    }
    prepare::apply_crds(runner, placed, spec)?;
    let (values, files) = prepare::values(runner, log, placed, spec)?;
    let mut args = spec.upgrade_args(placed.path(&spec.chart), values);
    args.labels = recovery::marker(next, &spec.timeout);
    runner
        .run_started(&helm::upgrade(&args), order.upgrading.unwrap_or(&|| {}))
        .map_err(|e| explain_timeout(e, spec))
        .map_err(Failure::at("helm upgrade"))?;
    drop(files); // the decrypted and rendered values are not needed past the upgrade
    Ok(rollout(
        runner,
        log,
        &spec.namespace,
        &spec.timeout,
        spec.wait,
    )?)
}

/// What runs before a support release: cert-manager's CRDs and chart, the tigera operator and
/// its patch, as 2i2c's deployer runs them.
fn before(runner: &dyn Runner, extra: &Extra) -> Result<(), Failure> {
    let (step, cmds) = match extra {
        Extra::CertManager { version } => (
            "installing cert-manager",
            vec![
                kubectl::apply_url(&format!(
                    "https://github.com/cert-manager/cert-manager/releases/download/{version}/cert-manager.crds.yaml"
                )),
                helm::cert_manager(version),
            ],
        ),
        Extra::TigeraOperator { version } => (
            "installing the tigera operator",
            vec![
                kubectl::apply_tigera_operator(version),
                kubectl::patch_tigera_operator(),
            ],
        ),
    };
    for c in cmds {
        runner.run(&c).map_err(Failure::at(step))?;
    }
    Ok(())
}

/// helm's own words for a `--wait` that ran out of time are terse; say what happened.
fn explain_timeout(e: CmdError, spec: &ReleaseSpec) -> CmdError {
    match e {
        CmdError::Failed { cmd, status, tail }
            if tail.contains("context deadline exceeded") || tail.contains("timed out waiting") =>
        {
            let tail = format!(
                "{tail}\n(helm waited {} for the release's pods to become ready and gave up; \
                 --cleanup-on-fail removed what this upgrade created. Look at the pods of \
                 namespace {}: `kubectl -n {} get pods`)",
                spec.timeout, spec.namespace, spec.namespace
            );
            CmdError::Failed { cmd, status, tail }
        }
        other => other,
    }
}

/// Wait for every Deployment (and DaemonSet) of the namespace.
pub fn rollout(
    runner: &dyn Runner,
    log: &Log,
    namespace: &str,
    timeout: &str,
    wait: Wait,
) -> Result<(), Failure> {
    let (kinds, what) = match wait {
        Wait::Deployments => ("deployments", "deployment"),
        Wait::DeploymentsAndDaemonSets => ("deployments,daemonsets", "deployment and daemonset"),
    };
    match runner
        .run(&kubectl::get_workloads(namespace, kinds))
        .map_err(Failure::at("listing deployments"))?
    {
        Reply::Ran(out) => {
            let names: Vec<&str> = out
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            if names.is_empty() {
                log.info(&format!(
                    "no {kinds} found in namespace {namespace}: nothing to wait for"
                ));
            }
            for name in names {
                runner
                    .run(&kubectl::rollout_status(namespace, name, timeout))
                    .map_err(Failure::at("rollout status"))?;
            }
        }
        Reply::NotRun => {
            let placeholder = if wait == Wait::Deployments {
                "<deployment>"
            } else {
                "<workload>"
            };
            let c = kubectl::rollout_status(namespace, placeholder, timeout)
                .note(format!("for each {what}"));
            runner.run(&c).map_err(Failure::at("rollout status"))?;
        }
    }
    Ok(())
}
