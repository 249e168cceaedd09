//! The platform operator's accounts, sessions and audit log (docs/decisions/0012). Kept
//! under keys no merchant's can take, and read by their own functions only, so a merchant
//! token can never load an operator and an operator token never loads a merchant.

use super::{epoch_seconds, from_item, key, keys, to_item, unavailable, Expect, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::operator::OperatorRights;
use tessera_domain::values::AccountName;
use tessera_domain::Error;

/// An operator account. `password_hash` never leaves the store layer in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorRecord {
    pub account: AccountName,
    pub password_hash: String,
    pub rights: OperatorRights,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorSession {
    pub session_id: String,
    pub account: AccountName,
    pub created_at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// One operator action: who, when, what, on what, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorAuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub account: AccountName,
    pub action: String,
    /// What the action was on (`merchant:DEMO0001`, `bill:DEMO0001:2026-11`, …).
    pub target: String,
    pub changes: serde_json::Value,
}

impl OperatorAuditEntry {
    /// The audit entry as a write of the action's own transaction.
    pub fn write(&self) -> Result<Write, Error> {
        Ok(Write {
            item: to_item(
                self,
                keys::OPERATOR_AUDIT.to_owned(),
                &keys::operator_audit_entry(self.at, &self.id),
            )?,
            expect: Expect::Absent,
        })
    }
}

impl Table {
    pub async fn get_operator(
        &self,
        account: &AccountName,
    ) -> Result<Option<OperatorRecord>, Error> {
        self.get(keys::operator(account.as_str()), keys::OPERATOR_ACCOUNT)
            .await
    }

    /// Creates an operator account unless it exists (seeding; operators are provisioned,
    /// not signed up). True if it was created.
    pub async fn put_operator_if_absent(&self, operator: &OperatorRecord) -> Result<bool, Error> {
        let item = to_item(
            operator,
            keys::operator(operator.account.as_str()),
            keys::OPERATOR_ACCOUNT,
        )?;
        self.put_if_absent(item).await
    }

    pub async fn put_operator_session(&self, session: &OperatorSession) -> Result<(), Error> {
        let mut item = to_item(
            session,
            keys::session(&session.session_id),
            keys::OPERATOR_SESSION,
        )?;
        item.insert("expires_at".to_owned(), epoch_seconds(session.expires));
        if self.put_if_absent(item).await? {
            Ok(())
        } else {
            Err(super::internal(&"an operator session id was reused"))
        }
    }

    pub async fn get_operator_session(
        &self,
        session_id: &str,
    ) -> Result<Option<OperatorSession>, Error> {
        self.get(keys::session(session_id), keys::OPERATOR_SESSION)
            .await
    }

    pub async fn delete_operator_session(&self, session_id: &str) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::session(session_id), keys::OPERATOR_SESSION)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// [`Table::reserve_sign_in_at`] for an operator account.
    pub async fn reserve_operator_sign_in(
        &self,
        account: &AccountName,
        now: DateTime<Utc>,
    ) -> Result<super::sessions::SignInAttempt, Error> {
        self.reserve_sign_in_at(keys::operator_lockout(account.as_str()), now)
            .await
    }

    pub async fn clear_operator_failed_sign_ins(&self, account: &AccountName) -> Result<(), Error> {
        self.clear_failed_sign_ins_at(keys::operator_lockout(account.as_str()))
            .await
    }

    /// The latest operator actions, newest first.
    pub async fn operator_audit(&self, limit: i32) -> Result<Vec<OperatorAuditEntry>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::OPERATOR_AUDIT.to_owned()))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }
}
