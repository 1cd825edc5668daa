//! Runs a [`LegacyPlan`]: setup, build, push, deploy, in that order, stopping at the first
//! failure. With the dry runner the same code prints the commands, marking those that depend on a
//! registry or cluster answer as conditional.

use std::path::Path;

use super::StepFailed;
use super::credentials::ClusterAccess;
use super::lease::LeaseSettings;
use super::prepare::DependencyCache;
use super::release::{self, InCluster};
use crate::cmd::Cmd;
use crate::config::ConfigError;
use crate::config::legacy::LegacyRepo;
use crate::log::Log;
use crate::plan::legacy::{self as legacy_plan, CACHE_FROM_DEPTH, ImageTag, LegacyPlan, Request};
use crate::runner::{CmdError, Reply, Runner};
use crate::tools::git;

/// The whole legacy run for one chart: find the image tag, plan, execute. The caller has run the
/// config checks and found the programs.
pub fn deploy_chart(
    repo: &LegacyRepo,
    req: &Request,
    runner: &dyn Runner,
    log: &Log,
) -> anyhow::Result<()> {
    let chart = repo
        .chart(&req.chart)
        .ok_or_else(|| anyhow::anyhow!("unknown chart `{}`", req.chart))?;
    let tag = match &chart.image_dir {
        Some(dir) if req.needs_tag(chart) => {
            let t = resolve_tag(runner, dir)?;
            log.info(&format!(
                "image tag {} (the last commit that changed {dir})",
                t.tag
            ));
            Some(t)
        }
        _ => None,
    };
    let plan = legacy_plan::plan(repo, req, chart, tag.as_ref())?;
    let lease = LeaseSettings::new(req.lock_timeout);
    run(&plan, runner, log, &repo.root, &lease)?;
    Ok(())
}

/// Find the image tag with `git log` (a local query: it runs in dry runs too).
pub fn resolve_tag(runner: &dyn Runner, image_dir: &str) -> Result<ImageTag, anyhow::Error> {
    let step = "finding the image tag";
    let out = match runner.run(&git::log_path(image_dir, CACHE_FROM_DEPTH + 1)) {
        Ok(Reply::Ran(out)) => out,
        Ok(Reply::NotRun) => anyhow::bail!("{step}: git log did not run"),
        Err(e) => return Err(StepFailed::new(step, e).into()),
    };
    let mut rows = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split('\t');
            let hash = parts.next().unwrap_or_default().trim().to_string();
            let parents = parts.next().unwrap_or_default().trim().to_string();
            (hash, parents)
        });
    let Some((tag, parents)) = rows.next() else {
        return Err(ConfigError::new(
            image_dir,
            "has no commit in this checkout: commit the folder first (the image tag is the last \
             commit that touched it)",
        )
        .into());
    };
    if parents.is_empty() {
        // A root commit, or the boundary of a shallow clone, which looks as if it added every
        // file: its hash would name the wrong image.
        let shallow = match runner.run(&git::is_shallow()) {
            Ok(Reply::Ran(o)) => o.stdout.trim() == "true",
            _ => false,
        };
        if shallow {
            return Err(ConfigError::new(
                image_dir,
                "this is a shallow clone that cannot see which commit last changed the folder: \
                 fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` with \
                 actions/checkout, `git: depth: false` on Travis)",
            )
            .into());
        }
    }
    Ok(ImageTag {
        tag,
        older: rows.map(|(h, _)| h).collect(),
    })
}

/// Execute the plan. Errors are [`StepFailed`] (or an interruption inside one).
pub fn run(
    plan: &LegacyPlan,
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    lease: &LeaseSettings,
) -> Result<(), StepFailed> {
    for notice in &plan.notices {
        log.info(notice);
    }
    // Mask before anything runs, so no command's output can show a secret unmasked.
    let all = plan.setup.iter().chain(plan.push.iter());
    for cmd in all {
        for s in cmd.secrets() {
            log.mask(s);
        }
    }

    // gcloud, helm and kubectl get the private KUBECONFIG/CLOUDSDK_CONFIG (removed when this
    // returns); docker and git keep the operator's own configuration.
    let access = match plan.private_credentials {
        true => Some(ClusterAccess::private(&plan.chart).map_err(|e| StepFailed::new("setup", e))?),
        false => None,
    };
    let in_cluster = access.as_ref().map(|access| InCluster {
        inner: runner,
        access,
    });
    let kube: &dyn Runner = match &in_cluster {
        Some(r) => r,
        None => runner,
    };

    if !plan.setup.is_empty() {
        section(
            log,
            "setup",
            "Setup: cluster credentials and registry login",
            || {
                for cmd in &plan.setup {
                    let r = if cmd.program == "gcloud" {
                        kube
                    } else {
                        runner
                    };
                    exec(r, cmd, &[]).map_err(|e| StepFailed::new("setup", e))?;
                }
                Ok(())
            },
        )?;
    }

    let mut built: Option<Vec<String>> = None; // conditions under which the image was built
    // What this run knows of the tag in the registry: the build step's probe answer, or a push.
    let mut in_registry: Option<bool> = None;
    if let Some(b) = &plan.build {
        section(log, "build", &format!("Build {}", b.image), || {
            let mut conditions = Vec::new();
            if let Some(probe) = &b.exists_probe {
                match runner.run(probe).map_err(|e| StepFailed::new("build", e))? {
                    Reply::Ran(out) if out.success() => {
                        log.info(&format!(
                            "{} is already in the registry: not building it (--rebuild forces a build)",
                            b.image
                        ));
                        in_registry = Some(true);
                        return Ok(());
                    }
                    Reply::Ran(_) => in_registry = Some(false),
                    Reply::NotRun => {
                        conditions.push("if the tag is not in the registry".to_string())
                    }
                }
            }
            let mut cache_from = Vec::new();
            for (image, pull) in &b.cache_pulls {
                match exec(runner, pull, &conditions) {
                    Ok(_) => cache_from.push(image.clone()),
                    // Interrupts and missing programs are not "the old tag is gone".
                    Err(e @ (CmdError::Interrupted { .. } | CmdError::NotFound { .. })) => {
                        return Err(StepFailed::new("build", e));
                    }
                    Err(_) => log.info(&format!(
                        "{image} could not be pulled; not using it as cache"
                    )),
                }
            }
            exec(runner, &b.build_cmd(&cache_from), &conditions)
                .map_err(|e| StepFailed::new("build", e))?;
            built = Some(conditions);
            Ok(())
        })?;
    }

    if let Some(push) = &plan.push {
        match &built {
            Some(conditions) => section(log, "push", "Push the image", || {
                exec(runner, push, conditions)
                    .map(|_| in_registry = Some(true))
                    .map_err(|e| StepFailed::new("push", e))
            })?,
            None => log.info("the image was not built in this run: nothing to push"),
        }
    }

    if let Some(d) = &plan.deploy {
        section(
            log,
            "deploy",
            &format!("Deploy {} with helm", plan.chart),
            || {
                if let Some((image, probe)) = &d.image_probe {
                    check_image(runner, &plan.chart, image, probe, in_registry)?;
                }
                let deps = DependencyCache::default();
                release::deploy(
                    kube,
                    log,
                    root,
                    &deps,
                    lease,
                    &d.release,
                    Default::default(),
                )
                .map_err(|e| StepFailed::new(&format!("deploy ({})", e.step), e.cause))
            },
        )?;
    }
    Ok(())
}

/// Stop before helm when the image tag the release is given is in no registry: its pods could
/// never pull it, and helm would wait for them until its timeout. `known` is what this run
/// already learnt (the build step's probe, or its push); otherwise the registry is asked.
fn check_image(
    runner: &dyn Runner,
    chart: &str,
    image: &str,
    probe: &Cmd,
    known: Option<bool>,
) -> Result<(), StepFailed> {
    let step = "deploy (image check)";
    let detail = match known {
        Some(true) => return Ok(()),
        Some(false) => String::new(),
        None => match runner.run(probe).map_err(|e| StepFailed::new(step, e))? {
            Reply::Ran(out) if out.success() => return Ok(()),
            Reply::Ran(out) => out.stderr.trim().to_string(),
            Reply::NotRun => return Ok(()),
        },
    };
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" (docker said: {detail})")
    };
    Err(StepFailed::new(
        step,
        CmdError::Failed {
            cmd: probe.line(),
            status: "the image is not in the registry".into(),
            tail: format!(
                "{image} is in no registry{detail}: its pods could never pull it, so helm was not \
                 run. Build and push it first: `deploy {chart} --build --push`, or all at once: \
                 `deploy {chart} --build --push --deploy`"
            ),
        },
    ))
}

fn exec(runner: &dyn Runner, cmd: &Cmd, conditions: &[String]) -> Result<Reply, CmdError> {
    if conditions.is_empty() {
        return runner.run(cmd);
    }
    let mut c = cmd.clone();
    for n in conditions {
        c = c.note(n.clone());
    }
    runner.run(&c)
}

fn section<T>(
    log: &Log,
    id: &str,
    title: &str,
    f: impl FnOnce() -> Result<T, StepFailed>,
) -> Result<T, StepFailed> {
    log.section_start(id, title);
    let r = f();
    log.section_end(id);
    r
}
