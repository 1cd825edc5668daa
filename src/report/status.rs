//! `deploy status`'s output: a table, JSON or Markdown.

use std::fmt::Write as _;

use crate::execute::status::ReleaseState;

fn row(s: &ReleaseState, live: bool) -> Vec<String> {
    let status = match (&s.error, s.pending) {
        (Some(e), _) => format!("unknown: {}", e.lines().next().unwrap_or("")),
        (None, true) => format!("{} (PENDING)", s.status),
        (None, false) => s.status.clone(),
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

/// Aligned columns, one release per line.
pub fn table(states: &[ReleaseState], live: bool) -> String {
    let rows: Vec<Vec<String>> = states.iter().map(|s| row(s, live)).collect();
    let head = header(live);
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(head.clone());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
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
