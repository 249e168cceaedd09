//! Circulation counters (流通報表, the home dashboard, §8): what each ticket change adds to
//! the counts and amounts of a Taipei day at a place, and to the cohort of tickets issued
//! on one day. The counters are kept by a consumer of the outbox's events, so reading a
//! quarter's circulation reads a few items per day instead of every ticket.
//!
//! A change is counted as the difference between the ticket's facts before and after it:
//! a redemption adds one redemption on its day at its place, cancelling it takes that very
//! one away again (whoever cancels, wherever), a return likewise. Every operation of the
//! lifecycle is covered by the one rule.

use crate::calendar;
use crate::ticket::Ticket;
use crate::values::{BranchCode, MerchantId, ProductId};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where an operation happened, as the issuer's reports group it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Place {
    HeadOffice,
    Branch(BranchCode),
    /// A redeemable store (another merchant) redeemed the issuer's ticket.
    Store(MerchantId),
}

impl Place {
    /// Where an actor of `by` (at `branch`) acted on a ticket of `issuer`.
    pub fn of(issuer: &MerchantId, by: &MerchantId, branch: Option<&BranchCode>) -> Place {
        if by != issuer {
            return Place::Store(by.clone());
        }
        match branch {
            Some(code) => Place::Branch(code.clone()),
            None => Place::HeadOffice,
        }
    }

    /// The place in a counter's key.
    pub fn key(&self) -> String {
        match self {
            Place::HeadOffice => "HQ".to_owned(),
            Place::Branch(code) => format!("B:{code}"),
            Place::Store(merchant) => format!("S:{merchant}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Place> {
        match key.split_once(':') {
            None if key == "HQ" => Some(Place::HeadOffice),
            Some(("B", code)) => BranchCode::parse("branch", code).ok().map(Place::Branch),
            Some(("S", merchant)) => MerchantId::parse("store", merchant).ok().map(Place::Store),
            _ => None,
        }
    }
}

/// What the counters need of a ticket at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub issued_at: DateTime<Utc>,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    /// The redemption in force: when and where.
    pub redeemed: Option<(DateTime<Utc>, Place)>,
    /// The return in force: when and where.
    pub returned: Option<(DateTime<Utc>, Place)>,
}

impl TicketFacts {
    pub fn of(ticket: &Ticket) -> TicketFacts {
        let issuer = &ticket.merchant_id;
        TicketFacts {
            issued_at: ticket.issued_at,
            face_value: ticket.face_value,
            redeemed: ticket.redeemed_at.map(|at| {
                let by = ticket.redeemed_by.as_ref().unwrap_or(issuer);
                (at, Place::of(issuer, by, ticket.redeemed_branch.as_ref()))
            }),
            returned: ticket.returned_at.map(|at| {
                (
                    at,
                    Place::of(issuer, issuer, ticket.returned_branch.as_ref()),
                )
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Issued,
    Redeemed,
    Returned,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Issued, Measure::Redeemed, Measure::Returned];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Issued => "issued",
            Measure::Redeemed => "redeemed",
            Measure::Returned => "returned",
        }
    }
}

/// Which counter a delta goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// What happened on a Taipei day at a place (the circulation report).
    Day { day: NaiveDate, place: Place },
    /// What became of the tickets issued on a Taipei day (the dashboard's split).
    Cohort { issued_on: NaiveDate },
    /// Everything a product issued (the dashboard's top products).
    Product { product_id: ProductId },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub bucket: Bucket,
    pub measure: Measure,
    pub count: i64,
    pub amount: Decimal,
}

/// `count` tickets of `product_id` worth `amount` issued at `at` at `place`.
pub fn issued(
    at: DateTime<Utc>,
    place: Place,
    product_id: ProductId,
    count: i64,
    amount: Decimal,
) -> Vec<Delta> {
    let day = calendar::taipei_date(at);
    vec![
        Delta {
            bucket: Bucket::Product { product_id },
            measure: Measure::Issued,
            count,
            amount,
        },
        Delta {
            bucket: Bucket::Day { day, place },
            measure: Measure::Issued,
            count,
            amount,
        },
        Delta {
            bucket: Bucket::Cohort { issued_on: day },
            measure: Measure::Issued,
            count,
            amount,
        },
    ]
}

/// What a change from `before` to `after` adds to the counters.
pub fn change(before: &TicketFacts, after: &TicketFacts) -> Vec<Delta> {
    let mut deltas = Vec::new();
    let issued_on = calendar::taipei_date(after.issued_at);
    for (measure, was, is) in [
        (Measure::Redeemed, &before.redeemed, &after.redeemed),
        (Measure::Returned, &before.returned, &after.returned),
    ] {
        if was == is {
            continue;
        }
        for (sign, side, face) in [(-1, was, before.face_value), (1, is, after.face_value)] {
            let Some((at, place)) = side else {
                continue;
            };
            let amount = face * Decimal::from(sign);
            deltas.push(Delta {
                bucket: Bucket::Day {
                    day: calendar::taipei_date(*at),
                    place: place.clone(),
                },
                measure,
                count: sign,
                amount,
            });
            deltas.push(Delta {
                bucket: Bucket::Cohort { issued_on },
                measure,
                count: sign,
                amount,
            });
        }
    }
    deltas
}

/// Counts and amounts of the three measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub issued_count: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub issued_amount: Decimal,
    pub redeemed_count: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub redeemed_amount: Decimal,
    pub returned_count: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub returned_amount: Decimal,
}

impl Figures {
    pub fn add(&mut self, measure: Measure, count: i64, amount: Decimal) {
        let (c, a) = match measure {
            Measure::Issued => (&mut self.issued_count, &mut self.issued_amount),
            Measure::Redeemed => (&mut self.redeemed_count, &mut self.redeemed_amount),
            Measure::Returned => (&mut self.returned_count, &mut self.returned_amount),
        };
        *c += count;
        *a += amount;
    }

    pub fn merge(&mut self, other: &Figures) {
        self.add(Measure::Issued, other.issued_count, other.issued_amount);
        self.add(
            Measure::Redeemed,
            other.redeemed_count,
            other.redeemed_amount,
        );
        self.add(
            Measure::Returned,
            other.returned_count,
            other.returned_amount,
        );
    }

    /// Issued and neither redeemed nor returned (流通在外): for a cohort, what is still
    /// unused; over a span of days, the net change of what circulates.
    pub fn outstanding(&self) -> (i64, Decimal) {
        (
            self.issued_count - self.redeemed_count - self.returned_count,
            self.issued_amount - self.redeemed_amount - self.returned_amount,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // Hours are Taipei's.
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap() - chrono::Duration::hours(8)
    }

    fn issuer() -> MerchantId {
        MerchantId::parse("m", "SHOP0001").unwrap()
    }

    fn facts() -> TicketFacts {
        TicketFacts {
            issued_at: at(1, 10),
            face_value: Decimal::new(120, 0),
            redeemed: None,
            returned: None,
        }
    }

    fn sum(deltas: &[Delta], bucket: &Bucket) -> Figures {
        let mut figures = Figures::default();
        for d in deltas.iter().filter(|d| &d.bucket == bucket) {
            figures.add(d.measure, d.count, d.amount);
        }
        figures
    }

    #[test]
    fn places_are_head_office_a_branch_or_a_store() {
        let branch = BranchCode::parse("b", "TPE01").unwrap();
        let store = MerchantId::parse("m", "STORE001").unwrap();
        for place in [
            Place::of(&issuer(), &issuer(), None),
            Place::of(&issuer(), &issuer(), Some(&branch)),
            Place::of(&issuer(), &store, Some(&branch)),
        ] {
            assert_eq!(Place::from_key(&place.key()), Some(place));
        }
        assert_eq!(
            Place::of(&issuer(), &store, Some(&branch)),
            Place::Store(store)
        );
        assert_eq!(Place::from_key("X:1"), None);
    }

    #[test]
    fn a_redemption_and_its_cancellation_cancel_out_on_the_day_it_happened() {
        let before = facts();
        let branch = Place::Branch(BranchCode::parse("b", "TPE01").unwrap());
        let mut after = facts();
        after.redeemed = Some((at(3, 23), branch.clone()));
        let redeemed = change(&before, &after);
        let day = Bucket::Day {
            day: NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
            place: branch,
        };
        assert_eq!(sum(&redeemed, &day).redeemed_count, 1);
        assert_eq!(sum(&redeemed, &day).redeemed_amount, Decimal::new(120, 0));
        let cohort = Bucket::Cohort {
            issued_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        };
        assert_eq!(sum(&redeemed, &cohort).redeemed_count, 1);
        // Head office cancels the branch's redemption: the branch's day loses it.
        let cancelled = change(&after, &before);
        let mut net = redeemed.clone();
        net.extend(cancelled);
        assert_eq!(sum(&net, &day), Figures::default());
        assert_eq!(sum(&net, &cohort), Figures::default());
    }

    #[test]
    fn changes_that_touch_no_counter_add_nothing() {
        assert!(change(&facts(), &facts()).is_empty());
    }

    #[test]
    fn issuance_counts_on_its_taipei_day() {
        // 23:30 Taipei on 30 Nov is still 30 Nov.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 15, 30, 0).unwrap();
        let product = ProductId::generate([3; 10]);
        let deltas = issued(
            at,
            Place::HeadOffice,
            product.clone(),
            3,
            Decimal::new(360, 0),
        );
        assert_eq!(
            sum(
                &deltas,
                &Bucket::Product {
                    product_id: product
                }
            )
            .issued_count,
            3
        );
        let day = Bucket::Day {
            day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            place: Place::HeadOffice,
        };
        let figures = sum(&deltas, &day);
        assert_eq!((figures.issued_count, figures.outstanding().0), (3, 3));
    }
}
