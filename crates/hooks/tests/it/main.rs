//! Integration tests of apiwright-hooks against a real SQLite store in temporary
//! directories: the session lifecycle across calls, and user hook commands (success,
//! failure, time limit, none configured). They change no environment variable, never
//! change the current directory and never sleep (a hanging child process is fine).

mod session;
// `cfg(test)` lets the helpers unwrap like the tests do (clippy `allow-unwrap-in-tests`).
#[cfg(test)]
mod support;
mod user_hooks;
