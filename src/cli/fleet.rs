//! The arguments of the commands that operate on what is deployed: `status`.

use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Aligned columns
    Table,
    /// `[{"cluster", "release", "kind", "installed", "revision", "chart", "status", …}]`
    Json,
    /// A Markdown table
    Markdown,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Clusters (folder names under config/clusters/) [default: every cluster]
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub clusters: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatusFormat,

    /// Also say whether each release differs from what this checkout would deploy (renders
    /// each release and compares, as `plan --live`)
    #[arg(long)]
    pub live: bool,

    /// At most this many helm processes at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
}
