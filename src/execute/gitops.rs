//! Committing files to a releases repository that Flux watches, and pushing them: a clone in a
//! temp folder, one commit, and a push retried with a rebase when another service pushed first.

use std::path::Path;

use anyhow::Context;

use super::StepFailed;
use crate::cmd::Cmd;
use crate::log::Log;
use crate::runner::{CmdError, Output, Reply, Runner};
use crate::tools::git;

pub struct Target<'a> {
    pub url: &'a str,
    pub branch: &'a str,
    /// How many times to rebase and push again after losing a race.
    pub retries: u32,
}

fn run(runner: &dyn Runner, cmd: &crate::cmd::Cmd) -> Result<Output, CmdError> {
    match runner.run(cmd)? {
        Reply::Ran(o) => Ok(o),
        Reply::NotRun => Ok(Output::default()),
    }
}

/// A lost race: the branch moved between our fetch and our push.
fn lost_race(e: &CmdError) -> bool {
    let CmdError::Failed { tail, .. } = e else {
        return false;
    };
    [
        "non-fast-forward",
        "fetch first",
        "cannot lock ref",
        "failed to update ref",
        "stale info",
    ]
    .iter()
    .any(|s| tail.contains(s))
}

/// The short hash of the repo we run in (named in commit messages), or "".
pub fn source_commit(runner: &dyn Runner) -> String {
    run(
        runner,
        &git::in_dir(".")
            .args(["rev-parse", "--short", "HEAD"])
            .local_query(),
    )
    .map(|o| o.stdout.trim().to_string())
    .unwrap_or_default()
}

/// Write `files` (path in the releases repo, content) and push them in one commit. A no-op when
/// nothing changed.
pub fn push_files(
    runner: &dyn Runner,
    log: &Log,
    target: &Target<'_>,
    files: &[(String, String)],
    message: &str,
) -> anyhow::Result<()> {
    let step = |e| StepFailed::new("gitops push", e);
    let tmp = crate::signals::TempDir::new("deploy-gitops-").context("creating a temp folder")?;
    let dir = tmp.path().join("releases").display().to_string();
    // A dry run shows the clone, add, commit and push; it cannot look inside a clone it did not make.
    let dry = matches!(
        runner
            .run(&git::clone_branch(target.url, target.branch, &dir))
            .map_err(step)?,
        Reply::NotRun
    );
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    let mut has_identity = true;
    if !dry {
        for (path, text) in files {
            let file = Path::new(&dir).join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)
                    .context("creating a folder in the releases repo")?;
            }
            std::fs::write(&file, text).with_context(|| format!("writing {path}"))?;
        }
        let status = run(
            runner,
            &git::in_dir(&dir)
                .args(["status", "--porcelain"])
                .local_query(),
        )
        .map_err(step)?;
        if status.stdout.trim().is_empty() {
            log.info(&format!(
                "{} in {} already up to date: nothing to push",
                names.join(", "),
                target.url
            ));
            return Ok(());
        }
        has_identity = run(
            runner,
            &git::in_dir(&dir)
                .args(["config", "user.email"])
                .local_query(),
        )
        .is_ok_and(|o| !o.stdout.trim().is_empty());
    }
    let with_identity = |c: Cmd| {
        if has_identity {
            c
        } else {
            c.args([
                "-c",
                "user.name=deploy",
                "-c",
                "user.email=deploy@localhost",
            ])
        }
    };
    run(
        runner,
        &git::in_dir(&dir)
            .args(["add", "--"])
            .args(names.iter().copied()),
    )
    .map_err(step)?;
    run(
        runner,
        &with_identity(git::in_dir(&dir)).args(["commit", "--quiet", "-m", message]),
    )
    .map_err(step)?;
    let mut attempt = 0;
    loop {
        let pushed = run(
            runner,
            &git::in_dir(&dir)
                .args([
                    "push",
                    "--quiet",
                    "origin",
                    &format!("HEAD:{}", target.branch),
                ])
                .timeout(crate::tools::network_timeout()),
        );
        match pushed {
            Ok(_) => {
                log.info(&format!(
                    "pushed {} to {} ({})",
                    names.join(", "),
                    target.url,
                    target.branch
                ));
                return Ok(());
            }
            Err(e) if lost_race(&e) && attempt < target.retries => {
                attempt += 1;
                log.warn(&format!(
                    "another push reached {} first; rebasing and retrying ({attempt}/{})",
                    target.branch, target.retries
                ));
                let rebase = with_identity(git::in_dir(&dir))
                    .args(["pull", "--quiet", "--rebase", "origin", target.branch])
                    .timeout(crate::tools::network_timeout());
                run(runner, &rebase).map_err(step)?;
            }
            Err(e) if lost_race(&e) => {
                return Err(anyhow::Error::new(StepFailed::new("gitops push", e)).context(format!(
                    "the push to {} ({}) lost the race to other pushes {} times; nothing of ours landed: run it again",
                    target.url,
                    target.branch,
                    target.retries + 1
                )));
            }
            Err(e) => return Err(step(e).into()),
        }
    }
}
