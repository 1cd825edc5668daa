//! What runs before anything changes: the programs a run needs are on PATH, the config it uses
//! validates, and every encrypted file it will hand to a tool decrypts to a document that parses
//! (a secret that cannot be parsed cannot be masked). Any problem stops the run with exit 2.

use std::path::Path;

use super::secrets::{self, DecryptError, SecretKind};
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, ConfigErrors, MissingPrograms, UsageError};
use crate::log::Log;
use crate::plan::release::{ReleaseSpec, ValuesKind};
use crate::plan::run_plan::{Access, RunPlan};
use crate::runner::{CmdError, RealRunner, Reply, Runner};
use crate::validate::{self, Findings, Readers, Undecrypted};

/// Stop (exit 2) when a program is not on PATH; a dry run only warns, except for jsonnet (a dry
/// run renders for real: the commands it prints use the renders). When jsonnet is needed, it
/// must be the Go implementation (`jsonnet --version`), as 2i2c's deployer checks.
pub fn require_programs(programs: &[String], dry_run: bool, log: &Log) -> anyhow::Result<()> {
    let missing: Vec<String> = programs
        .iter()
        .filter(|p| which::which(p).is_err())
        .cloned()
        .collect();
    let jsonnet = crate::jsonnet::PROGRAM;
    if !missing.is_empty() {
        if !dry_run || missing.iter().any(|p| p == jsonnet) {
            return Err(MissingPrograms(missing).into());
        }
        log.warn(&format!(
            "not on PATH (a real run would stop here): {}",
            missing.join(", ")
        ));
    }
    require_jsonnet(programs, log)
}

/// When `programs` has jsonnet: it is on PATH and `jsonnet --version` names the Go
/// implementation, or the run stops (exit 2). Renders run even in dry runs and printed plans.
pub fn require_jsonnet(programs: &[String], log: &Log) -> anyhow::Result<()> {
    let jsonnet = crate::jsonnet::PROGRAM;
    if !programs.iter().any(|p| p == jsonnet) {
        return Ok(());
    }
    if which::which(jsonnet).is_err() {
        return Err(MissingPrograms(vec![jsonnet.to_string()]).into());
    }
    let runner = RealRunner::new(log.clone());
    let printed = match runner.run(&crate::tools::jsonnet::version()) {
        Ok(Reply::Ran(o)) => format!("{}{}", o.stdout, o.stderr),
        Ok(Reply::NotRun) => return Ok(()),
        Err(e) => return Err(UsageError(format!("jsonnet: {e}")).into()),
    };
    crate::jsonnet::check_version(&printed).map_err(|m| UsageError(m).into())
}

/// Decrypt with sops when it is installed; otherwise the file is skipped with a notice. What
/// sops prints is checked and its secrets masked (see [`secrets::decrypt_checked`]).
pub fn decryptor<'a>(
    runner: &'a dyn Runner,
    log: &'a Log,
    root: &'a Path,
) -> impl Fn(&str) -> Result<String, Undecrypted> + 'a {
    move |file: &str| {
        if which::which("sops").is_err() {
            return Err(Undecrypted::Skipped("sops is not installed".into()));
        }
        match secrets::decrypt_checked(runner, log, root, file, SecretKind::Values) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(Undecrypted::Skipped("not decrypted in a dry run".into())),
            Err(DecryptError::Invalid(e)) => Err(Undecrypted::Invalid(e)),
            Err(DecryptError::Cmd(e)) => Err(Undecrypted::Skipped(format!(
                "sops could not decrypt it: {e}"
            ))),
        }
    }
}

/// Render a jsonnet values file with jsonnet when it is installed (otherwise it is skipped with a
/// notice) as the run renders it, into a private temp file that is read and removed. A render
/// that fails is a problem in that file: jsonnet's message names the line.
pub fn renderer<'a>(
    runner: &'a dyn Runner,
    root: &'a Path,
) -> impl Fn(&ReleaseSpec, &str) -> Result<String, Undecrypted> + 'a {
    // whether jsonnet is here, and the Go one: asked once, on the first render
    let usable = std::cell::OnceCell::new();
    move |spec: &ReleaseSpec, file: &str| {
        let why_not = usable.get_or_init(|| {
            if which::which(crate::jsonnet::PROGRAM).is_err() {
                return Some("jsonnet is not installed".to_string());
            }
            match runner.run(&crate::tools::jsonnet::version()) {
                Ok(Reply::Ran(o)) => {
                    crate::jsonnet::check_version(&format!("{}{}", o.stdout, o.stderr)).err()
                }
                Ok(Reply::NotRun) => None,
                Err(e) => Some(e.to_string()),
            }
        });
        if let Some(why) = why_not {
            return Err(Undecrypted::Skipped(why.clone()));
        }
        let invalid = |why: String| Undecrypted::Invalid(ConfigError::new(file, why));
        let io = |e: std::io::Error| invalid(format!("could not render it: {e}"));
        let out = crate::signals::TempFile::new("deploy-render-", ".json").map_err(io)?;
        let render =
            crate::jsonnet::Render::new(&root.join(file), spec.jsonnet_vars.clone()).map_err(io)?;
        let cmd = crate::tools::jsonnet::render(&render, &out.path().display().to_string());
        match runner.run(&cmd) {
            Ok(Reply::Ran(_)) => crate::config::files::read_text(out.path())
                .map_err(|e| invalid(format!("jsonnet's output {e}"))),
            Ok(Reply::NotRun) => Err(Undecrypted::Skipped("not rendered in a dry run".into())),
            Err(CmdError::Failed { tail, .. }) => Err(invalid(format!(
                "jsonnet could not render it: {}",
                tail.trim()
            ))),
            Err(e) => Err(Undecrypted::Skipped(e.to_string())),
        }
    }
}

/// Validation's readers for a run: sops and jsonnet through `runner`.
pub fn check_values<'a>(
    repo: &MultiRepo,
    checks: Option<&[validate::ValuesCheck]>,
    runner: &'a dyn Runner,
    log: &'a Log,
) -> (Findings, Vec<crate::config::cluster::Cluster>) {
    let decrypt = decryptor(runner, log, &repo.root);
    let render = renderer(runner, &repo.root);
    let readers = Readers {
        decrypt: &decrypt,
        render: &render,
    };
    validate::multi(repo, checks, readers)
}

/// The checks `deploy run` makes before it starts: refuse on any problem. A real run also
/// decrypts every encrypted file it will use (values files and cluster credentials) and checks
/// what sops prints, so a secret that cannot be parsed (and so cannot be masked) stops the run
/// before anything starts; the run then reuses the decrypted text.
pub fn before_run(
    repo: &MultiRepo,
    plan: &RunPlan,
    dry_run: bool,
    log: &Log,
) -> anyhow::Result<()> {
    let runner = RealRunner::in_repo(&repo.root, log);
    let checks = validate::checks_of(plan);
    let (mut f, _) = check_values(repo, Some(&checks), &runner, log);
    if !dry_run && f.problems.is_empty() {
        let mut files: Vec<(&str, SecretKind)> = Vec::new();
        for c in &plan.clusters {
            let key = match &c.access {
                Access::Gcp { key, .. } | Access::Aws { key, .. } | Access::Azure { key, .. } => {
                    Some(key)
                }
                Access::Kubeconfig { file } => Some(file),
                Access::Flux(_) => None,
            };
            files.extend(
                key.filter(|k| k.kind == ValuesKind::Encrypted)
                    .map(|k| (k.path.as_str(), SecretKind::Credentials)),
            );
            for s in &c.steps {
                files.extend(
                    s.spec
                        .values
                        .iter()
                        .filter(|v| v.kind == ValuesKind::Encrypted)
                        .map(|v| (v.path.as_str(), SecretKind::Values)),
                );
            }
        }
        files.sort_unstable();
        files.dedup();
        for (file, kind) in files {
            match secrets::decrypt_checked(&runner, log, &repo.root, file, kind) {
                Ok(_) => {}
                Err(DecryptError::Invalid(e)) => f.problems.push(e),
                // sops itself failing (no key) is a step of the run: it fails there, exit 1
                Err(DecryptError::Cmd(_)) => {}
            }
        }
    }
    finish_checks(f, log)
}

/// The checks `deploy <chart>` makes before it starts.
/// (The chart's own files are checked by `LegacyRepo::check`, with the run's stages.)
pub fn before_legacy(repo: &LegacyRepo, log: &Log) -> anyhow::Result<()> {
    let mut f = Findings::default();
    validate::check_deploy_yaml(&repo.root, None, &mut f);
    finish_checks(f, log)
}

fn finish_checks(f: Findings, log: &Log) -> anyhow::Result<()> {
    for n in &f.notices {
        log.warn(n);
    }
    if f.problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(f.problems).into())
    }
}
