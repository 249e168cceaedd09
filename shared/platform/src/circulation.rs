//! The circulation counters' side of the platform: what an outbox event adds to them (the
//! payloads written by the ticket changes and the batch worker), and the figures the
//! circulation report and the dashboard read back.

use crate::store::outbox::OutboxEvent;
use crate::store::Table;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use tessera_domain::circulation::{self, Delta, Figures, Place, TicketFacts};
use tessera_domain::events::EventType;
use tessera_domain::products::ProductId;
use tessera_domain::reports::{BranchScope, DayRange};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

#[derive(Deserialize)]
struct IssuedOrders {
    place: Place,
    orders: Vec<IssuedOrder>,
}

#[derive(Deserialize)]
struct IssuedOrder {
    product_id: ProductId,
    quantity: u32,
    face_value: String,
}

#[derive(Deserialize)]
struct TicketChanged {
    #[serde(default)]
    facts: Option<(TicketFacts, TicketFacts)>,
}

#[derive(Deserialize)]
struct InstallmentIssued {
    product_id: ProductId,
    amount: String,
    periods: u32,
}

#[derive(Deserialize)]
struct SerialsChanged {
    #[serde(default)]
    facts: Vec<(TicketFacts, TicketFacts)>,
}

fn unreadable(event: &OutboxEvent, error: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InternalError).with_detail(format!(
        "event {} is not readable as {}: {error}",
        event.event_id,
        event.event_type.name()
    ))
}

/// What `event` adds to its merchant's counters (nothing for an event that changes none).
pub fn deltas_of(event: &OutboxEvent) -> Result<Vec<Delta>, Error> {
    match event.event_type {
        EventType::OrderIssued => {
            let issued: IssuedOrders =
                serde_json::from_str(&event.data).map_err(|e| unreadable(event, e))?;
            let mut deltas = Vec::new();
            for order in issued.orders {
                let face =
                    Decimal::from_str(&order.face_value).map_err(|e| unreadable(event, e))?;
                let count = i64::from(order.quantity);
                deltas.extend(circulation::issued(
                    event.at,
                    issued.place.clone(),
                    order.product_id,
                    count,
                    face * Decimal::from(count),
                ));
            }
            Ok(deltas)
        }
        EventType::InstallmentOrderIssued => {
            let issued: InstallmentIssued =
                serde_json::from_str(&event.data).map_err(|e| unreadable(event, e))?;
            let amount = Decimal::from_str(&issued.amount).map_err(|e| unreadable(event, e))?;
            // An installment order counts its serials, issued at head office.
            Ok(circulation::issued(
                event.at,
                Place::HeadOffice,
                issued.product_id,
                i64::from(issued.periods),
                amount,
            ))
        }
        EventType::InstallmentOrderReturned
        | EventType::InstallmentOrderReturnCancelled
        | EventType::InstallmentSerialsStepped => {
            let changed: SerialsChanged =
                serde_json::from_str(&event.data).map_err(|e| unreadable(event, e))?;
            Ok(changed
                .facts
                .iter()
                .flat_map(|(before, after)| circulation::change(before, after))
                .collect())
        }
        EventType::TicketRedeemed
        | EventType::TicketRedemptionCancelled
        | EventType::TicketReturned
        | EventType::TicketReturnCancelled => {
            let changed: TicketChanged =
                serde_json::from_str(&event.data).map_err(|e| unreadable(event, e))?;
            Ok(changed
                .facts
                .map(|(before, after)| circulation::change(&before, &after))
                .unwrap_or_default())
        }
        _ => Ok(Vec::new()),
    }
}

/// One row of the circulation report: a day's (or the whole range's) figures at the
/// places in scope, and what circulated at the end of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CirculationRow {
    /// `None` for the range's total.
    pub day: Option<NaiveDate>,
    pub figures: Figures,
    /// Issued and neither redeemed nor returned, as of the end of the row's day.
    pub outstanding_count: i64,
    pub outstanding_amount: Decimal,
}

fn in_scope(scope: &BranchScope, place: &Place) -> bool {
    match (scope, place) {
        (BranchScope::All, _) => true,
        (BranchScope::HeadOffice, Place::HeadOffice) => true,
        (BranchScope::Branch(code), Place::Branch(at)) => code == at,
        _ => false,
    }
}

/// The circulation report (流通報表): each day of the range with activity, then the total;
/// the outstanding figures carried from everything before the range (the months before
/// its first, then its first month's days before it).
pub async fn circulation(
    table: &Table,
    merchant: &MerchantId,
    range: &DayRange,
    scope: &BranchScope,
) -> Result<Vec<CirculationRow>, Error> {
    let month_start = chrono::Datelike::with_day(&range.from, 1).unwrap_or(range.from);
    let (months, days) = tokio::try_join!(
        table.counter_months_before(merchant, month_start),
        table.counter_days(merchant, month_start, range.to),
    )?;
    let mut carried = Figures::default();
    for (place, figures) in &months {
        if in_scope(scope, place) {
            carried.merge(figures);
        }
    }
    let mut per_day: BTreeMap<NaiveDate, Figures> = BTreeMap::new();
    for (day, place, figures) in &days {
        if !in_scope(scope, place) {
            continue;
        }
        if *day < range.from {
            carried.merge(figures);
        } else {
            per_day.entry(*day).or_default().merge(figures);
        }
    }
    let mut rows = Vec::with_capacity(per_day.len() + 1);
    let mut running = carried;
    let mut total = Figures::default();
    for (day, figures) in per_day {
        running.merge(&figures);
        total.merge(&figures);
        let (count, amount) = running.outstanding();
        rows.push(CirculationRow {
            day: Some(day),
            figures,
            outstanding_count: count,
            outstanding_amount: amount,
        });
    }
    let (count, amount) = running.outstanding();
    rows.push(CirculationRow {
        day: None,
        figures: total,
        outstanding_count: count,
        outstanding_amount: amount,
    });
    Ok(rows)
}

/// What became of the tickets issued from `from` to `to` (the dashboard's split).
pub async fn cohort_split(
    table: &Table,
    merchant: &MerchantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Figures, Error> {
    let mut figures = Figures::default();
    for (_, day) in table.counter_cohorts(merchant, from, to).await? {
        figures.merge(&day);
    }
    Ok(figures)
}
