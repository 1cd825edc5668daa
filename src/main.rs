//! Thin entry point: parse, run, map errors to exit codes (0 ok, 1 a step failed, 2 usage or
//! config error with nothing run, 130 interrupted).

use clap::Parser;

/// mimalloc, not the system allocator: YAML parsing and the values checks allocate and free many
/// small objects on every core, where glibc's malloc took a fifth of `validate`'s time (and the
/// release binaries link musl, whose malloc is slower still). Built not to ask for transparent huge
/// pages (`no_thp`: no `madvise(MADV_HUGEPAGE)`): on a short-lived process, zeroing 2 MiB pages
/// cost more at start than they saved. Asked as [`deploy::alloc`] says, not through the aligned
/// functions for every request.
#[global_allocator]
static GLOBAL: deploy::alloc::MiMalloc = deploy::alloc::MiMalloc;

fn main() {
    // `COMPLETE=<shell> deploy …`: the shell asks for completions (see `deploy completions`)
    clap_complete::CompleteEnv::with_factory(<deploy::cli::Cli as clap::CommandFactory>::command)
        .complete();
    let cli = deploy::cli::Cli::parse();
    let code = deploy::app::main(cli);
    exit_now(code);
}

/// End the process with `code` once stdout and stderr are flushed, without the C runtime's exit
/// handlers and thread-local destructors (nothing of ours relies on either). The handler that
/// costs is mimalloc's, which frees every heap page by page before the kernel takes the whole
/// address space back anyway: about 1 ms after a run of 100 releases, 0.2-0.5 ms after a plan
/// (measured with `perf record -e sched:sched_process_exit`). Everything that must happen before
/// the end (temporary files and credentials removed, reports written) has happened by the time
/// `app::main` returns. When mimalloc is asked to print its statistics at exit, it is let.
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    if ["MIMALLOC_SHOW_STATS", "MIMALLOC_VERBOSE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        std::process::exit(code);
    }
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process at once; nothing after it runs.
    unsafe { libc::_exit(code) }
}
