//! The command line. The legacy form `deploy <chart> [--no-setup] [--build] [--push] [--deploy]`
//! stays exactly as deploy.py's argparse accepted it, including abbreviated long options.

mod changes;
mod diff;
mod fleet;
pub use changes::{ChangeArgs, LiveArgs};
pub use diff::{DiffArgs, DiffFormat, PlanDiffArgs};
pub use fleet::{
    CredentialsArgs, OperateArgs, RollbackArgs, StatusArgs, StatusFormat, UninstallArgs,
};

use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::duration::GoDuration;

#[derive(Debug, Parser)]
#[command(
    name = "deploy",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("DEPLOY_COMMIT"), ")"),
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

    /// While releases run, say every DURATION which are still running, for how long, and their
    /// current command (0s: never)
    #[arg(long, value_name = "DURATION", global = true, default_value = "30s", value_parser = parse_duration)]
    pub heartbeat: GoDuration,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub legacy: LegacyArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide which support charts, staging hubs and prod hubs need an upgrade, and why
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy plan config/clusters/alpha/prod.values.yaml     what a change plans, and why
  deploy plan --base origin/main                         the changes of this branch (work tree)
  deploy plan --base HEAD~1 --head HEAD --format markdown
  deploy plan --label deployer:deploy-hubs --format commands   every hub's exact commands"
    )]
    Plan(PlanArgs),
    /// Plan (or read a plan) and run it: support, staging hubs as canaries, then prod hubs in
    /// parallel; one cluster's failure never blocks another
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy run --dry-run --base origin/main                print what a run would do
  deploy run --base HEAD~1 --head HEAD --report report.json
  deploy run --plan plan.json --jobs 8                   run a saved plan
  deploy run --live --label deployer:deploy-hubs         upgrade only the hubs that would change"
    )]
    Run(RunArgs),
    /// Show what a change does to every planned release: each rendered at the base and at the
    /// head revision (offline, `helm template`), compared object by object, secrets hidden
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy diff --base origin/main                         this branch's work tree against main
  deploy diff --base HEAD~1 --head HEAD                  the last commit
  deploy diff --base main --head pr --format markdown    collapsed sections for a PR comment
  deploy diff --base main config/clusters/alpha/prod.values.yaml"
    )]
    Diff(DiffArgs),
    /// What is deployed where: each release's revision, chart, status, when it was deployed and
    /// whether it is pending, per cluster; with --live, whether it differs from this checkout
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy status                                          every cluster
  deploy status alpha beta --format json
  deploy status alpha --live                             and what this checkout would change"
    )]
    Status(StatusArgs),
    /// Roll a release back (under its lease, `helm rollback --wait`, then the rollout check)
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy rollback alpha prod                             to the last deployed revision before
  deploy rollback alpha prod --to 12"
    )]
    Rollback(RollbackArgs),
    /// Uninstall a hub that is no longer in its cluster.yaml (under its lease)
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy uninstall alpha old-hub                         asks first
  deploy uninstall alpha old-hub --yes                   in CI"
    )]
    Uninstall(UninstallArgs),
    /// A shell (or a command) with one cluster's credentials set up as `run` sets them up,
    /// removed when it ends
    #[command(after_help = "Examples:
  deploy credentials alpha                               a shell; `exit` removes the credentials
  deploy credentials alpha -- kubectl get pods -A")]
    Credentials(CredentialsArgs),
    /// Upgrade the support chart of one cluster (a CI matrix job)
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy upgrade-support alpha
  deploy upgrade-support alpha --dry-run"
    )]
    UpgradeSupport(UpgradeSupportArgs),
    /// Upgrade one hub of one cluster (a CI matrix job)
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy upgrade-hub alpha staging
  deploy upgrade-hub alpha prod --timeout 20m --report report.json"
    )]
    UpgradeHub(UpgradeHubArgs),
    /// Print the prod jobs of a plan minus those of clusters whose support or staging failed
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy filter-prod --plan plan.json --results report.json
  deploy filter-prod --plan plan.json --failed-clusters alpha,beta"
    )]
    FilterProd(FilterProdArgs),
    /// Check every config file (schemas, values, cross-file rules); with --helm also lint and
    /// render the releases
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy validate                                        every config file
  deploy validate --base origin/main --helm              what this branch changes, with helm
  deploy validate --format github                        annotations on a pull request"
    )]
    Validate(ValidateArgs),
    /// Render Flux HelmRelease files from the repo's .flux.ci template, or push them to a
    /// releases repository that Flux watches
    #[command(
        subcommand,
        after_help = "Examples:
  deploy gitops render --env staging --image-tag abc1234 --out -
  deploy gitops push --env prod --image-tag abc1234 --releases-repo git@github.com:org/releases.git"
    )]
    Gitops(GitopsCommand),
    /// Check what a run of this repo needs on this machine (programs, their versions, credentials
    /// files): a table of found, missing or wrong version, and how to install; exit 1 if
    /// something is missing
    #[command(
        infer_long_args = true,
        after_help = "Examples:
  deploy doctor                                          the table
  deploy doctor --format json                            {\"checks\": [...], \"ok\": true}
  deploy -C ../infrastructure doctor                     another repo"
    )]
    Doctor(DoctorArgs),
    /// Print a shell completion script (e.g. `deploy completions bash > /etc/bash_completion.d/deploy`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    /// Aligned columns: what, status, version, needed for, how to install
    Table,
    /// `{"checks": [{"name","status","version","needed_for","install"}], "ok": bool}`
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// What to print on stdout
    #[arg(long, value_enum, default_value = "table")]
    pub format: DoctorFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// `path:line:column: field: message`, one problem per line
    Text,
    /// `{"problems": [{"file","line","column","field","message"}], "notices": [...]}`
    Json,
    /// GitHub annotations: `::error file=…,line=…,col=…::…`
    Github,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Every release (the default when no plan option is given)
    #[arg(long, conflicts_with_all = ["base", "changed_from", "paths", "labels"])]
    pub all: bool,

    /// Also run `helm lint` and `helm template` for each selected release with its values
    #[arg(long)]
    pub helm: bool,

    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,

    /// At most this many sops (decrypting values files to check) at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    #[command(flatten)]
    pub changes: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run this plan (`deploy plan --format json` output; `-` for stdin) instead of planning
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base", "changed_from", "paths", "labels"])]
    pub plan: Option<PathBuf>,

    #[command(flatten)]
    pub changes: ChangeArgs,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// After the upgrades, if they all succeeded, uninstall the hubs the change removed from
    /// their cluster.yaml (each under its lease)
    #[arg(long, conflicts_with = "plan")]
    pub prune: bool,
}

/// How releases are run (shared by run, upgrade-support, upgrade-hub).
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub live: LiveArgs,

    /// At most this many helm processes at once, across the whole run
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Print every command in order (secrets redacted) instead of running it
    #[arg(long)]
    pub dry_run: bool,

    /// Write a JSON report of every release (status, timings, commands, failures) to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// How long helm and each rollout may take [default: helm.timeout in deploy.yaml, else 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<GoDuration>,

    /// How long to wait for another run holding a release's lease
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub lock_timeout: GoDuration,

    /// Pass --force to helm upgrade (Helm 3 then replaces changed resources)
    #[arg(long)]
    pub force: bool,

    /// Roll back (or uninstall) a release stuck pending even when its revision is recent and
    /// not known to be abandoned (someone's helm may still be running it)
    #[arg(long)]
    pub force_recover: bool,

    /// Do not check that hubs answer after their upgrade (deploy.yaml's `health_check:`)
    #[arg(long)]
    pub no_health_check: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeSupportArgs {
    /// The cluster (folder name under config/clusters/)
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub cluster: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct UpgradeHubArgs {
    /// The cluster (folder name under config/clusters/)
    #[arg(add = ArgValueCandidates::new(crate::complete::clusters))]
    pub cluster: String,
    /// The hub (its name in cluster.yaml)
    #[arg(add = ArgValueCandidates::new(crate::complete::hubs))]
    pub hub: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct FilterProdArgs {
    /// The plan (`deploy plan --format json` output, or its prod-jobs list; `-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// Clusters whose support or staging failed (comma-separated, repeatable)
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub failed_clusters: Vec<String>,

    /// `--report` files of the support/staging runs: clusters with a release that did not
    /// succeed count as failed
    #[arg(long = "results", value_name = "FILE")]
    pub results: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// `{"support-jobs":[…],"staging-jobs":[…],"prod-jobs":[…]}` (default when not a terminal)
    Json,
    /// Aligned columns (default on a terminal)
    Table,
    /// The deployment plan for a PR comment
    Markdown,
    /// JSON, plus step outputs in $GITHUB_OUTPUT and a summary in $GITHUB_STEP_SUMMARY
    Github,
    /// The exact commands a run would execute for each planned release (secrets redacted)
    Commands,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format [default: table on a terminal, else json]
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,

    #[command(flatten)]
    pub live: LiveArgs,

    #[command(flatten)]
    pub diff: PlanDiffArgs,

    /// With --live or --diff: at most this many helm processes at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Also write the Markdown plan (a PR comment's body, with its marker) to FILE
    /// [default with --format github: comment-body.txt]
    #[arg(long, value_name = "FILE")]
    pub comment_body: Option<PathBuf>,

    #[command(flatten)]
    pub changes: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct LegacyArgs {
    /// Chart to deploy (a folder of hub-charts/ or a top-level chart folder)
    #[arg(add = ArgValueCandidates::new(crate::complete::charts))]
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

    /// Roll back (or uninstall) a release stuck pending even when its revision is recent and
    /// not known to be abandoned (someone's helm may still be running it)
    #[arg(long)]
    pub force_recover: bool,

    /// How long helm and each rollout may take [default: helm.timeout in deploy.yaml, else 10m]
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<GoDuration>,

    /// How long to wait for another run holding the release's lease
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub lock_timeout: GoDuration,

    /// Print every command in order (secrets redacted) instead of running it
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_duration(s: &str) -> Result<GoDuration, String> {
    s.parse()
}

/// A helm/kubectl timeout: more than zero (kubectl takes 0 as "wait forever").
fn parse_timeout(s: &str) -> Result<GoDuration, String> {
    let d: GoDuration = s.parse()?;
    if d.duration().is_zero() {
        return Err(format!(
            "`{s}` is no time at all; give the longest helm and each rollout may take, e.g. 10m \
             (kubectl would take 0 as \"wait forever\")"
        ));
    }
    Ok(d)
}

#[derive(Debug, Subcommand)]
pub enum GitopsCommand {
    /// Fill .flux.ci and write DIR/ENV/<name>.yaml
    #[command(infer_long_args = true)]
    Render(GitopsRenderArgs),
    /// Render, then commit the file to a releases repository and push it (retrying with a
    /// rebase when another service pushed at the same time)
    #[command(infer_long_args = true)]
    Push(GitopsPushArgs),
}

#[derive(Debug, Args)]
pub struct GitopsValues {
    /// The environment: ${ENV} in the template, and the folder the file goes to
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// ${IMAGE_TAG} in the template
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,

    /// A value for ${KEY} in the template (repeatable), e.g. --set CHART_VERSION=1.2.0
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GitopsRenderArgs {
    #[command(flatten)]
    pub values: GitopsValues,

    /// Where to write ENV/<name>.yaml (`-`: print the HelmRelease on stdout instead)
    #[arg(long, value_name = "DIR", default_value = "gitops")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct GitopsPushArgs {
    #[command(flatten)]
    pub values: GitopsValues,

    /// The releases repository (any URL git can push to)
    #[arg(long, value_name = "URL")]
    pub releases_repo: String,

    /// Its branch
    #[arg(long, default_value = "main")]
    pub branch: String,

    /// The commit message [default: names the release, the environment and this repo's commit]
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,

    /// How many times to rebase and push again when another push won the race
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,
}
