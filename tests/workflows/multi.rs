//! The multi-cluster example with the workflows copied in as docs/ci.md says (no Cargo.toml):
//! pull requests plan from the merge base (issue 18, item 2), pushes from the `deployed/main` tag
//! so that a cancelled pending run loses nothing (item 3), the three stages and max-parallel.

use serde_json::Value;

use super::events;
use super::world::World;
use super::{deploy_calls, legs, tools_present};
use crate::common::{Fixture, plan_jobs};

fn multi() -> World {
    World::copied(Fixture::multi(), "multi-cluster")
}

fn plan_of(run: &super::runner::Run, kind: &str) -> Vec<String> {
    let text = run.job("plan").outputs[kind].as_str().unwrap().to_string();
    let v: Value = serde_json::from_str(&format!("{{\"{kind}\": {text}}}")).unwrap();
    plan_jobs(&v, kind)
}

#[test]
fn a_pull_request_is_planned_from_the_merge_base() {
    if !tools_present("a_pull_request_is_planned_from_the_merge_base") {
        return;
    }
    let mut w = multi();
    let fork_point = w.main_sha();
    w.checkout("physics", true);
    w.touch(
        &["config/clusters/alpha/physics.values.yaml"],
        "physics: more memory",
    );
    // main moves on after the branch point: binder changes there
    w.checkout("main", false);
    w.touch(
        &["config/clusters/gamma/binder.values.yaml"],
        "binder: a new image",
    );
    w.push_main();
    w.checkout("physics", false);
    let pr = w.open_pr(7, None);
    assert_ne!(pr["base"]["sha"].as_str(), Some(fork_point.as_str()));

    let run = w.run("deploy-hubs.yaml", &events::pull_request(&w, 7, "opened"));
    run.assert("success");
    let prod = plan_of(&run, "prod-jobs");
    assert_eq!(
        prod,
        ["alpha/physics: values files changed: config/clusters/alpha/physics.values.yaml"],
        "only what the PR changes"
    );
    for job in [
        "upgrade-support-and-staging",
        "filter",
        "upgrade-prod-hubs",
        "mark-deployed",
    ] {
        assert_eq!(run.result(job), "skipped", "a PR deploys nothing: {job}");
    }
    assert!(deploy_calls(&w.take_calls()).is_empty());
    let body =
        std::fs::read_to_string(w.artifacts(run.id).join("deployment-plan/comment-body.txt"))
            .unwrap();
    assert!(
        body.contains("physics") && !body.contains("binder"),
        "{body}"
    );
    // the rendered changes (plan --diff) are in the comment, the whole diff beside it
    assert!(body.contains("### Rendered changes"), "{body}");
    let whole =
        std::fs::read_to_string(w.artifacts(run.id).join("deployment-plan/deploy-diff.txt"))
            .unwrap();
    assert!(whole.contains("=== alpha/physics: "), "{whole}");

    // base.sha..head, what the workflow used to plan, would list binder too
    let old =
        w.f.test()
            .args(["plan", "--format", "json", "--base"])
            .arg(pr["base"]["sha"].as_str().unwrap())
            .args(["--head", pr["head"]["sha"].as_str().unwrap()])
            .run()
            .json();
    assert!(
        plan_jobs(&old, "prod-jobs")
            .iter()
            .any(|j| j.starts_with("gamma/binder"))
    );

    // a label re-plans the PR: the labeled event, with the labels of the PR
    let run = w.run("deploy-hubs.yaml", &w.label(7, "deployer:deploy-hubs"));
    run.assert("success");
    let prod = plan_of(&run, "prod-jobs");
    assert_eq!(prod.len(), 7, "every prod hub: {prod:#?}");
    assert!(
        prod.iter()
            .all(|j| j.ends_with("label deployer:deploy-hubs")),
        "{prod:#?}"
    );
}

#[test]
fn a_push_deploys_support_staging_then_prod_and_moves_the_tag() {
    if !tools_present("a_push_deploys_support_staging_then_prod_and_moves_the_tag") {
        return;
    }
    let mut w = multi();
    w.touch(
        &[
            "config/clusters/alpha/support.values.yaml",
            "config/clusters/alpha/staging.values.yaml",
            "config/clusters/alpha/prod.values.yaml",
            "config/clusters/gamma/prod.values.yaml",
        ],
        "alpha's support, staging and prod; gamma's prod",
    );
    w.vars.insert("DEPLOY_PROD_MAX_PARALLEL".into(), "3".into());
    let run = w.run("deploy-hubs.yaml", &w.push_main());
    run.assert("success");
    assert_eq!(
        legs(&run, "upgrade-support-and-staging", "cluster"),
        ["alpha"]
    );
    assert_eq!(
        legs(&run, "upgrade-prod-hubs", "job"),
        ["alpha/prod", "gamma/prod"]
    );
    assert_eq!(
        run.job("upgrade-prod-hubs").max_parallel,
        Some(Value::from(3))
    );
    assert_eq!(
        deploy_calls(&w.take_calls()),
        ["cert-manager", "support", "staging", "prod", "prod"],
        "support and staging (canary) first, then the prod hubs"
    );
    assert_eq!(w.tag("deployed/main"), Some(w.main_sha()));
}

#[test]
fn a_failed_staging_hub_keeps_its_clusters_prod_hubs_and_the_tag() {
    if !tools_present("a_failed_staging_hub_keeps_its_clusters_prod_hubs_and_the_tag") {
        return;
    }
    let mut w = multi();
    let before = w.main_sha();
    w.run("deploy-hubs.yaml", &w.push_main()).assert("success");
    assert_eq!(w.tag("deployed/main"), Some(before.clone()));
    w.touch(
        &["helm-charts/basehub/values.yaml"],
        "basehub: every basehub hub",
    );
    w.env
        .insert("FAKE_FAIL".into(), "--namespace staging ".into());
    let run = w.run("deploy-hubs.yaml", &w.push_main());
    run.assert("failure");
    assert_eq!(run.result("filter"), "success");
    let prod = legs(&run, "upgrade-prod-hubs", "job");
    assert!(
        prod.iter().all(|j| j.starts_with("gamma/")),
        "no prod hub of alpha or beta: {prod:?}"
    );
    assert_eq!(run.result("mark-deployed"), "skipped");
    assert_eq!(w.tag("deployed/main"), Some(before), "the tag stays");

    // fixed: the next push plans the failed run's changes again, and its own
    w.env.clear();
    w.take_calls();
    w.touch(&["config/clusters/gamma/binder.values.yaml"], "binder");
    let run = w.run("deploy-hubs.yaml", &w.push_main());
    run.assert("success");
    let prod = legs(&run, "upgrade-prod-hubs", "job");
    assert!(
        prod.contains(&"alpha/prod".to_string()) && prod.contains(&"gamma/binder".to_string()),
        "{prod:?}"
    );
    assert_eq!(w.tag("deployed/main"), Some(w.main_sha()));
}

#[test]
fn three_pushes_the_middle_run_cancelled_before_it_starts_lose_nothing() {
    if !tools_present("three_pushes_the_middle_run_cancelled_before_it_starts_lose_nothing") {
        return;
    }
    let mut w = multi();
    w.touch(
        &["config/clusters/alpha/physics.values.yaml"],
        "push 1: physics",
    );
    let one = w.push_main();
    assert!(w.trigger("deploy-hubs.yaml", &one).is_some());
    w.drain().pop().unwrap().assert("success");
    assert_eq!(
        deploy_calls(&w.take_calls()),
        ["staging", "physics"],
        "alpha's canary, physics"
    );
    assert_eq!(w.tag("deployed/main"), Some(one.sha.clone()));

    // two pushes while nothing runs: the second pending run replaces the first
    w.touch(
        &["config/clusters/gamma/binder.values.yaml"],
        "push 2: binder",
    );
    let two = w.push_main();
    let second = w.trigger("deploy-hubs.yaml", &two).unwrap();
    w.touch(
        &["config/clusters/beta/research.values.yaml"],
        "push 3: research",
    );
    let three = w.push_main();
    assert_eq!(
        three.payload["before"],
        two.sha.as_str(),
        "push 3's own range holds only research"
    );
    w.trigger("deploy-hubs.yaml", &three).unwrap();
    let runs = w.drain();
    assert_eq!(runs.len(), 1, "the middle run never starts");
    let cancelled = w.runs.iter().find(|r| r.id == second).unwrap();
    assert_eq!(cancelled.conclusion, "cancelled");
    assert!(cancelled.jobs.is_empty());

    let run = runs[0].assert("success");
    assert_eq!(run.event.sha, three.sha);
    assert_eq!(
        legs(run, "upgrade-prod-hubs", "job"),
        ["beta/research", "gamma/binder"]
    );
    let deployed = deploy_calls(&w.take_calls());
    assert!(
        deployed.contains(&"binder".into()) && deployed.contains(&"research".into()),
        "push 2's change and push 3's: {deployed:?}"
    );
    assert!(
        !deployed.contains(&"physics".into()),
        "push 1's was deployed already"
    );
    assert_eq!(w.tag("deployed/main"), Some(three.sha.clone()));
}

#[test]
fn validate_runs_on_pull_requests_in_both_layouts() {
    if !tools_present("validate_runs_on_pull_requests_in_both_layouts") {
        return;
    }
    let mut w = multi();
    w.checkout("feature", true);
    w.touch(&["config/clusters/beta/teaching.values.yaml"], "teaching");
    w.open_pr(4, None);
    let run = w.run("validate.yaml", &events::pull_request(&w, 4, "opened"));
    run.assert("success");

    // a PR touching no file validate reads does not run it
    w.checkout("main", false);
    w.checkout("docs", true);
    w.commit(&[("docs/notes.md", "notes\n")], "docs only");
    w.open_pr(5, None);
    assert!(
        w.trigger("validate.yaml", &events::pull_request(&w, 5, "opened"))
            .is_none()
    );

    // a broken cluster.yaml fails it
    w.commit(
        &[(
            "config/clusters/gamma/cluster.yaml",
            "name: gamma\nprovider: nowhere\n",
        )],
        "broken",
    );
    w.open_pr(5, None);
    let run = w.run("validate.yaml", &events::pull_request(&w, 5, "synchronize"));
    run.assert("failure");
    assert!(
        run.log().contains("config/clusters/gamma/cluster.yaml"),
        "{}",
        run.log()
    );
}
