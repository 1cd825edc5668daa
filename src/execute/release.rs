//! Deploying one Helm release, the same way for `deploy <chart> --deploy`, `deploy run`,
//! `upgrade-support` and `upgrade-hub`: lease → recover a stuck release (see [`recovery`]) →
//! upgrade, marked as ours → rollout.

use std::path::Path;

use super::credentials::ClusterAccess;
use super::lease::{self, LeaseSettings};
use super::once_map::OnceMap;
use super::outcome::Failure;
use super::recovery::{self, LeaseOrigin, Refusal};
use super::secrets::{self, Decrypted, SecretKind};
use crate::cmd::Cmd;
use crate::log::Log;
use crate::plan::release::ReleaseSpec;
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
}

/// `helm dependency update` once per chart per run, however many releases use the chart.
#[derive(Default)]
pub struct DependencyCache {
    done: OnceMap<String, Result<(), CmdError>>,
}

impl DependencyCache {
    pub fn update(&self, runner: &dyn Runner, chart: &str) -> Result<(), CmdError> {
        self.done.get_or_init(chart.to_string(), || {
            runner.run(&helm::dependency_update(chart)).map(|_| ())
        })
    }
}

/// Upgrade one release. `runner` already applies the cluster's environment.
pub fn deploy(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    deps: &DependencyCache,
    lease_settings: &LeaseSettings,
    spec: &ReleaseSpec,
) -> Result<(), Failure> {
    deps.update(runner, &spec.chart)
        .map_err(Failure::at("helm dependency update"))?;
    std::thread::scope(|scope| {
        let held = lease::acquire(
            scope,
            runner,
            lease_settings,
            &spec.namespace,
            &spec.release,
        )
        .map_err(Failure::at("taking the release lease"))?;
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
        match upgrade_holding_lease(runner, log, root, spec, origin) {
            Err(Refusal {
                error,
                leave_lease: true,
            }) => {
                held.abandon();
                Err(error)
            }
            result => {
                if let Some(lost) = held.release() {
                    log.warn(&lost);
                }
                result.map_err(|r| r.error)
            }
        }
    })
}

fn upgrade_holding_lease(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    spec: &ReleaseSpec,
    origin: LeaseOrigin,
) -> Result<(), Refusal> {
    let next = recovery::prepare(runner, log, spec, origin)?;
    let mut decrypted = Decrypted::default();
    let mut values = Vec::with_capacity(spec.values.len());
    for v in &spec.values {
        values.push(
            secrets::plain_path(
                runner,
                log,
                root,
                &v.path,
                SecretKind::Values,
                &mut decrypted,
            )
            .map_err(Failure::at("decrypting values"))?,
        );
    }
    let mut args = spec.upgrade_args(values);
    args.labels = recovery::marker(next, &spec.timeout);
    runner
        .run(&helm::upgrade(&args))
        .map_err(|e| explain_timeout(e, spec))
        .map_err(Failure::at("helm upgrade"))?;
    drop(decrypted); // the decrypted values are not needed past the upgrade
    Ok(rollout(runner, log, &spec.namespace, &spec.timeout)?)
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

/// Wait for every deployment of the namespace.
pub fn rollout(
    runner: &dyn Runner,
    log: &Log,
    namespace: &str,
    timeout: &str,
) -> Result<(), Failure> {
    match runner
        .run(&kubectl::get_deployments(namespace))
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
                    "no deployments found in namespace {namespace}: nothing to wait for"
                ));
            }
            for name in names {
                runner
                    .run(&kubectl::rollout_status(namespace, name, timeout))
                    .map_err(Failure::at("rollout status"))?;
            }
        }
        Reply::NotRun => {
            let c = kubectl::rollout_status(namespace, "<deployment>", timeout)
                .note("for each deployment");
            runner.run(&c).map_err(Failure::at("rollout status"))?;
        }
    }
    Ok(())
}
