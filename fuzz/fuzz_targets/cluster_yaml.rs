//! cluster.yaml: the typed loader (path normalization included), the schema check and the
//! locator never panic; and a cluster file read straight from its text reads exactly as the
//! general loader (a `Value` first) reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = deploy::config::cluster::Cluster::parse("c", text);
    use deploy::config::{cluster::ClusterFile, yaml};
    assert_eq!(
        yaml::from_str_refusing_repeats("f", text, ClusterFile::plain_values),
        yaml::from_str::<ClusterFile>("f", text)
    );
    let mut problems = Vec::new();
    deploy::validate::schema::check(
        &deploy::validate::schema::CLUSTER,
        "cluster.yaml",
        text,
        &mut problems,
    );
    let _ = deploy::validate::locate::Locations::of(text).find("/hubs/0/name");
});
