//! curl: a hub's health endpoint, asked once (the caller retries).

use std::time::Duration;

use crate::cmd::Cmd;

/// How long one try may take.
pub const TRY_TIMEOUT: Duration = Duration::from_secs(20);

/// `GET url`, printing only the HTTP status code (`000` when nothing answered). Its non-zero exit
/// (no answer, a bad certificate) is an answer too. `connect_to`: `HOST:PORT` to connect to
/// instead of what the URL's host resolves to; `ca_file`: the CA bundle to trust.
pub fn status_code(url: &str, connect_to: Option<&str>, ca_file: Option<&str>) -> Cmd {
    let mut c = Cmd::new("curl").args([
        "--silent",
        "--show-error",
        "--output",
        "/dev/null",
        "--write-out",
        "%{http_code}",
        "--max-time",
        &TRY_TIMEOUT.as_secs().to_string(),
    ]);
    if let Some(target) = connect_to {
        // every name and port of the URL goes to `target`
        c = c.args(["--connect-to".to_string(), format!("::{target}")]);
    }
    if let Some(ca) = ca_file {
        c = c.args(["--cacert", ca]);
    }
    c.arg(url)
        .remote_probe()
        .timeout(TRY_TIMEOUT + Duration::from_secs(5))
}

/// `curl --version` (for `deploy doctor`).
pub fn version() -> Cmd {
    Cmd::new("curl").arg("--version").local_probe()
}
