//! The options that say what changed (shared by the commands that plan), and `--live`.

use std::path::PathBuf;

use clap::Args;

/// `--live` / `--no-live` (shared by plan and run).
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Check each release against its cluster first (needs the credentials) and drop those
    /// whose upgrade would change nothing [default: `live` in deploy.yaml, else off]
    #[arg(long, overrides_with = "no_live")]
    pub live: bool,

    /// Do not check against the cluster, even with `live: true` in deploy.yaml
    #[arg(long, overrides_with = "live")]
    pub no_live: bool,
}

impl LiveArgs {
    /// Whether to check, given deploy.yaml's default.
    pub fn enabled(&self, default: bool) -> bool {
        (default || self.live) && !self.no_live
    }
}

/// Where the changed files come from (shared by the commands that plan).
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// A pull-request label (deployer:skip-deploy, deployer:skip-deploy-hubs,
    /// deployer:deploy-support, deployer:deploy-hubs); repeatable
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,

    /// Changed files are those between REV and --head (default: the work tree)
    #[arg(long, value_name = "REV", conflicts_with_all = ["changed_from", "paths"])]
    pub base: Option<String>,

    /// The other end of the --base range
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,

    /// Read changed paths from FILE, one per line (`-`: stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub changed_from: Option<PathBuf>,

    /// Changed paths, relative to the repo root, each its own argument
    #[arg(value_name = "PATHS")]
    pub paths: Vec<String>,
}

impl ChangeArgs {
    /// Whether anything says what changed: paths, a file of them, a git range or a label.
    pub fn is_given(&self) -> bool {
        self.base.is_some()
            || self.changed_from.is_some()
            || !self.paths.is_empty()
            || !self.labels.is_empty()
    }

    /// Refuse to plan from nothing (exit 2), saying how to say what changed; `run` also takes a
    /// saved plan.
    pub fn require(&self, command: &str) -> Result<(), crate::config::UsageError> {
        if self.is_given() {
            return Ok(());
        }
        let saved = if command == "run" {
            "; or run a saved plan: `deploy run --plan plan.json`"
        } else {
            ""
        };
        Err(crate::config::UsageError(format!(
            "nothing says what changed, so there is nothing to plan. Give the changed paths \
             (`deploy {command} config/clusters/alpha/prod.values.yaml`), a file listing them \
             (`--changed-from FILE`, `-` for stdin), a git range (`--base origin/main`, with \
             `--head REV` for a commit other than the work tree), or a label (`--label \
             deployer:deploy-hubs` plans every hub, `--label deployer:deploy-support` every \
             support chart){saved}"
        )))
    }
}
