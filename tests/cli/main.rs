//! Integration tests that need no server: the built binary with local files,
//! closed ports and in-process stand-ins (HTTP servers, black holes). Plain
//! `cargo test` runs them; the tests against PostgreSQL, Garage and Redis are
//! the `it` target (`scripts/test.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The helpers of the server tests; nothing in it needs a server until
// `env()` is called, and no test here calls it.
#[path = "../it/common.rs"]
mod common;

mod config;
mod contract;
mod errors;
mod hangs;
mod health;
mod leaks;
mod unattended;
