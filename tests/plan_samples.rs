//! Real 2i2c cluster files (tests/fixtures/2i2c) load unchanged and plan.

mod common;

use common::{Fixture, manifest_dir};

const SAMPLES: [&str; 4] = ["2i2c-aws-us", "2i2c-uk", "leap", "utoronto"];

fn samples_repo() -> Fixture {
    let f = Fixture::empty();
    for s in SAMPLES {
        let src = manifest_dir().join(format!("tests/fixtures/2i2c/clusters/{s}/cluster.yaml"));
        f.write(
            &format!("config/clusters/{s}/cluster.yaml"),
            std::fs::read_to_string(src).unwrap(),
        );
    }
    f
}

#[test]
fn all_four_samples_load_and_plan() {
    let f = samples_repo();
    let out = f
        .test()
        .args([
            "plan",
            "--format",
            "table",
            "--label",
            "deployer:deploy-hubs",
            "--label",
            "deployer:deploy-support",
        ])
        .no_calls()
        .run();
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn sample_values_files_plan_their_hubs() {
    let f = samples_repo();
    // the changed files exist (a path that exists nowhere plans nothing)
    for v in [
        "leap/daskhub-common.values.yaml",
        "utoronto/r-prod.values.yaml",
        "2i2c-aws-us/enc-support.secret.values.yaml",
        "2i2c-uk/lis-chart.yaml",
    ] {
        f.write(&format!("config/clusters/{v}"), "x: 1\n");
    }
    let out = f
        .test()
        .args([
            "plan",
            "--format",
            "json",
            "config/clusters/leap/daskhub-common.values.yaml",
            "./config/clusters/utoronto/r-prod.values.yaml",
            "config/clusters/2i2c-aws-us/enc-support.secret.values.yaml",
            "config/clusters/2i2c-uk/lis-chart.yaml",
        ])
        .no_calls()
        .run();
    insta::assert_snapshot!(out.stdout);
}
