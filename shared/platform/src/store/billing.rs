//! Daily fee totals and monthly bills, under their merchant.

use super::{from_item, keys, to_item, unavailable, Gsi, SortKeys, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tessera_domain::billing::{month_label, Bill, DailyFeeTotal};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

#[derive(Debug, Serialize, Deserialize)]
struct StoredBill {
    merchant_id: MerchantId,
    #[serde(flatten)]
    bill: Bill,
}

/// The write that closes a month's bill: only if the month has none yet.
pub fn new_bill_write(merchant_id: &MerchantId, bill: &Bill) -> Result<super::Write, Error> {
    bill_write(merchant_id, bill, super::Expect::Absent)
}

/// A bill as a write, on `expect` (`Present` to change a closed bill).
pub fn bill_write(
    merchant_id: &MerchantId,
    bill: &Bill,
    expect: super::Expect,
) -> Result<super::Write, Error> {
    let stored = StoredBill {
        merchant_id: merchant_id.clone(),
        bill: bill.clone(),
    };
    Ok(super::Write {
        item: to_item(
            &stored,
            keys::merchant(merchant_id.as_str()),
            &keys::bill(&bill.month),
        )?,
        expect,
    })
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredRemittance {
    merchant_id: MerchantId,
    #[serde(flatten)]
    account: tessera_domain::billing::RemittanceAccount,
}

/// The write that sets where a merchant remits (replacing what was set).
pub fn remittance_write(
    merchant_id: &MerchantId,
    account: &tessera_domain::billing::RemittanceAccount,
) -> Result<super::Write, Error> {
    let stored = StoredRemittance {
        merchant_id: merchant_id.clone(),
        account: account.clone(),
    };
    Ok(super::Write {
        item: to_item(
            &stored,
            keys::merchant(merchant_id.as_str()),
            keys::REMITTANCE,
        )?,
        expect: super::Expect::Any,
    })
}

impl Table {
    /// Where the merchant remits its bills, if the operator set it.
    pub async fn get_remittance(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Option<tessera_domain::billing::RemittanceAccount>, Error> {
        let stored: Option<StoredRemittance> = self
            .get(keys::merchant(merchant_id.as_str()), keys::REMITTANCE)
            .await?;
        Ok(stored.map(|s| s.account))
    }

    /// Sets a day's total for one fee item (replacing it: the daily job may run twice).
    pub async fn record_daily_fee_total(
        &self,
        merchant_id: &MerchantId,
        total: &DailyFeeTotal,
    ) -> Result<(), Error> {
        let item_name = serde_json::to_value(total.item).map_err(|e| super::internal(&e))?;
        let sk = keys::fee_day(total.date, item_name.as_str().unwrap_or_default());
        self.put(to_item(total, keys::merchant(merchant_id.as_str()), &sk)?)
            .await
    }

    pub async fn daily_fee_totals(
        &self,
        merchant_id: &MerchantId,
        month_start: NaiveDate,
    ) -> Result<Vec<DailyFeeTotal>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            &keys::fee_month_prefix(&month_label(month_start)),
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// A merchant's bills, oldest first.
    pub async fn list_bills(&self, merchant_id: &MerchantId) -> Result<Vec<Bill>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::BILL_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(|item| from_item::<StoredBill>(item).map(|stored| stored.bill))
        .collect()
    }

    /// Records a bill as paid (the platform operator's act, on receiving the remittance).
    pub async fn mark_bill_paid(&self, merchant_id: &MerchantId, month: &str) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(super::key(
                keys::merchant(merchant_id.as_str()),
                &keys::bill(month),
            )))
            .update_expression("SET paid = :paid")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":paid", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(Error::new(ErrorCode::BillNotFound))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Every merchant (the directory on GSI1), for jobs that visit all of them.
    pub async fn list_merchant_ids(&self) -> Result<Vec<MerchantId>, Error> {
        let pk = keys::MERCHANT_DIRECTORY.to_owned();
        let items = self.query_index(Gsi::One, pk, SortKeys::All).await?;
        Ok(items
            .iter()
            .filter_map(|item| match item.get("merchant_id") {
                Some(AttributeValue::S(id)) => MerchantId::parse("merchant_id", id).ok(),
                _ => None,
            })
            .collect())
    }
}
