//! The command line. The legacy form `deploy <chart> [--no-setup] [--build] [--push] [--deploy]`
//! stays exactly as deploy.py's argparse accepted it, including abbreviated long options.

use std::path::PathBuf;

use clap::{Args, Parser};

use crate::config::duration::GoDuration;

#[derive(Debug, Parser)]
#[command(
    name = "deploy",
    version,
    about = "Deploy JupyterHub-style Helm releases from a hub-ops repository",
    long_about = "Deploy JupyterHub-style Helm releases from a hub-ops repository.\n\n\
        Legacy form (a drop-in for deploy.py): `deploy <chart> [--no-setup] [--build] [--push] \
        [--deploy]`. With no action flag it only runs the setup (cluster credentials, registry \
        login).",
    // argparse accepted any unique prefix of a long option (`--dep`, `--no-s`): so do we.
    infer_long_args = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Run as if started in DIR (the hub-ops repo root)
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// More output (commands' output from queries too)
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Only warnings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(flatten)]
    pub legacy: LegacyArgs,
}

#[derive(Debug, Args)]
pub struct LegacyArgs {
    /// Chart to deploy (a folder of hub-charts/ or a top-level chart folder)
    pub chart: Option<String>,

    /// Skip cluster credentials and registry login
    #[arg(long)]
    pub no_setup: bool,

    /// Build the user image (skipped when its tag is already in the registry)
    #[arg(long)]
    pub build: bool,

    /// Push the image built in this run
    #[arg(long)]
    pub push: bool,

    /// helm upgrade --install, then wait for every deployment's rollout
    #[arg(long)]
    pub deploy: bool,

    /// Build even when the tag is already in the registry
    #[arg(long)]
    pub rebuild: bool,

    /// Pass --force to helm upgrade (Helm 3 then replaces changed resources)
    #[arg(long)]
    pub force: bool,

    /// How long helm and each rollout may take [default: helm.timeout in deploy.yaml, else 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<GoDuration>,

    /// Print every command in order (secrets redacted) instead of running it
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_duration(s: &str) -> Result<GoDuration, String> {
    s.parse()
}
