//! One writer per release: a Kubernetes `Lease` (coordination.k8s.io/v1) named after the release
//! in its namespace. Created atomically (create fails when it exists); a lease that stayed
//! unchanged for its `leaseDurationSeconds` on our own clock (its holder stopped renewing it) is
//! taken over with a replace that carries the observed resourceVersion, so of two runs racing for
//! it exactly one wins; renewed while the upgrade runs; deleted afterwards.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::cmd::Cmd;
use crate::runner::{CmdError, Output, Reply, Runner};
use crate::signals;
use crate::tools::kubectl;

#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Who we are, written into the lease (`deploy@host:pid`, plus the CI run when known).
    pub holder: String,
    /// A lease not renewed for this long is expired and may be taken over.
    pub duration: Duration,
    /// How long to wait for another run's live lease before failing.
    pub wait: Duration,
    /// How often to look again while waiting.
    pub poll: Duration,
}

impl LeaseSettings {
    pub fn new(wait: Duration) -> LeaseSettings {
        LeaseSettings {
            holder: holder_identity(),
            duration: Duration::from_secs(60),
            wait,
            poll: Duration::from_secs(5),
        }
    }
}

/// `deploy@<host>:<pid>`, plus `/github-run-<id>` inside GitHub Actions.
pub fn holder_identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    let mut id = format!("deploy@{host}:{}", std::process::id());
    if let Ok(run) = std::env::var("GITHUB_RUN_ID") {
        id.push_str(&format!("/github-run-{run}"));
    }
    id
}

pub fn lease_name(release: &str) -> String {
    format!("deploy-{release}")
}

fn now_micro() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

fn manifest(
    ns: &str,
    name: &str,
    holder: &str,
    secs: u64,
    resource_version: Option<&str>,
) -> String {
    let now = now_micro();
    let mut m = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": secs, "acquireTime": now, "renewTime": now}
    });
    if let Some(rv) = resource_version {
        m["metadata"]["resourceVersion"] = json!(rv);
    }
    m.to_string()
}

fn resource_version(out: &Output) -> Option<String> {
    serde_json::from_str::<Value>(&out.stdout)
        .ok()?
        .pointer("/metadata/resourceVersion")?
        .as_str()
        .map(String::from)
}

/// What another holder's lease says.
#[derive(Debug, Clone)]
struct Observed {
    holder: String,
    /// As written by the holder, compared as text: the holder's clock is not ours.
    renew: String,
    secs: u64,
    resource_version: String,
}

impl Observed {
    fn parse(out: &Output) -> Option<Observed> {
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Some(Observed {
            holder: text("/spec/holderIdentity"),
            renew: text("/spec/renewTime"),
            secs: v
                .pointer("/spec/leaseDurationSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            resource_version: v
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)?
                .to_string(),
        })
    }

    /// The same lease record: nobody renewed or replaced it in between.
    fn same(&self, other: &Observed) -> bool {
        self.resource_version == other.resource_version
            && self.renew == other.renew
            && self.holder == other.holder
    }
}

/// Decides when another holder's lease is expired the way client-go's leader election does:
/// not by comparing its `renewTime` with our clock (the holder's clock may be minutes off
/// either way), but by watching the lease stay unchanged for its `leaseDurationSeconds` on our
/// own monotonic clock.
struct Watch {
    seen: Option<(Observed, Instant)>,
    /// Used when the lease gives no duration.
    default: Duration,
}

impl Watch {
    /// Record an observation; true when this exact record has now stayed unchanged for the
    /// lease's duration since we first saw it.
    fn expired(&mut self, now: &Observed) -> bool {
        let duration = match now.secs {
            0 => self.default,
            s => Duration::from_secs(s),
        };
        match &self.seen {
            Some((prev, since)) if prev.same(now) => since.elapsed() >= duration,
            _ => {
                self.seen = Some((now.clone(), Instant::now()));
                duration.is_zero()
            }
        }
    }

    /// How long the current record has stayed unchanged, as far as we know.
    fn unchanged_for(&self) -> Duration {
        self.seen
            .as_ref()
            .map(|(_, since)| since.elapsed())
            .unwrap_or_default()
    }
}

fn says(out: &Output, what: &str) -> bool {
    out.stderr.contains(what) || out.stdout.contains(what)
}

fn fail(cmd: &Cmd, out: &Output) -> CmdError {
    CmdError::Failed {
        cmd: cmd.line(),
        status: format!("exit status {}", out.code),
        tail: out.stderr.trim().to_string(),
    }
}

/// A held lease. Renewed in the background until dropped or [`Lease::release`]d.
pub struct Lease<'r> {
    runner: &'r dyn Runner,
    namespace: String,
    name: String,
    /// Dropping it stops the renewer at once (a sleeping renewer would hold up every release
    /// by its sleep; over a run of many releases that adds up).
    stop: Option<mpsc::Sender<()>>,
    lost: Arc<Mutex<Option<String>>>,
    renewer: Option<std::thread::ScopedJoinHandle<'r, ()>>,
    /// Taken over from an expired holder: who it was.
    pub took_over_from: Option<String>,
}

/// Take the release's lease (creating the namespace it lives in on a first install), waiting for
/// a live one held by someone else up to `settings.wait`.
pub fn acquire<'r>(
    scope: &'r std::thread::Scope<'r, '_>,
    runner: &'r dyn Runner,
    settings: &LeaseSettings,
    namespace: &str,
    release: &str,
) -> Result<Lease<'r>, CmdError> {
    take(scope, runner, settings, namespace, release, None)?.ok_or_else(|| CmdError::Spawn {
        cmd: format!("taking lease {namespace}/{}", lease_name(release)),
        reason: "internal error: its namespace was not made".into(),
    })
}

/// [`acquire`], except that a missing namespace is not made, and that waiting for another
/// holder's lease stops once `give_up` says so: `None` then, and nothing changed (a prod release
/// taking its lease before its staging release has passed, which gives up when that failed).
pub fn acquire_if_namespace<'r>(
    scope: &'r std::thread::Scope<'r, '_>,
    runner: &'r dyn Runner,
    settings: &LeaseSettings,
    namespace: &str,
    release: &str,
    give_up: &dyn Fn() -> bool,
) -> Result<Option<Lease<'r>>, CmdError> {
    take(scope, runner, settings, namespace, release, Some(give_up))
}

/// `early`: the release gets ready before the one it follows has passed ([`acquire_if_namespace`]):
/// it makes no namespace, and stops waiting for another holder when the closure says so.
fn take<'r>(
    scope: &'r std::thread::Scope<'r, '_>,
    runner: &'r dyn Runner,
    settings: &LeaseSettings,
    namespace: &str,
    release: &str,
    early: Option<&dyn Fn() -> bool>,
) -> Result<Option<Lease<'r>>, CmdError> {
    let name = lease_name(release);
    let mut namespace_made = false;
    let secs = settings.duration.as_secs().max(1);
    let started = Instant::now();
    let mut took_over_from = None;
    let mut watch = Watch {
        seen: None,
        default: settings.duration,
    };
    let resource_version = loop {
        if signals::interrupted() {
            return Err(CmdError::Interrupted {
                cmd: format!("waiting for lease {namespace}/{name}"),
            });
        }
        if early.is_some_and(|give_up| give_up()) {
            return Ok(None);
        }
        let desc = format!("Lease {namespace}/{name}");
        let create = kubectl::create_json(
            &manifest(namespace, &name, &settings.holder, secs, None),
            &desc,
        )
        .note(format!(
            "kubectl create namespace {namespace} first, if it is missing"
        ));
        match runner.run(&create)? {
            Reply::NotRun => break None,
            Reply::Ran(o) if o.success() => break resource_version(&o),
            // A first install: the lease lives in the release's namespace, so make it first.
            Reply::Ran(o) if says(&o, "NotFound") && !namespace_made => {
                if early.is_some() {
                    return Ok(None);
                }
                namespace_made = true;
                let ns_cmd = kubectl::create_namespace(namespace);
                if let Reply::Ran(o) = runner.run(&ns_cmd)?
                    && !o.success()
                    && !says(&o, "AlreadyExists")
                {
                    return Err(fail(&ns_cmd, &o));
                }
                continue;
            }
            Reply::Ran(o) if !says(&o, "AlreadyExists") => return Err(fail(&create, &o)),
            Reply::Ran(_) => {}
        }
        let get = kubectl::get_lease(namespace, &name);
        let observed = match runner.run(&get)? {
            Reply::Ran(o) if o.success() => Observed::parse(&o),
            Reply::Ran(o) if says(&o, "NotFound") => continue, // released in between: try again
            Reply::Ran(o) => return Err(fail(&get, &o)),
            Reply::NotRun => None,
        };
        let Some(observed) = observed else { continue };
        if watch.expired(&observed) {
            let replace = kubectl::replace_json(
                &manifest(
                    namespace,
                    &name,
                    &settings.holder,
                    secs,
                    Some(&observed.resource_version),
                ),
                &format!("{desc} (taking over from {})", observed.holder),
            );
            match runner.run(&replace)? {
                Reply::Ran(o) if o.success() => {
                    took_over_from = Some(observed.holder.clone());
                    break resource_version(&o);
                }
                // Conflict: another run took it over first; NotFound: it was deleted. Look again.
                Reply::Ran(o)
                    if says(&o, "Conflict") || says(&o, "NotFound") || says(&o, "modified") =>
                {
                    continue;
                }
                Reply::Ran(o) => return Err(fail(&replace, &o)),
                Reply::NotRun => break None,
            }
        }
        if started.elapsed() >= settings.wait {
            let holder = if observed.holder.is_empty() {
                "another run"
            } else {
                &observed.holder
            };
            return Err(CmdError::Failed {
                cmd: format!("taking lease {namespace}/{name}"),
                status: format!("a live lease after waiting {}s", settings.wait.as_secs()),
                tail: format!(
                    "release {release} is being deployed by {holder} (lease {namespace}/{name}, \
                     unchanged for the last {}s; a lease not renewed for {}s is taken over); wait \
                     for it or raise --lock-timeout",
                    watch.unchanged_for().as_secs(),
                    if observed.secs > 0 {
                        observed.secs
                    } else {
                        settings.duration.as_secs()
                    }
                ),
            });
        }
        let pause = settings
            .poll
            .min(settings.wait.saturating_sub(started.elapsed()))
            .max(Duration::from_millis(10));
        match early {
            Some(give_up) if gave_up_during(pause, give_up) => return Ok(None),
            Some(_) => {}
            None => std::thread::sleep(pause),
        }
    };

    let (stop, stopped) = mpsc::channel();
    let lost = Arc::new(Mutex::new(None));
    let renewer = resource_version.map(|rv| {
        let lost = Arc::clone(&lost);
        let (ns, name, holder) = (namespace.to_string(), name.clone(), settings.holder.clone());
        let every = settings.duration / 3;
        scope.spawn(move || {
            renew_loop(
                runner, &ns, &name, &holder, secs, rv, every, &stopped, &lost,
            )
        })
    });
    Ok(Some(Lease {
        runner,
        namespace: namespace.to_string(),
        name,
        stop: Some(stop),
        lost,
        renewer,
        took_over_from,
    }))
}

/// Sleep `pause`, or less when `give_up` says so (asked every 50 ms at most); whether it did.
fn gave_up_during(pause: Duration, give_up: &dyn Fn() -> bool) -> bool {
    let until = Instant::now() + pause;
    loop {
        if give_up() {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

#[allow(clippy::too_many_arguments)]
fn renew_loop(
    runner: &dyn Runner,
    ns: &str,
    name: &str,
    holder: &str,
    secs: u64,
    mut rv: String,
    every: Duration,
    stopped: &mpsc::Receiver<()>,
    lost: &Mutex<Option<String>>,
) {
    // Wakes every `every` to renew, and at once when the lease's sender is dropped.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
        let replace = kubectl::replace_json(
            &manifest(ns, name, holder, secs, Some(&rv)),
            &format!("Lease {ns}/{name} (renewal)"),
        );
        match runner.run(&replace) {
            Ok(Reply::Ran(o)) if o.success() => rv = resource_version(&o).unwrap_or(rv),
            Ok(Reply::Ran(o)) => {
                *lost
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(format!(
                    "lease {ns}/{name} could not be renewed: {}",
                    o.stderr.trim()
                ));
                return;
            }
            _ => {}
        }
    }
}

impl Lease<'_> {
    fn stop_renewing(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.renewer.take() {
            let _ = h.join();
        }
    }

    /// Whether renewing it failed: it may have expired, and another run may hold it now.
    pub fn is_lost(&self) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// Stop renewing and leave the lease to expire, as a run that died would: the next run
    /// then knows (it has to take the lease over) that the release's last holder did not end
    /// cleanly. Used when a pending revision of a dead run may still be worked on by its helm.
    pub fn abandon(mut self) {
        self.stop_renewing();
    }

    /// Stop renewing and delete the lease. Returns a warning when it was lost on the way.
    pub fn release(mut self) -> Option<String> {
        self.stop_renewing();
        let lost = self
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if lost.is_none() {
            // Best effort: an expired lease is harmless, the next run takes it over.
            let _ = self
                .runner
                .run(&kubectl::delete_lease(&self.namespace, &self.name));
        }
        lost
    }
}
