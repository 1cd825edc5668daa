//! Records the commit `deploy` is built from, for `deploy --version`: `$DEPLOY_COMMIT` when the
//! release workflow sets it, else `git rev-parse --short=12 HEAD` of the checkout, else
//! `unknown` (a source tarball).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=DEPLOY_COMMIT");
    // a new commit changes HEAD (or the branch it names): rebuild the version then
    for rel in ["HEAD", "refs/heads"] {
        if let Some(p) = git(&["rev-parse", "--git-path", rel]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = std::env::var("DEPLOY_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DEPLOY_COMMIT={commit}");
}
