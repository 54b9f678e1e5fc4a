//! Integration tests: the built binary against real PostgreSQL, Garage (S3)
//! and Redis, started by `scripts/testenv.sh` (see `scripts/test.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod cli;
mod common;
mod counts_and_records;
mod errors;
mod hangs;
mod health;
mod health_output;
mod import;
mod leaks;
mod platform_backup;
mod platform_onboarding;
mod platform_records;
mod provision;
mod restore;
mod restore_key;
mod tenant_restore;
mod tls;
mod unattended;
mod zstd;
