//! Real tools for the tests that need them (installed by scripts/install-tools): where they are,
//! and the loud skip when one is absent (a failure in CI, `CI=true`: CI never skips a real-tool
//! test silently).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// `$DEPLOY_TOOLS_DIR/bin`, else `~/.cache/deploy-tools/bin`.
pub fn tools_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("DEPLOY_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/deploy-tools"))
        })?;
    Some(dir.join("bin"))
}

/// Says on stderr (past the test harness's capture) that `test` did not run and why; panics in
/// CI.
pub fn skip(test: &str, why: &str) {
    let msg = format!("{why}: run scripts/install-tools; test `{test}` did NOT run");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
}

/// helm 3: on PATH, else in the tools folder; `None` after [`skip`].
pub fn helm(test: &str) -> Option<PathBuf> {
    let found = which::which("helm")
        .ok()
        .or_else(|| tools_bin().map(|b| b.join("helm")).filter(|p| p.is_file()));
    if found.is_none() {
        skip(
            test,
            "helm 3 not found (PATH, $DEPLOY_TOOLS_DIR/bin, ~/.cache/deploy-tools/bin)",
        );
    }
    found
}

/// The Go jsonnet: the tools folder's first (a `jsonnet` on PATH may be the C++ one), then
/// PATH, each checked with `--version`; `None` after [`skip`].
pub fn go_jsonnet(test: &str) -> Option<PathBuf> {
    let candidates = tools_bin()
        .map(|b| b.join("jsonnet"))
        .into_iter()
        .chain(which::which("jsonnet").ok());
    let mut seen = Vec::new();
    for p in candidates.filter(|p| p.is_file()) {
        match Command::new(&p).arg("--version").output() {
            Ok(o) => {
                let v = String::from_utf8_lossy(&o.stdout).into_owned();
                if deploy::jsonnet::check_version(&v).is_ok() {
                    return Some(p);
                }
                seen.push(format!("{} ({})", p.display(), v.trim()));
            }
            Err(e) => seen.push(format!("{} ({e})", p.display())),
        }
    }
    skip(
        test,
        &format!(
            "Go jsonnet not found ($DEPLOY_TOOLS_DIR/bin, ~/.cache/deploy-tools/bin, PATH; seen: \
             [{}])",
            seen.join(", ")
        ),
    );
    None
}
