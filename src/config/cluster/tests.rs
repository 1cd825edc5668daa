use super::*;

const MINIMAL: &str = "name: c1\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\nhubs:\n- name: staging\n  helm_chart: basehub\n  helm_chart_values_files: [./staging.values.yaml, ../c1/common.values.yaml]\n";

#[test]
fn a_hub_lists_exactly_its_values_paths_as_joined() {
    let text = "name: c1\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\nhubs:\n\
        - name: a\n  helm_chart: basehub\n  helm_chart_values_files: [a.yaml, ./b.yaml, \
        ../c1/c.yaml, x//y.yaml, sub/./d.yaml, sub/e.yaml, ../c2/f.yaml]\n\
        - name: b\n  helm_chart: basehub\n  helm_chart_values_files: [sub/e.yaml]\n";
    let c = Cluster::parse("c1", text).unwrap();
    let joined = |i: usize| -> Vec<String> {
        let folder = paths::Folder::new(&c.dir);
        let listed = &c.file.hubs[i].helm_chart_values_files;
        listed.iter().map(|f| folder.join(f).unwrap()).collect()
    };
    assert_eq!(c.hub_values(0).collect::<Vec<_>>(), joined(0));
    assert_eq!(c.hub_values(1).collect::<Vec<_>>(), joined(1));
    assert_eq!(joined(0)[6], "config/clusters/c2/f.yaml");
    let candidates = [
        "config/clusters/c1/a.yaml",
        "config/clusters/c1/b.yaml",
        "config/clusters/c1/c.yaml",
        "config/clusters/c1/x/y.yaml",
        "config/clusters/c1/sub/d.yaml",
        "config/clusters/c1/sub/e.yaml",
        "config/clusters/c2/f.yaml",
        "config/clusters/c1/./b.yaml",
        "config/clusters/c1/../c1/c.yaml",
        "config/clusters/c1",
        "config/clusters/c1/",
        "config/clusters/c1a.yaml",
        "config/clusters/c10/a.yaml",
        "a.yaml",
        "",
    ];
    for i in 0..2 {
        for p in candidates {
            let listed = joined(i).iter().any(|f| f == p);
            assert_eq!(c.hub_lists_value(i, p), listed, "hub {i}, {p:?}");
        }
    }
}

#[test]
fn minimal_cluster_loads_and_paths_are_normalized() {
    let c = Cluster::parse("c1", MINIMAL).unwrap();
    assert_eq!(
        c.hub_files(0).collect::<Vec<_>>(),
        [
            "config/clusters/c1/staging.values.yaml",
            "config/clusters/c1/common.values.yaml"
        ]
    );
    assert!(c.file.hubs[0].is_staging());
    assert!(!c.has_support());
}

#[test]
fn folder_name_must_match() {
    let e = Cluster::parse("other", MINIMAL).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/clusters/other/cluster.yaml: name: is `c1` but the folder is `other`: they must match"
    );
}

#[test]
fn unknown_keys_are_rejected_with_location() {
    let text = format!("{MINIMAL}  domian: x.org\n");
    let e = Cluster::parse("c1", &text).unwrap_err();
    assert_eq!(e.line, Some(8));
    assert!(e.message.starts_with("unknown field `domian`"), "{e}");
    let e = Cluster::parse("c1", &format!("{MINIMAL}extra: 1\n")).unwrap_err();
    assert!(e.message.starts_with("unknown field `extra`"), "{e}");
}

const FULL: &str = "name: c1\nprovider: gcp\nmetadata:\n  2i2c:\n    deal: 1\ngcp:\n  key: k.json\n  project: p\n  cluster: c\n  zone: z\n  billing:\n    paid_by_us: true\nsupport:\n  helm_chart_values_files: [support.values.yaml]\nhubs:\n- name: staging\n  domain: s.example.org\n  helm_chart: basehub\n  helm_chart_values_files: [a.yaml]\n  uptime_check:\n    expected_status: 200\n  health_check:\n    path: /hub/health\n";

/// Cluster files are read straight from the text (`from_str_refusing_repeats`), which is
/// right only while every mapping of `ClusterFile` refuses a repeated key by itself: a
/// `HashMap` field added later would keep the last of two keys where `yaml::from_str`'s key
/// scan refuses them. Each mapping here, given a key twice, must fail with the key scan's
/// message, and tricky documents must read exactly as `yaml::from_str` reads them.
#[test]
fn read_straight_from_the_text_exactly_as_from_str_reads_it() {
    use crate::config::yaml;
    let both = |text: &str| {
        let direct = yaml::from_str_refusing_repeats("f", text, ClusterFile::plain_values);
        assert_eq!(direct, yaml::from_str::<ClusterFile>("f", text), "{text}");
        direct
    };
    assert!(both(FULL).is_ok());
    // a key given twice, in each mapping (top level, a Value block, a provider block, its
    // Value, support, a hub, a hub's Value, a hub's health check)
    for (after, key) in [
        ("provider: gcp\n", "provider: aws\n"),
        ("    deal: 1\n", "    deal: 2\n"),
        ("    deal: 1\n", "  2i2c: x\n"),
        ("  zone: z\n", "  zone: y\n"),
        ("    paid_by_us: true\n", "    paid_by_us: false\n"),
        ("support:\n", "  helm_chart_values_files: []\n"),
        ("  domain: s.example.org\n", "  domain: t.example.org\n"),
        ("    expected_status: 200\n", "    expected_status: 301\n"),
        ("    path: /hub/health\n", "    path: /x\n"),
    ] {
        let text = FULL.replacen(after, &format!("{after}{key}"), 1);
        assert_ne!(text, FULL);
        let e = both(&text).unwrap_err();
        assert!(e.message.starts_with("duplicate key"), "{text}\n{e}");
    }
    // what a Value would read differently: the exact path's reading, both ways
    for (from, to) in [
        ("name: staging", "name: 123"),
        ("zone: z", "zone: 1.10"),
        ("zone: z", "zone: !!str z"),
        ("hubs:\n", "hubs: ~\nx:\n"),
        ("    deal: 1\n", "    1: 1\n    <<: {a: b}\n"),
        ("  zone: z\n", "  zone: &z z\n  cluster2: *z\n"),
        ("  project: p\n", "  project: ~\n"),
        ("domain: s.example.org", "domain: \"a\": b"),
        ("helm_chart: basehub", "helm_chart: [basehub"),
        // keys equal as written, not as read: one key to the key scan, two to a `Value`
        ("    deal: 1\n", "    1: a\n    '1': b\n"),
        ("    deal: 1\n", "    true: a\n    'true': b\n"),
        ("    deal: 1\n", "    ~: a\n    '~': b\n"),
        ("    deal: 1\n", "    !!str 1: a\n    1: b\n"),
        ("    deal: 1\n", "    x: {1.0: a, '1.0': b}\n"),
        ("    paid_by_us: true\n", "    1: a\n    \"1\": b\n"),
        ("    expected_status: 200\n", "    200: a\n    \"200\": b\n"),
        ("  2i2c:\n    deal: 1\n", "  {1: a, \"1\": b}\n"),
    ] {
        let text = FULL.replacen(from, to, 1);
        assert_ne!(text, FULL);
        let _ = both(&text);
    }
}

/// `plain_values` must look at every `Value` field: one added to these structs must be added
/// there too (and to the cases above).
#[test]
fn every_free_form_block_is_checked_for_plain_values() {
    let src = include_str!("../cluster.rs");
    let code = src.split("#[cfg(test)]").next().unwrap();
    let fields = code.matches(": Option<Value>").count();
    assert_eq!(fields + code.matches(": Option<Box<Value>>").count(), 4);
    assert!(!code.contains(": Value,") && !code.contains("Vec<Value>"));
    let aws = FULL.replace("provider: gcp", "provider: aws").replace(
        "gcp:\n  key: k.json\n  project: p\n  cluster: c\n  zone: z\n",
        "aws:\n  key: k.json\n  clusterName: c\n  region: r\n",
    );
    for (text, from) in [
        (FULL, "    deal: 1\n"),
        (FULL, "    paid_by_us: true\n"),
        (aws.as_str(), "    paid_by_us: true\n"),
        (FULL, "    expected_status: 200\n"),
    ] {
        let ok: ClusterFile = crate::config::yaml::from_str("f", text).unwrap();
        assert!(ok.plain_values(), "{text}");
        let text = text.replacen(from, &format!("{from}    7: x\n"), 1);
        let other: ClusterFile = crate::config::yaml::from_str("f", &text).unwrap();
        assert!(!other.plain_values(), "{text}");
    }
}

#[test]
fn provider_block_is_required() {
    let e = Cluster::parse("c1", "name: c1\nprovider: gcp\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("gcp"));
}
