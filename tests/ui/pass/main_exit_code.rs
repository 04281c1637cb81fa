//! Any return type a plain `main` accepts, and `start_paused = false`.
use std::process::ExitCode;

#[aioloop::main(start_paused = false)]
pub async fn main() -> ExitCode {
    if async { true }.await {
        return ExitCode::SUCCESS;
    }
    ExitCode::FAILURE
}
