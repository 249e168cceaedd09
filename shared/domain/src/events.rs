//! Domain events: what happened, named once. A change writes its events in its own
//! transaction (the outbox); the publisher hands each to the consumers that want it. The
//! names are a contract with consumers (reports, callbacks, mail), so they never change
//! meaning; a new fact gets a new name.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "ticket.redeemed")]
    TicketRedeemed,
    #[serde(rename = "ticket.redemption_cancelled")]
    TicketRedemptionCancelled,
    #[serde(rename = "ticket.returned")]
    TicketReturned,
    #[serde(rename = "ticket.return_cancelled")]
    TicketReturnCancelled,
    /// An unused ticket's term ran out (escrow or validity).
    #[serde(rename = "ticket.lapsed")]
    TicketLapsed,
    #[serde(rename = "ticket.remarked")]
    TicketRemarked,
    /// The bank cut-offs moved it (sent to the bank, settled).
    #[serde(rename = "ticket.bank_updated")]
    TicketBankUpdated,
    /// Its buyer gave it to someone else (轉贈).
    #[serde(rename = "ticket.transferred")]
    TicketTransferred,
    /// Back with its buyer: the merchant cancelled the transfer, or returned the ticket.
    #[serde(rename = "ticket.transfer_cancelled")]
    TicketTransferCancelled,
    /// Printed on paper (by the merchant, or in the platform's run).
    #[serde(rename = "ticket.printed")]
    TicketPrinted,
    /// Its holder asked the merchant to take it back (from the e-ticket page).
    #[serde(rename = "ticket.return_requested")]
    TicketReturnRequested,
    /// The issued order's buyer was changed (the tickets follow).
    #[serde(rename = "order.buyer_changed")]
    OrderBuyerChanged,
    /// Issued orders of a batch committed (one event per transaction of rows: its import
    /// numbers and the paid orders they issued).
    #[serde(rename = "order.issued")]
    OrderIssued,
    /// A paid order will never be issued: abandoned by the merchant or cancelled on day 31.
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    /// A month's bill was closed for a merchant.
    #[serde(rename = "bill.closed")]
    BillClosed,
    /// Messages to people, sent by the notify consumer (mail, SMS).
    #[serde(rename = "notifications.requested")]
    NotificationsRequested,
    /// A report export was asked for: the export worker writes it.
    #[serde(rename = "export.requested")]
    ExportRequested,
    /// An issuance file was confirmed: the batch worker issues its rows.
    #[serde(rename = "batch.confirmed")]
    BatchConfirmed,
    /// An installment order was issued with its serials.
    #[serde(rename = "installment_order.issued")]
    InstallmentOrderIssued,
    /// Its unused serials were returned (the fee apportioned over them).
    #[serde(rename = "installment_order.returned")]
    InstallmentOrderReturned,
    /// Its pending return was cancelled on the return day.
    #[serde(rename = "installment_order.return_cancelled")]
    InstallmentOrderReturnCancelled,
    /// The system moved serials (scheduled redemption, bank cut-offs).
    #[serde(rename = "installment_order.serials_stepped")]
    InstallmentSerialsStepped,
    /// A return's refund completed (its serials all returned): the refund result, for the
    /// order's notify URL.
    #[serde(rename = "installment_order.refunded")]
    InstallmentOrderRefunded,
}

impl EventType {
    pub const ALL: [EventType; 23] = [
        EventType::TicketRedeemed,
        EventType::TicketRedemptionCancelled,
        EventType::TicketReturned,
        EventType::TicketReturnCancelled,
        EventType::TicketLapsed,
        EventType::TicketRemarked,
        EventType::TicketBankUpdated,
        EventType::TicketTransferred,
        EventType::TicketTransferCancelled,
        EventType::TicketReturnRequested,
        EventType::TicketPrinted,
        EventType::OrderBuyerChanged,
        EventType::OrderIssued,
        EventType::OrderCancelled,
        EventType::BillClosed,
        EventType::NotificationsRequested,
        EventType::ExportRequested,
        EventType::BatchConfirmed,
        EventType::InstallmentOrderIssued,
        EventType::InstallmentOrderReturned,
        EventType::InstallmentOrderReturnCancelled,
        EventType::InstallmentSerialsStepped,
        EventType::InstallmentOrderRefunded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::TicketRedeemed => "ticket.redeemed",
            EventType::TicketRedemptionCancelled => "ticket.redemption_cancelled",
            EventType::TicketReturned => "ticket.returned",
            EventType::TicketReturnCancelled => "ticket.return_cancelled",
            EventType::TicketLapsed => "ticket.lapsed",
            EventType::TicketRemarked => "ticket.remarked",
            EventType::TicketBankUpdated => "ticket.bank_updated",
            EventType::TicketTransferred => "ticket.transferred",
            EventType::TicketTransferCancelled => "ticket.transfer_cancelled",
            EventType::TicketReturnRequested => "ticket.return_requested",
            EventType::TicketPrinted => "ticket.printed",
            EventType::OrderBuyerChanged => "order.buyer_changed",
            EventType::OrderIssued => "order.issued",
            EventType::OrderCancelled => "order.cancelled",
            EventType::BillClosed => "bill.closed",
            EventType::NotificationsRequested => "notifications.requested",
            EventType::ExportRequested => "export.requested",
            EventType::BatchConfirmed => "batch.confirmed",
            EventType::InstallmentOrderIssued => "installment_order.issued",
            EventType::InstallmentOrderReturned => "installment_order.returned",
            EventType::InstallmentOrderReturnCancelled => "installment_order.return_cancelled",
            EventType::InstallmentSerialsStepped => "installment_order.serials_stepped",
            EventType::InstallmentOrderRefunded => "installment_order.refunded",
        }
    }
}

/// Who consumes published events. Each consumer handles an event at most once (by event
/// id), however often the stream delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consumer {
    /// Forwards requested notifications to the notifications queue.
    Notifications,
    /// Forwards requested exports to the report-export queue.
    ReportExports,
    /// Forwards confirmed batches to the batch-issue queue.
    BatchIssue,
    /// Keeps the circulation counters (reports, dashboard).
    Circulation,
    /// Brings an issued order's tickets in line with its buyer after a change of buyer.
    TicketBuyers,
    /// Queues the refund callbacks to integrators (refund results with a notify URL).
    Callbacks,
}

impl Consumer {
    pub const ALL: [Consumer; 6] = [
        Consumer::Notifications,
        Consumer::ReportExports,
        Consumer::BatchIssue,
        Consumer::Circulation,
        Consumer::TicketBuyers,
        Consumer::Callbacks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Consumer::Notifications => "notifications",
            Consumer::ReportExports => "report_exports",
            Consumer::BatchIssue => "batch_issue",
            Consumer::Circulation => "circulation",
            Consumer::TicketBuyers => "ticket_buyers",
            Consumer::Callbacks => "callbacks",
        }
    }

    /// Whether this consumer wants events of this type.
    pub fn wants(self, event: EventType) -> bool {
        match self {
            Consumer::Notifications => event == EventType::NotificationsRequested,
            Consumer::ReportExports => event == EventType::ExportRequested,
            Consumer::BatchIssue => event == EventType::BatchConfirmed,
            Consumer::TicketBuyers => event == EventType::OrderBuyerChanged,
            Consumer::Callbacks => matches!(
                event,
                EventType::InstallmentOrderRefunded | EventType::TicketBankUpdated
            ),
            Consumer::Circulation => matches!(
                event,
                EventType::OrderIssued
                    | EventType::TicketRedeemed
                    | EventType::TicketRedemptionCancelled
                    | EventType::TicketReturned
                    | EventType::TicketReturnCancelled
                    | EventType::InstallmentOrderIssued
                    | EventType::InstallmentOrderReturned
                    | EventType::InstallmentOrderReturnCancelled
                    | EventType::InstallmentSerialsStepped
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_serde_writes() {
        for event in EventType::ALL {
            assert_eq!(
                serde_json::to_value(event).unwrap(),
                serde_json::json!(event.name())
            );
        }
    }

    #[test]
    fn only_notification_requests_reach_the_notifications_consumer() {
        let wanted: Vec<_> = EventType::ALL
            .into_iter()
            .filter(|e| Consumer::Notifications.wants(*e))
            .collect();
        assert_eq!(wanted, vec![EventType::NotificationsRequested]);
    }
}
