//! Prints of paper tickets: one record per print under the merchant, by time (the 21:00
//! reprint reminder reads a day of them), written in the print's own transaction.

use super::{from_item, keys, to_item, Expect, Table, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::tickets::TicketNumber;
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::Error;

/// One print of one ticket: the how-many-th, who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintRecord {
    pub merchant_id: MerchantId,
    pub ticket_no: TicketNumber,
    pub print: u32,
    pub at: DateTime<Utc>,
    pub by_account: AccountName,
    /// Printed in the platform's print run (billed as platform printing), not by the
    /// merchant.
    #[serde(default)]
    pub by_platform: bool,
}

pub fn print_record_write(record: &PrintRecord) -> Result<Write, Error> {
    Ok(Write {
        item: to_item(
            record,
            keys::prints_of(record.merchant_id.as_str()),
            &keys::print_record(record.at, record.ticket_no.as_str(), record.print),
        )?,
        expect: Expect::Absent,
    })
}

impl Table {
    /// The merchant's prints in `[from, until)`, oldest first.
    pub async fn prints_between(
        &self,
        merchant_id: &MerchantId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PrintRecord>, Error> {
        let partition = super::reports::Partition::table(
            keys::prints_of(merchant_id.as_str()),
            Some((keys::timestamp(from), keys::timestamp(until))),
        );
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let chunk = self.query_chunk(&partition, start, 500).await?;
            for item in chunk.items {
                let record: PrintRecord = from_item(item)?;
                if record.at < until {
                    records.push(record);
                }
            }
            match chunk.resume {
                Some(next) => start = Some(next),
                None => return Ok(records),
            }
        }
    }
}
