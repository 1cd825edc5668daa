//! The command line helps the person at the keyboard: planning from nothing is refused with the
//! ways to say what changed, typos get a did-you-mean, the repo is found from a subfolder, help
//! shows examples, `gitops render --out -` prints, and completions know the repo's names.

mod common;

use common::{Fixture, Test, manifest_dir};

#[test]
fn plan_and_run_without_a_change_source_say_how_to_give_one() {
    for (cmd, extra) in [("plan", None), ("run", Some("deploy run --plan plan.json"))] {
        let out = Test::multi()
            .context(cmd)
            .arg(cmd)
            .status(2)
            .no_calls()
            .stderr_contains("nothing says what changed")
            .stderr_contains("--base")
            .stderr_contains("--changed-from")
            .stderr_contains("--label deployer:deploy-hubs")
            .run();
        if let Some(e) = extra {
            assert!(out.stderr.contains(e), "{}", out.stderr);
        }
    }
    // a label alone is a source: every hub
    Test::multi()
        .args([
            "plan",
            "--format",
            "json",
            "--label",
            "deployer:deploy-hubs",
        ])
        .no_calls()
        .stdout_contains("\"prod-jobs\":[{")
        .run();
}

#[test]
fn a_mistyped_chart_or_subcommand_gets_a_did_you_mean() {
    Test::example()
        .args(["staginhub", "--no-setup"])
        .status(2)
        .no_calls()
        .stderr_contains("unknown chart `staginhub`; valid charts: staginghub, ea-hub")
        .stderr_contains("Did you mean the chart `staginghub`?")
        .run();
    Test::example()
        .arg("pln")
        .status(2)
        .no_calls()
        .stderr_contains("Did you mean the subcommand `deploy plan`?")
        .run();
    Test::multi()
        .arg("upgrade-hubs")
        .status(2)
        .no_calls()
        .stderr_contains("is a multi-cluster repo")
        .stderr_contains("Did you mean the subcommand `deploy upgrade-hub`?")
        .run();
}

#[test]
fn outside_any_repo_the_error_says_where_it_looked() {
    let f = Fixture::empty();
    f.test()
        .arg("staginghub")
        .status(2)
        .no_calls()
        .stderr_contains("no hub-ops repo: neither deploy.yaml")
        .stderr_contains("in . (the top of its git work tree)")
        .run();
}

#[test]
fn in_a_subfolder_of_no_repo_the_error_counts_the_folders_it_looked_in() {
    let f = Fixture::empty();
    std::fs::create_dir_all(f.root.join("a/b")).unwrap();
    f.test()
        .current_dir(f.root.join("a/b"))
        .arg("staginghub")
        .status(2)
        .no_calls()
        .stderr_contains("in . and the 2 folder(s) above it, up to the git work tree's top")
        .run();
}

#[test]
fn the_repo_is_found_from_a_subfolder_as_git_finds_its_work_tree() {
    let f = Fixture::multi();
    let deep = f.root.join("config/clusters/alpha");
    let out = f
        .test()
        .current_dir(&deep)
        .args([
            "plan",
            "--format",
            "json",
            "config/clusters/alpha/prod.values.yaml",
        ])
        .no_calls()
        .run();
    // paths stay relative to the repo root, wherever deploy was started
    assert!(
        out.stdout.contains("\"hub_name\":\"prod\""),
        "{}",
        out.stdout
    );
    let legacy = Fixture::example();
    legacy
        .test()
        .current_dir(legacy.root.join("hub-charts"))
        .args(["plan", "--format", "json", "user-images/ea-hub/Dockerfile"])
        .no_calls()
        .stdout_contains("\"chart\":\"ea-hub\"")
        .run();
}

#[test]
fn every_subcommand_help_shows_examples() {
    let all = <deploy::cli::Cli as clap::CommandFactory>::command();
    let names: Vec<String> = all
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "completions")
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    for cmd in &names {
        let cmd = cmd.as_str();
        Test::empty()
            .context(cmd)
            .args([cmd, "--help"])
            .stdout_contains("Examples:\n  deploy ")
            .stdout_contains(format!("deploy {cmd} "))
            .run();
    }
}

#[test]
fn gitops_render_out_dash_prints_the_helm_release() {
    let f = Fixture::example();
    std::fs::copy(manifest_dir().join(".flux.ci"), f.root.join(".flux.ci")).unwrap();
    let out = f
        .test()
        .args([
            "gitops",
            "render",
            "--env",
            "staging",
            "--image-tag",
            "abc1234",
            "--set",
            "CHART_VERSION=1.2.0",
            "--set",
            "NAMESPACE=ea-hub",
            "--out",
            "-",
        ])
        .no_calls()
        .run();
    assert!(
        out.stdout.contains("kind: HelmRelease") && out.stdout.contains("abc1234"),
        "{}",
        out.stdout
    );
    assert!(!f.root.join("-").exists() && !f.root.join("gitops").exists());
}

/// What `deploy` offers for the word at `index` of `words` (bash's protocol).
fn complete(f: &Fixture, words: &[&str], index: usize) -> Vec<String> {
    let out = f
        .test()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", index.to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words)
        .no_calls()
        .run();
    out.stdout.lines().map(String::from).collect()
}

#[test]
fn completions_offer_the_repos_clusters_hubs_and_charts() {
    for shell in ["bash", "zsh", "fish"] {
        Test::empty()
            .context(shell)
            .args(["completions", shell])
            .stdout_contains("COMPLETE")
            .stdout_contains("deploy")
            .run();
    }
    let multi = Fixture::multi();
    let clusters = complete(&multi, &["deploy", "upgrade-support", ""], 2);
    for c in ["alpha", "beta", "gamma"] {
        assert!(clusters.contains(&c.to_string()), "{clusters:?}");
    }
    let hubs = complete(&multi, &["deploy", "upgrade-hub", "alpha", "p"], 3);
    assert!(hubs.iter().any(|h| h.starts_with("prod")), "{hubs:?}");
    assert!(hubs.iter().all(|h| h.starts_with('p')), "{hubs:?}");
    let legacy = Fixture::example();
    let charts = complete(&legacy, &["deploy", "ea"], 1);
    assert!(charts.iter().any(|c| c.starts_with("ea-hub")), "{charts:?}");
}

#[test]
fn version_names_the_release_and_the_commit_it_was_built_from() {
    let out = Test::empty().arg("--version").run();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(manifest_dir())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(
        out.stdout,
        format!("deploy {} (commit {head})\n", env!("CARGO_PKG_VERSION"))
    );
}
