//! What a function that stores or authenticates needs, built once per cold start by one
//! constructor ([`Services::build`]) from the variables the template gives the function:
//! the table and the clock always, and the stack's other resources only where the function
//! declares it needs them ([`Resource`]; each function's `NEEDS`). The Lambda `main`s, the
//! local gateway, the tests and the benchmarks all build them this way.

use crate::assets::AssetStore;
use crate::auth::Authenticator;
use crate::aws::SdkConfig;
use crate::notifications::{NotificationQueue, WorkQueue};
use crate::session::SigningKeys;
use crate::store::Table;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::{Error, ErrorCode};

/// The system clock: the one place production reads the time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A resource of the stack beyond the table, named to a function by one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The session-token signing key's secret (read at start, rotated at run time).
    SigningKey,
    /// Logos, banners and product images.
    Assets,
    /// Uploaded issuance spreadsheets.
    Uploads,
    BatchIssueQueue,
    NotificationsQueue,
    /// Exported reports (written by the export worker, handed out as presigned URLs).
    Exports,
    ReportExportQueue,
    /// Continuations of scheduled jobs whose work did not fit one invocation.
    JobsQueue,
    /// Where e-ticket links point (the deployment's public address and `/t/`): the links
    /// sent to buyers and transfer recipients.
    TicketLinks,
    /// Refund callbacks waiting to be sent (and retried) to integrators.
    RefundNotifyQueue,
    /// Which addresses callbacks may reach: `public` (https, public addresses only) or
    /// `any` (http and private addresses too: a local stack's receiver).
    CallbackTargets,
}

impl Resource {
    pub const ALL: [Resource; 11] = [
        Resource::SigningKey,
        Resource::Assets,
        Resource::Uploads,
        Resource::BatchIssueQueue,
        Resource::NotificationsQueue,
        Resource::Exports,
        Resource::ReportExportQueue,
        Resource::JobsQueue,
        Resource::TicketLinks,
        Resource::RefundNotifyQueue,
        Resource::CallbackTargets,
    ];

    /// The variable the template sets for a function given this resource.
    pub fn variable(self) -> &'static str {
        match self {
            Resource::SigningKey => "TESSERA_SIGNING_KEY_SECRET_ARN",
            Resource::Assets => "ASSETS_BUCKET",
            Resource::Uploads => "UPLOADS_BUCKET",
            Resource::BatchIssueQueue => "BATCH_ISSUE_QUEUE_URL",
            Resource::NotificationsQueue => "NOTIFICATIONS_QUEUE_URL",
            Resource::Exports => "EXPORTS_BUCKET",
            Resource::ReportExportQueue => "REPORT_EXPORT_QUEUE_URL",
            Resource::JobsQueue => "JOBS_QUEUE_URL",
            Resource::TicketLinks => "TESSERA_TICKET_LINK_BASE",
            Resource::RefundNotifyQueue => "REFUND_NOTIFY_QUEUE_URL",
            Resource::CallbackTargets => "TESSERA_CALLBACK_TARGETS",
        }
    }
}

#[derive(Clone)]
pub struct Services {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
    pub session_lifetime: Duration,
    signing_key: Option<SigningKeys>,
    assets: Option<AssetStore>,
    uploads: Option<AssetStore>,
    batch_issue: Option<WorkQueue>,
    notifications: Option<NotificationQueue>,
    exports: Option<AssetStore>,
    report_export: Option<WorkQueue>,
    jobs: Option<WorkQueue>,
    ticket_link_base: Option<String>,
    refund_notify: Option<WorkQueue>,
    callback_targets: Option<String>,
}

/// A variable's value by name (the process environment, or a stack's resolved variables).
pub trait Variables {
    fn variable(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Variables for F {
    fn variable(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process environment.
pub fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Services {
    /// The change engine over this function's table and clock: every state change goes
    /// through it (decision 0008).
    pub fn engine(&self) -> crate::change::ChangeEngine {
        crate::change::ChangeEngine::new(self.table.clone(), self.clock.clone())
    }

    /// The one constructor: `TABLE_NAME`, `TESSERA_SESSION_HOURS` (default 8: a working
    /// day) and the variable of each resource in `needs`, clients built from `config`.
    /// The signing key is not read here (that is I/O): [`Services::from_env`] reads it, and
    /// tests and tools give theirs with [`Services::with_signing_keys`].
    pub fn build(
        config: &SdkConfig,
        variables: &dyn Variables,
        needs: &[Resource],
        clock: Arc<dyn Clock>,
    ) -> Result<Services, String> {
        let required = |name: &str| {
            variables
                .variable(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    format!("{name} is not set (it is in the function's template environment)")
                })
        };
        let wanted = |resource: Resource| -> Result<Option<String>, String> {
            match needs.contains(&resource) {
                true => required(resource.variable()).map(Some),
                false => Ok(None),
            }
        };
        let hours = variables
            .variable("TESSERA_SESSION_HOURS")
            .and_then(|h| h.parse::<i64>().ok())
            .filter(|h| (1..=24).contains(h))
            .unwrap_or(8);
        Ok(Services {
            table: Table::new(crate::aws::dynamodb_client(config), required("TABLE_NAME")?),
            clock,
            session_lifetime: Duration::hours(hours),
            signing_key: None,
            assets: wanted(Resource::Assets)?.map(|bucket| AssetStore {
                s3: crate::aws::s3_client(config),
                bucket,
            }),
            uploads: wanted(Resource::Uploads)?.map(|bucket| AssetStore {
                s3: crate::aws::s3_client(config),
                bucket,
            }),
            batch_issue: wanted(Resource::BatchIssueQueue)?.map(|url| WorkQueue {
                sqs: crate::aws::sqs_client(config),
                url,
            }),
            notifications: wanted(Resource::NotificationsQueue)?.map(|url| NotificationQueue {
                sqs: crate::aws::sqs_client(config),
                url,
            }),
            exports: wanted(Resource::Exports)?.map(|bucket| AssetStore {
                s3: crate::aws::s3_client(config),
                bucket,
            }),
            report_export: wanted(Resource::ReportExportQueue)?.map(|url| WorkQueue {
                sqs: crate::aws::sqs_client(config),
                url,
            }),
            jobs: wanted(Resource::JobsQueue)?.map(|url| WorkQueue {
                sqs: crate::aws::sqs_client(config),
                url,
            }),
            ticket_link_base: wanted(Resource::TicketLinks)?,
            refund_notify: wanted(Resource::RefundNotifyQueue)?.map(|url| WorkQueue {
                sqs: crate::aws::sqs_client(config),
                url,
            }),
            callback_targets: wanted(Resource::CallbackTargets)?,
        })
    }

    /// A Lambda's services: [`Services::build`] over the process environment and the
    /// system clock, with the signing key read from its secret where it is needed (a
    /// missing variable or key fails the cold start, with its name, not a request).
    pub async fn from_env(needs: &[Resource]) -> Result<Services, String> {
        let config = crate::aws::load_sdk_config().await;
        let services =
            Services::build(&config, &process_environment, needs, Arc::new(SystemClock))?;
        if !needs.contains(&Resource::SigningKey) {
            return Ok(services);
        }
        let secret = process_environment(Resource::SigningKey.variable())
            .ok_or("TESSERA_SIGNING_KEY_SECRET_ARN is not set for a function that signs or verifies sessions")?;
        let keys = SigningKeys::from_secret(crate::aws::secrets_client(&config), &secret).await?;
        Ok(services.with_signing_keys(keys))
    }

    pub fn with_signing_keys(mut self, keys: SigningKeys) -> Services {
        self.signing_key = Some(keys);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Services {
        self.clock = clock;
        self
    }

    pub fn signing_keys(&self) -> Result<&SigningKeys, Error> {
        self.signing_key
            .as_ref()
            .ok_or_else(|| missing(Resource::SigningKey))
    }

    pub fn assets(&self) -> Result<&AssetStore, Error> {
        self.assets
            .as_ref()
            .ok_or_else(|| missing(Resource::Assets))
    }

    pub fn uploads(&self) -> Result<&AssetStore, Error> {
        self.uploads
            .as_ref()
            .ok_or_else(|| missing(Resource::Uploads))
    }

    pub fn batch_issue(&self) -> Result<&WorkQueue, Error> {
        self.batch_issue
            .as_ref()
            .ok_or_else(|| missing(Resource::BatchIssueQueue))
    }

    pub fn notifications(&self) -> Result<&NotificationQueue, Error> {
        self.notifications
            .as_ref()
            .ok_or_else(|| missing(Resource::NotificationsQueue))
    }

    pub fn exports(&self) -> Result<&AssetStore, Error> {
        self.exports
            .as_ref()
            .ok_or_else(|| missing(Resource::Exports))
    }

    pub fn report_export(&self) -> Result<&WorkQueue, Error> {
        self.report_export
            .as_ref()
            .ok_or_else(|| missing(Resource::ReportExportQueue))
    }

    pub fn jobs(&self) -> Result<&WorkQueue, Error> {
        self.jobs
            .as_ref()
            .ok_or_else(|| missing(Resource::JobsQueue))
    }

    pub fn refund_notify(&self) -> Result<&WorkQueue, Error> {
        self.refund_notify
            .as_ref()
            .ok_or_else(|| missing(Resource::RefundNotifyQueue))
    }

    /// Whether callbacks may reach http and private addresses (`any`: a local stack), or
    /// only https on public addresses (`public`, anything else).
    pub fn callbacks_reach_private_targets(&self) -> Result<bool, Error> {
        self.callback_targets
            .as_deref()
            .map(|targets| targets == "any")
            .ok_or_else(|| missing(Resource::CallbackTargets))
    }

    /// Where e-ticket links point: a link is this and its token.
    pub fn ticket_link_base(&self) -> Result<&str, Error> {
        self.ticket_link_base
            .as_deref()
            .ok_or_else(|| missing(Resource::TicketLinks))
    }

    /// The e-ticket page of `token`.
    pub fn ticket_link(&self, token: &str) -> Result<String, Error> {
        Ok(format!("{}{token}", self.ticket_link_base()?))
    }

    pub fn authenticator(&self) -> Result<Authenticator, String> {
        Ok(Authenticator {
            table: self.table.clone(),
            keys: self.signing_keys().map_err(|e| e.to_string())?.clone(),
            clock: self.clock.clone(),
        })
    }
}

/// A resource the function did not declare it needs: a programming error, logged with
/// its name (the caller hears 500).
fn missing(resource: Resource) -> Error {
    tracing::error!(resource = ?resource, variable = resource.variable(), "a resource this function does not declare was asked for");
    Error::new(ErrorCode::InternalError).with_detail(format!(
        "{} is not configured for this function",
        resource.variable()
    ))
}
