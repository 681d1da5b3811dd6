//! The one integration binary of `apiwright-models`: real HTTP against scripted servers on
//! 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod cancel;
mod openai;
mod retries;
mod secrets;
mod support;
