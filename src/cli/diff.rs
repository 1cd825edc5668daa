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

    #[command(flatten)]
    pub changes: ChangeArgs,
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
