//! What helm's own records say of a release before its upgrade: its newest revision, that
//! revision's status, and the labels of its release Secret (our marker among them).

use serde_json::Value;

use super::outcome::Failure;
use crate::runner::{Reply, Runner};
use crate::tools::{helm, kubectl};

/// What the cluster says of a release before its upgrade.
pub enum Found {
    NotInstalled,
    Newest(Newest),
    /// A dry run: the cluster was not asked.
    NotAsked,
    /// An answer that could not be read: the upgrade is not marked (the safe side).
    Unreadable,
}

/// The newest revision of a release.
pub struct Newest {
    pub revision: Option<u64>,
    pub status: String,
    /// The labels of its release Secret, our marker among them (none when helm keeps its
    /// releases elsewhere: then no revision counts as ours, the safe side).
    pub labels: serde_json::Map<String, Value>,
}

/// Whether helm keeps its releases in Secrets (`HELM_DRIVER`: unset, empty, `secret` or
/// `secrets`, as helm reads it).
pub fn secrets_storage(helm_driver: Option<&str>) -> bool {
    matches!(helm_driver, None | Some("" | "secret" | "secrets"))
}

/// The newest revision, from the labels of helm's release Secrets (one `kubectl` read, the
/// Secrets `helm status` reads: not a helm process, so it takes no `--jobs` slot), or from
/// `helm status` when helm keeps its releases elsewhere.
pub fn newest(
    runner: &dyn Runner,
    namespace: &str,
    release: &str,
    helm_driver: Option<&str>,
) -> Result<Found, Failure> {
    if !secrets_storage(helm_driver) {
        return Ok(
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
        );
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
        return Ok(Found::Unreadable);
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

#[cfg(test)]
mod tests {
    use super::{Found, newest, secrets_storage};
    use crate::cmd::Cmd;
    use crate::runner::{Output, RecordingRunner, Reply};

    /// `newest` of release `r` when the command's reply is `stdout`: what it found, and the
    /// commands it ran.
    fn found(stdout: &'static str, driver: Option<&str>) -> (String, Vec<String>) {
        let runner = RecordingRunner::new(move |_: &Cmd| Ok(Reply::Ran(Output::ok(stdout))));
        let shown = match newest(&runner, "ns", "r", driver).unwrap() {
            Found::Newest(n) => format!(
                "{:?} {} {:?}",
                n.revision,
                n.status,
                n.labels.get("deploy-revision")
            ),
            Found::NotInstalled => "not installed".into(),
            Found::NotAsked => "not asked".into(),
            Found::Unreadable => "unreadable".into(),
        };
        (shown, runner.lines())
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
        // not what kubectl prints: the upgrade is not marked, rather than marked wrongly
        assert_eq!(found("deployment.apps/hub", None).0, "unreadable");
    }

    #[test]
    fn with_another_helm_storage_helm_status_tells_and_no_revision_has_our_marker() {
        let (shown, lines) = found(
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
