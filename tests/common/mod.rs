//! Test harness for binary tests: a throwaway git repo holding a copy of the example hub-ops
//! content, and fake gcloud/docker/helm/kubectl first on a restricted PATH that log their argv
//! ([`Fixture`]); [`Test`] runs the real `deploy` binary in one and checks what it did.

#![allow(dead_code)]

mod builder;
pub mod commands;
mod git_repos;
pub mod real;
pub mod release_server;

use std::path::{Path, PathBuf};
use std::process::Command;

// not every test file names them all
#[allow(unused_imports)]
pub use builder::{Held, Output, Test};
#[allow(unused_imports)]
pub use git_repos::{bare_repo, files_on_main};

pub const EXAMPLE_PARTS: &[&str] = &[
    "deploy.yaml",
    "hub-charts",
    "base-charts",
    "monitoring",
    "user-images",
    "secrets",
];
pub const FAKE_TOOLS: &[&str] = &[
    "gcloud", "docker", "helm", "kubectl", "aws", "az", "sops", "curl",
];
/// Variables of the environment the tests run in that would change what `deploy` does (CI
/// detection, GitHub's output files, the end-to-end environment's cluster): never passed on.
pub const OUTSIDE_ENV: &[&str] = &[
    "GITHUB_ACTIONS",
    "TRAVIS",
    "KUBECONFIG",
    "CI",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
];

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    /// State of the fake tools (call log, registry, deployments).
    pub fake: PathBuf,
    /// The only folder on PATH: fake tools plus a link to the real git.
    pub bin: PathBuf,
}

/// Copy a tree, symlinks as symlinks (2i2c's daskhub/values.jsonnet is one).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from).unwrap(), to).unwrap();
    } else if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            // helm dependency update output is not part of the example
            if name == "charts" || name == "Chart.lock" {
                continue;
            }
            copy_tree(&e.path(), &to.join(name));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2020-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Fixture {
    /// The example repo, committed in one commit.
    pub fn example() -> Fixture {
        let f = Fixture::empty();
        for part in EXAMPLE_PARTS {
            copy_tree(&manifest_dir().join(part), &f.root.join(part));
        }
        f.commit_all("example hub-ops repo");
        f
    }

    /// A copy of tests/fixtures/hub-ops-2i2c (a 2i2c-style repo), committed.
    pub fn hub_ops_2i2c() -> Fixture {
        let f = Fixture::empty();
        let src = manifest_dir().join("tests/fixtures/hub-ops-2i2c");
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &f.root.join(e.file_name()));
        }
        f.commit_all("a 2i2c-style repo");
        f
    }

    /// A copy of examples/multi-cluster, committed.
    pub fn multi() -> Fixture {
        let f = Fixture::empty();
        let src = manifest_dir().join("examples/multi-cluster");
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &f.root.join(e.file_name()));
        }
        f.commit_all("multi-cluster example");
        f
    }

    /// An empty git repo with the fake tools set up.
    pub fn empty() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let fake = tmp.path().join("fake");
        let bin = tmp.path().join("bin");
        for d in [&root, &fake, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        git(&root, &["init", "-q", "-b", "main"]);
        let script = manifest_dir().join("tests/fake-tools/fake-tool");
        for t in FAKE_TOOLS {
            std::os::unix::fs::symlink(&script, bin.join(t)).unwrap();
        }
        let real_git = which::which("git").expect("git is installed");
        std::os::unix::fs::symlink(real_git, bin.join("git")).unwrap();
        std::fs::write(fake.join("log"), "").unwrap();
        Fixture {
            _tmp: tmp,
            root,
            fake,
            bin,
        }
    }

    pub fn commit_all(&self, msg: &str) {
        git(&self.root, &["add", "-A"]);
        git(&self.root, &["commit", "-q", "-m", msg]);
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Remove a file of the repo.
    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }

    /// gamma/prod gets a second, sops-encrypted values file (the multi-cluster example).
    pub fn encrypt_gamma_prod_values(&self) {
        self.write(
            "config/clusters/gamma/enc-prod.secret.values.yaml",
            "jupyterhub:\n  hub:\n    cookieSecret: ENC[AES256_GCM,data:abc=,type:str]\nsops:\n  version: 3.8.1\n",
        );
        let c =
            std::fs::read_to_string(self.root.join("config/clusters/gamma/cluster.yaml")).unwrap();
        let c = c.replacen(
            "- prod.values.yaml",
            "- prod.values.yaml\n      - enc-prod.secret.values.yaml",
            1,
        );
        assert!(c.contains("enc-prod.secret.values.yaml"), "{c}");
        self.write("config/clusters/gamma/cluster.yaml", c);
    }

    /// Calls of `name` (those whose `"<name> <argv>"` contains one of `when`, or all when empty)
    /// run the real program at `path` after being logged (see tests/fake-tools/fake-tool).
    pub fn use_real(&self, name: &str, path: &Path, when: &[&str]) {
        let real = self.fake.join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(path, real.join(name)).unwrap();
        if !when.is_empty() {
            std::fs::write(real.join(format!("{name}.when")), when.join("\n") + "\n").unwrap();
        }
        let link = self.bin.join(name);
        if !link.exists() {
            let script = manifest_dir().join("tests/fake-tools/fake-tool");
            std::os::unix::fs::symlink(script, link).unwrap();
        }
    }

    /// What the fake `sops --decrypt <rel>` prints for that file.
    pub fn sops_output(&self, rel: &str, text: &str) {
        let dir = self.fake.join("sops");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(rel.replace('/', "_")), text).unwrap();
    }

    /// A file the fake tools wrote in their state folder ("" when absent).
    pub fn fake_state(&self, name: &str) -> String {
        std::fs::read_to_string(self.fake.join(name)).unwrap_or_default()
    }

    /// Put the fake tool on PATH as `name` too (replacing the real git, or adding `jsonnet`):
    /// for tests that need its answers, such as version probes.
    pub fn fake_tool(&self, name: &str) {
        let link = self.bin.join(name);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link).unwrap();
        }
        let script = manifest_dir().join("tests/fake-tools/fake-tool");
        std::os::unix::fs::symlink(script, link).unwrap();
    }

    /// What the fake `name`'s version probe prints (see tests/fake-tools/fake-tool).
    pub fn tool_version(&self, name: &str, printed: &str) {
        let dir = self.fake.join("versions");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), printed).unwrap();
    }

    pub fn remove_tool(&self, name: &str) {
        std::fs::remove_file(self.bin.join(name)).unwrap();
    }

    /// What the fake `kubectl -n NS get secret -l owner=helm,name=<release> …` prints: helm's
    /// release records of `release`, one label map per revision.
    pub fn helm_records(&self, release: &str, text: &str) {
        std::fs::write(self.fake.join(format!("helm-records-{release}")), text).unwrap();
    }

    pub fn set_deployments(&self, names: &[&str]) {
        let text: String = names
            .iter()
            .map(|n| format!("deployment.apps/{n}\n"))
            .collect();
        std::fs::write(self.fake.join("deployments"), text).unwrap();
    }

    /// Put the chart's current image tag in the fake registry under `repo` (as an earlier
    /// `--build --push` would have), so a `--deploy` finds it.
    pub fn pushed_as(&self, repo: &str, chart: &str) {
        let mut text = std::fs::read_to_string(self.fake.join("registry")).unwrap_or_default();
        text.push_str(&format!("{repo}:{}\n", self.tag(chart)));
        std::fs::write(self.fake.join("registry"), text).unwrap();
    }

    /// [`Fixture::pushed_as`] with the example's image name.
    pub fn pushed(&self, chart: &str) {
        self.pushed_as(&format!("earthlabhubops/ea-k8s-user-{chart}"), chart);
    }

    pub fn registry(&self) -> Vec<String> {
        std::fs::read_to_string(self.fake.join("registry"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The fake tools' calls so far, one "<tool> <argv>" per entry.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.fake.join("log"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// `(tool, first argument, KUBECONFIG, CLOUDSDK_CONFIG, mode of KUBECONFIG's folder)` of each
    /// call so far ("-" when unset).
    pub fn call_envs(&self) -> Vec<[String; 5]> {
        std::fs::read_to_string(self.fake.join("env"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut f = l.split('\t').map(String::from);
                std::array::from_fn(|_| f.next().unwrap_or_default())
            })
            .collect()
    }

    pub fn clear_calls(&self) {
        std::fs::write(self.fake.join("log"), "").unwrap();
    }

    /// The image tag deploy should compute: the last commit touching user-images/<chart>.
    pub fn tag(&self, chart: &str) -> String {
        git(
            &self.root,
            &[
                "log",
                "-n",
                "1",
                "--pretty=format:%h",
                "--",
                &format!("user-images/{chart}"),
            ],
        )
    }

    /// A [`Test`]: the `deploy` binary run in this fixture, its expectations checked.
    pub fn test(&self) -> Test<'_> {
        Test::borrowing(self)
    }

    /// `deploy` with PATH restricted to the fake tools and git, in the repo, outside any CI (for
    /// tests that need control of the process; [`Fixture::test`] for the others).
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_deploy"));
        c.current_dir(&self.root)
            .env("PATH", &self.bin)
            .env("FAKE_LOG", self.fake.join("log"))
            .env("FAKE_DIR", &self.fake);
        for k in OUTSIDE_ENV {
            c.env_remove(k);
        }
        c
    }

    /// Start `deploy args…` with the fake tool call matching `sleep_on` hanging, send SIGTERM once
    /// that call is running, and return what the process printed and how long it all took.
    pub fn interrupt_at(
        &self,
        sleep_on: &str,
        args: &[&str],
    ) -> (std::process::Output, std::time::Duration) {
        self.signal_at(sleep_on, args, &[], libc::SIGTERM)
    }

    /// [`Fixture::interrupt_at`] with `sig` and more environment for the fake tools.
    pub fn signal_at(
        &self,
        sleep_on: &str,
        args: &[&str],
        env: &[(&str, &str)],
        sig: i32,
    ) -> (std::process::Output, std::time::Duration) {
        let (child, t0) = self.start_sleeping(sleep_on, args, env);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        (out, t0.elapsed())
    }

    /// Start `deploy args…` in its own process group (as a shell starts a command) with the fake
    /// tool call matching `sleep_on` hanging; return once that call is running.
    pub fn start_sleeping(
        &self,
        sleep_on: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (std::process::Child, std::time::Instant) {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.command();
        cmd.env("FAKE_SLEEP_ON", sleep_on)
            .envs(env.iter().copied())
            .args(args)
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let t0 = std::time::Instant::now();
        while !self.fake.join("sleeping").exists() {
            assert!(t0.elapsed().as_secs() < 20, "`{sleep_on}` never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child, t0)
    }

    /// Kill the fake tool's sleep if it is still there (its tool was killed without it).
    pub fn kill_sleeper(&self) {
        let pid = std::fs::read_to_string(self.fake.join("sleeping")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill(2); the pid is a sleep the fake tool started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }

    /// The private kubeconfigs the fake tools were given.
    pub fn kubeconfigs(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.fake.join("kubeconfigs")).unwrap_or_default();
        let mut k: Vec<String> = text.lines().map(String::from).collect();
        k.sort();
        k.dedup();
        k
    }

    pub fn password(&self) -> String {
        std::fs::read_to_string(self.root.join("secrets/dockerhub"))
            .unwrap()
            .trim_end()
            .to_string()
    }
}

/// Send `sig` to a child process.
pub fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on the child we started.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// Send `sig` to a child's whole process group, as Ctrl-C in a terminal does.
pub fn signal_group(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on the process group of the child we started (its own group).
    unsafe {
        libc::kill(-(child.id() as i32), sig);
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The multi-cluster example, loaded in place (for tests that run no binary).
pub fn multi_example() -> deploy::config::multi::MultiRepo {
    deploy::config::multi::MultiRepo::load(&manifest_dir().join("examples/multi-cluster")).unwrap()
}

/// Run options for orchestration tests: short lease timings, `jobs` helm processes, not live.
pub fn run_options(jobs: usize) -> deploy::execute::run::RunOptions {
    deploy::execute::run::RunOptions {
        jobs,
        lease: deploy::execute::lease::LeaseSettings {
            holder: "test-holder".into(),
            duration: std::time::Duration::from_secs(60),
            wait: std::time::Duration::from_millis(300),
            poll: std::time::Duration::from_millis(20),
        },
        sequential: false,
        live: false,
        heartbeat: None,
    }
}

/// How the orchestration tests' releases run: helm's timeout 5m, no health checks (the
/// recording runner's empty answers would be retried for 5 minutes; tests/health.rs checks
/// them against a real server).
pub fn release_options() -> deploy::plan::release::Options {
    deploy::plan::release::Options {
        timeout: "5m".into(),
        force: false,
        force_recover: false,
        skip_health_check: true,
    }
}

/// The run plan of `jobs` on the multi-cluster example.
pub fn example_plan(jobs: &[deploy::plan::jobs::Job]) -> deploy::plan::run_plan::RunPlan {
    deploy::plan::run_plan::build(&multi_example(), jobs, &release_options()).unwrap()
}

/// `run::run` of `jobs` on the multi-cluster example with a recording runner; the outcomes and
/// what was logged.
pub fn run_example(
    r: &deploy::runner::RecordingRunner,
    jobs: &[deploy::plan::jobs::Job],
    o: &deploy::execute::run::RunOptions,
) -> (Vec<deploy::execute::outcome::Outcome>, String) {
    run_example_with(r, jobs, o, &release_options())
}

/// [`run_example`] with other release options.
pub fn run_example_with(
    r: &deploy::runner::RecordingRunner,
    jobs: &[deploy::plan::jobs::Job],
    o: &deploy::execute::run::RunOptions,
    release: &deploy::plan::release::Options,
) -> (Vec<deploy::execute::outcome::Outcome>, String) {
    use deploy::log::{Ci, Log, SharedBuf, Verbosity};
    let repo = multi_example();
    let plan = deploy::plan::run_plan::build(&repo, jobs, release).unwrap();
    let buf = SharedBuf::default();
    let log = Log::with_sink(Verbosity::Normal, Ci::Plain, Box::new(buf.clone()));
    (
        deploy::execute::run::run(&repo.root, &plan, r, &log, o),
        buf.text(),
    )
}

/// `cluster/hub: reason` of each job of a kind (`support-jobs`, `staging-jobs`, `prod-jobs`) of a
/// JSON plan.
pub fn plan_jobs(v: &serde_json::Value, kind: &str) -> Vec<String> {
    v[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let hub = j
                .get("hub_name")
                .and_then(serde_json::Value::as_str)
                .map(|h| format!("/{h}"))
                .unwrap_or_default();
            format!(
                "{}{hub}: {}",
                j["cluster_name"].as_str().unwrap(),
                j["reason_for_redeploy"].as_str().unwrap()
            )
        })
        .collect()
}
