//! Integration tests: the built binary against real PostgreSQL, Garage (S3)
//! and Redis, started by `scripts/testenv.sh` (see `scripts/test.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod cli;
mod common;
mod counts_and_records;
mod data_safety;
mod errors;
mod fault_proxy;
mod garage_cluster;
mod hangs;
mod health;
mod health_output;
mod import;
mod memory;
mod platform_backup;
mod platform_onboarding;
mod platform_records;
mod provision;
mod restore;
mod restore_faults;
mod restore_key;
mod s3_faults;
mod tenant_restore;
mod tls;
mod unattended;
mod verify_env;
mod zstd;
