//! From parsed arguments to an exit code: load, check, plan, execute, report.

mod gitops;
mod plan;
mod run;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command};
use crate::config::legacy::LegacyRepo;
use crate::config::{ConfigError, ConfigErrors, UsageError};
use crate::execute::{self, StepFailed};
use crate::plan::legacy::{self as legacy_plan, Request};
use crate::report::log::{Ci, Log, Verbosity};
use crate::runner::{CmdError, DryRunner, RealRunner, Runner};
use crate::signals;

/// Programs missing from PATH: a setup problem found before anything ran (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("required programs not found on PATH: {} (install them or fix PATH; nothing was run)", .0.join(", "))]
pub struct MissingPrograms(pub Vec<String>);

pub fn main(cli: Cli) -> i32 {
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let log = Log::new(verbosity, Ci::detect());
    if let Err(e) = signals::install() {
        log.warn(&format!("cannot handle Ctrl-C/SIGTERM cleanly: {e}"));
    }
    match run(cli, &log) {
        Ok(()) => 0,
        Err(e) => {
            let code = exit_code(&e);
            if code == 130 {
                log.error(&format!("interrupted: {e:#}"));
            } else {
                log.error(&format!("{e:#}"));
            }
            code
        }
    }
}

/// 2: usage/config (nothing ran), 130: interrupted, 1: a step failed.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.is::<ConfigError>()
            || cause.is::<ConfigErrors>()
            || cause.is::<UsageError>()
            || cause.is::<MissingPrograms>()
        {
            return 2;
        }
        let interrupted = |c: &CmdError| matches!(c, CmdError::Interrupted { .. });
        if let Some(s) = cause.downcast_ref::<StepFailed>() {
            return if interrupted(&s.source) { 130 } else { 1 };
        }
        if let Some(c) = cause.downcast_ref::<CmdError>() {
            return if interrupted(c) { 130 } else { 1 };
        }
        if let Some(r) = cause.downcast_ref::<run::RunFailed>() {
            return if r.interrupted { 130 } else { 1 };
        }
    }
    1
}

fn run(cli: Cli, log: &Log) -> anyhow::Result<()> {
    let root = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(UsageError(format!("-C {}: no such directory", root.display())).into());
    }
    match cli.command {
        Some(Command::Plan(args)) => plan::plan_cmd(args, &root, log),
        Some(Command::Run(args)) => run::run_cmd(args, &root, log),
        Some(Command::UpgradeSupport(args)) => run::upgrade_support(args, &root, log),
        Some(Command::UpgradeHub(args)) => run::upgrade_hub(args, &root, log),
        Some(Command::FilterProd(args)) => run::filter_prod(args, log),
        Some(Command::Validate(args)) => validate::validate_cmd(args, &root, log),
        Some(Command::Gitops(cmd)) => gitops::gitops_cmd(cmd, &root, log),
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "deploy", &mut out);
            print_result(&String::from_utf8_lossy(&out))
        }
        None => legacy(cli, root, log),
    }
}

pub(crate) fn real_runner(root: &Path, log: &Log) -> RealRunner {
    let mut real = RealRunner::new(log.clone());
    real.base_dir = Some(root.to_path_buf());
    real
}

/// The content of `path`, or of stdin for `-`, at most [`crate::config::input::INPUT_MAX`]
/// bytes. Errors name the path after `what` (the flag, if the message should say which one) and
/// are usage errors.
pub(crate) fn read_input(path: &Path, what: &str) -> anyhow::Result<String> {
    use crate::config::input;
    if path.as_os_str() == "-" {
        return input::text(std::io::stdin().lock()).map_err(|e| {
            let flag = if what.is_empty() {
                String::new()
            } else {
                format!("{what}-: ")
            };
            UsageError(format!("{flag}cannot read stdin: {e}")).into()
        });
    }
    input::read_text(path).map_err(|e| UsageError(format!("{what}{}: {e}", path.display())).into())
}

/// Results go to stdout; a closed pipe (`| head`) is not an error worth a stack of messages.
pub(crate) fn print_result(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let r = stdout.write_all(text.as_bytes()).and_then(|()| {
        if text.ends_with('\n') {
            Ok(())
        } else {
            stdout.write_all(b"\n")
        }
    });
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| anyhow::anyhow!("writing the result to stdout: {e}")),
    }
}

fn legacy(cli: Cli, root: PathBuf, log: &Log) -> anyhow::Result<()> {
    let a = cli.legacy;
    let Some(name) = a.chart else {
        return Err(UsageError("missing <CHART>; see `deploy --help`".into()).into());
    };
    let repo = LegacyRepo::load(&root)?;
    let Some(chart) = repo.chart(&name) else {
        return Err(UsageError(format!(
            "unknown chart `{name}`; valid charts: {}",
            repo.chart_names().join(", ")
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
    validate::before_legacy(&repo, log)?;
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

    let real = real_runner(&root, log);
    let runner: Box<dyn Runner> = if a.dry_run {
        Box::new(DryRunner::new(real, Box::new(std::io::stdout())))
    } else {
        Box::new(real)
    };

    execute::legacy::deploy_chart(&repo, &req, runner.as_ref(), log)?;
    log.info(if a.dry_run {
        "dry run: nothing was changed"
    } else {
        "done"
    });
    Ok(())
}
