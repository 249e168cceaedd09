//! `?merchant_id=`: which merchant's data a request is about (default: the one the session
//! acts as). A parent names a child to read its data; `authorize` refuses writes until the
//! session switches, and answers "not found" for any merchant that is neither.

use serde::Deserialize;
use tessera_domain::access::{owner, Actor};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnerQuery {
    /// The merchant whose data this is about; default the merchant the session acts as.
    /// A parent may name a child to read its data; changing it needs a switch first.
    #[param(pattern = "^[A-Za-z0-9]{4,20}$")]
    pub merchant_id: Option<String>,
}

impl OwnerQuery {
    pub fn owner(&self, actor: &Actor) -> Result<MerchantId, Error> {
        let requested = match self
            .merchant_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        {
            Some(id) => Some(MerchantId::parse("merchant_id", id)?),
            None => None,
        };
        Ok(owner(actor, requested))
    }
}
