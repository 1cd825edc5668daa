//! `deploy doctor`'s result: a table (what, status, version, needed for, how to install) or JSON
//! (`{"checks":[{"name","status","version","needed_for","install"}],"ok":bool}`).

use crate::plan::doctor::Check;

/// Aligned columns, one row per check; a version not known is `unknown`, none for a missing
/// program or a file `-`.
pub fn table(checks: &[Check]) -> String {
    let header = ["what", "status", "version", "needed for", "how to install"].map(String::from);
    let rows: Vec<[String; 5]> = checks
        .iter()
        .map(|c| {
            let version = match &c.version {
                Some(v) => v.clone(),
                None if c.program && c.ok() => "unknown".into(),
                None => "-".into(),
            };
            [
                c.name.clone(),
                c.status.as_str().to_string(),
                version,
                c.needed_for.clone(),
                c.install.clone(),
            ]
        })
        .collect();
    super::plan::aligned(header, &rows)
}

/// The JSON document: each check in table order, and whether all were found.
#[derive(serde::Serialize)]
struct Doc<'a> {
    checks: &'a [Check],
    ok: bool,
}

/// The checks and whether all were found.
pub fn json(checks: &[Check]) -> String {
    let doc = Doc {
        checks,
        ok: checks.iter().all(Check::ok),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
