//! comment-plan.yaml, fork-safe for real (issue 18, item 4): the PR comes from the workflow_run
//! event (its pull_requests, or for a fork the open PR whose head is the run's), never from the
//! artifact; only the bot's own marked comment is updated; a stale run comments nothing.

use super::events;
use super::tools_present;
use super::world::{REPO, World};
use crate::common::Fixture;

const MARKER: &str = "<!-- deployment-plan -->";

fn multi() -> World {
    World::copied(Fixture::multi(), "multi-cluster")
}

/// PR `n` from `fork` (or this repository) changing physics, and its deploy-hubs run.
fn planned_pr(w: &mut World, n: u64, fork: Option<&str>) -> super::runner::Run {
    w.checkout(&format!("pr-{n}"), true);
    w.touch(
        &["config/clusters/alpha/physics.values.yaml"],
        &format!("PR {n}"),
    );
    w.open_pr(n, fork);
    w.checkout("main", false);
    let run = w.run("deploy-hubs.yaml", &events::pull_request(w, n, "opened"));
    run.assert("success");
    run
}

fn bodies_on(w: &World, pr: u64) -> Vec<(String, String)> {
    w.comments()
        .iter()
        .filter(|c| c["issue_number"] == pr)
        .map(|c| {
            let login = c["user"]["login"].as_str().unwrap().to_string();
            (login, c["body"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn a_forged_artifact_cannot_choose_the_pr_of_a_fork() {
    if !tools_present("a_forged_artifact_cannot_choose_the_pr_of_a_fork") {
        return;
    }
    let mut w = multi();
    // another PR, the forged artifact's target, with a plan comment of the bot's
    let other = planned_pr(&mut w, 9, None);
    w.run("comment-plan.yaml", &events::workflow_run(&w, &other))
        .assert("success");
    let before_9 = bodies_on(&w, 9);
    assert_eq!(before_9.len(), 1);

    let run = planned_pr(&mut w, 7, Some("forker"));
    // on PR 7: someone else's comment and another app's, both carrying the marker
    w.add_comment(7, "someone", &format!("{MARKER}\nquoting the plan"));
    w.add_comment(7, "other-app[bot]", &format!("{MARKER}\nnot ours"));
    // the fork's run controls its artifact: it names PR 9 and says something else
    let art = w.artifacts(run.id).join("deployment-plan");
    std::fs::write(art.join("pr-number"), "9\n").unwrap();
    std::fs::write(
        art.join("comment-body.txt"),
        format!("{MARKER}\nforged for #9\n"),
    )
    .unwrap();

    let event = events::workflow_run(&w, &run);
    assert_eq!(
        event.payload["workflow_run"]["pull_requests"],
        serde_json::json!([])
    );
    let earlier = w.gh_calls().len();
    let comment = w.run("comment-plan.yaml", &event);
    comment.assert("success");
    assert_eq!(bodies_on(&w, 9), before_9, "PR 9 untouched");
    let on_7 = bodies_on(&w, 7);
    assert_eq!(on_7.len(), 3, "{on_7:#?}");
    assert_eq!(
        on_7[0],
        ("someone".into(), format!("{MARKER}\nquoting the plan"))
    );
    assert_eq!(
        on_7[1],
        ("other-app[bot]".into(), format!("{MARKER}\nnot ours"))
    );
    // the artifact is only ever the comment's text, on the run's own PR
    assert_eq!(
        on_7[2],
        (
            "github-actions[bot]".into(),
            format!("{MARKER}\nforged for #9")
        )
    );
    let calls = w.gh_calls()[earlier..].to_vec();
    assert!(
        calls.iter().all(|c| !c.contains("/9")),
        "nothing asked or written about PR 9: {calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.contains(&format!("repos/{REPO}/pulls")) && c.contains("head=forker:pr-7")),
        "the fork's PR is looked up by its head: {calls:#?}"
    );
}

#[test]
fn the_bots_comment_is_updated_on_each_push() {
    if !tools_present("the_bots_comment_is_updated_on_each_push") {
        return;
    }
    let mut w = multi();
    let run = planned_pr(&mut w, 7, None);
    let event = events::workflow_run(&w, &run);
    assert_eq!(
        event.payload["workflow_run"]["pull_requests"][0]["number"],
        7
    );
    w.run("comment-plan.yaml", &event).assert("success");
    let first = bodies_on(&w, 7);
    assert_eq!(first.len(), 1);
    assert!(first[0].1.starts_with(MARKER) && first[0].1.contains("physics"));

    // a second push to the PR: the same comment now lists climate too
    w.checkout("pr-7", false);
    w.touch(
        &["config/clusters/alpha/climate.values.yaml"],
        "climate too",
    );
    w.open_pr(7, None);
    w.checkout("main", false);
    let run = w.run(
        "deploy-hubs.yaml",
        &events::pull_request(&w, 7, "synchronize"),
    );
    run.assert("success");
    w.run("comment-plan.yaml", &events::workflow_run(&w, &run))
        .assert("success");
    let second = bodies_on(&w, 7);
    assert_eq!(second.len(), 1, "updated, not duplicated: {second:#?}");
    assert!(second[0].1.contains("climate") && second[0].1.contains("physics"));
    assert_eq!(
        w.comments()[0]["id"],
        w.comments()
            .iter()
            .find(|c| c["issue_number"] == 7)
            .unwrap()["id"]
    );
}

#[test]
fn a_stale_or_planless_run_comments_nothing() {
    if !tools_present("a_stale_or_planless_run_comments_nothing") {
        return;
    }
    let mut w = multi();
    let old = planned_pr(&mut w, 7, Some("forker"));
    // pushed again before the comment workflow ran: the old run's plan is not the PR's any more
    w.checkout("pr-7", false);
    w.touch(
        &["config/clusters/alpha/climate.values.yaml"],
        "climate too",
    );
    w.open_pr(7, Some("forker"));
    let run = w.run("comment-plan.yaml", &events::workflow_run(&w, &old));
    run.assert("success");
    assert!(w.comments().is_empty());
    assert!(
        run.log()
            .contains("no open pull request has forker/hub-ops@"),
        "{}",
        run.log()
    );

    // deploy-hubs at a legacy root uploads no plan: nothing to post, no failure
    let mut w = World::this_repo();
    w.checkout("feature", true);
    w.touch(&["hub-charts/ea-hub/values.yaml"], "ea-hub");
    w.open_pr(8, None);
    let run = w.run("deploy-hubs.yaml", &events::pull_request(&w, 8, "opened"));
    let comment = w.run("comment-plan.yaml", &events::workflow_run(&w, &run));
    comment.assert("success");
    assert!(w.comments().is_empty());
    assert!(
        comment.log().contains("uploaded no deployment plan"),
        "{}",
        comment.log()
    );
}
