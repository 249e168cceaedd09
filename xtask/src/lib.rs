//! Developer tooling for Tessera: provisioning the local AWS from `infra/template.yaml`,
//! the local gateway that runs every function, and the benchmarks.

pub mod bench;
pub mod console;
pub mod deployed;
pub mod functions;
pub mod gateway;
pub mod iam;
pub mod lambda_host;
pub mod openapi;
pub mod provision;
pub mod schedule;
pub mod seed;
pub mod status_coverage;
pub mod streams;
pub mod template;
