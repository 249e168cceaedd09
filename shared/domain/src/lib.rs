//! Tessera's domain: the types and rules of the voucher platform.
//!
//! This crate knows nothing of AWS, HTTP or async runtimes. Time comes in through
//! [`clock::Clock`]; every calendar rule is expressed in Asia/Taipei by [`calendar`].

pub mod access;
pub mod billing;
pub mod branches;
pub mod calendar;
pub mod circulation;
pub mod clock;
pub mod error;
pub mod events;
pub mod installment;
pub mod issuance;
pub mod issued_orders;
pub mod lifecycle;
pub mod lockout;
pub mod merchant;
pub mod messages;
pub mod notification;
pub mod operator;
pub mod orders;
pub mod printing;
pub mod products;
pub mod relations;
pub mod reports;
pub mod ticket;
pub mod tickets;
pub mod transfers;
pub mod values;
pub mod webhooks;

pub use error::{lookup_error_codes, Error, ErrorCode, Violation};
