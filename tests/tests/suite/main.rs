//! Every end-to-end and storage test, in one binary: one link instead of one per file keeps
//! a fresh build small and quick (each binary carries the whole SDK), and the tests of all
//! files share the thread pool. Each file is a module; `cargo test -p tessera-tests -- reports::`
//! runs one of them. `tests/secrets.rs` stays a binary of its own: it captures the logs with a
//! thread-scoped subscriber, which other tests' callsites in the same process would bypass.

mod accounts;
mod answers;
mod billing;
mod branches;
mod callbacks;
mod console;
mod consumer;
mod daily_jobs;
mod deployed;
mod error_codes;
mod events;
mod faults;
mod foundation;
mod idempotency_keys;
mod installment;
mod issuance;
mod issued_orders;
mod key_rotation;
mod lifecycle;
mod merchant;
mod notifications;
mod operator;
mod orders;
mod outbox;
mod printing;
mod products;
mod queue_poller;
mod reports;
mod samples;
mod security;
mod stores;
mod template_checks;
