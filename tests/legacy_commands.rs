//! The exact command lines of the legacy flow, for every flag combination, through the same
//! plan + execute path as a real run, with a recording runner answering like git, a registry
//! and a cluster would. Snapshots live in tests/snapshots/.

use std::path::Path;

use deploy::cmd::Cmd;
use deploy::config::legacy::LegacyRepo;
use deploy::execute::legacy::deploy_chart;
use deploy::log::{Ci, Log, SharedBuf, Verbosity};
use deploy::plan::legacy::Request;
use deploy::runner::{CmdError, Output, RecordingRunner, Reply};

/// How the pretend world answers.
#[derive(Clone, Copy, Default)]
struct World {
    registry_has_tag: bool,
    no_deployments: bool,
    fail: Option<&'static str>,
}

fn runner(w: World) -> RecordingRunner {
    RecordingRunner::new(move |c: &Cmd| -> Result<Reply, CmdError> {
        let line = c.line();
        if w.fail.is_some_and(|f| line.contains(f)) {
            return Ok(Reply::Ran(Output::failed(1, "Error: something broke\n")));
        }
        let out = if line.starts_with("git log") {
            // newest first: the tag, then older commits of the folder
            Output::ok("abc1234\tfff0000\n9f8e7d6\teee0000\n1a2b3c4\tddd0000\n5d6e7f8\tccc0000")
        } else if line.starts_with("docker manifest inspect") {
            if w.registry_has_tag {
                Output::ok("{}")
            } else {
                Output::failed(1, "no such manifest")
            }
        } else if line.starts_with("docker pull") && line.contains(":1a2b3c4") {
            Output::failed(1, "manifest unknown")
        } else if line.contains(" get secret -l owner=helm,") {
            Output::ok("") // no release Secret: a first install
        } else if line.starts_with("kubectl -n") && !w.no_deployments {
            Output::ok("deployment.apps/hub\ndeployment.apps/proxy\n")
        } else {
            Output::ok("")
        };
        Ok(Reply::Ran(out))
    })
}

fn request(chart: &str, flags: &str) -> Request {
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    Request {
        chart: chart.into(),
        setup: !has("--no-setup"),
        build: has("--build"),
        push: has("--push"),
        deploy: has("--deploy"),
        rebuild: has("--rebuild"),
        force: has("--force"),
        force_recover: has("--force-recover"),
        timeout: has("--timeout=5m").then(|| "5m".parse().unwrap()),
        lock_timeout: std::time::Duration::from_secs(1),
    }
}

/// Commands run, then the log lines, then the outcome.
fn transcript(chart: &str, flags: &str, w: World) -> String {
    let repo = LegacyRepo::load(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("example repo loads");
    let r = runner(w);
    let buf = SharedBuf::default();
    let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(buf.clone()));
    let result = deploy_chart(&repo, &request(chart, flags), &r, &log);
    let mut out = format!("$ deploy {chart} {flags}").trim_end().to_string() + "\n";
    for line in r.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("log:\n");
    for line in buf.text().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    match result {
        Ok(()) => out.push_str("result: ok\n"),
        Err(e) => out.push_str(&format!(
            "result: exit {}: {e:#}\n",
            deploy::app::exit_code(&e)
        )),
    }
    out
}

#[test]
fn every_flag_combination() {
    let mut all = String::new();
    for setup in ["", "--no-setup"] {
        for build in ["", "--build"] {
            for push in ["", "--push"] {
                for deploy in ["", "--deploy"] {
                    let flags = [setup, build, push, deploy]
                        .iter()
                        .filter(|f| !f.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    all.push_str(&transcript("ea-hub", &flags, World::default()));
                    all.push('\n');
                }
            }
        }
    }
    insta::assert_snapshot!("every_flag_combination", all);
}

#[test]
fn extra_flags() {
    let mut all = String::new();
    for flags in [
        "--build --push --deploy --rebuild",
        "--no-setup --deploy --force --timeout=5m",
    ] {
        let w = World {
            registry_has_tag: true,
            ..World::default()
        };
        all.push_str(&transcript("ea-hub", flags, w));
        all.push('\n');
    }
    insta::assert_snapshot!("extra_flags", all);
}

#[test]
fn tag_already_in_registry_builds_and_pushes_nothing() {
    let w = World {
        registry_has_tag: true,
        ..World::default()
    };
    insta::assert_snapshot!(transcript("ea-hub", "--build --push --deploy", w));
}

/// helm runs only for an image tag that is in the registry: asked before helm unless this run
/// pushed the tag or its build step already found it; a missing tag stops the run with exit 1
/// before helm, saying how to build and push it.
#[test]
fn deploy_only_an_image_that_exists() {
    let mut all = String::new();
    for (flags, has) in [
        ("--no-setup --deploy", true),
        ("--no-setup --deploy", false),
        ("--no-setup --build --deploy", false),
        ("--no-setup --build --deploy", true),
        ("--no-setup --build --push --deploy", false),
        ("--no-setup --build --rebuild --deploy", true),
    ] {
        let w = World {
            registry_has_tag: has,
            ..World::default()
        };
        all.push_str(&format!("## the tag is in the registry: {has}\n"));
        all.push_str(&transcript("ea-hub", flags, w));
        all.push('\n');
    }
    insta::assert_snapshot!("deploy_only_an_image_that_exists", all);
}

#[test]
fn chart_without_image_and_namespace_without_deployments() {
    let w = World {
        no_deployments: true,
        ..World::default()
    };
    insta::assert_snapshot!(transcript("monitoring", "--build --push --deploy", w));
}

#[test]
fn each_step_failing_stops_the_run_with_exit_1() {
    let mut all = String::new();
    for fail in [
        "gcloud auth",
        "gcloud container",
        "docker login",
        "docker build",
        "docker push",
        "helm dependency",
        "get secret -l owner=helm,name=ea-hub",
        "helm upgrade",
        "get deployments",
        "rollout status --namespace ea-hub --watch deployment.apps/proxy",
    ] {
        let w = World {
            fail: Some(fail),
            ..World::default()
        };
        all.push_str(&format!("## {fail} fails\n"));
        all.push_str(&transcript("ea-hub", "--build --push --deploy", w));
        all.push('\n');
    }
    insta::assert_snapshot!("each_step_failing", all);
}

#[test]
fn secrets_never_reach_argv_or_logs() {
    let repo = LegacyRepo::load(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let password = repo.read_secret("secrets/dockerhub").unwrap();
    assert!(
        password.contains("FAKE"),
        "the example password is clearly fake"
    );
    let text = transcript("ea-hub", "--build --push --deploy", World::default());
    assert!(!text.contains(&password), "{text}");
    let r = runner(World::default());
    let log = Log::with_sink(
        Verbosity::Verbose,
        Ci::GitHub,
        Box::new(SharedBuf::default()),
    );
    deploy_chart(&repo, &request("ea-hub", ""), &r, &log).unwrap();
    let login = r
        .calls()
        .into_iter()
        .find(|c| c.cmd.line().starts_with("docker login"))
        .unwrap();
    assert!(
        login
            .cmd
            .argv_clear()
            .iter()
            .all(|a| !a.contains(&password))
    );
    assert_eq!(
        login.cmd.stdin.as_ref().map(|s| s.value().to_string()),
        Some(password)
    );
}
