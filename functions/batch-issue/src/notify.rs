//! What the buyers of a finished batch are sent: one bundle of notifications per row, with
//! ids derived from batch and row so that the notify consumer sends each once.

use crate::BatchIssuer;
use std::collections::HashMap;
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::notification::{Message, Notification};
use tessera_domain::products::ProductId;
use tessera_domain::Error;
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
        let mut product_ids: Vec<ProductId> =
            plan.iter().map(|p| p.row.product_id.clone()).collect();
        product_ids.sort();
        product_ids.dedup();
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

    /// ibon: the pickup code; electronic: the ticket links; paper: nothing to send.
    fn row_notifications(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        result: &RowResult,
        product: &str,
        sms: bool,
    ) -> Vec<Notification> {
        let row = &planned.row;
        let count = result.tickets.len();
        let (subject, body, text) = match batch.delivery_method {
            DeliveryMethod::Ibon => {
                let code = result.pickup_code.clone().unwrap_or_default();
                (
                    format!("【{product}】超商取票代碼 Pickup code"),
                    format!(
                        "{} 您好：\n\n您購買的「{product}」共 {count} 張已發行，請於 7-ELEVEN ibon 輸入取票代碼 {code} 列印票券。\n\nYour {count} ticket(s) for \"{product}\" are ready: print them at an ibon kiosk with pickup code {code}.\n",
                        row.buyer_name
                    ),
                    format!("您的「{product}」{count}張已發行，ibon取票代碼：{code}"),
                )
            }
            DeliveryMethod::ElectronicImmediate | DeliveryMethod::ElectronicDeferred => {
                let links: Vec<String> = result
                    .tickets
                    .iter()
                    .filter_map(|t| t.link_token.as_ref())
                    .map(|token| format!("{}{token}", self.ticket_link_base))
                    .collect();
                (
                    format!("【{product}】您的電子票券 Your e-tickets"),
                    format!(
                        "{} 您好：\n\n您購買的「{product}」共 {count} 張電子票券已發行，請由以下連結開啟：\nYour {count} e-ticket(s) for \"{product}\":\n\n{}\n",
                        row.buyer_name,
                        links.join("\n")
                    ),
                    format!(
                        "您的「{product}」電子票券{count}張已發行：{}",
                        links.first().cloned().unwrap_or_default()
                    ),
                )
            }
            DeliveryMethod::PaperByMerchant | DeliveryMethod::PaperByPlatform => return Vec::new(),
        };
        let id = format!("issue-{}-{}", batch.batch_id, planned.index);
        let mut out = Vec::new();
        if let Some(email) = &row.buyer_email {
            out.push(Notification {
                id: format!("{id}-email"),
                merchant_id: batch.merchant_id.to_string(),
                message: Message::Email {
                    to: vec![email.clone()],
                    subject,
                    body,
                },
            });
        }
        if sms {
            out.push(Notification {
                id: format!("{id}-sms"),
                merchant_id: batch.merchant_id.to_string(),
                message: Message::Sms {
                    to: row.buyer_mobile.as_str().to_owned(),
                    buyer_name: row.buyer_name.clone(),
                    body: text,
                    purpose: "issue".to_owned(),
                },
            });
        }
        out
    }
}
