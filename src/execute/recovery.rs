//! A release found `pending-install`/`pending-upgrade`/`pending-rollback` before an upgrade:
//! recover it (uninstall, or roll back to the newest good revision) only when nobody can still be
//! working on it. Holding the release's lease only keeps other `deploy` runs away: a person's own
//! `helm upgrade` takes no lease, and a `deploy` killed with SIGKILL can leave its helm running.
//!
//! Our marker: every upgrade gives the revision it makes the helm labels `deploy-revision=<N>`
//! (the revision number it will create) and `deploy-timeout=<its --timeout>`. helm 3.19 writes
//! `--labels` on the revision's release Secret from the moment it is pending (`--description` is
//! no use: a pending revision's description is helm's own "Preparing upgrade" / "Initial install
//! underway" until the end), but copies the previous revision's labels onto every later one (a
//! person's upgrade, a rollback): so a revision is ours only when its `deploy-revision` names
//! itself. helm shows these labels nowhere else (`helm get metadata`, `status`, `history` leave
//! them out), so they are read from the Secret, with the revision's status and number, in the one
//! read that finds the newest revision (see [`super::records`]).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::outcome::{Cause, Failure};
use super::records::{self, Found};
use crate::cmd::Cmd;
use crate::config::duration::GoDuration;
use crate::log::Log;
use crate::plan::release::ReleaseSpec;
use crate::runner::{Reply, Runner};
use crate::tools::helm;

pub const REVISION_LABEL: &str = "deploy-revision";
pub const TIMEOUT_LABEL: &str = "deploy-timeout";
/// Added to a pending revision's timeout before it counts as abandoned: its age is the
/// cluster-written `updated` time against our clock, which may be minutes apart.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);

/// The revision the upgrade will make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextRevision {
    Is(u64),
    /// helm's answer could not be read: the upgrade is not marked as ours (the safe side).
    Unknown,
    /// A dry run: the cluster was not asked.
    NotAsked,
}

/// The labels an upgrade that makes revision `next` gives it.
pub fn marker(next: NextRevision, timeout: &str) -> Vec<(String, String)> {
    let revision = match next {
        NextRevision::Is(n) => Some(n.to_string()),
        NextRevision::NotAsked => Some("<next>".to_string()),
        NextRevision::Unknown => None,
    };
    revision
        .map(|r| (REVISION_LABEL.to_string(), r))
        .into_iter()
        .chain([(TIMEOUT_LABEL.to_string(), timeout.to_string())])
        .collect()
}

/// The newest revision of a release that is pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub revision: u64,
    pub status: String,
    /// helm's `updated` (when the revision was made), by the clock of whoever ran helm.
    pub updated: Option<SystemTime>,
    pub description: String,
    /// Our marker names this very revision: a `deploy` run made it.
    pub ours: bool,
    /// The `--timeout` its run gave helm (ours only).
    pub own_timeout: Option<Duration>,
}

/// What to do with a pending revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Recover it; the reason is logged.
    Recover(String),
    /// Leave it alone and fail the release with this message.
    Refuse(String),
}

/// Where the lease of this run came from, which tells whether the run that made a pending
/// revision of ours has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseOrigin {
    /// Created: the last holder deleted it, which a run does only after its helm has exited.
    Free,
    /// Taken over from a holder that stopped renewing it (died, or was SIGKILLed): its helm may
    /// still be running, until its own `--timeout`.
    TakenOver,
}

/// Whether a pending revision may be recovered now. Pure: `now` is our clock.
pub fn decide(
    p: &Pending,
    lease: LeaseOrigin,
    run_timeout: Duration,
    force: bool,
    now: SystemTime,
) -> Verdict {
    let age = p.updated.map(|t| now.duration_since(t).unwrap_or_default());
    let timeout = p.own_timeout.filter(|_| p.ours).unwrap_or(run_timeout);
    let limit = timeout + MARGIN;
    let shown_age = age.map_or_else(
        || "of unknown age".to_string(),
        |a| format!("{} old", human(a)),
    );
    let who = if p.ours {
        format!(
            "made by a deploy run with --timeout {}",
            human(p.own_timeout.unwrap_or(run_timeout))
        )
    } else {
        "not made by deploy (a person's helm, or another tool)".to_string()
    };
    let what = format!(
        "{} revision {} ({shown_age}, {who}, description \"{}\")",
        p.status, p.revision, p.description
    );
    if force {
        return Verdict::Recover(format!("{what}: recovering it (--force-recover)"));
    }
    if p.ours && lease == LeaseOrigin::Free {
        return Verdict::Recover(format!(
            "{what}: the run that made it has ended (it released its lease)"
        ));
    }
    if age.is_some_and(|a| a > limit) {
        return Verdict::Recover(format!(
            "{what}: older than its timeout plus {}, so no helm can still be waiting on it",
            human(MARGIN)
        ));
    }
    let why = if p.ours {
        "its run died without releasing the release's lease, and its helm may still be running"
    } else {
        "someone may still be upgrading it"
    };
    Verdict::Refuse(format!(
        "{what}: {why}, so it is left alone. It is recovered automatically once it is older \
         than {} (its timeout plus {}). If you are sure no helm is working on it, run again \
         with --force-recover to roll it back (or uninstall a first install)",
        human(limit),
        human(MARGIN)
    ))
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// A revision's status says it is in the middle of an install, upgrade or rollback.
fn pending(status: &str) -> bool {
    status.starts_with("pending-")
}

/// The release's newest revision, as its records say (the lease held).
pub(super) fn look(runner: &dyn Runner, spec: &ReleaseSpec) -> Result<Found, Failure> {
    records::newest(
        runner,
        &spec.namespace,
        &spec.release,
        std::env::var("HELM_DRIVER").ok().as_deref(),
    )
}

/// Before the upgrade: find a pending revision and recover it when [`decide`] allows. Returns
/// the revision the upgrade will make, for its marker. `seen`: what [`look`] found earlier,
/// the lease held since (a prod release that got ready early); a pending revision found then is
/// looked at again, as anything may have happened to it since.
pub(super) fn prepare(
    runner: &dyn Runner,
    log: &Log,
    spec: &ReleaseSpec,
    lease: LeaseOrigin,
    seen: Option<Found>,
) -> Result<NextRevision, Refusal> {
    let found = match seen.filter(|f| !matches!(f, Found::Newest(n) if pending(&n.status))) {
        Some(found) => found,
        None => look(runner, spec)?,
    };
    let newest = match found {
        Found::Newest(n) => n,
        Found::NotInstalled => return Ok(NextRevision::Is(1)), // it installs revision 1
        Found::NotAsked => return Ok(NextRevision::NotAsked),
    };
    let (status, current) = (newest.status, newest.revision);
    if !pending(&status) {
        return Ok(current.map_or(NextRevision::Unknown, |c| NextRevision::Is(c + 1)));
    }
    let revision = current.unwrap_or_default();
    let history = history(runner, spec)?;
    let entry = history
        .iter()
        .find(|r| r["revision"].as_u64() == Some(revision));
    // helm's own reading of the revision (its data, not its Secret's labels, which a person may
    // have edited) must agree that it is pending before anything is rolled back
    if let Some(now) = entry
        .and_then(|e| e["status"].as_str())
        .filter(|s| !s.starts_with("pending-"))
    {
        log.warn(&format!(
            "{}: revision {revision} is labelled {status} but helm reads it as {now}: not \
             recovering it",
            spec.release
        ));
        return Ok(NextRevision::Is(revision + 1));
    }
    let labels = newest.labels;
    let ours = labels.get(REVISION_LABEL).and_then(Value::as_str) == Some(&revision.to_string());
    let pending = Pending {
        revision,
        status: status.clone(),
        updated: entry
            .and_then(|e| e["updated"].as_str())
            .and_then(parse_time),
        description: entry
            .and_then(|e| e["description"].as_str())
            .unwrap_or_default()
            .to_string(),
        ours,
        own_timeout: labels
            .get(TIMEOUT_LABEL)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<GoDuration>().ok())
            .map(|d| d.duration()),
    };
    let run_timeout = spec
        .timeout
        .parse::<GoDuration>()
        .map(|d| d.duration())
        .unwrap_or(Duration::from_secs(600));
    let reason = match decide(
        &pending,
        lease,
        run_timeout,
        spec.force_recover,
        SystemTime::now(),
    ) {
        Verdict::Recover(reason) => reason,
        Verdict::Refuse(message) => {
            return Err(Refusal {
                // a dead run's helm may be at work: leave the lease to expire, so the next run
                // knows it too (it has to take the lease over)
                leave_lease: ours && lease == LeaseOrigin::TakenOver,
                error: Failure {
                    step: "recovering a pending release",
                    cause: Cause::Refused(format!(
                        "{status} revision {revision} left alone: release {}: {message}",
                        spec.release
                    )),
                },
            });
        }
    };
    let (cmd, next): (Cmd, NextRevision) = if status == "pending-install" {
        (
            helm::uninstall(&spec.release, &spec.namespace, &spec.timeout),
            NextRevision::Is(1),
        )
    } else {
        let target = last_good_revision(&history);
        (
            helm::rollback(&spec.release, &spec.namespace, target, &spec.timeout),
            // the rollback makes revision+1; the upgrade the one after
            match current {
                Some(r) => NextRevision::Is(r + 2),
                None => NextRevision::Unknown,
            },
        )
    };
    log.warn(&format!(
        "{}: release is stuck in {reason}; recovering with `{}`",
        spec.release,
        cmd.line()
    ));
    runner
        .run(&cmd)
        .map_err(Failure::at("recovering a pending release"))?;
    Ok(next)
}

/// A refused recovery: the release fails; `leave_lease` says to let the lease expire.
pub struct Refusal {
    pub error: Failure,
    pub leave_lease: bool,
}

impl From<Failure> for Refusal {
    fn from(error: Failure) -> Self {
        Refusal {
            error,
            leave_lease: false,
        }
    }
}

fn history(runner: &dyn Runner, spec: &ReleaseSpec) -> Result<Vec<Value>, Failure> {
    Ok(
        match runner
            .run(&helm::history(&spec.release, &spec.namespace))
            .map_err(Failure::at("helm history"))?
        {
            Reply::Ran(o) => serde_json::from_str(&o.stdout).unwrap_or_default(),
            Reply::NotRun => Vec::new(),
        },
    )
}

/// The newest revision that was deployed (`deployed`, else `superseded`): rolling back to the
/// previous revision could mean a failed one. `None` (helm's previous) when history is unknown.
fn last_good_revision(revisions: &[Value]) -> Option<u64> {
    let newest = |wanted: &str| {
        revisions
            .iter()
            .filter(|r| r["status"].as_str() == Some(wanted))
            .filter_map(|r| r["revision"].as_u64())
            .max()
    };
    newest("deployed").or_else(|| newest("superseded"))
}

/// helm's times: RFC 3339 with nanoseconds and the offset of whoever ran helm
/// (`2024-05-01T10:00:00.123456789Z`, `…+02:00`).
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (base, offset_secs): (&str, i64) = match s.len().checked_sub(6).map(|i| s.split_at(i)) {
        Some((base, off))
            if (off.starts_with('+') || off.starts_with('-')) && off.as_bytes()[3] == b':' =>
        {
            let h: i64 = off[1..3].parse().ok()?;
            let m: i64 = off[4..6].parse().ok()?;
            let sign = if off.starts_with('-') { -1 } else { 1 };
            (base, sign * (h * 3600 + m * 60))
        }
        _ => (s.strip_suffix('Z').unwrap_or(s), 0),
    };
    let local = humantime::parse_rfc3339_weak(base).ok()?;
    // local time = UTC + offset
    if offset_secs >= 0 {
        local.checked_sub(Duration::from_secs(offset_secs as u64))
    } else {
        local.checked_add(Duration::from_secs(offset_secs.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(ours: bool, age_secs: u64, own: Option<u64>) -> (Pending, SystemTime) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let p = Pending {
            revision: 4,
            status: "pending-upgrade".into(),
            updated: Some(now - Duration::from_secs(age_secs)),
            description: "Preparing upgrade".into(),
            ours,
            own_timeout: own.map(Duration::from_secs),
        };
        (p, now)
    }

    fn recovers(v: Verdict) -> bool {
        matches!(v, Verdict::Recover(_))
    }

    const RUN: Duration = Duration::from_secs(600);

    #[test]
    fn a_fresh_foreign_revision_is_left_alone_with_a_message_naming_it() {
        let (p, now) = pending(false, 90, None);
        let Verdict::Refuse(m) = decide(&p, LeaseOrigin::Free, RUN, false, now) else {
            panic!()
        };
        assert!(
            m.starts_with(
                "pending-upgrade revision 4 (1m 30s old, not made by deploy (a person's helm, \
                 or another tool), description \"Preparing upgrade\"): someone may still be \
                 upgrading it"
            ),
            "{m}"
        );
        assert!(m.contains("--force-recover"), "{m}");
        assert!(m.contains("older than 15m (its timeout plus 5m)"), "{m}");
        assert!(recovers(decide(&p, LeaseOrigin::Free, RUN, true, now)));
    }

    #[test]
    fn a_foreign_revision_older_than_the_run_timeout_plus_the_margin_is_recovered() {
        let (p, now) = pending(false, 15 * 60 + 1, None);
        assert!(recovers(decide(
            &p,
            LeaseOrigin::TakenOver,
            RUN,
            false,
            now
        )));
        let (p, now) = pending(false, 15 * 60 - 1, None);
        assert!(!recovers(decide(&p, LeaseOrigin::Free, RUN, false, now)));
        // a foreign revision's timeout label (copied from ours) is not its own
        let (p, now) = pending(false, 6 * 60, Some(30));
        assert!(!recovers(decide(&p, LeaseOrigin::Free, RUN, false, now)));
    }

    #[test]
    fn ours_is_recovered_at_once_when_its_run_released_the_lease() {
        let (p, now) = pending(true, 5, Some(600));
        assert!(recovers(decide(&p, LeaseOrigin::Free, RUN, false, now)));
    }

    #[test]
    fn ours_after_a_lease_takeover_waits_for_its_own_timeout_plus_the_margin() {
        let (p, now) = pending(true, 5 * 60 + 31, Some(30));
        assert!(recovers(decide(
            &p,
            LeaseOrigin::TakenOver,
            RUN,
            false,
            now
        )));
        let (p, now) = pending(true, 5 * 60 + 29, Some(30));
        let Verdict::Refuse(m) = decide(&p, LeaseOrigin::TakenOver, RUN, false, now) else {
            panic!()
        };
        assert!(
            m.contains("made by a deploy run with --timeout 30s")
                && m.contains("its helm may still be running"),
            "{m}"
        );
    }

    #[test]
    fn a_revision_from_a_clock_ahead_of_ours_counts_as_new() {
        let (mut p, now) = pending(false, 0, None);
        p.updated = Some(now + Duration::from_secs(3600));
        assert!(!recovers(decide(&p, LeaseOrigin::Free, RUN, false, now)));
        p.updated = None;
        assert!(!recovers(decide(&p, LeaseOrigin::Free, RUN, false, now)));
    }

    #[test]
    fn helm_times_with_any_offset() {
        let utc = parse_time("2024-05-01T10:00:00.123456789Z").unwrap();
        assert_eq!(parse_time("2024-05-01T12:00:00.123456789+02:00"), Some(utc));
        assert_eq!(parse_time("2024-05-01T05:30:00.123456789-04:30"), Some(utc));
        assert_eq!(
            utc.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_714_557_600
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
