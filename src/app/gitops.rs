//! `deploy gitops render` and `deploy gitops push`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::cli::{GitopsCommand, GitopsPushArgs, GitopsValues};
use crate::config::{ConfigErrors, UsageError};
use crate::gitops::{self, Rendered, TEMPLATE};
use crate::log::Log;

pub(crate) fn gitops_cmd(cmd: GitopsCommand, root: &Path, log: &Log) -> anyhow::Result<()> {
    match cmd {
        GitopsCommand::Render(a) => {
            let r = render(&a.values, root)?;
            if a.out.as_os_str() == "-" {
                return crate::report::print_result(&r.text);
            }
            let path = a.out.join(&r.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, &r.text)
                .with_context(|| format!("writing {}", path.display()))?;
            log.info(&format!("wrote {}", path.display()));
            crate::report::print_result(&path.display().to_string())
        }
        GitopsCommand::Push(a) => push(&a, root, log),
    }
}

fn render(v: &GitopsValues, root: &Path) -> anyhow::Result<Rendered> {
    let template = crate::config::input::read_text(root.join(TEMPLATE)).map_err(|e| {
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

fn push(a: &GitopsPushArgs, root: &Path, log: &Log) -> anyhow::Result<()> {
    let rendered = render(&a.values, root)?; // every problem is found before any git command
    let runner = crate::runner::RealRunner::in_repo(root, log);
    let source = crate::execute::gitops::source_commit(&runner);
    let message = a.message.clone().unwrap_or_else(|| {
        let from = if source.is_empty() {
            String::new()
        } else {
            format!(" from {source}")
        };
        format!("deploy {} to {}{from}", rendered.name, a.values.env)
    });
    let target = crate::execute::gitops::Target {
        url: &a.releases_repo,
        branch: &a.branch,
        retries: a.retries,
    };
    crate::execute::gitops::push_files(
        &runner,
        log,
        &target,
        &[(rendered.path, rendered.text)],
        &message,
    )
}
