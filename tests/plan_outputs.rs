//! Output formats of `deploy plan`: Markdown for PR comments, GitHub step outputs, the legacy
//! layout's plan.

mod common;

use common::{Fixture, Test, manifest_dir};

/// `deploy -C examples/multi-cluster`, which plans without starting any tool.
fn example() -> Test<'static> {
    Test::empty()
        .arg("-C")
        .arg(manifest_dir().join("examples/multi-cluster"))
        .no_calls()
}

#[test]
fn markdown_plan_for_a_pr_comment() {
    let out = example()
        .args([
            "plan",
            "--format",
            "markdown",
            "helm-charts/daskhub/values.yaml",
            "config/clusters/alpha/support.values.yaml",
            "config/clusters/gamma/prod.values.yaml",
            "config/clusters/zeta/x.yaml",
        ])
        .run();
    let md = out.stdout;
    assert!(md.starts_with("<!-- deployment-plan -->\n"));
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_says_when_nothing_is_upgraded() {
    example()
        .args(["plan", "--format", "markdown", "docs/README.md"])
        .stdout("<!-- deployment-plan -->\n## Deployment plan\n\nNo hubs will be upgraded.\n")
        .run();
}

#[test]
fn github_format_writes_step_outputs_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (output, summary) = (tmp.path().join("output"), tmp.path().join("summary"));
    std::fs::write(&output, "earlier=1\n").unwrap();
    let out = example()
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "plan",
            "--format",
            "github",
            "config/clusters/beta/research.values.yaml",
            "helm-charts/support/values.yaml",
        ])
        .run();
    let json = out.json();

    // what the workflow reads: one `key=<json list>` line per job kind, appended
    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "earlier=1");
    assert_eq!(lines.len(), 4, "{written}");
    for (line, key) in lines[1..]
        .iter()
        .zip(["support-jobs", "staging-jobs", "prod-jobs"])
    {
        let (k, v) = line.split_once('=').unwrap();
        assert_eq!(k, key);
        let parsed: serde_json::Value = serde_json::from_str(v).unwrap();
        assert_eq!(parsed, json[key], "{key} output equals the JSON printed");
    }
    let prod: serde_json::Value =
        serde_json::from_str(lines[3].split_once('=').unwrap().1).unwrap();
    assert_eq!(prod[0]["cluster_name"], "beta");
    assert_eq!(prod[0]["hub_name"], "research");
    assert_eq!(prod[0]["provider"], "aws");
    let staging: serde_json::Value =
        serde_json::from_str(lines[2].split_once('=').unwrap().1).unwrap();
    assert_eq!(
        staging.as_array().unwrap().len(),
        2,
        "both beta staging hubs as canaries"
    );
    let s = std::fs::read_to_string(&summary).unwrap();
    assert!(s.starts_with("<!-- deployment-plan -->"), "{s}");
    assert!(s.contains("| beta | research | aws |"), "{s}");
}

#[test]
fn github_format_writes_the_comment_body_and_both_reason_names() {
    let f = Fixture::empty();
    let example = manifest_dir().join("examples/multi-cluster");
    let changed = "config/clusters/beta/research.values.yaml";
    let plan = |args: &[&str]| {
        f.test()
            .arg("-C")
            .arg(&example)
            .arg("plan")
            .args(args)
            .arg(changed)
            .no_calls()
            .run()
    };
    // by default in the current folder, under the name 2i2c's workflow uploads
    let json = plan(&["--format", "github"]).json();
    let markdown = plan(&["--format", "markdown"]).stdout;
    let body = std::fs::read_to_string(f.root.join("comment-body.txt")).unwrap();
    assert_eq!(body, markdown);
    assert!(body.starts_with("<!-- deployment-plan -->\n"), "{body}");
    // each job's reason also under 2i2c's newer name
    for kind in ["staging-jobs", "prod-jobs"] {
        for job in json[kind].as_array().unwrap() {
            assert_eq!(job["choice_reason"], job["reason_for_redeploy"], "{job}");
            assert!(!job["choice_reason"].as_str().unwrap().is_empty());
        }
    }
    // anywhere with --comment-body, with any format
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("body.md");
    plan(&[
        "--format",
        "json",
        "--comment-body",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), markdown);
}

#[test]
fn a_plan_with_both_reason_names_or_only_2i2cs_is_read_back() {
    let f = Fixture::multi();
    f.write(
        "plan.json",
        r#"{"prod-jobs":[{"provider":"aws","cluster_name":"beta","hub_name":"research","choice_reason":"theirs"}]}"#,
    );
    let out = f
        .test()
        .args(["filter-prod", "--plan", "plan.json"])
        .no_calls()
        .run();
    let kept: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(kept[0]["reason_for_redeploy"], "theirs");
    assert_eq!(kept[0]["choice_reason"], "theirs");
}

#[test]
fn github_format_without_the_variables_just_prints_json() {
    example()
        .args(["plan", "--format", "github", "README.md"])
        .stdout("{\"support-jobs\":[],\"staging-jobs\":[],\"prod-jobs\":[]}\n")
        .run();
}

#[test]
fn legacy_layout_plans_charts_staging_first() {
    let f = Fixture::example();
    let run = |args: &[&str]| {
        let out = f.test().arg("plan").args(args).no_calls().run();
        (out.stdout, out.stderr)
    };
    let (json, _) = run(&[
        "--format",
        "json",
        "user-images/ea-hub/Dockerfile",
        "secrets/nbgrader-hub.yaml",
        "hub-charts/staginghub/values.yaml",
        "monitoring/values.yaml",
        "README.md",
    ]);
    insta::assert_snapshot!("legacy_json", json);
    let (table, _) = run(&["--format", "table", "base-charts/jupyterhub/values.yaml"]);
    insta::assert_snapshot!("legacy_base_chart_table", table);
    let (json, stderr) = run(&["user-images/unknown-hub/Dockerfile"]);
    assert_eq!(json, "{\"legacy-jobs\":[]}\n");
    assert!(
        stderr.contains("user-images/unknown-hub/Dockerfile: belongs to no chart"),
        "{stderr}"
    );
    let (json, _) = run(&["deploy.yaml"]);
    assert!(
        json.starts_with("{\"legacy-jobs\":[{\"chart\":\"staginghub\""),
        "{json}"
    );
    let (md, _) = run(&["--format", "markdown", "--label", "deployer:deploy-hubs"]);
    insta::assert_snapshot!("legacy_markdown", md);
}
