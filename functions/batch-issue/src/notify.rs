//! What the buyers of a finished batch are sent: one bundle of notifications per row, with
//! ids derived from batch and row so that the notify consumer sends each once.

use crate::BatchIssuer;
use std::collections::HashMap;
use tessera_domain::messages::{issue_notice, OrderNotice, SmsPurpose};
use tessera_domain::notification::Notification;
use tessera_domain::products::ProductId;
use tessera_domain::ticket::Person;
use tessera_domain::Error;
use tessera_platform::issuance::product_ids_of;
use tessera_platform::store::issuance::{BatchRecord, PlannedRow, RowOutcome, RowResult};

impl BatchIssuer {
    pub(crate) async fn notifications_for(
        &self,
        batch: &BatchRecord,
        plan: &[PlannedRow],
        results: &HashMap<u32, RowResult>,
    ) -> Result<Vec<Notification>, Error> {
        let settings = self.table.get_settings(&batch.merchant_id).await?;
        let sms = settings.operation.sms_enabled;
        let product_ids = product_ids_of(plan.iter().map(|p| &p.row));
        let names: HashMap<ProductId, String> = self
            .table
            .get_products(&batch.merchant_id, &product_ids)
            .await?
            .into_iter()
            .map(|p| (p.product_id, p.spec.name))
            .collect();
        let mut out = Vec::new();
        for planned in plan {
            let Some(result) = results.get(&planned.index) else {
                continue;
            };
            if result.outcome != RowOutcome::Issued {
                continue;
            }
            let product = names
                .get(&planned.row.product_id)
                .cloned()
                .unwrap_or_default();
            out.extend(self.row_notifications(batch, planned, result, &product, sms));
        }
        Ok(out)
    }

    /// ibon: the pickup code; electronic: the buyer's e-ticket page; paper: nothing.
    fn row_notifications(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        result: &RowResult,
        product: &str,
        sms: bool,
    ) -> Vec<Notification> {
        let row = &planned.row;
        let link = result
            .link_token
            .as_ref()
            .map(|token| format!("{}{token}", self.ticket_link_base));
        let notice = OrderNotice {
            delivery: batch.delivery_method,
            product,
            quantity: result.tickets.len(),
            link: link.as_deref(),
            pickup_code: result.pickup_code.as_deref(),
        };
        let buyer = Person {
            name: row.buyer_name.clone(),
            mobile: row.buyer_mobile.as_str().to_owned(),
            email: row.buyer_email.clone(),
        };
        let id = format!("issue-{}-{}", batch.batch_id, planned.index);
        issue_notice(&notice, &buyer, sms, SmsPurpose::Issue)
            .into_iter()
            .map(|message| Notification {
                id: format!("{id}-{}", message.channel()),
                merchant_id: batch.merchant_id.to_string(),
                message,
            })
            .collect()
    }
}
