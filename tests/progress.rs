//! Long work is never silent: the heartbeat while releases (or a legacy deploy's steps) run, and
//! `-v` streaming each release's output live, prefixed with its name.

mod common;

use common::{Fixture, Test};

const CHANGED: &str = "config/clusters/gamma/prod.values.yaml";

/// `deploy run` of gamma/prod whose `helm upgrade` takes 2.5 s, with `flags` first.
fn slow_run(flags: &[&str]) -> String {
    let f = Fixture::multi();
    f.test()
        .args(flags)
        .args(["run", CHANGED])
        .env("FAKE_DELAY_ON", "helm upgrade --install --namespace prod ")
        .env("FAKE_DELAY", "2.5")
        .run()
        .stderr
}

#[test]
fn a_slow_release_gets_a_heartbeat_naming_it_and_its_command() {
    let stderr = slow_run(&["--heartbeat", "1s"]);
    let beats: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("still upgrading gamma/prod ("))
        .collect();
    assert!(beats.len() >= 2, "{stderr}");
    assert!(
        beats
            .iter()
            .any(|l| l.contains("s): helm upgrade --install --namespace prod ")),
        "{stderr}"
    );
    // the beats come while it runs, not after
    let done = stderr.find("done    gamma/prod").unwrap();
    assert!(stderr.find("still upgrading gamma/prod").unwrap() < done);
    assert!(!stderr[done..].contains("still upgrading"), "{stderr}");
}

#[test]
fn the_heartbeat_is_every_30s_by_default_and_0s_turns_it_off() {
    for flags in [&[][..], &["--heartbeat", "0s"][..]] {
        let stderr = slow_run(flags);
        assert!(!stderr.contains("still upgrading"), "{flags:?}: {stderr}");
        assert!(stderr.contains("done    gamma/prod"), "{stderr}");
    }
    Test::multi()
        .args(["--heartbeat", "soon", "run", CHANGED])
        .status(2)
        .no_calls()
        .stderr_contains("--heartbeat")
        .run();
}

#[test]
fn a_legacy_deploy_gets_a_heartbeat_too() {
    let f = Fixture::example();
    f.pushed("staginghub");
    let out = f
        .test()
        .args(["--heartbeat", "1s", "staginghub", "--no-setup", "--deploy"])
        .env("FAKE_DELAY_ON", "helm upgrade")
        .env("FAKE_DELAY", "2.5")
        .run();
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("still deploying staginghub (") && l.contains("): helm upgrade")),
        "{}",
        out.stderr
    );
}

#[test]
fn verbose_streams_each_releases_output_live_with_its_name() {
    let f = Fixture::multi();
    let out = f
        .test()
        .args(["-v", "--heartbeat", "0s", "run", CHANGED])
        .env("FAKE_DELAY_ON", "helm upgrade --install --namespace prod ")
        .env("FAKE_DELAY", "1")
        .run();
    let stderr = &out.stderr;
    let upgrade = stderr
        .find("[gamma/prod] + helm upgrade --install --namespace prod ")
        .unwrap_or_else(|| panic!("{stderr}"));
    let done = stderr.find("done    gamma/prod").unwrap();
    assert!(
        upgrade < done,
        "streamed before the release ended: {stderr}"
    );
    // not shown a second time when it ends
    assert_eq!(
        stderr
            .matches("+ helm upgrade --install --namespace prod ")
            .count(),
        1
    );
    // every line of a release's log carries its name
    for l in stderr.lines().filter(|l| l.contains("--namespace prod ")) {
        assert!(l.starts_with("[gamma/prod] "), "{l}");
    }
}
