//! Hubs' health checks after their upgrade, against a real HTTPS server on 127.0.0.1 (Python's,
//! with a certificate made by openssl) reached with the real curl: the hubs' domains are
//! connected to it with deploy.yaml's `connect_to`, its certificate trusted with `ca_file`.
//! helm, kubectl and gcloud are the fake tools.
//!
//! Without python3, openssl or curl these tests say so on stderr and pass, except in CI.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Fixture, Output};
use serde_json::Value;

const SERVER: &str = r#"
import http.server, ssl, sys
mode, n, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
count = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        ok = self.path == "/hub/health" and mode == "slow" and count > n
        self.send_response(200 if ok else 503)
        self.end_headers()
        self.wfile.write(b"ok" if ok else b"starting")
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// A hub server: 503 for the first `n` requests, then 200 (`slow`), or always 503 (`never`).
struct Server {
    child: Child,
    port: u16,
    cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tools(test: &str) -> Option<PathBuf> {
    for t in ["python3", "openssl", "curl"] {
        if which::which(t).is_err() {
            common::real::skip(test, &format!("{t} not found"));
            return None;
        }
    }
    which::which("curl").ok()
}

fn server(mode: &str, n: u32) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=alpha.example.org"])
        .args(["-addext", "subjectAltName=DNS:*.alpha.example.org"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new("python3")
        .args(["-c", SERVER, mode, &n.to_string()])
        .arg(&cert)
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Server {
        child,
        port: line.trim().parse().unwrap(),
        cert,
        _dir: dir,
    }
}

/// The multi-cluster example whose hubs are reached at `server`, with the real curl; `extra`
/// goes into deploy.yaml's `health_check:`.
fn fixture(curl: &Path, server: &Server, extra: &str) -> Fixture {
    let f = Fixture::multi();
    f.use_real("curl", curl, &[]);
    // the check command runs with `sh`, which the fixture's PATH lacks
    std::os::unix::fs::symlink("/bin/sh", f.bin.join("sh")).unwrap();
    let deploy = std::fs::read_to_string(f.root.join("deploy.yaml")).unwrap();
    f.write(
        "deploy.yaml",
        format!(
            "{deploy}health_check:\n  connect_to: \"127.0.0.1:{}\"\n  ca_file: {}\n  timeout: 4s\n  interval: 1s\n{extra}",
            server.port,
            server.cert.display()
        ),
    );
    f.commit_all("health checks on the local server");
    f
}

const PROD: &str = "config/clusters/alpha/prod.values.yaml";

fn run<'f>(f: &'f Fixture, status: i32, extra: &[&str]) -> (Output<'f>, Value) {
    let out = f
        .test()
        .args(["run", "--report", "report.json", PROD])
        .args(extra)
        .status(status)
        .run();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(f.root.join("report.json")).unwrap())
            .unwrap();
    (out, report)
}

fn release<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == name)
        .unwrap()
}

#[test]
fn a_slow_hub_is_asked_again_until_it_answers() {
    let Some(curl) = tools("a_slow_hub_is_asked_again_until_it_answers") else {
        return;
    };
    let s = server("slow", 2);
    let f = fixture(&curl, &s, "");
    // (-v: the release's own log, where the tries are, is shown)
    let (out, report) = run(&f, 0, &["-v"]);
    let staging = release(&report, "staging");
    assert_eq!(staging["status"], "succeeded");
    assert_eq!(staging["health"]["ok"], true);
    assert_eq!(
        staging["health"]["detail"],
        "https://staging.alpha.example.org/hub/health answered after 3 tries"
    );
    assert!(
        staging["health"]["secs"].as_f64().unwrap() >= 2.0,
        "{staging}"
    );
    assert!(
        out.stderr.contains(
            "waiting for https://staging.alpha.example.org/hub/health: HTTP 503 (try 1; again in 1s)"
        ),
        "{}",
        out.stderr
    );
    let prod = release(&report, "prod");
    assert_eq!(
        prod["health"]["detail"],
        "https://hub.alpha.example.org/hub/health answered after 1 try"
    );
    assert!(
        out.stderr.contains("healthy alpha/prod in "),
        "{}",
        out.stderr
    );
    // the summary says so too
    assert!(
        out.stderr.contains("succeeded, healthy in "),
        "{}",
        out.stderr
    );
}

#[test]
fn a_staging_hub_that_never_answers_blocks_its_clusters_prod_hubs() {
    let Some(curl) = tools("a_staging_hub_that_never_answers_blocks_its_clusters_prod_hubs") else {
        return;
    };
    let s = server("never", 0);
    let f = fixture(&curl, &s, "");
    let (out, report) = run(&f, 1, &[]);
    let staging = release(&report, "staging");
    assert_eq!(staging["status"], "failed");
    assert_eq!(staging["health"]["ok"], false);
    let msg = staging["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "health check: https://staging.alpha.example.org/hub/health did not answer within 4s ("
        ) && msg.ends_with("the last: HTTP 503)"),
        "{msg}"
    );
    let prod = release(&report, "prod");
    assert_eq!(prod["status"], "skipped");
    assert_eq!(prod["message"], "skipped (staging failed)");
    // staging was upgraded; prod never was
    let upgrades: Vec<String> = out
        .calls
        .iter()
        .filter(|c| c.starts_with("helm upgrade"))
        .cloned()
        .collect();
    assert_eq!(upgrades.len(), 1, "{upgrades:#?}");
    assert!(upgrades[0].contains(" staging "), "{upgrades:#?}");
}

#[test]
fn a_failing_check_command_fails_the_hub_and_gets_its_url_name_and_cluster() {
    let Some(curl) =
        tools("a_failing_check_command_fails_the_hub_and_gets_its_url_name_and_cluster")
    else {
        return;
    };
    let s = server("slow", 0);
    let cmd = "  command: 'echo \"$DEPLOY_CLUSTER $DEPLOY_HUB $DEPLOY_HUB_URL\" >>checked.txt; test \"$DEPLOY_HUB\" != staging || { echo \"no kernel on $DEPLOY_HUB\" >&2; exit 3; }'\n";
    let f = fixture(&curl, &s, cmd);
    let (out, report) = run(&f, 1, &[]);
    let staging = release(&report, "staging");
    assert_eq!(staging["status"], "failed");
    let msg = staging["message"].as_str().unwrap();
    assert!(
        msg.starts_with("health check command: `sh -c ") && msg.contains("no kernel on staging"),
        "{msg}"
    );
    assert_eq!(release(&report, "prod")["status"], "skipped");
    assert_eq!(
        std::fs::read_to_string(f.root.join("checked.txt")).unwrap(),
        "alpha staging https://staging.alpha.example.org/hub/health\n"
    );
    assert!(
        out.stderr.contains("no kernel on staging"),
        "{}",
        out.stderr
    );

    // --no-health-check: no check, no command; both upgraded
    std::fs::remove_file(f.root.join("checked.txt")).unwrap();
    let (out, report) = run(&f, 0, &["--no-health-check"]);
    assert!(release(&report, "staging").get("health").is_none());
    assert!(
        !out.calls.iter().any(|c| c.starts_with("curl")),
        "{:#?}",
        out.calls
    );
    assert!(!f.root.join("checked.txt").exists());
}

#[test]
fn per_hub_settings_and_the_api_server_proxy() {
    let Some(curl) = tools("per_hub_settings_and_the_api_server_proxy") else {
        return;
    };
    let s = server("slow", 0);
    let f = fixture(&curl, &s, "");
    let alpha = "config/clusters/alpha/cluster.yaml";
    let text = std::fs::read_to_string(f.root.join(alpha)).unwrap();
    // staging through the API server (the fake kubectl answers), prod not checked
    let text = text
        .replacen(
            "    domain: staging.alpha.example.org\n",
            "    domain: staging.alpha.example.org\n    health_check: {via: api-proxy}\n",
            1,
        )
        .replacen(
            "    domain: hub.alpha.example.org\n",
            "    domain: hub.alpha.example.org\n    health_check: {enabled: false}\n",
            1,
        );
    f.write(alpha, text);
    f.commit_all("per-hub health checks");
    let (out, report) = run(&f, 0, &[]);
    assert!(
        out.calls.iter().any(|c| c
            == "kubectl get --raw /api/v1/namespaces/staging/services/proxy-public:http/proxy/hub/health"),
        "{:#?}",
        out.calls
    );
    assert!(
        !out.calls.iter().any(|c| c.starts_with("curl")),
        "{:#?}",
        out.calls
    );
    assert_eq!(release(&report, "staging")["health"]["ok"], true);
    assert!(release(&report, "prod").get("health").is_none());
}
