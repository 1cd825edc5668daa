//! What the user sees as results: plans, run reports, GitHub outputs (logs are `crate::log`).

pub mod diff;
pub mod doctor;
pub mod github;
pub mod plan;
pub mod run;
pub mod status;

/// Write a result to stdout (with a final newline); a closed pipe (`| head`) is not an error
/// worth a stack of messages.
pub fn print_result(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let r = stdout.write_all(text.as_bytes()).and_then(|()| {
        if text.ends_with('\n') {
            Ok(())
        } else {
            stdout.write_all(b"\n")
        }
    });
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| anyhow::anyhow!("writing the result to stdout: {e}")),
    }
}
