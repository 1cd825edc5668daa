//! This repository's root as it is (the legacy layout): deploy-hubs.yaml passes and deploys
//! nothing there (issue 18, item 1), legacy-deploy.yaml takes its charts from `deploy plan`.

use serde_json::Value;

use super::events;
use super::world::World;
use super::{deploy_calls, legs, tools_present};
use crate::common::Fixture;

#[test]
fn deploy_hubs_passes_at_this_repos_root_and_deploys_nothing() {
    if !tools_present("deploy_hubs_passes_at_this_repos_root_and_deploys_nothing") {
        return;
    }
    let mut w = World::this_repo();
    w.checkout("feature", true);
    w.touch(&["hub-charts/ea-hub/values.yaml"], "ea-hub: a change");
    w.open_pr(7, None);
    let run = w.run("deploy-hubs.yaml", &events::pull_request(&w, 7, "opened"));
    run.assert("success");
    assert_eq!(run.job("plan").outputs["layout"], "legacy");
    for job in [
        "upgrade-support-and-staging",
        "filter",
        "upgrade-prod-hubs",
        "mark-deployed",
    ] {
        assert_eq!(run.result(job), "skipped", "{job}");
    }
    // the plan is in the summary, and no comment artifact: legacy-deploy.yaml posts this layout's
    assert!(run.summary().contains("ea-hub"), "{}", run.summary());
    assert!(!w.artifacts(run.id).join("deployment-plan").exists());

    w.checkout("main", false);
    w.touch(&["hub-charts/ea-hub/values.yaml"], "ea-hub: on main");
    let run = w.run("deploy-hubs.yaml", &w.push_main());
    run.assert("success");
    assert_eq!(run.result("mark-deployed"), "skipped");
    assert_eq!(
        w.tag("deployed/main"),
        None,
        "deploy-hubs deployed nothing here"
    );
    assert!(deploy_calls(&w.take_calls()).is_empty());
}

#[test]
fn a_legacy_pull_request_builds_only_the_changed_images() {
    if !tools_present("a_legacy_pull_request_builds_only_the_changed_images") {
        return;
    }
    let mut w = World::this_repo();
    w.checkout("feature", true);
    w.touch(
        &[
            "user-images/ea-hub/Dockerfile",
            "hub-charts/nbgrader-hub/values.yaml",
        ],
        "a new package for ea-hub; nbgrader-hub values",
    );
    w.open_pr(8, None);
    let run = w.run("legacy-deploy.yaml", &events::pull_request(&w, 8, "opened"));
    run.assert("success");
    assert_eq!(legs(&run, "build-images", "chart"), ["ea-hub"]);
    for job in ["deploy-staging", "deploy-charts", "mark-deployed"] {
        assert_eq!(run.result(job), "skipped", "{job}");
    }
    let calls = w.take_calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("docker build") && c.contains("ea-k8s-user-ea-hub"))
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("docker push") || c.starts_with("helm ")),
        "a PR pushes and deploys nothing: {calls:#?}"
    );
    // the plan, for comment-plan.yaml: both charts, with their reasons
    let body =
        std::fs::read_to_string(w.artifacts(run.id).join("deployment-plan/comment-body.txt"))
            .unwrap();
    assert!(body.starts_with("<!-- deployment-plan -->"), "{body}");
    assert!(
        body.contains("user image changed: user-images/ea-hub/Dockerfile"),
        "{body}"
    );
    assert!(body.contains("nbgrader-hub"), "{body}");

    let comment = w.run("comment-plan.yaml", &events::workflow_run(&w, &run));
    comment.assert("success");
    let posted = w.comments();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0]["issue_number"], 8);
    assert_eq!(posted[0]["user"]["login"], "github-actions[bot]");
    assert_eq!(posted[0]["body"].as_str().unwrap(), body.trim_end());
}

#[test]
fn a_legacy_push_deploys_staging_first_then_the_planned_charts() {
    if !tools_present("a_legacy_push_deploys_staging_first_then_the_planned_charts") {
        return;
    }
    let mut w = World::this_repo();
    w.touch(
        &[
            "hub-charts/ea-hub/values.yaml",
            "hub-charts/staginghub/values.yaml",
        ],
        "staginghub and ea-hub values",
    );
    let run = w.run("legacy-deploy.yaml", &w.push_main());
    run.assert("success");
    assert_eq!(legs(&run, "deploy-charts", "chart"), ["ea-hub"]);
    assert_eq!(run.job("deploy-charts").max_parallel, Some(Value::from(10)));
    let calls = w.take_calls();
    let upgrades = deploy_calls(&calls);
    assert_eq!(upgrades, ["staginghub", "ea-hub"], "{calls:#?}");
    // the package lists are fetched before git-crypt is installed, then the secrets unlocked
    let pos = |p: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(p))
            .unwrap_or_else(|| panic!("no `{p}`: {calls:#?}"))
    };
    assert!(pos("apt-get update") < pos("apt-get install -y -qq git-crypt"));
    assert!(pos("git-crypt unlock") < pos("helm upgrade"));
    assert_eq!(w.tag("deployed/main"), Some(w.main_sha()));

    // the next push plans from the tag: only what changed since
    w.touch(
        &["hub-charts/nbgrader-hub/values.yaml"],
        "nbgrader-hub values",
    );
    let run = w.run("legacy-deploy.yaml", &w.push_main());
    run.assert("success");
    assert_eq!(run.result("deploy-staging"), "skipped");
    assert_eq!(deploy_calls(&w.take_calls()), ["nbgrader-hub"]);
    assert_eq!(w.tag("deployed/main"), Some(w.main_sha()));
}

#[test]
fn the_legacy_workflows_work_copied_into_a_repo_without_cargo_toml() {
    if !tools_present("the_legacy_workflows_work_copied_into_a_repo_without_cargo_toml") {
        return;
    }
    let mut w = World::copied(Fixture::example(), "legacy");
    w.checkout("feature", true);
    w.touch(&["hub-charts/ea-hub/values.yaml"], "ea-hub values");
    w.open_pr(3, None);
    let pr = events::pull_request(&w, 3, "opened");
    w.run("legacy-deploy.yaml", &pr).assert("success");
    w.run("validate.yaml", &pr).assert("success");
    w.checkout("main", false);
    w.touch(&["hub-charts/ea-hub/values.yaml"], "ea-hub values");
    w.run("legacy-deploy.yaml", &w.push_main())
        .assert("success");
    assert_eq!(deploy_calls(&w.take_calls()), ["ea-hub"]);
}
