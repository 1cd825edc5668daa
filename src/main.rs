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
    std::process::exit(deploy::app::main(cli));
}
