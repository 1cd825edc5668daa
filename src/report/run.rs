//! What a run did: the JSON report (`--report FILE`), a summary on stderr, and the GitHub step
//! summary table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::execute::outcome::{Health, Outcome, Status, Verdict};
use crate::plan::jobs::Kind;

#[derive(Serialize)]
struct Report<'a> {
    status: Verdict,
    duration_s: f64,
    /// See [`critical_path`].
    critical_path_s: f64,
    releases: Vec<ReleaseOut<'a>>,
}

#[derive(Serialize)]
struct ReleaseOut<'a> {
    kind: Kind,
    provider: &'a str,
    cluster_name: &'a str,
    release: &'a str,
    status: Status,
    reason_for_redeploy: &'a str,
    message: &'a str,
    started_s: Option<f64>,
    duration_s: f64,
    /// Of `duration_s`, the time its helm commands waited for a `--jobs` slot.
    #[serde(skip_serializing_if = "is_zero")]
    queued_s: f64,
    commands: &'a [String],
    /// `--live`: what the check found for a release it kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a str>,
    /// A hub's health check: `{"ok", "secs", "detail"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<&'a Health>,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The releases' critical path, in seconds: per cluster, its support and staging releases one
/// after the other, then its slowest prod release, each without the time it waited for a `--jobs`
/// slot; the longest of the clusters. What the run would take with unlimited `--jobs` and no cost
/// outside the releases: the gap to the run's duration is queueing and deploy's own work.
/// Releases `--live` found unchanged are left out (their checks run side by side, before); a
/// cluster whose releases all share one start (a Flux cluster's one push) counts it once.
pub fn critical_path(outcomes: &[Outcome]) -> f64 {
    let mut by_cluster: std::collections::BTreeMap<&str, Vec<&Outcome>> = Default::default();
    for o in outcomes
        .iter()
        .filter(|o| o.started.is_some() && o.status != Status::Unchanged)
    {
        by_cluster
            .entry(o.job.cluster.as_str())
            .or_default()
            .push(o);
    }
    let own = |o: &Outcome| (o.duration - o.queued).max(0.0);
    by_cluster
        .values()
        .map(|steps| {
            if steps.iter().all(|o| o.started == steps[0].started) {
                return steps.iter().map(|o| own(o)).fold(0.0, f64::max);
            }
            let before: f64 = steps
                .iter()
                .filter(|o| o.job.kind != Kind::Prod)
                .map(|o| own(o))
                .sum();
            let prod = steps
                .iter()
                .filter(|o| o.job.kind == Kind::Prod)
                .map(|o| own(o))
                .fold(0.0, f64::max);
            before + prod
        })
        .fold(0.0, f64::max)
}

pub fn json(outcomes: &[Outcome], duration: f64) -> String {
    let r = Report {
        status: Verdict::of(outcomes),
        duration_s: round(duration),
        critical_path_s: round(critical_path(outcomes)),
        releases: outcomes
            .iter()
            .map(|o| ReleaseOut {
                kind: o.job.kind,
                provider: o.job.provider.as_str(),
                cluster_name: &o.job.cluster,
                release: &o.job.release,
                status: o.status,
                reason_for_redeploy: &o.job.reason,
                message: &o.message,
                started_s: o.started.map(round),
                duration_s: round(o.duration),
                queued_s: round(o.queued),
                commands: &o.commands,
                live: o.live.as_deref(),
                health: o.health.as_ref(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn result_cell(o: &Outcome) -> String {
    match (o.status, &o.health) {
        (Status::Skipped | Status::Interrupted | Status::Unchanged, _) if !o.message.is_empty() => {
            o.message.clone()
        }
        (Status::Succeeded, Some(h)) => format!("succeeded, healthy in {:.1}s", h.secs),
        (Status::Failed, Some(h)) if !h.ok => {
            format!("failed its health check after {:.1}s", h.secs)
        }
        (s, _) => s.as_str().to_string(),
    }
}

/// The closing table on stderr.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut out = String::from("\nrelease summary:\n");
    let w = outcomes
        .iter()
        .map(|o| o.job.label().len())
        .max()
        .unwrap_or(0)
        .max(7);
    for o in outcomes {
        let _ = writeln!(
            out,
            "  {:<w$}  {:<7}  {:>7.1}s  {}",
            o.job.label(),
            o.job.kind.as_str(),
            o.duration,
            result_cell(o)
        );
    }
    if outcomes.iter().any(|o| o.started.is_some()) {
        let _ = writeln!(
            out,
            "  critical path {:.1}s (each cluster's support and staging, then its slowest prod \
             release, without waiting for --jobs)",
            critical_path(outcomes)
        );
    }
    out
}

/// Markdown for `$GITHUB_STEP_SUMMARY`: a table of every release, each failure with its message
/// (the failed command's last lines included), and the run as a timeline.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "## Deploy results\n\n| Release | Cluster | Result | Duration |\n|---|---|---|---|\n",
    );
    for o in outcomes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1}s |",
            o.job.release,
            o.job.cluster,
            first_line(&result_cell(o)).replace('|', "\\|"),
            o.duration
        );
    }
    out.push_str(&failures(outcomes));
    out.push_str(&timeline(outcomes));
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// Each failed release: its message in a fenced block (no Markdown from a tool's output).
fn failures(outcomes: &[Outcome]) -> String {
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Failures\n");
    for o in failed {
        // a fence longer than any run of backticks in the message
        let longest = o
            .message
            .split(|c| c != '`')
            .map(str::len)
            .max()
            .unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        let _ = write!(
            out,
            "\n#### {} ({}) failed after {:.1}s\n\n{fence}text\n{}\n{fence}\n",
            o.job.label(),
            o.job.kind.as_str(),
            o.duration,
            o.message.trim_end()
        );
    }
    out
}

/// A Mermaid gantt chart: per cluster, each release that ran, from its start for its duration
/// (times in milliseconds from the start of the run).
fn timeline(outcomes: &[Outcome]) -> String {
    let ran: Vec<(&Outcome, f64)> = outcomes
        .iter()
        .filter_map(|o| o.started.map(|s| (o, s)))
        .collect();
    if ran.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n### Timeline\n\n```mermaid\ngantt\n    dateFormat x\n    axisFormat %M:%S\n",
    );
    let mut clusters: Vec<&str> = ran.iter().map(|(o, _)| o.job.cluster.as_str()).collect();
    clusters.dedup();
    clusters.sort_unstable();
    clusters.dedup();
    for c in clusters {
        let _ = writeln!(out, "    section {c}");
        for (o, started) in ran.iter().filter(|(o, _)| o.job.cluster == c) {
            let tag = match o.status {
                Status::Failed => "crit, ",
                Status::Succeeded | Status::Unchanged => "done, ",
                Status::Interrupted => "active, ",
                Status::Skipped | Status::DryRun => "",
            };
            let start = (started * 1000.0).round() as u64;
            // at least a millisecond: a zero-length task is not drawn
            let end = start + ((o.duration * 1000.0).round() as u64).max(1);
            let _ = writeln!(
                out,
                "    {} {} : {tag}{start}, {end}",
                o.job.release,
                o.status.as_str()
            );
        }
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cluster::Provider;
    use crate::plan::jobs::Job;

    fn ran_at(cluster: &str, kind: Kind, started: f64, duration: f64) -> Outcome {
        let mut o = ran(cluster, kind, duration, 0.0);
        o.started = Some(started);
        o
    }

    fn ran(cluster: &str, kind: Kind, duration: f64, queued: f64) -> Outcome {
        let job = Job {
            kind,
            provider: Provider::Kubeconfig,
            cluster: cluster.into(),
            release: "r".into(),
            reason: String::new(),
        };
        let mut o = Outcome::not_run(&job, Status::Succeeded, "");
        // (each its own start: a cluster whose releases share one is one push)
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        o.started = Some(f64::from(
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        ));
        o.duration = duration;
        o.queued = queued;
        o
    }

    #[test]
    fn the_critical_path_is_the_longest_cluster_chain_without_queueing() {
        let outcomes = [
            // a: 1 + 2 (support, staging) then the slowest prod, 4 of which 3 queued
            ran("a", Kind::Support, 1.0, 0.0),
            ran("a", Kind::Staging, 2.0, 0.0),
            ran("a", Kind::Prod, 4.0, 3.0),
            ran("a", Kind::Prod, 2.5, 0.0),
            // b: staging 1, prod 5: the longest
            ran("b", Kind::Staging, 1.0, 0.0),
            ran("b", Kind::Prod, 5.0, 0.0),
            Outcome::not_run(&ran("c", Kind::Prod, 0.0, 0.0).job, Status::Skipped, "x"),
        ];
        assert_eq!(critical_path(&outcomes), 6.0);
        assert_eq!(critical_path(&outcomes[..4]), 5.5);
        assert!(summary(&outcomes).contains("critical path 6.0s"));
        let json: serde_json::Value = serde_json::from_str(&json(&outcomes, 7.0)).unwrap();
        assert_eq!(json["critical_path_s"], 6.0);
        assert_eq!(json["releases"][2]["queued_s"], 3.0);
        assert!(
            json["releases"][3].get("queued_s").is_none(),
            "0 is left out"
        );

        // a Flux cluster: one push for all its releases, counted once
        let flux = [
            ran_at("f", Kind::Support, 1.0, 10.0),
            ran_at("f", Kind::Staging, 1.0, 10.0),
            ran_at("f", Kind::Prod, 1.0, 10.0),
        ];
        assert_eq!(critical_path(&flux), 10.0);
        // --live: an unchanged release is no part of the chain
        let mut unchanged = ran_at("a", Kind::Staging, 0.0, 3.0);
        unchanged.status = Status::Unchanged;
        let live = [unchanged, ran_at("a", Kind::Prod, 3.0, 2.0)];
        assert_eq!(critical_path(&live), 2.0);
    }
}
