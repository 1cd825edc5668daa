//! `deploy gitops render` and `deploy gitops push`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use super::real_runner;
use crate::cli::{GitopsCommand, GitopsPushArgs, GitopsValues};
use crate::config::{ConfigErrors, UsageError};
use crate::execute::StepFailed;
use crate::gitops::{self, Rendered, TEMPLATE};
use crate::report::log::Log;
use crate::runner::{CmdError, Output, Reply, Runner};
use crate::tools::git;

pub(crate) fn gitops_cmd(cmd: GitopsCommand, root: &Path, log: &Log) -> anyhow::Result<()> {
    match cmd {
        GitopsCommand::Render(a) => {
            let r = render(&a.values, root)?;
            let path = a.out.join(&r.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, &r.text)
                .with_context(|| format!("writing {}", path.display()))?;
            log.info(&format!("wrote {}", path.display()));
            super::print_result(&path.display().to_string())
        }
        GitopsCommand::Push(a) => push(&a, root, log),
    }
}

fn render(v: &GitopsValues, root: &Path) -> anyhow::Result<Rendered> {
    let template = std::fs::read_to_string(root.join(TEMPLATE)).map_err(|e| {
        UsageError(format!(
            "{TEMPLATE}: cannot read the HelmRelease template in {}: {e}",
            root.display()
        ))
    })?;
    let mut values = BTreeMap::new();
    if let Some(t) = &v.image_tag {
        values.insert("IMAGE_TAG".to_string(), t.clone());
    }
    for kv in &v.set {
        let (k, val) = kv
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--set {kv}: expected KEY=VALUE")))?;
        values.insert(k.to_string(), val.to_string());
    }
    gitops::render(&template, &v.env, &values).map_err(|e| ConfigErrors(e).into())
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

fn push(a: &GitopsPushArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let rendered = render(&a.values, root)?; // every problem is found before any git command
    let runner = real_runner(root, log);
    let step = |e| StepFailed::new("gitops push", e);
    let source = run(
        &runner,
        &git::in_dir(".")
            .args(["rev-parse", "--short", "HEAD"])
            .local_query(),
    )
    .map(|o| o.stdout.trim().to_string())
    .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix("deploy-gitops-")
        .tempdir()
        .context("creating a temp folder")?;
    let dir = tmp.path().join("releases").display().to_string();
    run(
        &runner,
        &git::clone_branch(&a.releases_repo, &a.branch, &dir),
    )
    .map_err(step)?;
    let file = Path::new(&dir).join(&rendered.path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).context("creating the environment folder")?;
    }
    std::fs::write(&file, &rendered.text).context("writing the HelmRelease")?;
    let status = run(
        &runner,
        &git::in_dir(&dir)
            .args(["status", "--porcelain"])
            .local_query(),
    )
    .map_err(step)?;
    if status.stdout.trim().is_empty() {
        log.info(&format!(
            "{} in {} is already up to date: nothing to push",
            rendered.path, a.releases_repo
        ));
        return Ok(());
    }
    let message = a.message.clone().unwrap_or_else(|| {
        let from = if source.is_empty() {
            String::new()
        } else {
            format!(" from {source}")
        };
        format!("deploy {} to {}{from}", rendered.name, a.values.env)
    });
    let mut commit = git::in_dir(&dir);
    let has_identity = run(
        &runner,
        &git::in_dir(&dir)
            .args(["config", "user.email"])
            .local_query(),
    )
    .is_ok_and(|o| !o.stdout.trim().is_empty());
    if !has_identity {
        commit = commit.args([
            "-c",
            "user.name=deploy",
            "-c",
            "user.email=deploy@localhost",
        ]);
    }
    run(
        &runner,
        &git::in_dir(&dir).args(["add", "--", rendered.path.as_str()]),
    )
    .map_err(step)?;
    run(
        &runner,
        &commit.args(["commit", "--quiet", "-m", message.as_str()]),
    )
    .map_err(step)?;
    let mut attempt = 0;
    loop {
        let pushed = run(
            &runner,
            &git::in_dir(&dir).args(["push", "--quiet", "origin", &format!("HEAD:{}", a.branch)]),
        );
        match pushed {
            Ok(_) => {
                log.info(&format!(
                    "pushed {} to {} ({})",
                    rendered.path, a.releases_repo, a.branch
                ));
                return Ok(());
            }
            Err(e) if lost_race(&e) && attempt < a.retries => {
                attempt += 1;
                log.warn(&format!(
                    "another push reached {} first; rebasing and retrying ({attempt}/{})",
                    a.branch, a.retries
                ));
                let mut rebase = git::in_dir(&dir);
                if !has_identity {
                    rebase = rebase.args([
                        "-c",
                        "user.name=deploy",
                        "-c",
                        "user.email=deploy@localhost",
                    ]);
                }
                run(
                    &runner,
                    &rebase.args(["pull", "--quiet", "--rebase", "origin", a.branch.as_str()]),
                )
                .map_err(step)?;
            }
            Err(e) if lost_race(&e) => {
                return Err(anyhow::Error::new(StepFailed::new("gitops push", e)).context(format!(
                    "the push to {} ({}) lost the race to other pushes {} times; nothing of ours landed: run it again",
                    a.releases_repo,
                    a.branch,
                    a.retries + 1
                )));
            }
            Err(e) => return Err(step(e).into()),
        }
    }
}
