//! What helm's own records say of a release before its upgrade: its newest revision, that
//! revision's status, and the labels of its release Secret (our marker among them).

use serde_json::Value;

use super::outcome::Failure;
use crate::runner::{Reply, Runner};
use crate::tools::{helm, kubectl};

/// What the cluster says of a release before its upgrade.
pub(super) enum Found {
    NotInstalled,
    Newest(Newest),
    /// A dry run: the cluster was not asked.
    NotAsked,
}

/// The newest revision of a release.
pub(super) struct Newest {
    pub revision: Option<u64>,
    pub status: String,
    /// The labels of its release Secret, our marker among them (none when helm keeps its
    /// releases elsewhere: then no revision counts as ours, the safe side).
    pub labels: serde_json::Map<String, Value>,
}

/// Whether helm keeps its releases in Secrets (`HELM_DRIVER`: unset, empty, `secret` or
/// `secrets`, as helm reads it).
fn secrets_storage(helm_driver: Option<&str>) -> bool {
    matches!(helm_driver, None | Some("" | "secret" | "secrets"))
}

/// The newest revision, from the labels of helm's release Secrets (one `kubectl` read, the
/// Secrets `helm status` reads: not a helm process, so it takes no `--jobs` slot), or from
/// `helm status` when helm keeps its releases elsewhere or kubectl's answer is not label maps
/// (a kubectl older than 1.19 prints `map[k:v]`).
pub(super) fn newest(
    runner: &dyn Runner,
    namespace: &str,
    release: &str,
    helm_driver: Option<&str>,
) -> Result<Found, Failure> {
    if !secrets_storage(helm_driver) {
        return helm_status(runner, namespace, release);
    }
    let cmd = kubectl::helm_release_records(namespace, release);
    let out = match runner
        .run(&cmd)
        .map_err(Failure::at("reading the release's records"))?
    {
        Reply::Ran(o) => o.stdout,
        Reply::NotRun => return Ok(Found::NotAsked),
    };
    // `{.items[*]...}` prints one map per Secret, separated by spaces
    let Ok(records) = serde_json::Deserializer::from_str(&out)
        .into_iter::<serde_json::Map<String, Value>>()
        .collect::<Result<Vec<_>, _>>()
    else {
        return helm_status(runner, namespace, release);
    };
    let revision = |labels: &serde_json::Map<String, Value>| {
        labels
            .get("version")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<u64>().ok())
    };
    Ok(
        match records.into_iter().max_by_key(|labels| revision(labels)) {
            None => Found::NotInstalled,
            Some(labels) => Found::Newest(Newest {
                revision: revision(&labels),
                status: labels
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                labels,
            }),
        },
    )
}

/// `helm status`: the newest revision and its status, without labels (then no revision counts
/// as ours, the safe side). Any failure counts as not installed, as helm's "release: not found".
fn helm_status(runner: &dyn Runner, namespace: &str, release: &str) -> Result<Found, Failure> {
    Ok(
        match runner
            .run(&helm::status(release, namespace))
            .map_err(Failure::at("helm status"))?
        {
            Reply::Ran(o) if o.success() => {
                let v: Value = serde_json::from_str(&o.stdout).unwrap_or_default();
                Found::Newest(Newest {
                    revision: v.pointer("/version").and_then(Value::as_u64),
                    status: v
                        .pointer("/info/status")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    labels: Default::default(),
                })
            }
            Reply::Ran(_) => Found::NotInstalled,
            Reply::NotRun => Found::NotAsked,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::{Found, newest, secrets_storage};
    use crate::cmd::Cmd;
    use crate::runner::{Output, RecordingRunner, Reply};

    /// `newest` of release `r` when kubectl prints `records` and helm status `status`: what it
    /// found, and the commands it ran.
    fn found_with(
        records: &'static str,
        status: &'static str,
        driver: Option<&str>,
    ) -> (String, Vec<String>) {
        let runner = RecordingRunner::new(move |c: &Cmd| {
            let out = if c.program == "kubectl" {
                records
            } else {
                status
            };
            Ok(Reply::Ran(Output::ok(out)))
        });
        let shown = match newest(&runner, "ns", "r", driver).unwrap() {
            Found::Newest(n) => format!(
                "{:?} {} {:?}",
                n.revision,
                n.status,
                n.labels.get("deploy-revision")
            ),
            Found::NotInstalled => "not installed".into(),
            Found::NotAsked => "not asked".into(),
        };
        (shown, runner.lines())
    }

    fn found(records: &'static str, driver: Option<&str>) -> (String, Vec<String>) {
        found_with(records, "", driver)
    }

    #[test]
    fn the_newest_revision_is_the_highest_number_whatever_the_listing_order() {
        // kubectl lists the Secrets by name: sh.helm.release.v1.r.v1, …v10, …v9
        let (shown, lines) = found(
            r#"{"name":"r","owner":"helm","status":"superseded","version":"1"} {"deploy-revision":"10","name":"r","owner":"helm","status":"pending-upgrade","version":"10"} {"name":"r","owner":"helm","status":"deployed","version":"9"}"#,
            None,
        );
        assert_eq!(shown, r#"Some(10) pending-upgrade Some(String("10"))"#);
        assert_eq!(
            lines,
            [
                "kubectl -n ns get secret -l owner=helm,name=r -o 'jsonpath={.items[*].metadata.labels}'"
            ]
        );
        assert_eq!(found("", None).0, "not installed");
        assert_eq!(found("\n", None).0, "not installed");
        // not label maps (a kubectl before 1.19 prints `map[k:v]`): helm status tells
        let (shown, lines) = found_with(
            "map[name:r owner:helm status:pending-upgrade version:3]",
            r#"{"version":3,"info":{"status":"pending-upgrade"}}"#,
            None,
        );
        assert_eq!(shown, "Some(3) pending-upgrade None");
        assert_eq!(lines[1], "helm status r --namespace ns -o json");
    }

    #[test]
    fn with_another_helm_storage_helm_status_tells_and_no_revision_has_our_marker() {
        let (shown, lines) = found_with(
            "",
            r#"{"version":7,"info":{"status":"pending-upgrade"}}"#,
            Some("configmap"),
        );
        assert_eq!(shown, "Some(7) pending-upgrade None");
        assert_eq!(lines, ["helm status r --namespace ns -o json"]);
    }

    #[test]
    fn helm_keeps_releases_in_secrets_unless_its_driver_says_otherwise() {
        for driver in [None, Some(""), Some("secret"), Some("secrets")] {
            assert!(secrets_storage(driver), "{driver:?}");
        }
        for driver in ["configmap", "configmaps", "memory", "sql", "Secret"] {
            assert!(!secrets_storage(Some(driver)), "{driver}");
        }
    }
}
