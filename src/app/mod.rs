//! From parsed arguments to an exit code: load, check, plan, execute, report.

//!
//! Each subcommand lives in its own file; they share nothing but what lower layers offer (no app
//! file imports another).

mod diff;
mod doctor;
mod friendly;
mod gitops;
mod legacy;
mod operate;
mod plan;
mod prune;
mod run;
mod status;
mod validate;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::config::{ConfigError, ConfigErrors, MissingPrograms, UsageError};
use crate::execute::StepFailed;
use crate::execute::outcome::{NotReady, RunFailed};
use crate::log::{Ci, Log, Verbosity};
use crate::report::print_result;
use crate::runner::CmdError;
use crate::signals;

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
            } else if log.ci() == Ci::GitHub
                && let Some(problems) = located(&e)
            {
                // one annotation per problem, on its file and line
                for p in problems {
                    let at = crate::log::Location {
                        file: p.file.clone(),
                        line: p.line,
                        column: p.column,
                    };
                    log.error_at(&p.to_string(), Some(&at));
                }
            } else {
                log.error(&format!("{e:#}"));
            }
            code
        }
    }
}

/// The config problems an error is made of, each with its file (and line), when it is one.
fn located(e: &anyhow::Error) -> Option<Vec<ConfigError>> {
    e.chain().find_map(|c| {
        c.downcast_ref::<ConfigErrors>()
            .map(|all| all.0.clone())
            .or_else(|| c.downcast_ref::<ConfigError>().map(|one| vec![one.clone()]))
    })
}

/// The script a shell sources to complete `deploy`: it asks `deploy` itself (`COMPLETE=<shell>`)
/// for each completion, so cluster, hub and chart names come from the repo at hand.
fn completion_script(shell: clap_complete::Shell) -> anyhow::Result<String> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Zsh => &Zsh,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::Elvish => &Elvish,
        clap_complete::Shell::PowerShell => &Powershell,
        other => {
            return Err(UsageError(format!("no completion script for {other}")).into());
        }
    };
    let mut out = Vec::new();
    completer.write_registration("COMPLETE", "deploy", "deploy", "deploy", &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// 2: usage/config (nothing ran), 130: interrupted, 1: a step failed (or `deploy doctor` found
/// something missing).
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
            return if s.interrupted() { 130 } else { 1 };
        }
        if let Some(c) = cause.downcast_ref::<CmdError>() {
            return if interrupted(c) { 130 } else { 1 };
        }
        if let Some(r) = cause.downcast_ref::<RunFailed>() {
            return r.verdict.exit_code();
        }
        if cause.is::<NotReady>() {
            return 1;
        }
    }
    1
}

fn run(cli: Cli, log: &Log) -> anyhow::Result<()> {
    // without -C, the repo is the nearest folder up from here that looks like one, as git finds
    // its work tree
    let searched = cli.dir.is_none();
    let root = match &cli.dir {
        Some(d) => d.clone(),
        None => crate::config::root::find_root(std::path::Path::new("."))
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    if !root.is_dir() {
        return Err(UsageError(format!("-C {}: no such directory", root.display())).into());
    }
    let beat = Some(cli.heartbeat.duration()).filter(|d| !d.is_zero());
    match cli.command {
        Some(Command::Plan(args)) => plan::plan_cmd(args, &root, log, beat),
        Some(Command::Run(args)) => run::run_cmd(args, &root, log, beat),
        Some(Command::Diff(args)) => diff::diff_cmd(args, &root, log),
        Some(Command::Status(args)) => status::status_cmd(args, &root, log),
        Some(Command::Rollback(args)) => operate::rollback_cmd(args, &root, log),
        Some(Command::Uninstall(args)) => operate::uninstall_cmd(args, &root, log),
        Some(Command::Credentials(args)) => operate::credentials_cmd(args, &root, log),
        Some(Command::UpgradeSupport(args)) => run::upgrade_support(args, &root, log, beat),
        Some(Command::UpgradeHub(args)) => run::upgrade_hub(args, &root, log, beat),
        Some(Command::FilterProd(args)) => run::filter_prod(args, log),
        Some(Command::Validate(args)) => validate::validate_cmd(args, &root, log),
        Some(Command::Gitops(cmd)) => gitops::gitops_cmd(cmd, &root, log),
        Some(Command::Doctor(args)) => doctor::doctor_cmd(args, &root, searched, log),
        Some(Command::Completions { shell }) => print_result(&completion_script(shell)?),
        None => legacy::legacy(cli.legacy, &root, searched, log, beat),
    }
}
