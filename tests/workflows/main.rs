//! The shipped GitHub workflows, run like code: each workflow's jobs and `run:` steps in order,
//! with the real `deploy`, fake cluster tools and a fake GitHub API, on a simulated GitHub (events
//! of GitHub's shapes, a repository with PR refs and tags, artifacts, concurrency groups), for
//! this repository as it is (the legacy layout) and for the multi-cluster example copied as
//! docs/ci.md says. The harness: `world.rs` (GitHub), `runner.rs` (jobs and steps), `actions.rs`
//! (`uses:`), `expr.rs`/`eval.rs` (expressions); the cases: `legacy.rs`, `multi.rs`,
//! `comment.rs`, `files.rs`.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod eval;
mod events;
mod expr;
mod runner;
mod steps;
mod world;

mod comment;
mod files;
mod harness;
mod legacy;
mod multi;

/// The workflows' steps use jq (as GitHub's runner images have it): without it a test cannot
/// run, and says so (a failure in CI, `CI=true`).
pub fn tools_present(test: &str) -> bool {
    if which::which("jq").is_ok() {
        return true;
    }
    let msg = format!("jq not found (Debian package jq): test `{test}` did NOT run");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    false
}

/// The matrix value `key` of each leg of a job (`cluster_name/hub_name` for an object).
pub fn legs(run: &runner::Run, job: &str, key: &str) -> Vec<String> {
    run.job(job)
        .legs
        .iter()
        .map(|l| match &l.matrix[key] {
            serde_json::Value::String(s) => s.clone(),
            v => format!(
                "{}/{}",
                v["cluster_name"].as_str().unwrap(),
                v["hub_name"].as_str().unwrap()
            ),
        })
        .collect()
}

/// The namespace of each `helm upgrade` among the fake tools' calls, in order.
pub fn deploy_calls(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.starts_with("helm upgrade "))
        .map(|c| {
            let t: Vec<&str> = c.split(' ').collect();
            match t.iter().position(|x| *x == "--namespace") {
                Some(i) => t[i + 1].to_string(),
                None => t
                    .iter()
                    .find_map(|x| x.strip_prefix("--namespace="))
                    .unwrap()
                    .to_string(),
            }
        })
        .collect()
}
