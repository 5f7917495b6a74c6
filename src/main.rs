//! `credchain`: get an Azure access token from the default credential chain (`credchain token`),
//! find out why none can be had (`credchain doctor`), or serve tokens to the host as a local
//! managed identity endpoint (`credchain serve`).
//!
//! Exit codes: 0 success; 1 a provider tried and failed, or the output could not be written;
//! 2 invalid usage or input; 3 no credential available; 128 + N stopped by signal N (SIGINT,
//! SIGTERM, SIGHUP, SIGQUIT). See `credchain --help`.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
