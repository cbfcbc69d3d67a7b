//! What the `tofu` and `tofu-bench` commands share.

use std::process::ExitCode;

/// The exit of a command: success, or its error on stderr after the program's name.
pub fn finish(program: &str, outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{program}: {message}");
            ExitCode::FAILURE
        }
    }
}
