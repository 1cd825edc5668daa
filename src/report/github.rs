//! GitHub Actions step outputs (`$GITHUB_OUTPUT`) and job summaries (`$GITHUB_STEP_SUMMARY`).

use std::io::Write;

use anyhow::Context;

use crate::plan::legacy_changes::LegacyChangePlan;
use crate::plan::multi::Plan;

/// Append `key=value` lines (values are one-line JSON) to the file named by `$GITHUB_OUTPUT`,
/// and `summary` to `$GITHUB_STEP_SUMMARY`, when those are set.
fn write(outputs: &[(&str, String)], summary: &str) -> anyhow::Result<()> {
    write_outputs(outputs)?;
    write_summary(summary)
}

/// Append `key=value` lines to `$GITHUB_OUTPUT` when it is set.
pub fn write_outputs(outputs: &[(&str, String)]) -> anyhow::Result<()> {
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("opening $GITHUB_OUTPUT ({})", path.to_string_lossy()))?;
        for (k, v) in outputs {
            writeln!(f, "{k}={v}").context("writing $GITHUB_OUTPUT")?;
        }
    }
    Ok(())
}

/// Append Markdown to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn write_summary(summary: &str) -> anyhow::Result<()> {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| {
                format!("opening $GITHUB_STEP_SUMMARY ({})", path.to_string_lossy())
            })?;
        f.write_all(summary.as_bytes())
            .context("writing $GITHUB_STEP_SUMMARY")?;
    }
    Ok(())
}

pub fn plan_outputs(p: &Plan) -> anyhow::Result<()> {
    use super::plan::markdown;
    use crate::plan::json::{dropped_json, prod_json, staging_json, support_json};
    let mut outputs = vec![
        ("support-jobs", support_json(p)),
        ("staging-jobs", staging_json(p)),
        ("prod-jobs", prod_json(p)),
    ];
    if p.live {
        outputs.push(("dropped-jobs", dropped_json(p)));
    }
    write(&outputs, &markdown(p))
}

pub fn legacy_plan_outputs(p: &LegacyChangePlan) -> anyhow::Result<()> {
    write(
        &[("legacy-jobs", crate::plan::json::legacy_jobs_json(p))],
        &super::plan::legacy_markdown(p),
    )
}
