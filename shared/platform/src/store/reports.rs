//! Reads for reports: one chunk of a partition at a time, resumable from the key of the
//! last item used, so a report page reads only what it shows (plus what its filter drops).

use super::{keys, unavailable, Gsi, Item, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;
use tessera_domain::Error;

/// One chunk of a query: the items in key order, and where the next chunk starts (`None`
/// when the partition's range is exhausted).
pub struct Chunk {
    pub items: Vec<Item>,
    pub resume: Option<Item>,
}

/// Where a report query reads: a partition of the table or of an index, and the sort keys
/// it wants (`BETWEEN`, both as stored strings; `None`: all of them).
pub struct Partition {
    pub(crate) index: Option<Gsi>,
    pub pk: String,
    pub sort: Option<(String, String)>,
}

impl Partition {
    pub fn table(pk: String, sort: Option<(String, String)>) -> Partition {
        Partition {
            index: None,
            pk,
            sort,
        }
    }

    /// The tickets of a merchant by issue time (GSI1).
    pub fn tickets_issued(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::tickets_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// The operations of one branch of a merchant by time (GSI2).
    pub fn branch_events(
        merchant_id: &str,
        branch: &str,
        from: String,
        until: String,
    ) -> Partition {
        Partition {
            index: Some(Gsi::Two),
            pk: keys::branch_events(merchant_id, branch),
            sort: Some((from, until)),
        }
    }

    /// A merchant's SMS log by time (GSI1).
    pub fn sms_log(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::sms_log_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's issued orders by issue time (GSI1).
    pub fn issued_orders(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::issued_orders_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's own paper tickets by issue time (GSI3, keys only).
    pub fn paper_tickets(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::Three),
            pk: keys::merchant_print_queue(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's transfers by time (GSI1).
    pub fn transfers(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::transfers_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's installment orders by issue time (GSI1).
    pub fn installment_orders(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::installment_orders_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's installment serials by expected redemption date (GSI1).
    pub fn serials(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::serials_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// A merchant's refund callbacks by creation time (GSI1).
    pub fn callback_deliveries(merchant_id: &str, from: String, until: String) -> Partition {
        Partition {
            index: Some(Gsi::One),
            pk: keys::callback_deliveries_of(merchant_id),
            sort: Some((from, until)),
        }
    }

    /// The tickets of one issued order (GSI2).
    pub fn tickets_of_issued_order(merchant_id: &str, import_no: &str) -> Partition {
        Partition {
            index: Some(Gsi::Two),
            pk: keys::tickets_of_issued_order(merchant_id, import_no),
            sort: None,
        }
    }

    fn key_names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(index) => {
                let (_, pk, sk) = index.names();
                (pk, sk)
            }
            None => (keys::PK, keys::SK),
        }
    }

    /// The attributes that resume a query after `item`: the table's key and, for an index,
    /// the index's key, as strings.
    pub fn resume_key(&self, item: &Item) -> BTreeMap<String, String> {
        let (pk, sk) = self.key_names();
        [keys::PK, keys::SK, pk, sk]
            .into_iter()
            .filter_map(|name| match item.get(name) {
                Some(AttributeValue::S(value)) => Some((name.to_owned(), value.clone())),
                _ => None,
            })
            .collect()
    }

    /// A resume key read back from a cursor, if it could have come from this partition:
    /// its partition key is this one's and its sort key within the range. Anything else
    /// (an edited or foreign cursor) is refused rather than sent to DynamoDB.
    pub fn check_resume_key(&self, key: &BTreeMap<String, String>) -> Option<Item> {
        let (pk, sk) = self.key_names();
        if key.get(pk) != Some(&self.pk) {
            return None;
        }
        let sort = key.get(sk)?;
        if let Some((from, until)) = &self.sort {
            if sort < from || sort > until {
                return None;
            }
        }
        let wanted = [keys::PK, keys::SK, pk, sk];
        if key.keys().any(|name| !wanted.contains(&name.as_str())) {
            return None;
        }
        Some(
            key.iter()
                .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
                .collect(),
        )
    }
}

impl Table {
    /// Up to `limit` items of `partition` after `start`, in key order. Index reads are
    /// eventually consistent (reports show what was committed a moment ago).
    pub async fn query_chunk(
        &self,
        partition: &Partition,
        start: Option<Item>,
        limit: i32,
    ) -> Result<Chunk, Error> {
        let (pk_name, sk_name) = partition.key_names();
        let mut request = self
            .client
            .query()
            .table_name(&self.name)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", AttributeValue::S(partition.pk.clone()))
            .set_exclusive_start_key(start)
            .limit(limit);
        if let Some(index) = partition.index {
            request = request.index_name(index.names().0);
        }
        request = match &partition.sort {
            Some((from, until)) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :until")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":until", AttributeValue::S(until.clone())),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let output = request.send().await.map_err(unavailable)?;
        Ok(Chunk {
            items: output.items.unwrap_or_default(),
            resume: output.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }
}
