//! A merchant's settings (one versioned item), its contract and its fee rates.

use super::{from_item, keys, to_item, Expect, Table, Write};
use serde::{Deserialize, Serialize};
use tessera_domain::merchant::{
    Contact, Contract, CustomerService, FeeRate, LoginAlerts, OperationSettings,
};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// Which name the payment page shows (§3-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentPageName {
    #[default]
    Company,
    Store,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    pub billing: Contact,
    pub business: Contact,
    pub technical: Contact,
}

/// Everything a merchant edits about itself. Absent until first saved (defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantSettings {
    #[serde(default)]
    pub payment_page_name: PaymentPageName,
    #[serde(default)]
    pub contacts: Contacts,
    /// Authorization notices go to this `;`-separated list (receipts go to billing).
    #[serde(default)]
    pub authorization_emails: String,
    #[serde(default)]
    pub operation: OperationSettings,
    #[serde(default)]
    pub customer_service: CustomerService,
    #[serde(default)]
    pub return_rights_statement: String,
    #[serde(default)]
    pub logo_key: Option<String>,
    #[serde(default)]
    pub banner_key: Option<String>,
    #[serde(default)]
    pub login_alerts: LoginAlerts,
    /// 退款結果主動通知 URL: where refund results are posted; each order keeps the one in
    /// force when it was issued.
    #[serde(default)]
    pub refund_notify_url: Option<String>,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredSettings {
    merchant_id: MerchantId,
    #[serde(flatten)]
    settings: MerchantSettings,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredContract {
    merchant_id: MerchantId,
    #[serde(flatten)]
    contract: Contract,
}

/// The write that saves settings read at their version (0: never saved) at the next one;
/// the version is advanced here. Returns it with the version written.
pub fn settings_write(
    merchant_id: &MerchantId,
    settings: &mut MerchantSettings,
) -> Result<(Write, u64), Error> {
    let read = settings.version;
    settings.version = read + 1;
    let stored = StoredSettings {
        merchant_id: merchant_id.clone(),
        settings: settings.clone(),
    };
    let write = Write {
        item: to_item(
            &stored,
            keys::merchant(merchant_id.as_str()),
            keys::SETTINGS,
        )?,
        expect: if read == 0 {
            Expect::Absent
        } else {
            Expect::Version(read)
        },
    };
    Ok((write, settings.version))
}

/// The write that sets a merchant's contract whole.
pub fn contract_write(
    merchant_id: &MerchantId,
    contract: &Contract,
) -> Result<super::Write, Error> {
    let stored = StoredContract {
        merchant_id: merchant_id.clone(),
        contract: contract.clone(),
    };
    Ok(super::Write {
        item: to_item(
            &stored,
            keys::merchant(merchant_id.as_str()),
            keys::CONTRACT,
        )?,
        expect: super::Expect::Any,
    })
}

/// The write of a fee rate at its effective instant (the same instant again replaces it).
pub fn rate_write(merchant_id: &MerchantId, rate: &FeeRate) -> Result<super::Write, Error> {
    let mode = serde_json::to_value(rate.mode).map_err(|e| super::internal(&e))?;
    let item_name = serde_json::to_value(rate.item).map_err(|e| super::internal(&e))?;
    let sk = keys::rate(
        mode.as_str().unwrap_or_default(),
        item_name.as_str().unwrap_or_default(),
        rate.effective_from,
    );
    Ok(super::Write {
        item: to_item(rate, keys::merchant(merchant_id.as_str()), &sk)?,
        expect: super::Expect::Any,
    })
}

impl Table {
    pub async fn get_settings(&self, merchant_id: &MerchantId) -> Result<MerchantSettings, Error> {
        let stored: Option<StoredSettings> = self
            .get(keys::merchant(merchant_id.as_str()), keys::SETTINGS)
            .await?;
        Ok(stored.map(|s| s.settings).unwrap_or_default())
    }

    /// The merchant's redemption mode (one read of its contract).
    pub async fn redemption_mode(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<tessera_domain::merchant::RedemptionMode, Error> {
        Ok(tessera_domain::merchant::redemption_mode(
            self.get_contract(merchant_id).await?.as_ref(),
        ))
    }

    pub async fn get_contract(&self, merchant_id: &MerchantId) -> Result<Option<Contract>, Error> {
        let stored: Option<StoredContract> = self
            .get(keys::merchant(merchant_id.as_str()), keys::CONTRACT)
            .await?;
        Ok(stored.map(|s| s.contract))
    }

    /// Sets the contract (the platform operator's act; used by seeding and operator tools).
    pub async fn put_contract(
        &self,
        merchant_id: &MerchantId,
        contract: &Contract,
    ) -> Result<(), Error> {
        self.put(contract_write(merchant_id, contract)?.item).await
    }

    /// Records a fee rate from its effective instant on; earlier rates stay for history.
    pub async fn put_rate(&self, merchant_id: &MerchantId, rate: &FeeRate) -> Result<(), Error> {
        self.put(rate_write(merchant_id, rate)?.item).await
    }

    /// Every fee rate ever set for the merchant, for "the rate in force on day D".
    pub async fn list_rates(&self, merchant_id: &MerchantId) -> Result<Vec<FeeRate>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::RATE_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }
}
