//! The plan JSON as written: each job's own reasons, the keys in 2i2c's order.

use super::*;
use crate::plan::reasons::Cause;

#[test]
fn each_job_gets_its_own_reasons_however_often_they_repeat() {
    // runs of equal reasons, reasons coming back after others, and more distinct ones than
    // are remembered
    let names = [
        "a", "b", "a", "a", "c", "d", "e", "f", "g", "h", "i", "j", "a", "b\"q",
    ];
    let job = |(i, n): (usize, &&str)| {
        let mut reasons = Reasons::default();
        reasons.add(Cause::HubFile, format!("config/clusters/c/{n}.yaml"));
        HubJob {
            provider: Provider::Gcp,
            cluster: "c".into(),
            hub: format!("hub-{i:02}"),
            reasons,
            live: None,
        }
    };
    let plan = Plan {
        prod: names.iter().enumerate().map(job).collect(),
        ..Plan::default()
    };
    let v: serde_json::Value = serde_json::from_str(&json(&plan)).unwrap();
    let prod = v["prod-jobs"].as_array().unwrap();
    assert_eq!(prod.len(), names.len());
    for (j, n) in prod.iter().zip(names) {
        let want = format!("values files changed: config/clusters/c/{n}.yaml");
        assert_eq!(j["reason_for_redeploy"], want.as_str());
        assert_eq!(j["choice_reason"], want.as_str());
    }
    assert_eq!(v["support-jobs"], serde_json::json!([]));
    let prod_only: serde_json::Value = serde_json::from_str(&prod_json(&plan)).unwrap();
    assert_eq!(prod_only, v["prod-jobs"]);
    // the keys in 2i2c's order
    assert!(json(&plan).starts_with(
        "{\"support-jobs\":[],\"staging-jobs\":[],\"prod-jobs\":[{\"provider\":\"gcp\",\
         \"cluster_name\":\"c\",\"hub_name\":\"hub-00\",\"reason_for_redeploy\":\"values"
    ));
}

#[test]
fn every_list_writes_its_keys_in_order_and_leaves_out_what_is_absent() {
    let mut r = Reasons::default();
    r.add(Cause::Label("deployer:deploy-support".into()), "");
    let support = SupportJob {
        provider: Provider::Aws,
        cluster: "c\u{e9}\"1".into(),
        reasons: r.clone(),
        live: Some("changes: 2 objects".into()),
    };
    let dropped = |kind, release: &str| DroppedJob {
        kind,
        provider: Provider::Azure,
        cluster: "c2".into(),
        release: release.into(),
        reasons: r.clone(),
        why: "no change".into(),
    };
    let plan = Plan {
        support: vec![support],
        live: true,
        dropped: vec![
            dropped(Kind::Support, "support"),
            dropped(Kind::Prod, "hub"),
        ],
        ..Plan::default()
    };
    let reason = "\"label deployer:deploy-support\"";
    assert_eq!(
        json(&plan),
        format!(
            "{{\"support-jobs\":[{{\"provider\":\"aws\",\"cluster_name\":\"c\u{e9}\\\"1\",\
             \"reason_for_redeploy\":{reason},\"choice_reason\":{reason},\
             \"live\":\"changes: 2 objects\"}}],\"staging-jobs\":[],\"prod-jobs\":[],\
             \"dropped-jobs\":[{{\"kind\":\"support\",\"provider\":\"azure\",\"cluster_name\":\"c2\",\
             \"reason_for_redeploy\":{reason},\"choice_reason\":{reason},\
             \"dropped_because\":\"no change\"}},{{\"kind\":\"prod\",\"provider\":\"azure\",\
             \"cluster_name\":\"c2\",\"hub_name\":\"hub\",\"reason_for_redeploy\":{reason},\
             \"choice_reason\":{reason},\"dropped_because\":\"no change\"}}]}}"
        )
    );
    // and it reads back
    let jobs = parse_plan_json("p.json", &json(&plan)).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].cluster, "c\u{e9}\"1");
}
