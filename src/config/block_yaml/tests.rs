use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::from_str;
use crate::config::cluster::ClusterFile;

/// Read by the block reader, and exactly as serde_yaml reads it.
fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) -> T {
    let fast: Option<T> = from_str(text);
    let exact: T = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(fast.as_ref(), Some(&exact), "{text}");
    exact
}

/// Whenever the block reader reads `text`, it reads what serde_yaml reads.
fn never_differs<T: DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) -> bool {
    match from_str::<T>(text) {
        Some(fast) => {
            let exact: Result<T, _> = serde_yaml::from_str(text);
            assert_eq!(exact.as_ref().ok(), Some(&fast), "{text}");
            true
        }
        None => false,
    }
}

const CLUSTER: &str = "\
# a cluster, as 2i2c writes them
name: 2i2c-uk
provider: gcp   # the provider block below
provider_url: https://console.cloud.google.com/kubernetes/clusters/details/europe-west2/x?project=p&x=1#frag
metadata:
  2i2c:
    hubspot_deal_id: 231111145206
    notes: 'it''s ours'
gcp:
  key: enc-deployer-credentials.secret.json
  project: two-eye-two-see-uk
  cluster: two-eye-two-see-uk-cluster
  zone: europe-west2-b

  billing:
    paid_by_us: true
    bigquery:
      project: two-eye-two-see
      dataset: cloud_costs
      billing_id: 0157F7-E3EA8C-25AC3C
support:
  helm_chart_values_files:
    - support.values.yaml
    - enc-support.secret.values.yaml
hubs:
  - name: staging
    display_name: \"2i2c UK staging: école\"
    domain: staging.uk.2i2c.cloud
    helm_chart: basehub
    helm_chart_values_files:
    # values, then secrets
    - common.values.yaml
    - ./staging.values.yaml
    - enc-staging.secret.values.yaml
    uptime_check:
      expected_status: 302
      enabled: false
  - name: lis
    display_name: London Interdisciplinary School
    domain: ds.lis.2i2c.cloud
    domain_override_file:
    helm_chart: daskhub
    chart_override: ~
    helm_chart_values_files:
      - common.values.yaml
      - lis.values.yaml
    health_check:
      enabled: True
      path: /hub/health
";

#[test]
fn reads_a_cluster_file_as_serde_yaml_does() {
    let c: ClusterFile = agree(CLUSTER);
    assert_eq!(c.hubs.len(), 2);
    assert_eq!(
        c.hubs[0].display_name.as_deref(),
        Some("2i2c UK staging: école")
    );
    assert_eq!(c.hubs[1].domain_override_file, None);
    agree::<Value>(CLUSTER);
    // the generated benchmark repos' layout: sequences at their key's indentation
    let generated = "name: c\nprovider: kubeconfig\nkubeconfig:\n  file: k.yaml\nhubs:\n- name: staging\n  helm_chart: basehub\n  helm_chart_values_files:\n  - a.yaml\n  - b.yaml\n- name: prod\n  helm_chart: basehub\n  helm_chart_values_files:\n  - a.yaml\n";
    agree::<ClusterFile>(generated);
    agree::<Value>(generated);
}

#[test]
fn plain_scalars_read_as_serde_yaml_reads_them() {
    for s in [
        "x",
        "2i2c",
        "0",
        "7",
        "007",
        "1_000",
        "12:30",
        "1.2.3",
        "123abc",
        "1e",
        "inf",
        "nan",
        "Infinity",
        "true",
        "True",
        "TRUE",
        "false",
        "tRUE",
        "yes",
        "no",
        "on",
        "null",
        "Null",
        "NULL",
        "~",
        "a b  c",
        "a#b",
        "a:b",
        "http://x:80/y",
        "é",
        "x'y\"z",
        "18446744073709551615",
        "'q'",
        "''",
        "'a''b'",
        "./x.yaml",
        "+x",
        ".x",
        "_x",
        "/x",
        "é",
        "\"d\"",
        "\"\"",
        "\"a'b\"",
        "x # c",
        "'q' # c",
        "\"\" #",
    ] {
        let doc = format!("k: {s}\n");
        assert!(never_differs::<Value>(&doc), "declined {doc:?}");
        let doc = format!("- {s}\n");
        assert!(never_differs::<Value>(&doc), "declined {doc:?}");
        let doc = format!("{s}: v\n");
        never_differs::<Value>(&doc);
    }
    // what it is not sure of: numbers serde_yaml reads some other way, or beyond u64
    for s in [
        "-1",
        "+1",
        ".5",
        "1.5",
        "1e3",
        "0x1F",
        "0o17",
        "0b1",
        "1.",
        "18446744073709551616",
        ".inf",
        "-.inf",
        ".nan",
        "+.INF",
        ".NaN",
        "-0x1",
        "+0o7",
        "-1.5e3",
        "-0123",
    ] {
        assert!(from_str::<Value>(&format!("k: {s}\n")).is_none(), "{s}");
        never_differs::<Value>(&format!("k: '{s}'\n"));
    }
}

#[test]
fn declines_what_is_outside_the_subset() {
    for doc in [
        "",
        "# only a comment\n",
        "scalar\n",
        "k: [a, b]\n",
        "k: {a: b}\n",
        "k: |\n  text\n",
        "k: >\n  text\n",
        "k: &a x\nl: *a\n",
        "k: !!str x\n",
        "k: a\n  continued\n",
        "k:\n  value on the next line\n",
        "k:\tx\n",
        "k: x\r\n",
        "---\nk: x\n",
        "k: x\n...\n",
        "%YAML 1.2\n---\nk: x\n",
        "\u{feff}k: x\n",
        "k: x\u{85}y\n",
        "k: x\u{2028}y\n",
        "k: a\nk: b\n",
        "k: a: b\n",
        "k: a:\n",
        "k: \"a\\tb\"\n",
        "k: 'open\n",
        "k: 'a'b\n",
        "k: \"a\"#c\n",
        "- - a\n",
        "-\n  a\n",
        "- # null\n",
        "? k\n: v\n",
        "'k': v\n",
        "k y: v\n",
        "k:v\n",
        "-k: v\n",
        " k: v\n",
        "k:\n    a: 1\n  b: 2\n",
        "k:\n  a: 1\n b: 2\n",
        "k:\n- a\n  - b\n",
        "<<: {a: b}\n",
        "k: x\n\u{1}\n",
    ] {
        assert!(from_str::<Value>(doc).is_none(), "{doc:?}");
    }
    let many: String = (0..40).map(|i| format!("k{i}: v\n")).collect();
    agree::<Value>(&many);
    assert!(from_str::<Value>(&format!("{many}k7: again\n")).is_none());
    assert!(from_str::<Value>(&format!("k7: first\n{many}")).is_none());
    // a key as long as libyaml takes, and longer (it refuses one over 1024 characters)
    agree::<Value>(&format!("{}: 1\n", "a".repeat(256)));
    for doc in [
        format!("{}: 1\n", "a".repeat(257)),
        format!("{}: 1\n", "a".repeat(1025)),
        format!("m:\n  {}: 1\n", "a".repeat(1025)),
    ] {
        assert!(from_str::<Value>(&doc).is_none(), "{doc:?}");
    }
    // nesting through mappings that start on a dash's line and sequences at their key's
    // indentation (the review found these skipped the limit): declined, and so read by libyaml,
    // whose depth check refuses what is too deep, before the stack could run out
    let chain = |n: usize| {
        let mut s = String::from("k:\n");
        for i in 0..n {
            s += &format!("{}- k:\n", "  ".repeat(i));
        }
        s + &format!("{}- v\n", "  ".repeat(n))
    };
    agree::<Value>(&chain(10));
    for n in [50, 64, 3000] {
        assert!(from_str::<Value>(&chain(n)).is_none(), "{n}");
    }
    let deep: String = (0..40).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
    assert!(from_str::<Value>(&format!("{deep}{}v: 1\n", "  ".repeat(40))).is_none());
}

#[test]
fn types_it_is_not_sure_of_decline() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct T {
        b: Option<bool>,
        n: Option<u64>,
        s: Option<String>,
    }
    agree::<T>("b: true\nn: 42\ns: ~\n");
    agree::<T>("b: False\nn: 0\ns: '~'\n");
    agree::<T>("s: 123\n");
    agree::<T>("s:\n");
    for doc in [
        "b: 'true'\n",
        "b: yes\n",
        "n: 007\n",
        "n: '1'\n",
        "n: -1\n",
        "s: [a]\n",
        "s:\n  a: b\n",
        "s: a\ns: b\n",
    ] {
        assert!(from_str::<T>(doc).is_none(), "{doc:?}");
    }
}

/// Every YAML file of this repository (examples, fixtures, charts, fuzz seeds), and of a checkout
/// named by `BLOCK_YAML_AGREE_DIR` (2i2c's infrastructure, say): wherever the block reader reads
/// one, serde_yaml reads the same; and it reads most cluster files.
#[test]
fn every_yaml_file_here_reads_the_same() {
    let mut roots = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    if let Ok(extra) = std::env::var("BLOCK_YAML_AGREE_DIR") {
        roots.push(extra.into());
    }
    let (mut files, mut read, mut clusters, mut clusters_read) = (0, 0, 0, 0);
    for root in roots {
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.file_type().unwrap().is_dir() {
                    if !name.starts_with('.') && name != "target" {
                        stack.push(path);
                    }
                    continue;
                }
                if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                files += 1;
                if never_differs::<Value>(&text) {
                    read += 1;
                }
                if name == "cluster.yaml" {
                    clusters += 1;
                    if never_differs::<ClusterFile>(&text) {
                        clusters_read += 1;
                    } else {
                        eprintln!("declined: {}", path.display());
                    }
                }
            }
        }
    }
    eprintln!("{read} of {files} YAML files read, {clusters_read} of {clusters} cluster files");
    assert!(files > 100 && read > files / 3, "{read} of {files}");
    assert!(
        clusters > 10 && clusters_read > clusters / 2,
        "{clusters_read} of {clusters}"
    );
}
