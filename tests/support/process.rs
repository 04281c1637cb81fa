//! Children for the subprocess tests.

use aioloop::process::{Child, Command, Stdio};

/// `cat` with stdin and stdout piped: what is written to it comes back, and it exits 0 once its
/// stdin is closed.
pub fn piped_cat() -> Child {
    Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}
