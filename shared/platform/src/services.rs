//! What a function that stores or authenticates needs, built once per cold start.

use crate::assets::AssetStore;
use crate::auth::Authenticator;
use crate::notifications::{NotificationQueue, WorkQueue};
use crate::session::SigningKeys;
use crate::store::Table;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tessera_domain::clock::Clock;

/// The system clock: the one place production reads the time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Clone)]
pub struct Services {
    pub table: Table,
    /// Only the functions that sign or verify session tokens (auth, the authorizer) are
    /// given the key's secret; see [`Services::require_signing_key`].
    pub signing_key: Option<SigningKeys>,
    pub clock: Arc<dyn Clock>,
    pub session_lifetime: Duration,
    pub notifications: NotificationQueue,
    pub assets: AssetStore,
    /// Uploaded issuance spreadsheets (presigned PUT, read back for the preview).
    pub uploads: AssetStore,
    pub batch_issue: WorkQueue,
}

impl Services {
    /// From the standard AWS configuration plus `TABLE_NAME`, `NOTIFICATIONS_QUEUE_URL`,
    /// `ASSETS_BUCKET`, `UPLOADS_BUCKET`, `BATCH_ISSUE_QUEUE_URL`,
    /// `TESSERA_SIGNING_KEY_SECRET_ARN` (where given: the key is read from it now) and
    /// `TESSERA_SESSION_HOURS` (default 8: a working day).
    pub async fn from_env() -> Result<Services, String> {
        let config = crate::aws::load_sdk_config().await;
        let table = Table::from_env(&config).map_err(|e| e.to_string())?;
        let hours = std::env::var("TESSERA_SESSION_HOURS")
            .ok()
            .and_then(|h| h.parse::<i64>().ok())
            .filter(|h| (1..=24).contains(h))
            .unwrap_or(8);
        let notifications = NotificationQueue {
            sqs: crate::aws::sqs_client(&config),
            url: crate::aws::required_env("NOTIFICATIONS_QUEUE_URL").map_err(|e| e.to_string())?,
        };
        let assets = AssetStore {
            s3: crate::aws::s3_client(&config),
            bucket: crate::aws::required_env("ASSETS_BUCKET").map_err(|e| e.to_string())?,
        };
        let uploads = AssetStore {
            s3: crate::aws::s3_client(&config),
            bucket: crate::aws::required_env("UPLOADS_BUCKET").map_err(|e| e.to_string())?,
        };
        let batch_issue = WorkQueue {
            sqs: crate::aws::sqs_client(&config),
            url: crate::aws::required_env("BATCH_ISSUE_QUEUE_URL").map_err(|e| e.to_string())?,
        };
        Ok(Services {
            assets,
            uploads,
            batch_issue,
            notifications,
            table,
            signing_key: match std::env::var("TESSERA_SIGNING_KEY_SECRET_ARN") {
                Ok(secret) => Some(
                    SigningKeys::from_secret(crate::aws::secrets_client(&config), &secret).await?,
                ),
                Err(_) => None,
            },
            clock: Arc::new(SystemClock),
            session_lifetime: Duration::hours(hours),
        })
    }

    /// The signing key, for the functions that need it: they call this at start, so a
    /// missing key fails the cold start with a clear message instead of a request.
    pub fn require_signing_key(&self) -> Result<&SigningKeys, String> {
        self.signing_key.as_ref().ok_or_else(|| {
            "TESSERA_SIGNING_KEY_SECRET_ARN is not set for a function that signs or verifies sessions"
                .to_owned()
        })
    }

    pub fn authenticator(&self) -> Result<Authenticator, String> {
        Ok(Authenticator {
            table: self.table.clone(),
            keys: self.require_signing_key()?.clone(),
            clock: self.clock.clone(),
        })
    }
}
