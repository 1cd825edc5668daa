//! Argv builders, one module per program. They know each tool's syntax and nothing about when
//! or why a command runs: that policy lives in `plan` and `execute`.

pub mod cloud;
pub mod curl;
pub mod docker;
pub mod gcloud;
pub mod git;
pub mod helm;
pub mod jsonnet;
pub mod kubectl;
pub mod sops;

use std::time::Duration;

use crate::cmd::Cmd;

/// Seconds from the environment variable `var` (a positive integer), else `default`.
fn seconds_from_env(var: &str, default: u64) -> Duration {
    let secs = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok());
    Duration::from_secs(secs.filter(|s| *s > 0).unwrap_or(default))
}

/// Watchdog for commands that only talk to a service (login, queries, `helm dependency update`,
/// `sops --decrypt` with a cloud KMS): they should answer in seconds, and a hung network call
/// must not hold a CI job until its global timeout. 5 minutes, or `DEPLOY_NETWORK_TIMEOUT`
/// seconds (a slow link, or a test of the watchdog).
pub fn network_timeout() -> Duration {
    static T: std::sync::LazyLock<Duration> =
        std::sync::LazyLock::new(|| seconds_from_env("DEPLOY_NETWORK_TIMEOUT", 300));
    *T
}

/// Watchdog for commands that move images or repositories (`docker build`, `pull`, `push`,
/// `git clone`): 1 hour, or `DEPLOY_TRANSFER_TIMEOUT` seconds.
pub fn transfer_timeout() -> Duration {
    static T: std::sync::LazyLock<Duration> =
        std::sync::LazyLock::new(|| seconds_from_env("DEPLOY_TRANSFER_TIMEOUT", 3600));
    *T
}

/// Watchdog for a version probe (`helm version --short`, `gcloud version`): local commands that
/// answer in a second or two (gcloud and az start Python); one that hangs is stopped, and its
/// version reported unknown.
pub fn version_timeout() -> Duration {
    Duration::from_secs(60)
}

/// `cmd` as a version probe: a local read-only query whose exit status is not a failure (what it
/// printed is judged), with [`version_timeout`].
fn version_probe(cmd: Cmd) -> Cmd {
    cmd.local_probe().timeout(version_timeout())
}

/// Watchdog for a command given `--timeout <timeout>` (a Go duration) that may wait that long
/// `waits` times (helm waits for pre-upgrade hooks, the resources, then post-upgrade hooks, each
/// up to `--timeout`): all of it plus [`network_timeout`], so the tool's own timeout, which says
/// more, fires first. An unreadable duration gets the transfer watchdog.
pub fn waiting_watchdog(timeout: &str, waits: u32) -> Duration {
    match timeout.parse::<crate::config::duration::GoDuration>() {
        Ok(d) => d.duration().saturating_mul(waits) + network_timeout(),
        Err(_) => transfer_timeout(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Effect;

    /// Every command that talks to a network, with the watchdog it must have.
    fn network_commands() -> Vec<(Cmd, Duration)> {
        let net = network_timeout();
        let u = helm::Upgrade {
            release: "r",
            chart: "c".into(),
            namespace: "n",
            timeout: "10m",
            ..Default::default()
        };
        let hooks = Duration::from_secs(1800) + net;
        vec![
            (helm::dependency_update("c"), net),
            (helm::upgrade(&u), hooks),
            (helm::upgrade_dry_run(&u), net),
            (helm::get_metadata("r", "n"), net),
            (helm::get(helm::GetWhat::Manifest, "r", "n"), net),
            (helm::status("r", "n"), net),
            (helm::history("r", "n"), net),
            (helm::rollback("r", "n", Some(3), "10m"), hooks),
            (helm::uninstall("r", "n", "10m"), hooks),
            (
                kubectl::rollout_status("n", "d", "10m"),
                Duration::from_secs(600) + net,
            ),
            (kubectl::get_workloads("n", "deployments"), net),
            (kubectl::apply_doc("x", "d"), net),
            (kubectl::apply_url("u"), net),
            (kubectl::apply_tigera_operator("v"), net),
            (kubectl::patch_tigera_operator(), net),
            (helm::cert_manager("v"), net),
            (kubectl::version(), net),
            (kubectl::api_versions(), net),
            (kubectl::create_json("{}", "x"), net),
            (kubectl::replace_json("{}", "x"), net),
            (kubectl::get_lease("n", "l"), net),
            (kubectl::helm_release_records("n", "r"), net),
            (kubectl::delete_lease("n", "l"), net),
            (kubectl::create_namespace("n"), net),
            (docker::login("u", "p", None), net),
            (docker::manifest_inspect("i"), net),
            (docker::pull("i"), transfer_timeout()),
            (docker::build("i", ".", &[]), transfer_timeout()),
            (docker::push("i"), transfer_timeout()),
            (gcloud::activate_service_account("k"), net),
            (gcloud::get_credentials("c", "z", "p"), net),
            (gcloud::get_credentials_at("c", "z", "p"), net),
            (cloud::aws_update_kubeconfig("c", "r", &"k".into()), net),
            (cloud::az_login("a", "t", "f"), net),
            (cloud::az_aks_get_credentials("g", "c", &"k".into()), net),
            (sops::decrypt("f"), net),
            (git::clone_branch("u", "b", "d"), transfer_timeout()),
        ]
    }

    #[test]
    fn every_network_command_has_its_watchdog() {
        for (cmd, want) in network_commands() {
            assert_eq!(cmd.timeout, Some(want), "{cmd}");
        }
    }

    #[test]
    fn version_probes_are_local_read_only_probes_with_a_watchdog() {
        let probes = [
            (helm::version(), "helm version --short"),
            (
                kubectl::client_version(),
                "kubectl version --client -o json",
            ),
            (sops::version(), "sops --version --disable-version-check"),
            (gcloud::version(), "gcloud version"),
            (cloud::aws_version(), "aws --version"),
            (cloud::az_version(), "az version --output json"),
            (docker::version(), "docker --version"),
            (git::version(), "git --version"),
        ];
        for (cmd, line) in probes {
            assert_eq!(cmd.line(), line);
            assert_eq!(cmd.effect, Effect::LocalQuery, "{line}");
            assert!(cmd.probe, "{line}");
            assert_eq!(cmd.timeout, Some(version_timeout()), "{line}");
        }
    }

    #[test]
    fn a_waiting_watchdog_outlasts_the_tools_own_timeout() {
        let net = network_timeout();
        assert_eq!(waiting_watchdog("90s", 1), Duration::from_secs(90) + net);
        assert_eq!(
            waiting_watchdog("1h", 3),
            Duration::from_secs(3 * 3600) + net
        );
        assert_eq!(waiting_watchdog("soon", 3), transfer_timeout());
    }
}
