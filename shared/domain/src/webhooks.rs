//! Refund callbacks to integrators (§10 [beyond], Standard Webhooks): which addresses a
//! callback may never reach, when a failed delivery is tried again, and what an answer
//! means. The signing itself is the platform's (`tessera_platform::webhooks`).

use chrono::Duration;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Delays before each retry of a failed delivery (the first attempt is at once): about 17
/// hours in all, so an endpoint down for a night still gets its callbacks. Each SQS
/// visibility timeout stays under its 12-hour maximum.
pub const RETRY_DELAYS_SECONDS: [i64; 6] = [60, 300, 1_800, 7_200, 18_000, 36_000];

/// Attempts in all: the first and one per retry delay. The queue's `maxReceiveCount` is
/// this, so the message lands on the dead-letter queue after the last.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_SECONDS.len() as u32 + 1;

/// The delay before the attempt after attempt `attempt` (1-based), with jitter: `unit` in
/// [0, 1) spreads it by ±20 % so that many failures do not retry in step. `None` after the
/// last attempt.
pub fn retry_delay(attempt: u32, unit: f64) -> Option<Duration> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    let base = *RETRY_DELAYS_SECONDS.get(index)?;
    let spread = (unit.clamp(0.0, 1.0) * 0.4 - 0.2) * base as f64;
    Some(Duration::seconds(base + spread.round() as i64))
}

/// What an endpoint's answer means (Standard Webhooks): a 2xx is delivered; 410 Gone says
/// the endpoint is gone for good (it is disabled); anything else is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Gone,
    Retry,
}

pub fn outcome(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Retry,
    }
}

/// Addresses a callback never connects to, whatever a notify URL's name resolves to:
/// loopback, private (RFC 1918, unique-local), link-local (the cloud metadata service
/// among them), carrier-grade NAT, multicast, broadcast, unspecified and documentation
/// ranges, and IPv6 forms of those (IPv4-mapped addresses are judged as IPv4).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.to_ipv4().is_some_and(forbidden_v4) // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for forbidden in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "ff02::1",
        ] {
            assert!(is_forbidden(forbidden.parse().unwrap()), "{forbidden}");
        }
        for public in [
            "203.0.114.9",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_back_off_over_most_of_a_day_then_stop() {
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|attempt| retry_delay(attempt, 0.5).unwrap().num_seconds())
            .sum();
        assert!((15 * 3600..24 * 3600).contains(&total), "{total}");
        assert_eq!(retry_delay(MAX_ATTEMPTS, 0.5), None);
        assert_eq!(retry_delay(0, 0.5), None);
        // Jitter stays within ±20 %.
        assert_eq!(retry_delay(1, 0.0).unwrap().num_seconds(), 48);
        assert_eq!(retry_delay(1, 1.0).unwrap().num_seconds(), 72);
        assert!(retry_delay(6, 0.99).unwrap().num_seconds() < 12 * 3600);
    }

    #[test]
    fn two_hundreds_deliver_gone_disables_the_rest_retries() {
        assert_eq!(outcome(Some(204)), Outcome::Delivered);
        assert_eq!(outcome(Some(410)), Outcome::Gone);
        for status in [Some(301), Some(404), Some(500), Some(429), None] {
            assert_eq!(outcome(status), Outcome::Retry, "{status:?}");
        }
    }
}
