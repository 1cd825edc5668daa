//! What an operator does to one release besides upgrading it: `deploy rollback` and
//! `deploy uninstall` (each under the release's Lease, as an upgrade is), and
//! `deploy credentials` (a shell with the cluster's private credentials).

use serde_json::Value;

use super::context::{Ctx, connect};
use super::lease;
use super::outcome::{Cause, Failure};
use super::release::{self, InCluster};
use crate::cmd::Cmd;
use crate::plan::release::Wait;
use crate::plan::run_plan::ClusterPlan;
use crate::runner::{Reply, Runner};
use crate::tools::helm;

/// One release of a cluster.
pub struct Target<'a> {
    pub cluster: &'a ClusterPlan,
    pub release: &'a str,
    pub namespace: &'a str,
    pub timeout: &'a str,
    pub wait: Wait,
}

/// What to do to it.
#[derive(Clone, Copy, Debug)]
pub enum Operation {
    /// `helm rollback` to this revision (default: the last deployed one before the current),
    /// then the rollout.
    Rollback { to: Option<u64> },
    /// `helm uninstall`.
    Uninstall,
}

/// The step of the failure that says the release is not installed.
pub const NOT_INSTALLED: &str = "finding the release";

fn refused(step: &'static str, why: String) -> Failure {
    Failure {
        step,
        cause: Cause::Refused(why),
    }
}

/// Do `op` to `t` under its Lease; what was done.
pub fn operate(ctx: &Ctx<'_>, t: &Target<'_>, op: Operation) -> Result<String, Failure> {
    let access = connect(ctx, t.cluster).map_err(|(_, msg)| refused("cluster credentials", msg))?;
    let label = format!("{}/{}", t.cluster.name, t.release);
    let guarded = ctx.runner(ctx.log, &label);
    let runner = InCluster {
        inner: &guarded,
        access: &access,
    };
    // a release that is not there is said so before a Lease (and its namespace) is made
    let installed = match runner
        .run(&helm::get_metadata(t.release, t.namespace))
        .map_err(Failure::at("helm get metadata"))?
    {
        Reply::Ran(o) => o.success(),
        Reply::NotRun => true,
    };
    if !installed {
        return Err(refused(
            NOT_INSTALLED,
            format!("{label} is not installed (namespace {})", t.namespace),
        ));
    }
    let result = std::thread::scope(|scope| {
        let held = lease::acquire(scope, &runner, &ctx.opts.lease, t.namespace, t.release)
            .map_err(Failure::at("taking the release lease"))?;
        let r = match op {
            Operation::Rollback { to } => rollback(&runner, ctx, t, to, &label),
            Operation::Uninstall => runner
                .run(&helm::uninstall(t.release, t.namespace, t.timeout))
                .map(|_| format!("uninstalled {label}"))
                .map_err(Failure::at("helm uninstall")),
        };
        if let Some(lost) = held.release() {
            ctx.log.warn(&lost);
        }
        r
    });
    let _ = guarded.finish();
    result
}

fn rollback(
    runner: &dyn Runner,
    ctx: &Ctx<'_>,
    t: &Target<'_>,
    to: Option<u64>,
    label: &str,
) -> Result<String, Failure> {
    let history = match runner
        .run(&helm::history(t.release, t.namespace))
        .map_err(Failure::at("helm history"))?
    {
        Reply::Ran(o) => serde_json::from_str::<Vec<Value>>(&o.stdout)
            .map_err(|e| refused("helm history", format!("printed no JSON list: {e}")))?,
        Reply::NotRun => Vec::new(),
    };
    let revisions: Vec<(u64, String)> = history
        .iter()
        .filter_map(|h| {
            Some((
                h["revision"].as_u64()?,
                h["status"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect();
    let current = revisions.iter().map(|(r, _)| *r).max();
    let target = match (to, current) {
        (to, None) => to, // a dry run: no history
        (Some(r), Some(cur)) => {
            if r == cur {
                return Err(refused(
                    "choosing the revision",
                    format!("revision {r} is the current one"),
                ));
            }
            if !revisions.iter().any(|(x, _)| *x == r) {
                let list: Vec<String> = revisions.iter().map(|(x, _)| x.to_string()).collect();
                return Err(refused(
                    "choosing the revision",
                    format!(
                        "revision {r} is not in the release's history (there: {})",
                        list.join(", ")
                    ),
                ));
            }
            Some(r)
        }
        (None, Some(cur)) => Some(
            revisions
                .iter()
                .filter(|(r, s)| *r < cur && (s == "superseded" || s == "deployed"))
                .map(|(r, _)| *r)
                .max()
                .ok_or_else(|| {
                    refused(
                        "choosing the revision",
                        format!("{label} has no deployed revision before revision {cur}"),
                    )
                })?,
        ),
    };
    runner
        .run(&helm::rollback(t.release, t.namespace, target, t.timeout))
        .map_err(Failure::at("helm rollback"))?;
    release::rollout(runner, ctx.log, t.namespace, t.timeout, t.wait)?;
    Ok(match (current, target) {
        (Some(c), Some(r)) => format!("rolled back {label} from revision {c} to {r}"),
        _ => format!("rolled back {label}"),
    })
}

/// How the command of `deploy credentials` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Ended by this signal (not one deploy was sent: that is an interruption).
    Signal(i32),
}

/// Run `command` (the user's shell when empty) with the cluster's credentials set up as a run
/// sets them up, removed when it ends; how it ended. Deploy sent SIGTERM or SIGHUP: the command
/// is stopped too, and that is an interruption (exit 130); a Ctrl-C that ended the command too.
/// A Ctrl-C the command (a shell) caught and outlived was its own.
pub fn with_credentials(
    ctx: &Ctx<'_>,
    cluster: &ClusterPlan,
    command: &[String],
) -> Result<Ended, Failure> {
    let access = connect(ctx, cluster).map_err(|(_, msg)| refused("cluster credentials", msg))?;
    let (program, args) = match command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (
            std::env::var("SHELL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "sh".into()),
            Vec::new(),
        ),
    };
    let cmd = access.apply(
        Cmd::new(&program)
            .args(args)
            .env("DEPLOY_CLUSTER", cluster.name.as_str())
            .interactive(),
    );
    crate::signals::set_interactive(true);
    let reply = ctx.factory.make(ctx.log).run(&cmd);
    crate::signals::set_interactive(false);
    drop(access);
    ctx.log.info(&format!(
        "{}: the cluster's credentials were removed",
        cluster.name
    ));
    let ended = match reply {
        Ok(Reply::Ran(o)) => o.signal.map_or(Ended::Exited(o.code), Ended::Signal),
        Ok(Reply::NotRun) => Ended::Exited(0),
        Err(e) => return Err(Failure::at("the command")(e)),
    };
    // a command that a signal sent to deploy (or a Ctrl-C) ended: interrupted (exit 130)
    if (crate::signals::interrupted() && matches!(ended, Ended::Signal(_)))
        || ended == Ended::Signal(libc::SIGINT)
    {
        return Err(Failure::at("the command")(
            crate::runner::CmdError::Interrupted { cmd: cmd.line() },
        ));
    }
    // a Ctrl-C typed in the shell, which the shell outlived, was the shell's
    crate::signals::set_interrupted(false);
    Ok(ended)
}
