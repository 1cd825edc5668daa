//! cluster.yaml: the typed loader (path normalization included), the schema check and the
//! locator never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = deploy::config::cluster::Cluster::parse("c", text);
    let mut problems = Vec::new();
    deploy::validate::schema::check(
        &deploy::validate::schema::CLUSTER,
        "cluster.yaml",
        text,
        &mut problems,
    );
    let _ = deploy::validate::locate::Locations::of(text).find("/hubs/0/name");
});
