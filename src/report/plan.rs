//! A plan as a person reads it: aligned tables for a terminal and Markdown for a PR comment (the
//! JSON a workflow reads is `crate::plan::json`).

use std::fmt::Write as _;

use crate::plan::legacy_changes::LegacyChangePlan;
use crate::plan::multi::{DroppedJob, Plan};

/// The marker a PR-comment workflow looks for to update its one comment.
pub const MARKER: &str = "<!-- deployment-plan -->";

/// A job's reason, with what the live check found.
fn reason_cell(reasons: &crate::plan::reasons::Reasons, live: Option<&str>) -> String {
    match live {
        Some(l) => format!("{reasons} [live: {l}]"),
        None => reasons.to_string(),
    }
}

/// One row per job: kind, cluster, hub, provider, reason.
fn rows(p: &Plan) -> Vec<[String; 5]> {
    let mut rows = Vec::new();
    for j in &p.support {
        rows.push([
            "support".into(),
            j.cluster.clone(),
            "-".into(),
            j.provider.as_str().into(),
            reason_cell(&j.reasons, j.live.as_deref()),
        ]);
    }
    for (kind, jobs) in [("staging", &p.staging), ("prod", &p.prod)] {
        for j in jobs {
            rows.push([
                kind.into(),
                j.cluster.clone(),
                j.hub.clone(),
                j.provider.as_str().into(),
                reason_cell(&j.reasons, j.live.as_deref()),
            ]);
        }
    }
    rows
}

/// Aligned columns for a terminal; after a live check, the dropped jobs below.
pub fn table(p: &Plan) -> String {
    let mut out = if p.is_empty() {
        "No hubs will be upgraded.\n".to_string()
    } else {
        aligned(
            ["KIND", "CLUSTER", "HUB", "PROVIDER", "REASON"].map(String::from),
            &rows(p),
        )
    };
    if !p.dropped.is_empty() {
        let _ = writeln!(
            out,
            "\nUnchanged, not upgraded ({}):",
            dropped_counts(&p.dropped)
        );
        let rows: Vec<[String; 4]> = p
            .dropped
            .iter()
            .map(|d| {
                [
                    d.kind.as_str().into(),
                    d.cluster.clone(),
                    hub_cell(d),
                    d.why.clone(),
                ]
            })
            .collect();
        out.push_str(&aligned(
            ["KIND", "CLUSTER", "HUB", "WHY"].map(String::from),
            &rows,
        ));
    }
    out
}

fn hub_cell(d: &DroppedJob) -> String {
    if d.kind == crate::plan::jobs::Kind::Support {
        "-".into()
    } else {
        d.release.clone()
    }
}

/// `5 release(s): 1 support, 1 staging, 3 prod`.
fn dropped_counts(dropped: &[DroppedJob]) -> String {
    let count = |k| dropped.iter().filter(|d| d.kind == k).count();
    use crate::plan::jobs::Kind;
    let parts: Vec<String> = [Kind::Support, Kind::Staging, Kind::Prod]
        .into_iter()
        .filter(|k| count(*k) > 0)
        .map(|k| format!("{} {}", count(k), k.as_str()))
        .collect();
    format!("{} release(s): {}", dropped.len(), parts.join(", "))
}

/// Columns padded to their widest cell; the last one is not padded.
pub(crate) fn aligned<const N: usize>(header: [String; N], rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows) {
        for (i, (w, cell)) in widths.iter().zip(r).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.push('\n');
    }
    out
}

fn legacy_rows(p: &LegacyChangePlan) -> Vec<[String; 3]> {
    p.jobs
        .iter()
        .map(|j| {
            let what = if j.build {
                "build, push, deploy"
            } else {
                "deploy"
            };
            [j.chart.clone(), what.to_string(), j.reasons.to_string()]
        })
        .collect()
}

pub fn legacy_table(p: &LegacyChangePlan) -> String {
    if p.jobs.is_empty() {
        return "No hubs will be upgraded.\n".to_string();
    }
    aligned(
        ["CHART", "STEPS", "REASON"].map(String::from),
        &legacy_rows(p),
    )
}

pub fn legacy_markdown(p: &LegacyChangePlan) -> String {
    let mut out = format!("{MARKER}\n## Deployment plan\n\n");
    if p.jobs.is_empty() {
        out.push_str("No hubs will be upgraded.\n");
    } else {
        out.push_str("In this order (a failing staging chart stops the rest):\n\n| Chart | Steps | Reason |\n|---|---|---|\n");
        for [chart, steps, reason] in legacy_rows(p) {
            let _ = writeln!(out, "| {chart} | {steps} | {} |", md_cell(&reason));
        }
    }
    notes(&mut out, &p.notices);
    out
}

fn notes(out: &mut String, notices: &[String]) {
    if !notices.is_empty() {
        out.push_str("\n### Notes\n\n");
        for n in notices {
            let _ = writeln!(out, "- {}", md_cell(n));
        }
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The deployment plan for a PR comment.
pub fn markdown(p: &Plan) -> String {
    let mut out = format!("{MARKER}\n## Deployment plan\n\n");
    if p.support.is_empty() && p.staging.is_empty() && p.prod.is_empty() {
        out.push_str("No hubs will be upgraded.\n");
    } else {
        if !p.support.is_empty() {
            out.push_str(
                "### Support upgrades\n\n| Cluster | Provider | Reason |\n|---|---|---|\n",
            );
            for j in &p.support {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    j.cluster,
                    j.provider.as_str(),
                    md_cell(&reason_cell(&j.reasons, j.live.as_deref()))
                );
            }
            out.push('\n');
        }
        if p.staging.is_empty() && p.prod.is_empty() {
            out.push_str("No hubs will be upgraded.\n\n");
        }
        for (title, jobs) in [
            ("Staging hub upgrades", &p.staging),
            ("Production hub upgrades", &p.prod),
        ] {
            if jobs.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "### {title}\n\n| Cluster | Hub | Provider | Reason |\n|---|---|---|---|"
            );
            for j in jobs.iter() {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    j.cluster,
                    j.hub,
                    j.provider.as_str(),
                    md_cell(&reason_cell(&j.reasons, j.live.as_deref()))
                );
            }
            out.push('\n');
        }
        out.push_str("### Order\n\n");
        out.push_str(&mermaid(p));
    }
    if p.live {
        dropped_markdown(&mut out, p);
    }
    notes(&mut out, &p.notices);
    out
}

/// `--live`: the dropped jobs, collapsed (a long list would bury the upgrades).
fn dropped_markdown(out: &mut String, p: &Plan) {
    let planned = p.support.len() + p.staging.len() + p.prod.len() + p.dropped.len();
    let _ = writeln!(
        out,
        "\n### Live check\n\n{} of {planned} planned release(s) would change nothing in their cluster and will not be upgraded.",
        p.dropped.len()
    );
    if p.dropped.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n<details>\n<summary>Unchanged, not upgraded: {}</summary>\n\n| Kind | Cluster | Hub | Planned because | Dropped because |\n|---|---|---|---|---|",
        dropped_counts(&p.dropped)
    );
    for d in &p.dropped {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            d.kind.as_str(),
            d.cluster,
            hub_cell(d),
            md_cell(&d.reasons.to_string()),
            md_cell(&d.why)
        );
    }
    out.push_str("\n</details>\n");
}

/// support → staging hubs (one at a time) → prod hubs (in parallel), per cluster.
fn mermaid(p: &Plan) -> String {
    let mut clusters: Vec<&str> = p
        .support
        .iter()
        .map(|j| j.cluster.as_str())
        .chain(p.staging.iter().chain(&p.prod).map(|j| j.cluster.as_str()))
        .collect();
    clusters.sort_unstable();
    clusters.dedup();
    let mut out = String::from("```mermaid\nflowchart LR\n");
    let mut n = 0usize;
    let mut node = |out: &mut String, label: &str| -> String {
        let id = format!("n{n}");
        n += 1;
        let _ = writeln!(out, "    {id}[\"{}\"]", label.replace('"', "#quot;"));
        id
    };
    for c in clusters {
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            format_args!(
                "c_{}",
                c.replace(|ch: char| !ch.is_ascii_alphanumeric(), "_")
            ),
            c
        );
        let mut last: Vec<String> = Vec::new();
        if p.support.iter().any(|j| j.cluster == c) {
            last = vec![node(&mut out, "support")];
        }
        for j in p.staging.iter().filter(|j| j.cluster == c) {
            let id = node(&mut out, &j.hub);
            for l in &last {
                let _ = writeln!(out, "    {l} --> {id}");
            }
            last = vec![id];
        }
        for j in p.prod.iter().filter(|j| j.cluster == c) {
            let id = node(&mut out, &j.hub);
            for l in &last {
                let _ = writeln!(out, "    {l} --> {id}");
            }
        }
        out.push_str("  end\n");
    }
    out.push_str("```\n");
    out
}

/// `deploy plan --format commands`: per cluster, the commands its credentials run, then per
/// release (in run order) the commands its upgrade runs, as the dry run walked them.
pub fn commands(
    plan: &crate::plan::run_plan::RunPlan,
    outcomes: &[crate::execute::outcome::Outcome],
    credentials: &std::collections::BTreeMap<String, Vec<String>>,
) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str("No hubs will be upgraded.\n");
    }
    use crate::plan::run_plan::Access;
    for c in &plan.clusters {
        let _ = match &c.access {
            Access::Flux(t) => writeln!(
                out,
                "# {}: HelmReleases pushed to {} (branch {}, folder {})",
                c.name, t.repo, t.branch, t.path
            ),
            Access::Kubeconfig { file } => writeln!(
                out,
                "# {}: cluster credentials (kubeconfig {}, copied into a private folder)",
                c.name, file.path
            ),
            _ => writeln!(
                out,
                "# {}: cluster credentials ({})",
                c.name,
                c.provider.as_str()
            ),
        };
        for cmd in credentials.get(&c.name).into_iter().flatten() {
            let _ = writeln!(out, "{cmd}");
        }
        for s in &c.steps {
            let _ = writeln!(
                out,
                "\n# {} ({}): {}",
                s.job.label(),
                s.job.kind.as_str(),
                s.job.reason
            );
            for cmd in outcomes
                .get(s.index)
                .map(|o| &o.commands)
                .into_iter()
                .flatten()
            {
                let _ = writeln!(out, "{cmd}");
            }
        }
        out.push('\n');
    }
    out
}
