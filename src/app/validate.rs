//! `deploy validate`.

use std::path::Path;

use crate::cli::{ValidateArgs, ValidateFormat};
use crate::config::ConfigError;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::execute::preflight::decryptor;
use crate::log::Log;
use crate::plan::release::{self, Options, Target};
use crate::report::print_result;
use crate::runner::{RealRunner, Runner};
use crate::tools::helm;
use crate::validate::{self, Findings, ValuesCheck};

pub(crate) fn validate_cmd(args: ValidateArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let runner = RealRunner::in_repo(root, log);
    let f = if MultiRepo::detect(root) {
        let repo = MultiRepo::load_lenient(root);
        let selected = args.all
            || args.changes.base.is_some()
            || args.changes.changed_from.is_some()
            || !args.changes.paths.is_empty()
            || !args.changes.labels.is_empty();
        let checks = if selected && !args.all {
            let plan = crate::execute::select::multi_plan(&repo, &args.changes, log)?;
            // a job that does not fit its cluster.yaml is reported by the checks below
            Some(
                crate::plan::run_plan::build(&repo, &plan.jobs(), &Options::default())
                    .map(|p| validate::checks_of(&p))
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        let (mut f, clusters) =
            validate::multi(&repo, checks.as_deref(), &decryptor(&runner, log, root));
        if args.helm && f.problems.is_empty() {
            let releases =
                checks.unwrap_or_else(|| validate::every_release(&repo, clusters.iter()));
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
                .filter_map(|c| {
                    let target = Target::Legacy {
                        chart: c,
                        image_tag: None,
                    };
                    let spec = release::resolve(target, &Options::default(), &|_| None).ok()?;
                    Some(ValuesCheck {
                        dir: None,
                        cluster: "-".into(),
                        release: spec.release.clone(),
                        chart: spec.chart.clone(),
                        values: spec.value_paths(),
                    })
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
