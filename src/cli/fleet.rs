//! The arguments of the commands that operate on what is deployed: `status`, `rollback`,
//! `uninstall`, `credentials`.

use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::config::duration::GoDuration;

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

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The cluster (folder name under config/clusters/)
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub cluster: String,

    /// The hub (or `support`)
    #[arg(add = ArgValueCandidates::new(crate::complete::hubs))]
    pub hub: String,

    /// The revision to go back to [default: the last deployed revision before the current]
    #[arg(long, value_name = "REVISION")]
    pub to: Option<u64>,

    #[command(flatten)]
    pub wait: OperateArgs,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The cluster (folder name under config/clusters/)
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub cluster: String,

    /// The hub: one no longer in the cluster's cluster.yaml
    pub hub: String,

    /// Do not ask (needed outside a terminal)
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub wait: OperateArgs,
}

/// How long `rollback` and `uninstall` wait.
#[derive(Debug, Args)]
pub struct OperateArgs {
    /// How long helm and the rollout may take [default: helm.timeout in deploy.yaml, else 10m]
    #[arg(long, value_name = "DURATION", value_parser = super::parse_timeout)]
    pub timeout: Option<GoDuration>,

    /// How long to wait for another run holding the release's lease
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration, default_value = "5m")]
    pub lock_timeout: GoDuration,
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// The cluster (folder name under config/clusters/)
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub cluster: String,

    /// The command to run [default: $SHELL]
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
