//! cluster.yaml: the typed loader (path normalization included), the schema check and the
//! locator never panic; a cluster file read straight from its text reads exactly as the general
//! loader (a `Value` first) reads it; and whatever the block reader reads (the fast path for
//! block-style files), serde_yaml reads the same, as a `ClusterFile` and as a `Value`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = deploy::config::cluster::Cluster::parse("c", text);
    use deploy::config::{block_yaml, cluster::ClusterFile, yaml};
    let exact = yaml::from_str::<ClusterFile>("f", text);
    assert_eq!(
        yaml::from_str_refusing_repeats("f", text, ClusterFile::plain_values),
        exact
    );
    if let Some(fast) = block_yaml::from_str::<ClusterFile>(text) {
        assert_eq!(serde_yaml::from_str::<ClusterFile>(text).ok(), Some(fast));
    }
    if let Some(fast) = block_yaml::from_str::<serde_yaml::Value>(text) {
        assert_eq!(serde_yaml::from_str::<serde_yaml::Value>(text).ok(), Some(fast));
        // what the block reader reads, the depth scan passes (it is skipped then)
        assert!(yaml::check_depth("f", text).is_ok());
    }
    let mut problems = Vec::new();
    deploy::validate::schema::check(
        &deploy::validate::schema::CLUSTER,
        "cluster.yaml",
        text,
        &mut problems,
    );
    let _ = deploy::validate::locate::Locations::of(text).find("/hubs/0/name");
});
