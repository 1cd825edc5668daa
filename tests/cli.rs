//! Binary tests: the real `deploy` binary in a throwaway git repo (a copy of the example), with
//! fake gcloud/docker/helm/kubectl on PATH that log their argv.

mod common;

use common::{Fixture, Test, text};

const IMAGE: &str = "earthlabhubops/ea-k8s-user-ea-hub";

fn full_sequence(tag: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "gcloud auth activate-service-account --key-file=secrets/gke-auth-key.json".to_string(),
        "gcloud container clusters get-credentials jhub --zone=us-central1-b --project=ea-jupyter"
            .into(),
        "docker login -u earthlabcu --password-stdin docker.io".into(),
        format!("docker manifest inspect {IMAGE}:{tag}"),
        format!("docker build -t {IMAGE}:{tag} user-images/ea-hub"),
        format!("docker push {IMAGE}:{tag}"),
    ];
    v.extend(deploy_sequence(
        &format!(" --set-string jupyterhub.singleuser.image.tag={tag}"),
        "600s",
    ));
    v
}

/// The deploy step of ea-hub: lease, stuck-release check, upgrade, rollouts, lease released.
fn deploy_sequence(extra: &str, timeout: &str) -> Vec<String> {
    vec![
        "helm dependency update hub-charts/ea-hub".into(),
        // a first install: the lease's namespace is made when the lease create says it is missing
        "kubectl create -o json -f -".into(),
        "kubectl create namespace ea-hub".into(),
        "kubectl create -o json -f -".into(),
        "kubectl -n ea-hub get secret -l owner=helm,name=ea-hub -o jsonpath={.items[*].metadata.labels}".into(),
        format!(
            "helm upgrade --install --namespace ea-hub --create-namespace ea-hub hub-charts/ea-hub \
             --wait --timeout {timeout} --cleanup-on-fail -f secrets/ea-hub.yaml{extra} \
             --labels deploy-revision=1,deploy-timeout={timeout}"
        ),
        "kubectl -n ea-hub get deployments -o name".into(),
        format!(
            "kubectl rollout status --namespace ea-hub --watch deployment.apps/hub --timeout {timeout}"
        ),
        format!(
            "kubectl rollout status --namespace ea-hub --watch deployment.apps/proxy --timeout {timeout}"
        ),
        "kubectl -n ea-hub delete lease deploy-ea-hub --ignore-not-found".into(),
    ]
}

#[test]
fn full_deploy_then_second_run_skips_build_and_push() {
    let f = Fixture::example();
    f.set_deployments(&["hub", "proxy"]);
    let tag = f.tag("ea-hub");
    f.test()
        .args(["ea-hub", "--build", "--push", "--deploy"])
        .calls(full_sequence(&tag))
        .run();
    assert_eq!(f.registry(), vec![format!("{IMAGE}:{tag}")]);
    // the password went to docker login on stdin, without the trailing newline
    assert_eq!(
        std::fs::read_to_string(f.fake.join("docker-login-stdin")).unwrap(),
        f.password()
    );

    let out = f
        .test()
        .args(["ea-hub", "--build", "--push", "--deploy"])
        .stderr_contains("is already in the registry: not building it")
        .stderr_contains("nothing to push")
        .run();
    let calls = out.calls;
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("docker build") || c.starts_with("docker push")),
        "{calls:#?}"
    );
    assert!(calls.iter().any(|c| c.starts_with("helm upgrade")));
}

#[test]
fn the_docker_password_is_stripped_of_surrounding_whitespace_like_deploy_py() {
    let out = Test::example()
        // an editor's leading indent, a trailing space and a CRLF: deploy.py's `.strip()` removed
        // all
        .write("secrets/dockerhub", "  FAKE-spaced-password \r\n")
        .commit_all("a password file with whitespace around it")
        .arg("ea-hub")
        .run();
    assert_eq!(
        std::fs::read_to_string(out.fixture.fake.join("docker-login-stdin")).unwrap(),
        "FAKE-spaced-password"
    );
}

#[test]
fn setup_gives_gcloud_helm_and_kubectl_a_private_config_removed_at_exit() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.set_deployments(&["hub"]);
    let operator = f.fake.join("operator-kubeconfig");
    f.test()
        .args(["ea-hub", "--deploy"])
        .env("KUBECONFIG", &operator)
        .env("CLOUDSDK_CONFIG", f.fake.join("operator-gcloud"))
        .run();
    let envs = f.call_envs();
    let private: Vec<&[String; 5]> = envs
        .iter()
        .filter(|e| ["gcloud", "helm", "kubectl"].contains(&e[0].as_str()))
        .collect();
    assert!(private.len() >= 6, "{envs:#?}");
    let kube = &private[0][2];
    let dir = std::path::Path::new(kube).parent().unwrap();
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("deploy-ea-hub-"),
        "{kube}"
    );
    for e in &private {
        assert_eq!(&e[2], kube, "one private kubeconfig for the run: {e:?}");
        assert_eq!(
            e[3],
            dir.join("gcloud").display().to_string(),
            "a private gcloud config: {e:?}"
        );
        assert_eq!(e[4], "700", "only the owner can read it: {e:?}");
    }
    assert!(!dir.exists(), "removed at exit");
    // docker keeps the operator's own configuration
    let login = envs.iter().find(|e| e[0] == "docker").unwrap();
    assert_eq!(login[2], operator.display().to_string());

    // --no-setup: the operator's current context, as deploy.py used
    std::fs::remove_file(f.fake.join("env")).unwrap();
    f.test()
        .args(["ea-hub", "--no-setup", "--deploy"])
        .env("KUBECONFIG", &operator)
        .run();
    for e in f.call_envs().iter().filter(|e| e[0] != "git") {
        assert_eq!(e[2], operator.display().to_string(), "{e:?}");
    }
}

/// `--deploy` without this run's push sets a tag only the registry can give the pods: helm must
/// not run when the registry does not have it.
#[test]
fn deploying_a_tag_that_is_in_no_registry_stops_before_helm_with_exit_1() {
    for flags in [
        &["ea-hub", "--deploy"][..],
        &["ea-hub", "--no-setup", "--build", "--deploy"][..],
    ] {
        let f = Fixture::example();
        let tag = f.tag("ea-hub");
        let out = f.test().args(flags).status(1).run();
        let stderr = out.stderr;
        assert!(
            stderr.contains(&format!(
                "{IMAGE}:{tag} is in no registry (docker said: no such manifest: {IMAGE}:{tag}): \
                 its pods could never pull it, so helm was not run. Build and push it first: \
                 `deploy ea-hub --build --push`"
            )) || stderr.contains(&format!(
                "{IMAGE}:{tag} is in no registry: its pods could never pull it, so helm was not \
                 run. Build and push it first: `deploy ea-hub --build --push`"
            )),
            "{flags:?}: {stderr}"
        );
        let calls = out.calls;
        assert!(
            !calls
                .iter()
                .any(|c| c.starts_with("helm") || c.starts_with("kubectl")),
            "{flags:?}: {calls:#?}"
        );
        // once pushed, the same command deploys
        let out = f.test().pushed("ea-hub").args(flags).run();
        assert!(out.calls.iter().any(|c| c.starts_with("helm upgrade")));
    }
}

#[test]
fn rebuild_forces_a_build_and_older_tags_seed_the_cache() {
    let f = Fixture::example();
    let old = f.tag("ea-hub");
    f.write("user-images/ea-hub/extra.txt", "a change\n");
    f.commit_all("change the image");
    let tag = f.tag("ea-hub");
    assert_ne!(old, tag);
    std::fs::write(
        f.fake.join("registry"),
        format!("{IMAGE}:{old}\n{IMAGE}:{tag}\n"),
    )
    .unwrap();
    f.test()
        .args(["ea-hub", "--no-setup", "--build", "--rebuild"])
        .calls([
            format!("docker pull {IMAGE}:{old}"),
            format!("docker build -t {IMAGE}:{tag} --cache-from {IMAGE}:{old} user-images/ea-hub"),
        ])
        .run();
}

#[test]
fn older_tag_missing_from_registry_is_not_used_as_cache() {
    let f = Fixture::example();
    let old = f.tag("ea-hub");
    f.write("user-images/ea-hub/extra.txt", "a change\n");
    f.commit_all("change the image");
    let tag = f.tag("ea-hub");
    f.test()
        .args(["ea-hub", "--no-setup", "--build"])
        .calls([
            format!("docker manifest inspect {IMAGE}:{tag}"),
            format!("docker pull {IMAGE}:{old}"),
            format!("docker build -t {IMAGE}:{tag} user-images/ea-hub"),
        ])
        .run();
}

/// The example with ea-hub's image already in the registry and one deployment (hub), and what
/// `--deploy` alone runs then: the registry asked, then [`deploy_sequence`].
fn deploy_of_an_existing_image() -> (Fixture, Vec<String>) {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.set_deployments(&["hub"]);
    let tag = f.tag("ea-hub");
    let mut want = deploy_sequence(
        &format!(" --set-string jupyterhub.singleuser.image.tag={tag}"),
        "600s",
    );
    want.remove(8); // only the hub deployment exists here
    want.insert(0, format!("docker manifest inspect {IMAGE}:{tag}"));
    (f, want)
}

#[test]
fn abbreviated_long_options_work_like_argparse() {
    let (f, want) = deploy_of_an_existing_image();
    f.test()
        .args(["ea-hub", "--no-s", "--dep"])
        .calls(want)
        .run();
    // ambiguous prefix: a usage error
    f.test().args(["ea-hub", "--d"]).status(2).no_calls().run();
}

#[test]
fn no_action_flags_means_setup_only() {
    Test::example()
        .arg("ea-hub")
        .calls(&full_sequence("x")[..3])
        .run();
}

#[test]
fn push_without_build_pushes_nothing() {
    Test::example()
        .args(["ea-hub", "--no-setup", "--push"])
        .stderr_contains("--push without --build pushes nothing")
        .no_calls()
        .run();
}

#[test]
fn chart_without_image_has_no_tag_override() {
    let out = Test::example()
        .args(["monitoring", "--no-setup", "--build", "--deploy"])
        .run();
    let calls = out.calls;
    assert_eq!(
        calls[5],
        "helm upgrade --install --namespace monitoring --create-namespace monitoring monitoring \
         --wait --timeout 600s --cleanup-on-fail -f secrets/monitoring.yaml \
         --labels deploy-revision=1,deploy-timeout=600s"
    );
    assert!(!calls.iter().any(|c| c.starts_with("docker")));
}

#[test]
fn no_deployments_is_reported_not_an_error() {
    Test::example()
        .pushed("staginghub")
        .args(["staginghub", "--no-setup", "--deploy"])
        .stderr_contains("no deployments found in namespace staginghub")
        .run();
}

#[test]
fn force_and_timeout_flags_reach_helm_and_rollout() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.set_deployments(&["hub"]);
    let out = f
        .test()
        .args([
            "ea-hub",
            "--no-setup",
            "--deploy",
            "--force",
            "--timeout",
            "90s",
        ])
        .run();
    let calls = out.calls;
    assert!(
        calls[6].contains("--timeout 90s")
            && calls[6].ends_with(" --force --labels deploy-revision=1,deploy-timeout=90s"),
        "{}",
        calls[6]
    );
    assert!(
        calls[8].ends_with("deployment.apps/hub --timeout 90s"),
        "{}",
        calls[8]
    );
    f.test()
        .args(["ea-hub", "--deploy", "--timeout", "90"])
        .status(2)
        .no_calls()
        .run();
}

#[test]
fn each_failing_step_stops_the_run_with_exit_1_and_names_the_command() {
    let seq = full_sequence("TAG");
    for (i, step) in seq.iter().enumerate() {
        if step.starts_with("docker manifest")
            || step.contains("delete lease")
            || seq[..i].contains(step)
        {
            continue; // a probe's "no" is an answer; releasing the lease is best effort
        }
        let f = Fixture::example();
        f.set_deployments(&["hub", "proxy"]);
        let tag = f.tag("ea-hub");
        let step = step.replace("TAG", &tag);
        let shown_program = step.split(' ').next().unwrap();
        let out = f
            .test()
            .env("FAKE_FAIL", &step)
            .args(["ea-hub", "--build", "--push", "--deploy"])
            .status(1)
            .stderr_contains("failed with exit status 1")
            // the stderr tail is shown
            .stderr_contains("| Error: fake")
            .stderr_contains(format!("`{shown_program} "))
            .run();
        let calls = out.calls;
        let after = &calls[i + 1..];
        assert_eq!(calls[i], step, "stopped at the failing step: {calls:#?}");
        assert!(
            after.iter().all(|c| c.contains("delete lease")),
            "nothing but releasing the lease after the failure: {after:?}"
        );
        if step.starts_with("helm upgrade") || step.contains("rollout") {
            // the lease is still released after a failed upgrade
            assert!(f.calls().is_empty() || !f.fake.join("leases/ea-hub-deploy-ea-hub").exists());
        }
    }
}

#[test]
fn unknown_chart_is_a_usage_error_listing_the_valid_ones() {
    Test::example()
        .args(["nope", "--deploy"])
        .status(2)
        .stderr(
            "error: unknown chart `nope`; valid charts: staginghub, ea-hub, nbgrader-hub, \
             monitoring.\n",
        )
        .no_calls()
        .run();
}

#[test]
fn missing_deploy_yaml_points_to_the_migration_guide() {
    Test::empty()
        .args(["ea-hub"])
        .status(2)
        .stderr_contains("no hub-ops repo: neither deploy.yaml")
        .stderr_contains("docs/migrating-from-deploy-py.md")
        .run();
}

#[test]
fn config_errors_name_file_line_and_field_and_run_nothing() {
    let cases = [
        (
            "gcloud:\n  key_file: k\n  cluster: c\n  zone: z\n  project: p\n  zonee: x\n",
            "error: deploy.yaml:6:3: gcloud: unknown field `zonee`, expected one of `key_file`, `cluster`, `zone`, `project`\n",
        ),
        (
            "helm:\n  timeout: 600\n",
            "error: deploy.yaml:2:12: helm.timeout: a bare number (600) is not a duration: Helm 3 needs a unit, e.g. 600s\n",
        ),
        (
            "charts: [ea-hub, missing-hub]\n",
            "error: deploy.yaml: charts: chart `missing-hub`: neither hub-charts/missing-hub/Chart.yaml nor missing-hub/Chart.yaml exists\n",
        ),
        ("charts: [ea-hub\n", "error: deploy.yaml:2:1: "),
    ];
    for (yaml, expected) in cases {
        let out = Test::example()
            .context(yaml)
            .write("deploy.yaml", yaml)
            .args(["ea-hub", "--deploy"])
            .status(2)
            .no_calls()
            .run();
        assert!(
            out.stderr.starts_with(expected),
            "{yaml}\n got: {}\nwant: {expected}",
            out.stderr
        );
    }
}

#[test]
fn all_config_problems_are_listed_at_once() {
    Test::example()
        .remove("secrets/ea-hub.yaml")
        .remove("secrets/dockerhub")
        .args(["ea-hub", "--deploy"])
        .status(2)
        .stderr_contains("docker.password_file: secrets/dockerhub does not exist")
        .stderr_contains("secrets/ea-hub.yaml: missing")
        .run();
}

#[test]
fn git_crypt_encrypted_secrets_stop_before_anything_runs() {
    Test::example()
        .write("secrets/ea-hub.yaml", b"\0GITCRYPT\0\x01\x02binary")
        .args(["ea-hub", "--deploy"])
        .status(2)
        .stderr(
            "error: secrets/ea-hub.yaml: is still git-crypt encrypted; run `git-crypt unlock` \
             first\n",
        )
        .no_calls()
        .run();
}

#[test]
fn missing_program_is_a_clear_error_before_anything_runs() {
    Test::example()
        .remove_tool("helm")
        .args(["ea-hub", "--build", "--deploy"])
        .status(2)
        .stderr_contains("required programs not found on PATH: helm")
        .no_calls()
        .run();
}

#[test]
fn setup_needs_gcloud_settings_unless_no_setup() {
    let f = Fixture::example();
    f.write("deploy.yaml", "image:\n  name: x/{chart}\n  tag_value: t\n");
    f.pushed_as("x/ea-hub", "ea-hub");
    f.test()
        .args(["ea-hub"])
        .status(2)
        .stderr_contains("deploy.yaml: gcloud: required for setup (or pass --no-setup)")
        .run();
    f.test().args(["ea-hub", "--no-setup", "--deploy"]).run();
}

#[test]
fn dry_run_prints_every_command_runs_nothing_and_redacts() {
    let f = Fixture::example();
    f.remove_tool("helm");
    f.remove_tool("kubectl");
    let tag = f.tag("ea-hub");
    let expected = format!(
        "gcloud auth activate-service-account --key-file=secrets/gke-auth-key.json\n\
         gcloud container clusters get-credentials jhub --zone=us-central1-b --project=ea-jupyter\n\
         docker login -u earthlabcu --password-stdin docker.io <<< ***\n\
         docker manifest inspect {IMAGE}:{tag}\n\
         docker build -t {IMAGE}:{tag} user-images/ea-hub (if the tag is not in the registry)\n\
         docker push {IMAGE}:{tag} (if the tag is not in the registry)\n\
         helm dependency update hub-charts/ea-hub\n\
         kubectl create -o json -f - < Lease ea-hub/deploy-ea-hub (kubectl create namespace ea-hub first, if it is missing)\n\
         kubectl -n ea-hub get secret -l owner=helm,name=ea-hub -o 'jsonpath={{.items[*].metadata.labels}}'\n\
         helm upgrade --install --namespace ea-hub --create-namespace ea-hub hub-charts/ea-hub --wait --timeout 600s --cleanup-on-fail -f secrets/ea-hub.yaml --set-string jupyterhub.singleuser.image.tag={tag} --labels deploy-revision=<next>,deploy-timeout=600s\n\
         kubectl -n ea-hub get deployments -o name\n\
         kubectl rollout status --namespace ea-hub --watch <deployment> --timeout 600s (for each deployment)\n\
         kubectl -n ea-hub delete lease deploy-ea-hub --ignore-not-found\n"
    );
    let full = f
        .test()
        .args(["ea-hub", "--build", "--push", "--deploy", "--dry-run"])
        .stdout(expected)
        .stderr_contains("not on PATH (a real run would stop here): helm, kubectl")
        // a dry run starts no tool
        .no_calls()
        .run();
    // --deploy alone: the registry is asked before helm (a remote query, shown)
    let deploy_only = f
        .test()
        .args(["ea-hub", "--no-setup", "--deploy", "--dry-run"])
        .run();
    assert!(
        deploy_only.stdout.starts_with(&format!(
            "docker manifest inspect {IMAGE}:{tag} (the deploy stops here if the tag is in no \
             registry)\nhelm dependency update hub-charts/ea-hub\n"
        )),
        "{}",
        deploy_only.stdout
    );
    for out in [full, deploy_only] {
        assert!(!out.all().contains(&f.password()), "{}", out.all());
    }
}

/// An installed release: the upgrade is marked with the revision after the newest one helm keeps
/// (by number: kubectl lists `…v10` before `…v9`).
#[test]
fn an_installed_release_is_marked_with_its_next_revision() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.set_deployments(&["hub"]);
    f.helm_records(
        "ea-hub",
        r#"{"name":"ea-hub","owner":"helm","status":"deployed","version":"10"} {"name":"ea-hub","owner":"helm","status":"superseded","version":"9"}"#,
    );
    let calls = f
        .test()
        .args(["ea-hub", "--no-setup", "--deploy"])
        .run()
        .calls;
    let upgrade = calls
        .iter()
        .find(|c| c.starts_with("helm upgrade"))
        .unwrap();
    assert!(
        upgrade.ends_with(" --labels deploy-revision=11,deploy-timeout=600s"),
        "{upgrade}"
    );
}

/// helm keeping its releases in ConfigMaps (`HELM_DRIVER`, which helm reads from the same
/// environment): `helm status` finds the newest revision, as there is no release Secret to read.
#[test]
fn another_helm_storage_is_asked_through_helm_status() {
    let (f, mut want) = deploy_of_an_existing_image();
    let records = want
        .iter()
        .position(|c| c.contains(" get secret "))
        .unwrap();
    want[records] = "helm status ea-hub --namespace ea-hub -o json".into();
    f.test()
        .env("HELM_DRIVER", "configmap")
        .args(["ea-hub", "--no-setup", "--deploy"])
        .calls(want)
        .run();
}

#[test]
fn shallow_clone_that_cannot_see_the_image_history_is_a_clear_error() {
    let f = Fixture::example();
    f.write(
        "README.md",
        "a later commit that does not touch user-images\n",
    );
    f.commit_all("docs");
    let shallow = f.root.parent().unwrap().join("shallow");
    let url = format!("file://{}", f.root.display());
    common::git(
        f.root.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow.to_str().unwrap(),
        ],
    );
    f.test()
        .current_dir(&shallow)
        .args(["ea-hub", "--no-setup", "--build"])
        .status(2)
        .stderr_contains("user-images/ea-hub: this is a shallow clone")
        .stderr_contains("fetch-depth: 0")
        .no_calls()
        .run();
}

#[test]
fn image_folder_without_a_commit_is_an_error() {
    let f = Fixture::empty();
    for part in common::EXAMPLE_PARTS
        .iter()
        .filter(|p| **p != "user-images")
    {
        let src = common::manifest_dir().join(part);
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(f.root.join(part))
            .status()
            .unwrap();
        assert!(status.success());
    }
    f.commit_all("no images yet");
    f.test()
        .write("user-images/ea-hub/Dockerfile", "FROM scratch\n")
        .args(["ea-hub", "--no-setup", "--build"])
        .status(2)
        .stderr_contains("user-images/ea-hub: has no commit in this checkout")
        .run();
}

#[test]
fn secrets_echoed_by_a_tool_are_scrubbed() {
    let f = Fixture::example();
    let out = f
        .test()
        .env("FAKE_ECHO_STDIN", "1")
        .env("FAKE_FAIL", "docker login")
        .arg("ea-hub")
        .status(1)
        .run();
    let all = out.all();
    assert!(all.contains("logging in with password ***"), "{all}");
    assert!(!all.contains(&f.password()), "{all}");
    let argv = std::fs::read_to_string(f.fake.join("log")).unwrap();
    assert!(!argv.contains(&f.password()));
}

#[test]
fn github_actions_groups_and_masks() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.test()
        .env("GITHUB_ACTIONS", "true")
        .args(["ea-hub", "--no-setup", "--deploy"])
        .stderr_contains("::group::Deploy ea-hub with helm\n")
        .stderr_contains("::endgroup::\n")
        .run();

    let out = f.test().env("GITHUB_ACTIONS", "true").arg("ea-hub").run();
    let stderr = out.stderr;
    let pw = f.password();
    assert!(
        stderr.starts_with(&format!("::add-mask::{pw}\n")),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches(&pw).count(),
        1,
        "only the mask command carries it: {stderr}"
    );
}

#[test]
fn travis_folds() {
    Test::example()
        .pushed("ea-hub")
        .env("TRAVIS", "true")
        .args(["ea-hub", "--no-setup", "--deploy"])
        .stderr_contains("travis_fold:start:deploy\r\x1b[0K==> Deploy ea-hub with helm")
        .stderr_contains("travis_fold:end:deploy")
        .run();
}

#[test]
fn dash_c_points_at_the_repo() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    let elsewhere = f.root.parent().unwrap().to_path_buf();
    let out = f
        .test()
        .current_dir(&elsewhere)
        .arg("-C")
        .arg(&f.root)
        .args(["ea-hub", "--no-setup", "--deploy"])
        .run();
    assert_eq!(out.calls[1], "helm dependency update hub-charts/ea-hub");
}

#[test]
fn quiet_and_verbose() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    f.test()
        .args(["-q", "ea-hub", "--no-setup", "--deploy"])
        .stderr("")
        .run();
    f.test()
        .args(["-v", "ea-hub", "--no-setup", "--deploy"])
        .stderr_contains("+ git log -n 3")
        .run();
}

#[test]
fn version_and_help() {
    let f = Fixture::example();
    f.test()
        .arg("--version")
        // the commit is checked in tests/cli_friendly.rs
        .stdout_contains(format!("deploy {} (commit ", env!("CARGO_PKG_VERSION")))
        .run();
    let mut help = f.test().arg("--help");
    for flag in [
        "--no-setup",
        "--build",
        "--push",
        "--deploy",
        "--dry-run",
        "--timeout",
        "--force",
        "--rebuild",
        "-C <DIR>",
    ] {
        help = help.stdout_contains(flag);
    }
    help.run();
    // no arguments at all: help on stderr, usage exit code
    f.test().status(2).no_calls().run();
}

#[test]
fn sigterm_during_helm_upgrade_stops_the_child_and_exits_130() {
    let f = Fixture::example();
    f.pushed("ea-hub");
    let (out, took) = f.interrupt_at("helm upgrade", &["ea-hub", "--no-setup", "--deploy"]);
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(took.as_secs() < 15);
    let calls = f.calls();
    assert!(
        calls.contains(&"fake helm: got SIGTERM".to_string()),
        "{calls:#?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("kubectl rollout") || c.contains("get deployments")),
        "nothing new starts: {calls:#?}"
    );
    assert_eq!(
        calls.last().map(String::as_str),
        Some("kubectl -n ea-hub delete lease deploy-ea-hub --ignore-not-found"),
        "the lease is released: {calls:#?}"
    );
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
}
