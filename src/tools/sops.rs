//! sops: decrypting secret files.

use crate::cmd::{Cmd, Effect};

/// Prints the decrypted content on stdout (captured, never logged: see `Effect::Decrypt`). sops
/// may ask a cloud KMS for the key: a network call.
pub fn decrypt(file: &str) -> Cmd {
    Cmd::new("sops")
        .args(["--decrypt", file])
        .effect(Effect::Decrypt)
        .timeout(super::network_timeout())
}

/// `sops --version`, without its check for a newer release on GitHub (a network call):
/// `--disable-version-check` (sops 3.8 and newer) and its variable.
pub fn version() -> Cmd {
    super::version_probe(
        Cmd::new("sops")
            .args(["--version", "--disable-version-check"])
            .env("SOPS_DISABLE_VERSION_CHECK", "true"),
    )
}
