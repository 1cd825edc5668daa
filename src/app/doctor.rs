//! `deploy doctor`: what a run of this repo needs on this machine, found or not.

use std::path::Path;

use crate::cli::{DoctorArgs, DoctorFormat};
use crate::config::UsageError;
use crate::config::deploy_yaml::DEPLOY_YAML;
use crate::config::legacy::LegacyRepo;
use crate::config::multi::MultiRepo;
use crate::execute::outcome::NotReady;
use crate::log::Log;
use crate::plan::changes::{LABEL_DEPLOY_HUBS, LABEL_DEPLOY_SUPPORT};
use crate::plan::doctor::{self, Needs};
use crate::plan::multi::Changes;
use crate::plan::{release, run_plan};
use crate::report::print_result;
use crate::runner::RealRunner;

/// What a run needs: in the multi-cluster layout, the run plan of every release (support and
/// every hub, as `--label deployer:deploy-support --label deployer:deploy-hubs` plans them); in
/// the legacy layout, `deploy <chart> --build --push --deploy` of every chart.
fn needs(root: &Path, searched: bool) -> anyhow::Result<Needs> {
    if MultiRepo::detect(root) {
        let repo = MultiRepo::load(root)?;
        let labels = vec![LABEL_DEPLOY_SUPPORT.into(), LABEL_DEPLOY_HUBS.into()];
        let every = crate::plan::multi::plan(&repo, &Changes::new(Vec::new(), labels))?;
        let plan = run_plan::build(&repo, &every.jobs(), &release::Options::default())?;
        return Ok(doctor::multi(&plan));
    }
    if root.join(DEPLOY_YAML).exists() {
        return Ok(doctor::legacy(&LegacyRepo::load(root)?));
    }
    let place = if searched {
        crate::config::root::looked_in(Path::new("."))
    } else {
        root.display().to_string()
    };
    Err(UsageError(format!(
        "no hub-ops repo in {place}: neither {DEPLOY_YAML} (the legacy layout) nor \
         config/clusters/ (the multi-cluster layout), so there is nothing to say what a run \
         needs. Run `deploy doctor` inside the repo or give -C DIR"
    ))
    .into())
}

pub(crate) fn doctor_cmd(
    args: DoctorArgs,
    root: &Path,
    searched: bool,
    log: &Log,
) -> anyhow::Result<()> {
    let needs = needs(root, searched)?;
    let runner = RealRunner::in_repo(root, log);
    let checks = crate::execute::doctor::examine(&needs, root, &runner)?;
    print_result(&match args.format {
        DoctorFormat::Table => crate::report::doctor::table(&checks),
        DoctorFormat::Json => crate::report::doctor::json(&checks),
    })?;
    let problems: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok())
        .map(|c| {
            let version = c
                .version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            format!("{}: {}{version}; {}", c.name, c.status.as_str(), c.install)
        })
        .collect();
    if !problems.is_empty() {
        return Err(NotReady { problems }.into());
    }
    log.info(&format!(
        "ready: all {} programs and files a run needs are here",
        checks.len()
    ));
    Ok(())
}
