//! Thin entry point: parse, run, map errors to exit codes (0 ok, 1 a step failed, 2 usage or
//! config error with nothing run, 130 interrupted).

use clap::Parser;

fn main() {
    let cli = deploy::cli::Cli::parse();
    std::process::exit(deploy::app::main(cli));
}
