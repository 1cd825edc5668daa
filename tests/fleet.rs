//! `deploy status` against the fake tools: `helm get metadata` answers from installed releases
//! written into the fake's state (tests/fake-tools/fake-tool).

mod common;

use common::Fixture;
use serde_json::json;

fn installed(f: &Fixture, release: &str, revision: u64, status: &str) {
    let dir = f.fake.join("live").join(release);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = json!({
        "name": release, "namespace": release, "revision": revision, "status": status,
        "chart": "basehub", "version": "0.1.0", "appVersion": "4.1.5",
        "deployedAt": "2026-11-30T01:02:03Z",
    });
    std::fs::write(dir.join("metadata.json"), meta.to_string()).unwrap();
}

#[test]
fn status_says_what_is_deployed_where_and_what_is_pending() {
    let f = Fixture::multi();
    installed(&f, "staging", 4, "pending-upgrade");
    installed(&f, "prod", 7, "deployed");
    installed(&f, "physics", 2, "failed");
    // climate and support are not installed
    let out = f.test().args(["status", "alpha"]).run();
    insta::assert_snapshot!("status_table", out.stdout);
    // it only reads: credentials, then one query per release
    let helm: Vec<&String> = out.calls.iter().filter(|c| c.starts_with("helm")).collect();
    assert_eq!(helm.len(), 5, "{helm:#?}");
    assert!(
        helm.iter().all(|c| c.starts_with("helm get metadata ")),
        "{helm:#?}"
    );

    let v = f
        .test()
        .args(["status", "alpha", "--format", "json"])
        .run()
        .json();
    let staging = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == "staging")
        .unwrap();
    assert_eq!(
        staging,
        &json!({
            "cluster": "alpha", "release": "staging", "kind": "staging", "installed": true,
            "revision": 4, "chart": "basehub 0.1.0", "app_version": "4.1.5",
            "status": "pending-upgrade", "deployed_at": "2026-11-30T01:02:03Z", "pending": true
        })
    );
    let support = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == "support")
        .unwrap();
    assert_eq!(
        (&support["installed"], &support["status"]),
        (&json!(false), &json!("not installed"))
    );

    let md = f
        .test()
        .args(["status", "alpha", "--format", "markdown"])
        .run();
    assert!(
        md.stdout.starts_with("| CLUSTER | RELEASE | KIND |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains(
            "| alpha | staging | staging | 4 | basehub 0.1.0 | 4.1.5 | pending-upgrade (PENDING) |"
        ),
        "{}",
        md.stdout
    );
}

#[test]
fn status_of_an_unreachable_cluster_says_why_and_exits_1() {
    let f = Fixture::multi();
    let out = f
        .test()
        .args(["status", "alpha", "--format", "json"])
        .env("FAKE_FAIL", "gcloud container clusters get-credentials")
        .status(1)
        .run();
    let v = out.json();
    assert!(v.as_array().unwrap().iter().all(|r| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cluster credentials failed"))
    }));
    assert!(
        out.stderr.contains("release(s) could not be read"),
        "{}",
        out.stderr
    );
}
