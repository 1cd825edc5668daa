//! Thin entry point: parse, run, map errors to exit codes (0 ok, 1 a step failed, 2 usage or
//! config error with nothing run, 130 interrupted).

use clap::Parser;

fn main() {
    // `COMPLETE=<shell> deploy …`: the shell asks for completions (see `deploy completions`)
    clap_complete::CompleteEnv::with_factory(<deploy::cli::Cli as clap::CommandFactory>::command)
        .complete();
    let cli = deploy::cli::Cli::parse();
    std::process::exit(deploy::app::main(cli));
}
