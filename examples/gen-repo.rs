//! Generate a multi-cluster repo for benchmarks: `cargo run --release --example gen-repo -- N DIR`.
//!
//! About 20 hubs per cluster, one staging hub each; every hub has its own values file and shares
//! a cluster-wide `common.values.yaml` and a group file with four other hubs; a quarter of the
//! hubs use daskhub (which depends on basehub). Prints the paths the benchmark changes.
//!
//! `gen-repo N DIR --encrypted` (scripts/bench-validate): basehub also has a values.schema.yaml,
//! and every other hub adds a sops-encrypted `enc-<hub>.secret.values.yaml` (an `ENC[…]` string
//! and a `sops:` block, as sops writes them), so `deploy validate` decrypts about half the hubs'
//! files to check them against the schema.

use std::fs;
use std::path::Path;

const HUBS_PER_CLUSTER: usize = 20;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("has a parent")).expect("create dir");
    fs::write(p, text).expect("write file");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(dir)) = (
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
        args.get(2),
    ) else {
        eprintln!("usage: gen-repo N DIR   (N hubs in total)");
        std::process::exit(2);
    };
    let encrypted = args.get(3).is_some_and(|a| a == "--encrypted");
    let root = Path::new(dir);
    if encrypted {
        write(root, "helm-charts/basehub/values.schema.yaml", SCHEMA);
    }
    write(
        root,
        "helm-charts/basehub/Chart.yaml",
        "apiVersion: v2\nname: basehub\nversion: 0.1.0\n",
    );
    write(root, "helm-charts/basehub/values.yaml", "jupyterhub: {}\n");
    write(
        root,
        "helm-charts/daskhub/Chart.yaml",
        "apiVersion: v2\nname: daskhub\nversion: 0.1.0\ndependencies:\n- name: basehub\n  version: 0.1.0\n  repository: file://../basehub\n",
    );
    write(
        root,
        "helm-charts/support/Chart.yaml",
        "apiVersion: v2\nname: support\nversion: 0.1.0\n",
    );
    let clusters = n.div_ceil(HUBS_PER_CLUSTER);
    let mut hub_files = Vec::new();
    let mut made = 0;
    for c in 0..clusters {
        let name = format!("cluster-{c:04}");
        let dir = format!("config/clusters/{name}");
        let mut y = format!(
            "name: {name}\nprovider: gcp\nmetadata:\n  2i2c:\n    hubspot_deal_id: {c}\ngcp:\n  key: enc-deployer-credentials.secret.json\n  project: project-{c}\n  cluster: {name}\n  zone: us-central1-b\nsupport:\n  helm_chart_values_files:\n  - support.values.yaml\nhubs:\n"
        );
        write(
            root,
            &format!("{dir}/support.values.yaml"),
            "prometheus: {}\n",
        );
        write(
            root,
            &format!("{dir}/enc-deployer-credentials.secret.json"),
            "{\"type\": \"FAKE\"}\n",
        );
        write(
            root,
            &format!("{dir}/common.values.yaml"),
            "jupyterhub: {}\n",
        );
        let count = HUBS_PER_CLUSTER.min(n - made);
        for h in 0..count {
            let hub = if h == 0 {
                "staging".to_string()
            } else {
                format!("hub-{h:02}")
            };
            let chart = if h % 4 == 3 { "daskhub" } else { "basehub" };
            let group = format!("group-{}.values.yaml", h / 5);
            y.push_str(&format!(
                "- name: {hub}\n  display_name: Hub {h} of {name}\n  domain: {hub}.{name}.example.org\n  helm_chart: {chart}\n  helm_chart_values_files:\n  - common.values.yaml\n  - {group}\n  - {hub}.values.yaml\n"
            ));
            if encrypted && h % 2 == 1 {
                let file = format!("enc-{hub}.secret.values.yaml");
                y.push_str(&format!("  - {file}\n"));
                write(root, &format!("{dir}/{file}"), ENCRYPTED);
            }
            write(root, &format!("{dir}/{group}"), "singleuser: {}\n");
            write(
                root,
                &format!("{dir}/{hub}.values.yaml"),
                &format!("hub: {{name: {hub}}}\n"),
            );
            hub_files.push(format!("{dir}/{hub}.values.yaml"));
        }
        made += count;
        write(root, &format!("{dir}/cluster.yaml"), &y);
    }
    // The benchmark's inputs: one hub file; 500 hub files spread over the clusters.
    let step = (hub_files.len() / 500).max(1);
    let many: Vec<&str> = hub_files
        .iter()
        .step_by(step)
        .take(500)
        .map(String::as_str)
        .collect();
    write(
        root,
        "bench/one.txt",
        &format!("{}\n", hub_files[hub_files.len() / 2]),
    );
    write(root, "bench/many.txt", &(many.join("\n") + "\n"));
    write(root, "bench/chart.txt", "helm-charts/basehub/values.yaml\n");
    println!(
        "{made} hubs in {clusters} clusters under {}",
        root.display()
    );
}

/// basehub's schema in `--encrypted` repos: what the generated values set, typed.
const SCHEMA: &str = "$schema: http://json-schema.org/draft-07/schema#
type: object
properties:
  jupyterhub: {type: object}
  singleuser: {type: object}
  hub:
    type: object
    properties:
      name: {type: string}
      secret: {type: string}
";

/// An encrypted values file as sops writes one (the benchmark's sops prints its plain form).
const ENCRYPTED: &str = "hub:
    secret: ENC[AES256_GCM,data:RkFLRQ==,iv:RkFLRQ==,tag:RkFLRQ==,type:str]
sops:
    age:
        - recipient: age1fake
          enc: FAKE
    lastmodified: \"2026-11-30T00:00:00Z\"
    mac: ENC[AES256_GCM,data:RkFLRQ==,iv:RkFLRQ==,tag:RkFLRQ==,type:str]
    version: 3.11.0
";
