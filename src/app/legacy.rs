//! `deploy <chart> [--no-setup] [--build] [--push] [--deploy]`: the deploy.py drop-in.

use std::path::Path;

use crate::cli::LegacyArgs;
use crate::config::deploy_yaml::DEPLOY_YAML;
use crate::config::legacy::{LegacyRepo, MIGRATION_GUIDE};
use crate::config::{ConfigErrors, MissingPrograms, UsageError};
use crate::execute;
use crate::execute::preflight;
use crate::execute::progress::{Activity, Tracked, with_heartbeat};
use crate::log::Log;
use crate::plan::legacy::{self as legacy_plan, Request};
use crate::runner::{DryRunner, RealRunner, Runner};

/// Why `deploy <name>` cannot deploy a legacy chart here: no deploy.yaml (where it was looked
/// for), perhaps a multi-cluster repo, perhaps a mistyped subcommand.
fn no_legacy_repo(name: &str, root: &Path, searched: bool) -> String {
    let hint = super::friendly::did_you_mean(name, &[]);
    if crate::config::multi::MultiRepo::detect(root) {
        return format!(
            "`{name}` is not a subcommand, and {} is a multi-cluster repo (config/clusters/), \
             whose releases are deployed with `deploy run`, `upgrade-support` and \
             `upgrade-hub` (`deploy <chart>` is the legacy layout's command).{hint}",
            root.display()
        );
    }
    let place = if searched {
        crate::config::root::looked_in(Path::new("."))
    } else {
        root.display().to_string()
    };
    format!(
        "no hub-ops repo: neither {DEPLOY_YAML} (the legacy layout, `deploy <chart>`) nor \
         config/clusters/ (the multi-cluster layout) in {place}. Run deploy inside the repo or \
         give -C DIR; to use deploy with a deploy.py repo, write its deploy.yaml \
         ({MIGRATION_GUIDE}).{hint}"
    )
}

pub(crate) fn legacy(
    a: LegacyArgs,
    root: &Path,
    searched: bool,
    log: &Log,
    beat: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let Some(name) = a.chart else {
        return Err(UsageError("missing <CHART>; see `deploy --help`".into()).into());
    };
    if !root.join(DEPLOY_YAML).exists() || crate::config::multi::MultiRepo::detect(root) {
        return Err(UsageError(no_legacy_repo(&name, root, searched)).into());
    }
    let repo = LegacyRepo::load(root)?;
    let Some(chart) = repo.chart(&name) else {
        let names = repo.chart_names();
        let valid = if names.is_empty() {
            format!(
                "deploy.yaml lists no chart and {}/ holds no chart folder",
                repo.settings.charts_dir
            )
        } else {
            format!("valid charts: {}", names.join(", "))
        };
        return Err(UsageError(format!(
            "unknown chart `{name}`; {valid}.{}",
            super::friendly::did_you_mean(&name, &names)
        ))
        .into());
    };
    let req = Request {
        chart: name.clone(),
        setup: !a.no_setup,
        build: a.build,
        push: a.push,
        deploy: a.deploy,
        rebuild: a.rebuild,
        force: a.force,
        force_recover: a.force_recover,
        timeout: a.timeout,
        lock_timeout: a.lock_timeout.duration(),
    };
    preflight::before_legacy(&repo, log)?;
    let errs = repo.check(chart, req.stages());
    if !errs.is_empty() {
        return Err(ConfigErrors(errs).into());
    }
    let missing: Vec<String> = legacy_plan::programs(&repo, &req, chart)
        .into_iter()
        .filter(|p| which::which(p).is_err())
        .map(String::from)
        .collect();
    if !missing.is_empty() {
        // A dry run starts only git; the rest is shown, not run.
        let needed_now: Vec<String> = missing.iter().filter(|p| *p == "git").cloned().collect();
        if !a.dry_run || !needed_now.is_empty() {
            return Err(MissingPrograms(if a.dry_run { needed_now } else { missing }).into());
        }
        log.warn(&format!(
            "not on PATH (a real run would stop here): {}",
            missing.join(", ")
        ));
    }

    let real = RealRunner::in_repo(root, log);
    let runner: Box<dyn Runner> = if a.dry_run {
        Box::new(DryRunner::new(real, Box::new(std::io::stdout())))
    } else {
        Box::new(real)
    };
    // the steps' own output streams as they run; helm --wait and a long build can still be
    // silent for minutes: the heartbeat says what is running
    let activity = Activity::default();
    let tracked = Tracked::new(runner, &activity, &chart.name);
    with_heartbeat(log, &activity, beat, "deploying", || {
        execute::legacy::deploy_chart(&repo, &req, &tracked, log)
    })?;
    log.info(if a.dry_run {
        "dry run: nothing was changed"
    } else {
        "done"
    });
    Ok(())
}
