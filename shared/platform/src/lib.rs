//! What every Tessera function shares beyond the domain: AWS clients built from the
//! standard configuration, problem+json errors, request extractors that never panic,
//! the finishing layers of a router, and tracing setup.

pub mod assets;
pub mod aws;
pub mod aws_calls;
pub mod change;
pub mod circulation;
pub mod extract;
pub mod formats;
pub mod http;
pub mod idempotency;
pub mod installment;
pub mod issuance;
pub mod issued_orders;
pub mod lambda;
pub mod lifecycle;
pub mod problem;
pub mod render;
pub mod reports;
pub mod telemetry;
pub mod webhooks;

pub use extract::{ApiJson, ApiQuery};
pub use problem::{Problem, ProblemDetails};
pub mod auth;
pub mod notifications;
pub mod owner;
pub mod password;
pub mod random;
pub mod services;
pub mod session;
pub mod store;
