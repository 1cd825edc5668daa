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
