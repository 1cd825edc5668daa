//! Deploying one Helm release, the same way for `deploy <chart> --deploy`, `deploy run`,
//! `upgrade-support` and `upgrade-hub`: lease → recover a stuck release → upgrade → rollout.

use std::path::Path;

use serde_json::Value;

use super::credentials::ClusterAccess;
use super::lease::{self, LeaseSettings};
use super::once_map::OnceMap;
use super::secrets::{self, Decrypted};
use crate::cmd::Cmd;
use crate::plan::release::ReleaseSpec;
use crate::report::log::Log;
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

/// Which step of a release failed, for messages and the report.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}")]
pub struct ReleaseError {
    pub step: &'static str,
    #[source]
    pub source: CmdError,
}

fn at(step: &'static str) -> impl Fn(CmdError) -> ReleaseError {
    move |source| ReleaseError { step, source }
}

/// Upgrade one release. `runner` already applies the cluster's environment.
pub fn deploy(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    deps: &DependencyCache,
    lease_settings: &LeaseSettings,
    spec: &ReleaseSpec,
) -> Result<(), ReleaseError> {
    deps.update(runner, &spec.chart)
        .map_err(at("helm dependency update"))?;
    std::thread::scope(|scope| {
        let held = lease::acquire(
            scope,
            runner,
            lease_settings,
            &spec.namespace,
            &spec.release,
        )
        .map_err(at("taking the release lease"))?;
        if let Some(from) = &held.took_over_from {
            log.warn(&format!(
                "{}: took over the expired lease of {from}",
                spec.release
            ));
        }
        let result = upgrade_holding_lease(runner, log, root, spec);
        if let Some(lost) = held.release() {
            log.warn(&lost);
        }
        result
    })
}

fn upgrade_holding_lease(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    spec: &ReleaseSpec,
) -> Result<(), ReleaseError> {
    recover_pending(runner, log, spec)?;
    let mut decrypted = Decrypted::default();
    let mut values = Vec::with_capacity(spec.values.len());
    for v in &spec.values {
        values.push(
            secrets::plain_path(runner, log, root, v, &mut decrypted)
                .map_err(at("decrypting values"))?,
        );
    }
    runner
        .run(&helm::upgrade(&spec.upgrade_args(values)))
        .map_err(|e| explain_timeout(e, spec))
        .map_err(at("helm upgrade"))?;
    drop(decrypted); // the decrypted values are not needed past the upgrade
    rollout(runner, log, &spec.namespace, &spec.timeout)
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

/// A release left `pending-*` by a run that died (its lease expired, so nobody else is on it):
/// roll it back, or uninstall it if it never installed, so the upgrade can proceed.
fn recover_pending(runner: &dyn Runner, log: &Log, spec: &ReleaseSpec) -> Result<(), ReleaseError> {
    let out = match runner
        .run(&helm::status(&spec.release, &spec.namespace))
        .map_err(at("helm status"))?
    {
        Reply::Ran(o) if o.success() => o,
        _ => return Ok(()), // not installed yet, or a dry run
    };
    let status = serde_json::from_str::<Value>(&out.stdout)
        .ok()
        .and_then(|v| {
            v.pointer("/info/status")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let cmd = match status.as_str() {
        "pending-install" => helm::uninstall(&spec.release, &spec.namespace, &spec.timeout),
        "pending-upgrade" | "pending-rollback" => {
            let target = last_good_revision(runner, spec)?;
            helm::rollback(&spec.release, &spec.namespace, target, &spec.timeout)
        }
        _ => return Ok(()),
    };
    log.warn(&format!(
        "{}: release is stuck in {status} (a run died during it); recovering with `{}`",
        spec.release,
        cmd.line()
    ));
    runner
        .run(&cmd)
        .map_err(at("recovering a pending release"))?;
    Ok(())
}

/// The newest revision that was deployed (`deployed`, else `superseded`): rolling back to the
/// previous revision could mean a failed one. `None` (helm's previous) when history is unknown.
fn last_good_revision(
    runner: &dyn Runner,
    spec: &ReleaseSpec,
) -> Result<Option<u64>, ReleaseError> {
    let out = match runner
        .run(&helm::history(&spec.release, &spec.namespace))
        .map_err(at("helm history"))?
    {
        Reply::Ran(o) => o,
        Reply::NotRun => return Ok(None),
    };
    let revisions: Vec<Value> = serde_json::from_str(&out.stdout).unwrap_or_default();
    let newest = |wanted: &str| {
        revisions
            .iter()
            .filter(|r| r["status"].as_str() == Some(wanted))
            .filter_map(|r| r["revision"].as_u64())
            .max()
    };
    Ok(newest("deployed").or_else(|| newest("superseded")))
}

/// Wait for every deployment of the namespace.
pub fn rollout(
    runner: &dyn Runner,
    log: &Log,
    namespace: &str,
    timeout: &str,
) -> Result<(), ReleaseError> {
    match runner
        .run(&kubectl::get_deployments(namespace))
        .map_err(at("listing deployments"))?
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
                    .map_err(at("rollout status"))?;
            }
        }
        Reply::NotRun => {
            let c = kubectl::rollout_status(namespace, "<deployment>", timeout)
                .note("for each deployment");
            runner.run(&c).map_err(at("rollout status"))?;
        }
    }
    Ok(())
}
