//! Sessions (one item per signed-in token) and the failed-sign-in counters of the lockout.

use super::{epoch_seconds, from_item, key, keys, to_item, unavailable, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::{AccountName, BranchCode, MerchantId};
use tessera_domain::{lockout, Error, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_id: String,
    pub merchant_id: MerchantId,
    pub account: AccountName,
    pub acting_as: MerchantId,
    pub created_at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailedSignIns {
    #[serde(default)]
    pub failures: Vec<DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}

impl Table {
    pub async fn put_session(&self, session: &SessionRecord) -> Result<(), Error> {
        let mut item = to_item(session, keys::session(&session.session_id), keys::SESSION)?;
        item.insert("expires_at".to_owned(), epoch_seconds(session.expires));
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn get_session(&self, session_id: &str) -> Result<Option<SessionRecord>, Error> {
        self.get(keys::session(session_id), keys::SESSION).await
    }

    pub async fn delete_session(&self, session_id: &str) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::session(session_id), keys::SESSION)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Points a live session at another merchant (switching into a child and back).
    pub async fn set_acting_as(
        &self,
        session_id: &str,
        merchant: &MerchantId,
    ) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::session(session_id), keys::SESSION)))
            .update_expression("SET acting_as = :merchant")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(
                ":merchant",
                AttributeValue::S(merchant.as_str().to_owned()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(Error::new(ErrorCode::SessionExpired))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Whether the account signed in from this device before (a known device).
    pub async fn is_known_device(
        &self,
        merchant_id: &MerchantId,
        account: &AccountName,
        fingerprint: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .get_item_raw(
                keys::merchant(merchant_id.as_str()),
                &keys::device(account.as_str(), fingerprint),
            )
            .await?
            .is_some())
    }

    /// Takes one of the [`lockout::MAX_FAILURES`] attempts a lockout counter allows in its
    /// window, before the password is checked: counted as a failure now (a success clears
    /// it), so that however many guesses arrive at once, at most that many are ever
    /// checked. Conditional on the counter's version, retried on a lost race.
    pub(crate) async fn reserve_sign_in_at(
        &self,
        pk: String,
        now: DateTime<Utc>,
    ) -> Result<SignInAttempt, Error> {
        for _ in 0..20 {
            let current = self.failed_sign_ins_at(pk.clone()).await?;
            if let Some(until) = lockout::locked_until(&current.failures, now) {
                return Ok(SignInAttempt::Locked { until });
            }
            let next = FailedSignIns {
                failures: lockout::record_failure(&current.failures, now),
                version: current.version + 1,
            };
            let mut item = to_item(&next, pk.clone(), keys::LOCKOUT)?;
            item.insert(
                "expires_at".to_owned(),
                epoch_seconds(now + lockout::WINDOW),
            );
            let result = self
                .client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR version = :expected")
                .expression_attribute_values(
                    ":expected",
                    AttributeValue::N(current.version.to_string()),
                )
                .send()
                .await;
            match result {
                Ok(_) => {
                    return Ok(SignInAttempt::Reserved {
                        locked_if_wrong: lockout::locked_until(&next.failures, now),
                    })
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    continue
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(Error::new(ErrorCode::ConcurrentChange))
    }

    /// [`Table::reserve_sign_in_at`] for a merchant's account: from a known device under
    /// that device's own counter, from any other under the account's.
    pub async fn reserve_sign_in(
        &self,
        merchant_id: &MerchantId,
        account: &AccountName,
        known_device: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SignInAttempt, Error> {
        self.reserve_sign_in_at(lockout_key(merchant_id, account, known_device), now)
            .await
    }

    /// A successful sign-in clears the counter it was counted under.
    pub async fn clear_failed_sign_ins(
        &self,
        merchant_id: &MerchantId,
        account: &AccountName,
        known_device: Option<&str>,
    ) -> Result<(), Error> {
        self.clear_failed_sign_ins_at(lockout_key(merchant_id, account, known_device))
            .await
    }

    /// The failed sign-ins counted under a lockout key (a merchant's account, an operator).
    pub(crate) async fn failed_sign_ins_at(&self, pk: String) -> Result<FailedSignIns, Error> {
        Ok(self.get(pk, keys::LOCKOUT).await?.unwrap_or_default())
    }

    pub(crate) async fn clear_failed_sign_ins_at(&self, pk: String) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, keys::LOCKOUT)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn lockout_key(
    merchant_id: &MerchantId,
    account: &AccountName,
    known_device: Option<&str>,
) -> String {
    match known_device {
        Some(fingerprint) => {
            keys::device_lockout(merchant_id.as_str(), account.as_str(), fingerprint)
        }
        None => keys::lockout(merchant_id.as_str(), account.as_str()),
    }
}

/// The outcome of reserving a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAttempt {
    /// The counter is full: no password is checked until `until`.
    Locked { until: DateTime<Utc> },
    /// The password may be checked; if it is wrong, the counter locks until then.
    Reserved {
        locked_if_wrong: Option<DateTime<Utc>>,
    },
}

/// What the authorizer needs about a session, read in one round trip.
#[derive(Debug, Default)]
pub struct SessionFacts {
    pub session: Option<SessionRecord>,
    pub account: Option<super::accounts::AccountRecord>,
    pub merchant: Option<super::accounts::MerchantRecord>,
    pub branch: Option<super::branches::BranchRecord>,
}

impl Table {
    /// The session, its account and merchant, and the branch the token names, in one
    /// batched read (the keys all follow from the token).
    pub async fn session_facts(
        &self,
        session_id: &str,
        merchant_id: &MerchantId,
        account: &AccountName,
        branch: Option<&BranchCode>,
    ) -> Result<SessionFacts, Error> {
        let merchant_pk = keys::merchant(merchant_id.as_str());
        let mut wanted = vec![
            key(keys::session(session_id), keys::SESSION),
            key(merchant_pk.clone(), &keys::account(account.as_str())),
            key(merchant_pk.clone(), keys::PROFILE),
        ];
        if let Some(branch) = branch {
            wanted.push(key(merchant_pk, &keys::branch(branch.as_str())));
        }
        let mut facts = SessionFacts::default();
        for item in self.batch_get(wanted).await? {
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == keys::SESSION {
                facts.session = Some(from_item(item)?);
            } else if sk == keys::PROFILE {
                facts.merchant = Some(from_item(item)?);
            } else if sk.starts_with(keys::ACCOUNT_PREFIX) {
                facts.account = Some(from_item(item)?);
            } else if sk.starts_with(keys::BRANCH_PREFIX) {
                facts.branch = Some(from_item(item)?);
            }
        }
        Ok(facts)
    }
}
