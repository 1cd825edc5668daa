//! What a run did: the JSON report (`--report FILE`), a summary on stderr, and the GitHub step
//! summary table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::execute::outcome::{Outcome, Status, Verdict};
use crate::plan::jobs::Kind;

#[derive(Serialize)]
struct Report<'a> {
    status: Verdict,
    duration_s: f64,
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
    commands: &'a [String],
    /// `--live`: what the check found for a release it kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<&'a str>,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn json(outcomes: &[Outcome], duration: f64) -> String {
    let r = Report {
        status: Verdict::of(outcomes),
        duration_s: round(duration),
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
                commands: &o.commands,
                live: o.live.as_deref(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn result_cell(o: &Outcome) -> String {
    match o.status {
        Status::Skipped | Status::Interrupted | Status::Unchanged if !o.message.is_empty() => {
            o.message.clone()
        }
        s => s.as_str().to_string(),
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
    out
}

/// Markdown for `$GITHUB_STEP_SUMMARY`.
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
            result_cell(o).replace('|', "\\|"),
            o.duration
        );
    }
    out
}
