//! The arguments of `deploy diff`, and `plan --diff`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::ChangeArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Each release's summary and unified diff
    Text,
    /// Collapsed `<details>` per changed release (a pull request comment)
    Markdown,
    /// `{"base", "head", "releases": [{"cluster", "release", "status", "objects": [...]}]}`
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,

    /// At most this many helm processes at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    // (the change options of `plan` (`ChangeArgs`), but --base goes with PATHS here: it says
    // what to compare with, and the paths what to plan)
    /// A pull-request label (deployer:skip-deploy, deployer:skip-deploy-hubs,
    /// deployer:deploy-support, deployer:deploy-hubs); repeatable
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,

    /// The revision to compare with (required); the changes between it and --head plan the
    /// releases, unless PATHS or --changed-from say which files changed
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The revision to compare (default: the work tree)
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,

    /// Read the changed paths that plan the releases from FILE, one per line (`-`: stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub changed_from: Option<PathBuf>,

    /// The changed paths that plan the releases, relative to the repo root
    #[arg(value_name = "PATHS")]
    pub paths: Vec<String>,
}

impl DiffArgs {
    /// What plans the releases, as `plan` takes it: with PATHS or --changed-from, those files
    /// (and --base only says what to compare with).
    pub fn changes(&self) -> ChangeArgs {
        ChangeArgs {
            labels: self.labels.clone(),
            base: self.base.clone(),
            head: self.head.clone(),
            changed_from: self.changed_from.clone(),
            paths: self.paths.clone(),
        }
    }
}

/// `plan --diff`: the rendered changes in the Markdown plan.
#[derive(Debug, Args)]
pub struct PlanDiffArgs {
    /// With --base: render each planned release at the base and at the head and add the
    /// differences to the Markdown plan and the comment body (collapsed, under GitHub's comment
    /// limit)
    #[arg(long, requires = "base")]
    pub diff: bool,

    /// With --diff: also write the whole diff (text) to FILE, for when the comment is cut
    #[arg(long, value_name = "FILE", requires = "diff")]
    pub diff_file: Option<PathBuf>,
}
