//! The shipped CI files parse, and every `deploy` invocation in them is accepted by the real CLI
//! (run with `--dry-run` in a copy of the example repo). What the workflows do when they run is
//! tested in tests/workflows/.

mod common;

use common::{Fixture, manifest_dir};
use serde_yaml::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(manifest_dir().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `deploy …` line in the shell strings under `keys`, in document order.
fn deploy_lines(v: &Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let is_script = k.as_str().is_some_and(|k| keys.contains(&k));
                if is_script {
                    let scripts: Vec<&str> = match val {
                        Value::String(s) => vec![s.as_str()],
                        Value::Sequence(seq) => seq.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    for s in scripts {
                        for line in s
                            .lines()
                            .map(str::trim)
                            .filter(|l| l.starts_with("deploy "))
                        {
                            out.push(line.to_string());
                        }
                    }
                } else {
                    deploy_lines(val, keys, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| deploy_lines(x, keys, out)),
        _ => {}
    }
}

fn run_dry(f: &Fixture, line: &str) {
    let line = line.split(" || ").next().unwrap();
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|a| a.trim_matches('"').to_string())
        .collect();
    f.test()
        .context(format!("`{line} --dry-run`"))
        .args(&args)
        .arg("--dry-run")
        // a dry run starts no tool
        .no_calls()
        .run();
}

#[test]
fn travis_invocations_parse_with_the_real_cli() {
    let travis = load(".travis.yml");
    let jobs = travis["jobs"]["include"]
        .as_sequence()
        .expect("jobs.include");
    let mut pr = Vec::new();
    let mut push = Vec::new();
    for job in jobs {
        let cond = job["if"].as_str().unwrap_or_default();
        let target = if cond.contains("pull_request") {
            &mut pr
        } else {
            &mut push
        };
        deploy_lines(job, &["script", "before_script"], target);
    }
    assert_eq!(
        pr,
        [
            "deploy --no-setup --build staginghub",
            "deploy --no-setup --build ea-hub",
            "deploy --no-setup --build nbgrader-hub"
        ]
    );
    assert_eq!(
        push[0], "deploy --build --push --deploy staginghub || travis_terminate 1",
        "staginghub first, and it gates the rest"
    );
    let f = Fixture::example();
    for line in pr.iter().chain(&push) {
        run_dry(&f, line);
    }
}

/// The shell lines of every `run:` under `v`, with `\` continuations joined.
fn run_lines(v: &Value) -> Vec<String> {
    let mut scripts = Vec::new();
    deploy_scripts(v, &mut scripts);
    let mut out = Vec::new();
    for s in scripts {
        let joined = s.replace("\\\n", " ");
        out.extend(
            joined
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    out
}

fn deploy_scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                match (k.as_str(), val) {
                    (Some("run"), Value::String(s)) => out.push(s.clone()),
                    _ => deploy_scripts(val, out),
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| deploy_scripts(x, out)),
        _ => {}
    }
}

#[test]
fn github_workflow_invocations_parse_with_the_real_cli() {
    // the charts come from `deploy plan` (tests/workflows runs the plan itself); each chart
    // command line is accepted for every chart of the example
    let wf = load(".github/workflows/legacy-deploy.yaml");
    let f = Fixture::example();
    let charts = ["staginghub", "ea-hub", "nbgrader-hub", "monitoring"];
    let mut seen = Vec::new();
    for line in run_lines(&wf["jobs"]) {
        if !line.starts_with("deploy ") || line.starts_with("deploy plan ") {
            continue;
        }
        seen.push(line.clone());
        for chart in charts {
            let l = line
                .replace("\"$CHART\"", chart)
                .replace("\"$chart\"", chart);
            assert!(!l.contains('$'), "{l}");
            run_dry(&f, &l);
        }
    }
    assert_eq!(
        seen,
        [
            "deploy --no-setup --build \"$CHART\"",
            "deploy --build --push --deploy \"$chart\"",
            "deploy --build --push --deploy \"$CHART\""
        ],
        "PR builds, the staging charts, the other charts"
    );
    assert!(
        run_lines(&wf["jobs"]["plan"])
            .iter()
            .any(|l| l.starts_with("deploy plan --format github --comment-body "))
    );
    // staging gates the other charts
    let needs = &wf["jobs"]["deploy-charts"]["needs"];
    assert!(
        needs
            .as_sequence()
            .unwrap()
            .iter()
            .any(|n| n == "deploy-staging")
    );
    let cond = wf["jobs"]["deploy-charts"]["if"].as_str().unwrap();
    assert!(
        cond.contains("needs.deploy-staging.result == 'success'"),
        "{cond}"
    );
}

fn workflows() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(manifest_dir().join(".github/workflows")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        out.push((name.clone(), load(&format!(".github/workflows/{name}"))));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn workflows_pin_actions_limit_permissions_and_time_out() {
    let all = workflows();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    // the hub-ops workflows (docs/ci.md), and whatever this repository runs for itself
    for w in [
        "comment-plan.yaml",
        "deploy-hubs.yaml",
        "legacy-deploy.yaml",
        "validate.yaml",
    ] {
        assert!(names.contains(&w), "{w} missing: {names:?}");
    }
    for (name, wf) in &all {
        assert!(
            wf["permissions"].is_mapping() || wf["permissions"].is_null(),
            "{name}"
        );
        for (job_name, job) in wf["jobs"].as_mapping().unwrap() {
            let job_name = job_name.as_str().unwrap();
            assert!(
                job["timeout-minutes"].as_u64().is_some(),
                "{name}/{job_name} has no timeout"
            );
            // least privilege: every job says what its token may do; in the hub-ops workflows
            // only moving the deployed tag writes contents
            let perms = job["permissions"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name}/{job_name}: no permissions"));
            let hub_ops = [
                "comment-plan.yaml",
                "deploy-hubs.yaml",
                "legacy-deploy.yaml",
                "validate.yaml",
            ];
            if hub_ops.contains(&name.as_str())
                && perms.get("contents").and_then(Value::as_str) == Some("write")
            {
                assert_eq!(job_name, "mark-deployed", "{name}");
                assert_eq!(perms.len(), 1);
            }
            for step in job["steps"].as_sequence().unwrap() {
                if let Some(uses) = step["uses"].as_str() {
                    if uses == "./.github/actions/install-deploy" {
                        continue;
                    }
                    let sha = uses.split('@').nth(1).unwrap_or("");
                    assert!(
                        sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                        "{name}/{job_name}: {uses} is not pinned to a commit"
                    );
                }
            }
            // secrets only in deploy jobs, which run in a protected environment
            let text = serde_yaml::to_string(job).unwrap();
            if text.contains("secrets.") {
                assert!(
                    job["environment"].as_str().is_some(),
                    "{name}/{job_name} uses secrets outside an environment"
                );
            }
        }
    }
}

#[test]
fn deploy_hubs_runs_the_three_stages_and_never_cancels_a_deploy() {
    let wf = load(".github/workflows/deploy-hubs.yaml");
    // pushes never cancel a running deploy; a newer PR event cancels the older plan
    assert_eq!(
        wf["concurrency"]["cancel-in-progress"].as_str(),
        Some("${{ github.event_name == 'pull_request' }}")
    );
    let jobs = &wf["jobs"];
    assert_eq!(
        jobs["upgrade-support-and-staging"]["needs"].as_str(),
        Some("plan")
    );
    assert_eq!(jobs["upgrade-prod-hubs"]["needs"].as_str(), Some("filter"));
    let mut lines = Vec::new();
    deploy_lines(jobs, &["run"], &mut lines);
    let joined = lines.join("\n");
    for cmd in [
        "deploy plan --format github",
        "deploy upgrade-support",
        "deploy upgrade-hub",
        "deploy filter-prod",
    ] {
        assert!(joined.contains(cmd), "{cmd} missing");
    }
    // the commands the matrix jobs run are accepted by the real CLI
    let f = Fixture::multi();
    for args in [
        vec![
            "upgrade-support",
            "alpha",
            "--report",
            "results/support-alpha.json",
            "--dry-run",
        ],
        vec![
            "upgrade-hub",
            "alpha",
            "staging",
            "--report",
            "results/staging-alpha-staging.json",
            "--dry-run",
        ],
        vec![
            "plan",
            "--format",
            "github",
            "--base",
            "HEAD",
            "--head",
            "HEAD",
            "--label",
            "deployer:deploy-hubs",
        ],
    ] {
        std::fs::create_dir_all(f.root.join("results")).unwrap();
        f.test().args(&args).run();
    }
    f.test()
        .write("prod.json", "[]")
        .args([
            "filter-prod",
            "--plan",
            "prod.json",
            "--failed-clusters",
            "",
        ])
        .run();
}

#[test]
fn the_comment_workflow_never_runs_pr_code() {
    let wf = load(".github/workflows/comment-plan.yaml");
    let text = std::fs::read_to_string(manifest_dir().join(".github/workflows/comment-plan.yaml"))
        .unwrap();
    assert!(
        !text.contains("actions/checkout"),
        "no checkout in the privileged workflow"
    );
    let steps = wf["jobs"]["comment"]["steps"].as_sequence().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert_eq!(uses.len(), 1);
    assert!(uses[0].starts_with("actions/download-artifact@"));
    // the PR comes from the event, the artifact is only the comment's text
    assert!(!text.contains("pr-number"));
    assert!(text.contains("github.event.workflow_run.pull_requests.*.number"));
    assert!(text.contains("github.event.workflow_run.head_sha"));
    assert!(text.contains("comment-body.txt"));
    assert!(text.contains("<!-- deployment-plan -->"));
    assert!(
        text.contains(".user.login == $bot"),
        "only the bot's own comment"
    );
    let perms = &wf["jobs"]["comment"]["permissions"];
    assert_eq!(perms["pull-requests"].as_str(), Some("write"));
    assert_eq!(perms["actions"].as_str(), Some("read"));
    assert_eq!(perms.as_mapping().unwrap().len(), 2);
}
