//! `deploy validate`, and the same checks before `deploy run` and `deploy <chart>`.

use std::path::Path;

use super::{print_result, real_runner};
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::config::cluster::Cluster;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::config::{ConfigError, ConfigErrors};
use crate::execute::secrets::{self, DecryptError, SecretKind};
use crate::plan::jobs::{Job, Kind};
use crate::report::log::Log;
use crate::runner::Runner;
use crate::tools::helm;
use crate::validate::{self, Findings, Undecrypted, ValuesCheck};

/// Decrypt with sops when it is installed; otherwise the file is skipped with a notice. What
/// sops prints is checked and its secrets masked (see [`secrets::decrypt_checked`]).
fn decryptor<'a>(
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

/// The releases of jobs, as values checks.
pub(crate) fn checks_for(repo: &MultiRepo, jobs: &[Job]) -> Vec<ValuesCheck> {
    let names: Vec<String> = jobs.iter().map(|j| j.cluster.clone()).collect();
    let clusters = repo.load_clusters(&{
        let mut n = names;
        n.sort();
        n.dedup();
        n.retain(|c| repo.has_cluster(c));
        n
    });
    let Ok(clusters) = clusters else {
        return Vec::new();
    };
    let all = validate::every_release(clusters.iter());
    all.into_iter()
        .filter(|c| {
            jobs.iter().any(|j| {
                j.cluster == c.cluster
                    && (j.release == c.release)
                    && (j.kind == Kind::Support) == (c.release == "support")
            })
        })
        .collect()
}

/// The checks `deploy run` makes before it starts: refuse on any problem. A real run also
/// decrypts every encrypted file it will use (values files and cluster credentials) and checks
/// what sops prints, so a secret that cannot be parsed (and so cannot be masked) stops the run
/// before anything starts; the run then reuses the decrypted text.
pub(crate) fn before_run(
    repo: &MultiRepo,
    clusters: &std::collections::BTreeMap<String, Cluster>,
    jobs: &[Job],
    dry_run: bool,
    log: &Log,
) -> anyhow::Result<()> {
    let runner = real_runner(&repo.root, log);
    let checks = checks_for(repo, jobs);
    let (mut f, _) = validate::multi(repo, Some(&checks), &decryptor(&runner, log, &repo.root));
    if !dry_run && f.problems.is_empty() {
        let mut files: Vec<(String, SecretKind)> = Vec::new();
        for c in &checks {
            files.extend(c.values.iter().map(|v| (v.clone(), SecretKind::Values)));
        }
        for c in clusters.values() {
            files.extend(
                c.credential_files()
                    .into_iter()
                    .map(|k| (k, SecretKind::Credentials)),
            );
        }
        files.sort();
        files.dedup();
        for (file, kind) in files {
            let text = crate::config::files::read_text(&repo.root.join(&file)).unwrap_or_default();
            if !secrets::is_sops_encrypted(&text) {
                continue;
            }
            match secrets::decrypt_checked(&runner, log, &repo.root, &file, kind) {
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
pub(crate) fn before_legacy(repo: &LegacyRepo, log: &Log) -> anyhow::Result<()> {
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

pub(crate) fn validate_cmd(args: ValidateArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let runner = real_runner(root, log);
    let f = if MultiRepo::detect(root) {
        let repo = MultiRepo::load_lenient(root);
        let selected = args.all
            || args.changes.base.is_some()
            || args.changes.changed_from.is_some()
            || !args.changes.paths.is_empty()
            || !args.changes.labels.is_empty();
        let checks = if selected && !args.all {
            let plan = super::plan::multi_plan(&repo, &args.changes, root, log)?;
            Some(checks_for(&repo, &crate::plan::jobs::jobs(&plan)))
        } else {
            None
        };
        let (mut f, clusters) =
            validate::multi(&repo, checks.as_deref(), &decryptor(&runner, log, root));
        if args.helm && f.problems.is_empty() {
            let releases = checks.unwrap_or_else(|| validate::every_release(clusters.iter()));
            helm_checks(&runner, &releases, &mut f);
        }
        f
    } else {
        let repo = match LegacyRepo::load(root) {
            Ok(r) => r,
            // deploy.yaml is the whole config here: report it like any other problem
            Err(e) => {
                let mut f = Findings::default();
                validate::check_deploy_yaml(root, Some(e), &mut f);
                return report(f, args.format, log);
            }
        };
        let mut f = validate::legacy(&repo);
        if args.helm && f.problems.is_empty() {
            let releases: Vec<ValuesCheck> = repo
                .charts
                .iter()
                .map(|c| ValuesCheck {
                    dir: None,
                    cluster: "-".into(),
                    release: c.name.clone(),
                    chart: c.dir.clone(),
                    values: vec![c.secrets_file.clone()],
                })
                .collect();
            helm_checks(&runner, &releases, &mut f);
        }
        f
    };
    report(f, args.format, log)
}

fn report(mut f: Findings, format: ValidateFormat, log: &Log) -> anyhow::Result<()> {
    f.problems
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    for n in &f.notices {
        log.warn(n);
    }
    let out = render(&f, format);
    if !out.is_empty() {
        print_result(&out)?;
    }
    if f.problems.is_empty() {
        log.info("valid");
        Ok(())
    } else {
        Err(crate::config::UsageError(format!("{} problem(s) found", f.problems.len())).into())
    }
}

/// `helm dependency update` (once per chart), `helm lint` and `helm template` per release.
fn helm_checks(runner: &dyn Runner, releases: &[ValuesCheck], f: &mut Findings) {
    let mut updated = std::collections::BTreeSet::new();
    for r in releases {
        if updated.insert(r.chart.clone())
            && let Err(e) = runner.run(&helm::dependency_update(&r.chart))
        {
            f.problems.push(ConfigError::new(
                r.chart.clone(),
                format!("helm dependency update failed: {e}"),
            ));
            continue;
        }
        let mut lint = crate::cmd::Cmd::new("helm")
            .args(["lint", r.chart.as_str()])
            .local_query();
        for v in &r.values {
            lint = lint.args(["-f", v.as_str()]);
        }
        let template = helm::template(&helm::Upgrade {
            release: &r.release,
            chart: &r.chart,
            namespace: &r.release,
            values: r.values.clone(),
            ..helm::Upgrade::default()
        });
        for (what, cmd) in [("helm lint", lint), ("helm template", template)] {
            if let Err(e) = runner.run(&cmd) {
                let file = r.values.last().cloned().unwrap_or_else(|| r.chart.clone());
                f.problems.push(ConfigError::new(
                    file,
                    format!("{what} of release {}/{} failed: {e}", r.cluster, r.release),
                ));
            }
        }
    }
}

fn render(f: &Findings, format: ValidateFormat) -> String {
    match format {
        ValidateFormat::Text => f.problems.iter().map(|p| format!("{p}\n")).collect(),
        ValidateFormat::Json => {
            let problems: Vec<serde_json::Value> = f
                .problems
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "file": p.file, "line": p.line, "column": p.column, "field": p.field, "message": p.message
                    })
                })
                .collect();
            serde_json::json!({"problems": problems, "notices": f.notices}).to_string()
        }
        ValidateFormat::Github => f
            .problems
            .iter()
            .map(|p| {
                let mut props = format!("file={}", p.file);
                if let Some(l) = p.line {
                    props.push_str(&format!(",line={l}"));
                }
                if let Some(c) = p.column {
                    props.push_str(&format!(",col={c}"));
                }
                let field = p
                    .field
                    .as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default();
                // annotation messages are one line; %0A is the runner's escaped newline
                let msg = format!("{field}{}", p.message)
                    .replace('%', "%25")
                    .replace('\n', "%0A");
                format!("::error {props}::{msg}\n")
            })
            .collect(),
    }
}
