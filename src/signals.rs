//! Ctrl-C / SIGTERM: remember that we were asked to stop, so runners can forward the signal to
//! their children, wait for them, start nothing new, and the process can exit 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Install handlers for SIGINT and SIGTERM that only set a flag. Without them a cancelled CI job
/// would kill us between `helm upgrade` starting and finishing, leaving nothing in the log.
pub fn install() -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(flag()))?;
    }
    Ok(())
}

pub fn interrupted() -> bool {
    flag().load(Ordering::SeqCst)
}

/// For tests of interruption without sending real signals.
pub fn set_interrupted(v: bool) {
    flag().store(v, Ordering::SeqCst);
}
