//! After a hub's rollout: does it answer? `https://<domain>/hub/health` with curl (or through the
//! API server's service proxy), asked every `interval` until it answers 2xx or `timeout` has
//! passed; then the repo's own check command, if any. The run treats a hub that fails its check
//! as a failed release: a staging hub's failure keeps its cluster's prod hubs from starting.

use std::time::{Duration, Instant};

use super::outcome::{Cause, Failure, Health};
use crate::cmd::Cmd;
use crate::config::health::Via;
use crate::log::Log;
use crate::plan::release::HealthSpec;
use crate::runner::{Reply, Runner};
use crate::tools::{curl, kubectl};

/// The health check's command for one try.
fn ask(spec: &HealthSpec, namespace: &str) -> Cmd {
    match spec.via {
        Via::Https => curl::status_code(
            &spec.url,
            spec.connect_to.as_deref(),
            spec.ca_file.as_deref(),
        ),
        Via::ApiProxy => kubectl::service_proxy_get(namespace, &spec.service, &spec.path),
    }
}

/// What is asked, as messages name it.
fn target(spec: &HealthSpec, namespace: &str) -> String {
    match spec.via {
        Via::Https => spec.url.clone(),
        Via::ApiProxy => format!(
            "{}{} through the API server (namespace {namespace})",
            spec.service, spec.path
        ),
    }
}

/// The user's check command: `sh -c`, in the repo, with the hub's URL, name and cluster.
fn command(spec: &HealthSpec, text: &str) -> Cmd {
    Cmd::new("sh")
        .args(["-c", text])
        .env("DEPLOY_HUB_URL", spec.url.as_str())
        .env("DEPLOY_HUB", spec.hub.as_str())
        .env("DEPLOY_CLUSTER", spec.cluster.as_str())
        .timeout(Duration::from_secs(spec.timeout_secs))
}

/// Check the hub of `namespace`. `None` in a dry run (the commands are shown); else the result,
/// with a failure when the hub did not answer or the command failed.
pub fn check(
    runner: &dyn Runner,
    log: &Log,
    spec: &HealthSpec,
    namespace: &str,
) -> (Option<Health>, Result<(), Failure>) {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(spec.timeout_secs);
    let what = target(spec, namespace);
    let mut tries = 0u32;
    let last = loop {
        tries += 1;
        let shown = ask(spec, namespace).note(format!(
            "every {}s until it answers 2xx, for up to {}s",
            spec.interval_secs, spec.timeout_secs
        ));
        let out = match runner.run(&shown) {
            Ok(Reply::NotRun) => {
                if let Some(c) = &spec.command {
                    let _ = runner.run(&command(spec, c).note("then the repo's health check"));
                }
                return (None, Ok(()));
            }
            Ok(Reply::Ran(o)) => o,
            Err(e) => {
                let f = Failure::at("health check")(e);
                let h = health(false, t0, format!("{what}: {}", f.cause));
                return (Some(h), Err(f));
            }
        };
        let answer = match spec.via {
            Via::Https => {
                let code = out.stdout.trim().to_string();
                if code.starts_with('2') {
                    None
                } else if code.is_empty() || code == "000" {
                    Some(last_line(&out.stderr, "no answer"))
                } else {
                    Some(format!("HTTP {code}"))
                }
            }
            Via::ApiProxy if out.success() => None,
            Via::ApiProxy => Some(last_line(&out.stderr, "no answer")),
        };
        let Some(why) = answer else {
            break None;
        };
        if Instant::now() + Duration::from_secs(spec.interval_secs) > deadline {
            break Some(why);
        }
        log.info(&format!(
            "waiting for {what}: {why} (try {tries}; again in {}s)",
            spec.interval_secs
        ));
        if !sleep(Duration::from_secs(spec.interval_secs)) {
            let f = Failure {
                step: "health check",
                cause: Cause::Interrupted,
            };
            return (
                Some(health(false, t0, format!("{what}: interrupted"))),
                Err(f),
            );
        }
    };
    if let Some(why) = last {
        let msg = format!(
            "{what} did not answer within {}s ({tries} tries; the last: {why})",
            spec.timeout_secs
        );
        let f = Failure {
            step: "health check",
            cause: Cause::Unhealthy(msg.clone()),
        };
        return (Some(health(false, t0, msg)), Err(f));
    }
    let answered = format!(
        "{what} answered after {tries} {}",
        if tries == 1 { "try" } else { "tries" }
    );
    if let Some(c) = &spec.command {
        if let Err(e) = runner.run(&command(spec, c)) {
            let f = Failure::at("health check command")(e);
            let h = health(
                false,
                t0,
                format!("{answered}; the command failed: {}", f.cause),
            );
            return (Some(h), Err(f));
        }
        return (
            Some(health(true, t0, format!("{answered}; the command passed"))),
            Ok(()),
        );
    }
    (Some(health(true, t0, answered)), Ok(()))
}

fn health(ok: bool, t0: Instant, detail: String) -> Health {
    Health {
        ok,
        secs: t0.elapsed().as_secs_f64(),
        detail,
    }
}

fn last_line(text: &str, default: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(default)
        .to_string()
}

/// Sleep, waking early when the run is interrupted; whether it slept to the end.
fn sleep(d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if crate::signals::interrupted() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100).min(end - Instant::now()));
    }
    !crate::signals::interrupted()
}
