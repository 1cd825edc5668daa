//! `deploy validate`.

use std::path::Path;

use crate::cli::{ValidateArgs, ValidateFormat};
use crate::config::ConfigError;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::execute::prepare;
use crate::execute::prepare::DependencyCache;
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
        let selected = args.all || args.changes.is_given();
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
        let (mut f, clusters) = crate::execute::preflight::check_values(
            &repo,
            checks.as_deref(),
            &runner,
            log,
            usize::from(args.jobs),
        );
        if args.helm && f.problems.is_empty() {
            let releases =
                checks.unwrap_or_else(|| validate::every_release(&repo, clusters.iter()));
            helm_checks(&runner, log, root, &releases, &mut f);
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
                    let spec =
                        release::resolve(target, &Options::default(), &legacy_sources()).ok()?;
                    Some(ValuesCheck {
                        dir: None,
                        cluster: "-".into(),
                        spec,
                    })
                })
                .collect();
            helm_checks(&runner, log, root, &releases, &mut f);
        }
        f
    };
    report(f, args.format, log)
}

fn report(mut f: Findings, format: ValidateFormat, log: &Log) -> anyhow::Result<()> {
    f.problems
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    crate::validate::log_notices(&f.notices, log);
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

/// Each release's charts in place and their dependencies updated (once per chart), then `helm
/// lint` and `helm template` with its values as the upgrade gives them (decrypted, rendered).
/// Encrypted values files are never given to helm as they are: without sops, the release is
/// left out with a notice.
fn helm_checks(
    runner: &dyn Runner,
    log: &Log,
    root: &Path,
    releases: &[ValuesCheck],
    f: &mut Findings,
) {
    let deps = DependencyCache::default();
    let sops = which::which("sops").is_ok();
    let mut failed_charts = std::collections::BTreeSet::new();
    for r in releases {
        let spec = &r.spec;
        let label = format!("{}/{}", r.cluster, spec.release);
        let last_file = || {
            spec.values
                .last()
                .map(|v| v.path.clone())
                .unwrap_or_else(|| spec.chart.clone())
        };
        if spec.has_encrypted() && !sops {
            f.notices.push(crate::validate::Notice {
                text: format!(
                    "{label}: not rendered with helm: sops is not installed, and encrypted \
                     values files are never given to helm as they are"
                ),
                reason: Some("no sops: not rendered with helm".into()),
            });
            continue;
        }
        let placed = match prepare::place_chart(runner, root, &deps, spec) {
            Ok(p) => p,
            Err(e) => {
                if failed_charts.insert(spec.chart.clone()) {
                    f.problems
                        .push(ConfigError::new(spec.chart.clone(), format!("{e}")));
                }
                continue;
            }
        };
        let (files, _kept) = match prepare::values(runner, log, &placed, spec) {
            Ok(v) => v,
            Err(e) => {
                f.problems.push(ConfigError::new(
                    last_file(),
                    format!("release {label}: {e}"),
                ));
                continue;
            }
        };
        let chart = placed.path(&spec.chart);
        let mut lint = crate::cmd::Cmd::new("helm")
            .arg("lint")
            .arg(chart.clone())
            .local_query();
        for v in &files {
            lint = lint.arg("-f").arg(v.clone());
        }
        let template = helm::template(&spec.upgrade_args(chart, files));
        for (what, cmd) in [("helm lint", lint), ("helm template", template)] {
            if let Err(e) = runner.run(&cmd) {
                f.problems.push(ConfigError::new(
                    last_file(),
                    format!("{what} of release {label} failed: {e}"),
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
                use crate::log::{escape_data, escape_property};
                let mut props = format!("file={}", escape_property(&p.file));
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
                // annotation messages are one line: the runner reads %0A back as a newline
                let msg = escape_data(&format!("{field}{}", p.message));
                format!("::error {props}::{msg}\n")
            })
            .collect(),
    }
}

/// What the resolver reads for a legacy chart: nothing (git-crypt, not sops, keeps a legacy
/// repo's secrets: files are passed as they are).
fn legacy_sources() -> release::Sources<'static> {
    static SUPPORT: std::sync::LazyLock<crate::config::deploy_yaml::SupportSettings> =
        std::sync::LazyLock::new(Default::default);
    static HEALTH: std::sync::LazyLock<crate::config::health::HealthSettings> =
        std::sync::LazyLock::new(Default::default);
    release::Sources {
        read: &|_| None,
        support: &SUPPORT,
        health: &HEALTH,
    }
}
