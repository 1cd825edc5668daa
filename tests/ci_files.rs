//! The shipped CI files parse, and every `deploy` invocation in them is accepted by the real CLI
//! (run with `--dry-run` in a copy of the example repo).

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

#[test]
fn github_workflow_invocations_parse_with_the_real_cli() {
    let wf = load(".github/workflows/legacy-deploy.yaml");
    let f = Fixture::example();
    let mut seen = 0;
    for (name, job) in wf["jobs"].as_mapping().unwrap() {
        let charts: Vec<String> = job["strategy"]["matrix"]["chart"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let mut lines = Vec::new();
        deploy_lines(job, &["run"], &mut lines);
        for line in lines {
            let expanded: Vec<String> = if line.contains("\"$CHART\"") {
                assert!(!charts.is_empty(), "{name:?} uses $CHART without a matrix");
                charts
                    .iter()
                    .map(|c| line.replace("\"$CHART\"", c))
                    .collect()
            } else {
                vec![line]
            };
            for l in expanded {
                run_dry(&f, &l);
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 3 + 1 + 3, "PR builds, staging deploy, other hubs");
    // staging gates production
    assert_eq!(
        wf["jobs"]["deploy-hubs"]["needs"].as_str(),
        Some("deploy-staging")
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
    assert_eq!(
        all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [
            "comment-plan.yaml",
            "deploy-hubs.yaml",
            "legacy-deploy.yaml",
            "validate.yaml"
        ]
    );
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
            for step in job["steps"].as_sequence().unwrap() {
                if let Some(uses) = step["uses"].as_str() {
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
    assert_eq!(
        wf["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
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
    assert!(steps.iter().all(|s| s["run"].is_null()), "no shell steps");
    assert!(
        text.contains("^[0-9]+$"),
        "the PR number is checked to be an integer"
    );
    assert!(text.contains("<!-- deployment-plan -->"));
    let perms = &wf["jobs"]["comment"]["permissions"];
    assert_eq!(perms["pull-requests"].as_str(), Some("write"));
    assert_eq!(perms.as_mapping().unwrap().len(), 2);
}
