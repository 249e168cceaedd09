//! What a function that stores or authenticates needs, built once per cold start.

use crate::assets::AssetStore;
use crate::auth::Authenticator;
use crate::notifications::NotificationQueue;
use crate::session::SigningKey;
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
    pub signing_key: SigningKey,
    pub clock: Arc<dyn Clock>,
    pub session_lifetime: Duration,
    pub notifications: NotificationQueue,
    pub assets: AssetStore,
}

impl Services {
    /// From the standard AWS configuration plus `TABLE_NAME`, `NOTIFICATIONS_QUEUE_URL`, `ASSETS_BUCKET`,
    /// `TESSERA_SIGNING_KEY` and
    /// `TESSERA_SESSION_HOURS` (default 8: a working day).
    pub async fn from_env() -> Result<Services, String> {
        let config = crate::aws::load_sdk_config().await;
        let table_name = crate::aws::required_env("TABLE_NAME").map_err(|e| e.to_string())?;
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
        Ok(Services {
            assets,
            notifications,
            table: Table::new(crate::aws::dynamodb_client(&config), table_name),
            signing_key: SigningKey::from_env()?,
            clock: Arc::new(SystemClock),
            session_lifetime: Duration::hours(hours),
        })
    }

    pub fn authenticator(&self) -> Authenticator {
        Authenticator {
            table: self.table.clone(),
            key: self.signing_key.clone(),
            clock: self.clock.clone(),
        }
    }
}
