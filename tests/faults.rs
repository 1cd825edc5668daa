//! Faults: an external command hanging past its watchdog, one killed by a signal, git missing,
//! a report that cannot be written, a signal before anything started, output that is not text or
//! too long. Each fails clearly with the right exit status.

mod common;

use common::{Fixture, Test, text};

#[test]
fn a_hung_command_is_stopped_by_its_watchdog() {
    let t = std::time::Instant::now();
    let out = Test::example()
        .env("DEPLOY_NETWORK_TIMEOUT", "1")
        .env("FAKE_SLEEP_ON", "gcloud auth")
        .arg("ea-hub")
        .status(1)
        .stderr_contains("setup failed: `gcloud auth activate-service-account --key-file=secrets/gke-auth-key.json` did not finish within 1s and was stopped")
        .run();
    assert!(t.elapsed().as_secs() < 15, "stopped, not waited out");
    assert!(
        out.calls.contains(&"fake gcloud: got SIGTERM".to_string()),
        "the hung process got SIGTERM"
    );
    assert!(
        !out.calls.iter().any(|c| c.starts_with("docker")),
        "nothing after the hung step"
    );
}

#[test]
fn a_command_killed_by_a_signal_fails_the_step() {
    let out = Test::example()
        .pushed("ea-hub")
        .env("FAKE_KILL_ON", "helm upgrade")
        .args(["ea-hub", "--no-setup", "--deploy"])
        .status(1)
        .stderr_contains("deploy (helm upgrade) failed: `helm upgrade --install")
        // the signal is named
        .stderr_contains("failed with signal 9 (SIGKILL)")
        .run();
    assert_eq!(
        out.calls.last().map(String::as_str),
        Some("kubectl -n ea-hub delete lease deploy-ea-hub --ignore-not-found"),
        "the lease is still released"
    );
}

#[test]
fn git_missing_is_named_before_anything_runs() {
    Test::example()
        .remove_tool("git")
        .args(["ea-hub", "--build"])
        .status(2)
        .stderr_contains("required programs not found on PATH: git")
        .no_calls()
        .run();
    // --base needs git as well
    Test::multi()
        .remove_tool("git")
        .args(["plan", "--base", "HEAD"])
        .status(2)
        .stderr_contains("required programs not found on PATH: git")
        .no_calls()
        .run();
}

#[test]
fn a_report_that_cannot_be_written_fails_the_run() {
    Test::multi()
        .args([
            "run",
            "--report",
            "/dev/full",
            "config/clusters/gamma/prod.values.yaml",
        ])
        .status(1)
        .stderr_contains("writing the report /dev/full")
        .stderr_contains("No space left on device")
        .run();
}

/// Run deploy as `nobody` (root ignores file modes) in a repo nobody cannot write to (through
/// setpriv, with its own environment: not a [`Test`]).
fn as_nobody(f: &Fixture, args: &[&str]) -> std::process::Output {
    // nobody must be able to reach the repo and the binary, but not write anything of the repo
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX,a-w"])
        .arg(&f.root)
        .status()
        .unwrap();
    assert!(status.success());
    let mut dir = f.root.parent();
    while let Some(d) = dir {
        let _ = std::process::Command::new("chmod")
            .arg("a+x")
            .arg(d)
            .status();
        dir = d.parent();
    }
    let exe = env!("CARGO_BIN_EXE_deploy");
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(exe)
        .args(args)
        .current_dir(&f.root)
        .env("PATH", format!("{}:/usr/bin:/bin", f.bin.display()))
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(
            "GIT_CONFIG_PARAMETERS",
            format!("'safe.directory={}'", f.root.display()),
        )
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

#[test]
fn a_read_only_repo_can_be_planned_validated_and_dry_run() {
    if which::which("setpriv").is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "setpriv (util-linux) is needed for this test in CI"
        );
        eprintln!("SKIPPED: setpriv not found");
        return;
    }
    let f = Fixture::multi();
    for args in [
        vec![
            "plan",
            "--format",
            "json",
            "config/clusters/alpha/common.values.yaml",
        ],
        vec!["validate"],
        vec!["run", "--dry-run", "config/clusters/gamma/prod.values.yaml"],
    ] {
        let out = as_nobody(&f, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    // deploy writes nothing into the repo: a report there is the one thing that needs a write,
    // and a folder it cannot write in is refused before anything runs
    let out = as_nobody(
        &f,
        &[
            "run",
            "--dry-run",
            "--report",
            "report.json",
            "config/clusters/gamma/prod.values.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--report report.json: cannot write in ."),
        "{}",
        text(&out.stderr)
    );
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&f.root)
        .status();
}

#[test]
fn a_signal_before_any_command_started_exits_at_once() {
    // deploy waits for stdin that never comes: nothing has started, so SIGTERM ends it at once
    let f = Fixture::multi();
    let mut child = f
        .command()
        .args(["plan", "--changed-from", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // time to install the handlers and block on stdin
    std::thread::sleep(std::time::Duration::from_millis(1000));
    common::signal(&child, libc::SIGTERM);
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if t.elapsed().as_secs() >= 5 {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let status = status.expect("still waiting 5 s after SIGTERM");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted before anything started"),
        "{stderr}"
    );
    assert!(f.calls().is_empty());
}

#[test]
fn a_hung_helm_dependency_update_is_stopped_by_its_watchdog() {
    let t = std::time::Instant::now();
    let out = Test::multi()
        .env("DEPLOY_NETWORK_TIMEOUT", "1")
        .env("FAKE_SLEEP_ON", "helm dependency update")
        .args(["upgrade-hub", "gamma", "prod"])
        .status(1)
        .stderr_contains("helm dependency update: `helm dependency update helm-charts/basehub` did not finish within 1s and was stopped")
        .run();
    assert!(t.elapsed().as_secs() < 15, "stopped, not waited out");
    assert!(out.calls.contains(&"fake helm: got SIGTERM".to_string()));
}

#[test]
fn output_that_is_not_utf8_does_not_end_the_build() {
    // one byte of Latin-1 from `docker build`: decoded, shown, and the build goes on
    let f = Fixture::example();
    std::fs::write(
        f.fake.join("print"),
        b"Step 1/2 : caf\xe9\nStep 2/2 : done\n",
    )
    .unwrap();
    f.test()
        .env("FAKE_PRINT_ON", "docker build")
        .args(["ea-hub", "--no-setup", "--build"])
        .status(0)
        .stderr_contains("  Step 1/2 : caf\u{fffd}\n")
        .stderr_contains("  Successfully built 0123456789ab")
        .run();
}

#[test]
fn a_huge_output_line_is_cut_in_the_log_and_in_the_error() {
    let f = Fixture::example();
    let mut big = vec![b'x'; 50 * 1024 * 1024];
    big.push(b'\n');
    std::fs::write(f.fake.join("print"), big).unwrap();
    let out = f
        .test()
        .env("FAKE_PRINT_ON", "docker build")
        .env("FAKE_FAIL", "docker build")
        .args(["ea-hub", "--no-setup", "--build"])
        .status(1)
        // the line once in the log, cut; the error's last lines cut further
        .stderr_contains(format!(
            " … [{} more bytes of this line not shown]\n",
            50 * 1024 * 1024 - 64 * 1024
        ))
        .stderr_contains("  | Error: fake docker failed on purpose")
        .run();
    assert!(
        out.stderr.len() < 200 * 1024,
        "{} bytes of stderr",
        out.stderr.len()
    );
}

/// A cluster file nested near the depth limit reads the same whatever the stack limit: the
/// clusters are parsed partly on the calling thread, whose stack is the process's (`ulimit -s`),
/// unless that is smaller than a started thread's. The limit tried is the smallest this build
/// needs for the same plan of the file without the deep block, and a little more (a debug build
/// needs far more stack than a release one).
#[test]
fn a_deeply_nested_cluster_file_reads_alike_under_a_small_stack_limit() {
    let f = Fixture::multi();
    let file = f.root.join("config/clusters/alpha/cluster.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let args = [
        "plan",
        "config/clusters/alpha/prod.values.yaml",
        "--format",
        "json",
    ];
    let run = |limit_kib: Option<u32>| {
        let c = f.command();
        let mut sh = std::process::Command::new("/bin/sh");
        sh.current_dir(&f.root)
            .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .arg("-c")
            .arg(match limit_kib {
                Some(kib) => format!("ulimit -s {kib} && exec \"$0\" \"$@\""),
                None => "exec \"$0\" \"$@\"".to_string(),
            })
            .arg(c.get_program())
            .args(args);
        let out = sh.output().unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    // the smallest limit (in steps of 32 KiB) at which the plan of the shallow file runs
    let (mut lo, mut hi) = (2, 256); // x 32 KiB: 64 KiB to 8 MiB
    assert_eq!(run(Some(hi * 32)).0, Some(0));
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if run(Some(mid * 32)).0 == Some(0) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let enough = hi * 32 + 64;
    let deep = format!("{}1{}", "{a: ".repeat(98), "}".repeat(98));
    let text = original.replacen("name: alpha", &format!("name: alpha\nmetadata: {deep}"), 1);
    std::fs::write(&file, text).unwrap();
    let normal = run(None);
    assert_eq!(normal.0, Some(0), "{}", normal.2);
    assert!(normal.1.contains("\"prod\""), "{}", normal.1);
    assert_eq!(run(Some(enough)), normal, "at {enough} KiB");
}
