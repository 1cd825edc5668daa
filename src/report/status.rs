//! `deploy status`'s output: a table, JSON or Markdown.

use std::fmt::Write as _;

use crate::execute::status::ReleaseState;

fn row(s: &ReleaseState, live: bool) -> Vec<String> {
    let status = match (&s.error, s.pending) {
        (Some(e), _) => format!("unknown: {}", e.lines().next().unwrap_or("")),
        (None, true) => format!("{} (PENDING)", s.status),
        (None, false) => s.status.clone(),
    };
    let status = if s.in_config {
        status
    } else {
        format!("{status} (not in cluster.yaml)")
    };
    let mut r = vec![
        s.cluster.clone(),
        s.release.clone(),
        s.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        s.revision.map(|r| r.to_string()).unwrap_or_default(),
        s.chart.trim().to_string(),
        s.app_version.clone(),
        status,
        s.deployed_at.clone(),
    ];
    if live {
        r.push(s.live.clone().unwrap_or_default());
    }
    r
}

fn header(live: bool) -> Vec<&'static str> {
    let mut h = vec![
        "CLUSTER", "RELEASE", "KIND", "REVISION", "CHART", "APP", "STATUS", "DEPLOYED",
    ];
    if live {
        h.push("LIVE");
    }
    h
}

/// Aligned columns, one release per line (the plan's column layout; no trailing blanks).
pub fn table(states: &[ReleaseState], live: bool) -> String {
    let text = if live {
        grid::<9>(states)
    } else {
        grid::<8>(states)
    };
    text.lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The rows as `N` columns (8, or 9 with LIVE).
fn grid<const N: usize>(states: &[ReleaseState]) -> String {
    let live = N == 9;
    let cells = |v: Vec<String>| -> [String; N] {
        v.try_into()
            .unwrap_or_else(|v: Vec<String>| unreachable!("{} columns, not {N}", v.len()))
    };
    let head = cells(header(live).into_iter().map(String::from).collect());
    let rows: Vec<[String; N]> = states.iter().map(|s| cells(row(s, live))).collect();
    super::plan::aligned(head, &rows)
}

/// A Markdown table.
pub fn markdown(states: &[ReleaseState], live: bool) -> String {
    let head = header(live);
    let mut out = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for s in states {
        let cells: Vec<String> = row(s, live).iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

pub fn json(states: &[ReleaseState]) -> String {
    serde_json::to_string_pretty(states).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
