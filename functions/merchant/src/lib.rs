//! The merchant's own data (§3-2, §3-6, §7-1): profile and contacts, payment notifications,
//! operation settings, ticket-page information, and the contract with its fee rates.

mod callbacks;

use axum::extract::State;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_domain::access::{Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::merchant::{
    parse_notify_url, rate_in_force, validate_image_upload, Contact, CustomerService, FeeItem,
    OperationSettings, ServiceStatus, TicketImage,
};
use tessera_domain::values::EmailList;
use tessera_domain::{calendar, Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::accounts::IssuerInfo;
use tessera_platform::store::announcements::read_mark_write;
use tessera_platform::store::history::{HistoryEntry, HistoryList};
use tessera_platform::store::settings::{
    settings_write, Contacts, MerchantSettings, PaymentPageName,
};
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const ENTITY: &str = "settings";

/// The rights check of a merchant-data route in `area`.
const fn rights(area: FunctionArea) -> AreaGuard {
    AreaGuard::new(area, ErrorCode::MerchantNotFound)
}

/// Refuses a read-only field that was sent for editing, naming it.
fn refuse_read_only(fields: &[(&str, bool)]) -> Result<(), Error> {
    match fields.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(Error {
            code: ErrorCode::ReadOnlyField,
            detail: Some(format!("{field} is read-only")),
            violations: vec![Violation::field(
                *field,
                "read-only: set from your application with the platform",
            )],
        }),
        None => Ok(()),
    }
}

/// Changes the merchant's settings through the change engine: `apply` is given the
/// settings as stored (read again on a lost race) and answers the history entry's changes.
/// A PUT sets a state, so its key is recorded after it (the idempotency layer) rather than
/// in the change.
async fn change_settings(
    services: &Services,
    actor: &Actor,
    action: &str,
    apply: impl Fn(&mut MerchantSettings) -> Result<serde_json::Value, Error> + Sync,
) -> Result<MerchantSettings, Problem> {
    let apply = &apply;
    let engine = services.engine();
    let settings = engine
        .run(None, 200, |now| async move {
            let mut settings = services.table.get_settings(&actor.acting_as).await?;
            let changes_made = apply(&mut settings)?;
            let (write, version) = settings_write(&actor.acting_as, &mut settings)?;
            let mut changes = Changes::new();
            changes.write(write);
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    ENTITY,
                    actor.acting_as.as_str(),
                    action,
                    changes_made,
                ),
                version,
            )?;
            Ok(Decision::new(changes, settings))
        })
        .await?;
    Ok(settings)
}

async fn merchant_record(
    services: &Services,
    actor: &Actor,
) -> Result<tessera_platform::store::accounts::MerchantRecord, Problem> {
    services
        .table
        .get_merchant(&actor.acting_as)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::MerchantNotFound))
}

// ------------------------------------------------------------------ profile

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[
    Resource::Assets,
    Resource::RefundNotifyQueue,
    Resource::CallbackTargets,
];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub name: String,
    pub phone: String,
    /// One or more addresses separated by `;`.
    pub email: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactsView {
    pub billing: ContactView,
    pub business: ContactView,
    pub technical: ContactView,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebsiteView {
    pub company: String,
    pub website: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileView {
    pub merchant_id: String,
    pub name: String,
    /// `company` or `store`: which name the payment page shows.
    pub payment_page_name: String,
    /// Read-only: what was declared when applying.
    pub website: WebsiteView,
    pub contacts: ContactsView,
    /// Receipt notices go to the billing contact's addresses.
    pub receipt_emails: String,
    /// Authorization notices go to these `;`-separated addresses.
    pub authorization_emails: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactInput {
    /// At most 30 characters.
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,30}$")]
    pub name: String,
    /// At most 20 digits, spaces and + - ( ) #.
    #[serde(default)]
    #[schema(pattern = "^[0-9 +()#-]{0,20}$")]
    pub phone: String,
    #[serde(default)]
    #[schema(value_type = tessera_platform::formats::EmailListText)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactsInput {
    pub billing: ContactInput,
    pub business: ContactInput,
    pub technical: ContactInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileInput {
    /// `company` or `store`.
    pub payment_page_name: PaymentPageNameInput,
    pub contacts: ContactsInput,
    /// Authorization notices go to these `;`-separated addresses.
    #[serde(default)]
    #[schema(value_type = tessera_platform::formats::EmailListText)]
    pub authorization_emails: String,
    /// Read-only; sending it is refused.
    #[schema(ignore)]
    pub website: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentPageNameInput {
    Company,
    Store,
}

fn contact_view(contact: &Contact) -> ContactView {
    ContactView {
        name: contact.name.clone(),
        phone: contact.phone.clone(),
        email: contact.email.clone(),
    }
}

fn profile_view(
    merchant: &tessera_platform::store::accounts::MerchantRecord,
    settings: &MerchantSettings,
) -> ProfileView {
    ProfileView {
        merchant_id: merchant.merchant_id.to_string(),
        name: merchant.name.clone(),
        payment_page_name: match settings.payment_page_name {
            PaymentPageName::Company => "company".to_owned(),
            PaymentPageName::Store => "store".to_owned(),
        },
        website: WebsiteView {
            company: merchant.issuer.company.clone(),
            website: merchant.issuer.website.clone(),
        },
        contacts: ContactsView {
            billing: contact_view(&settings.contacts.billing),
            business: contact_view(&settings.contacts.business),
            technical: contact_view(&settings.contacts.technical),
        },
        receipt_emails: settings.contacts.billing.email.clone(),
        authorization_emails: settings.authorization_emails.clone(),
    }
}

/// The merchant's basic data, website information (read-only) and contacts (§3-2).
#[utoipa::path(get, path = "/merchant/profile", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = ProfileView),
        (status = 403, description = "RIGHT_MISSING: query right of profile", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_profile(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<ProfileView>, Problem> {
    rights(FunctionArea::Profile).check_own(&current.actor, Access::Query)?;
    let (merchant, settings) = tokio::join!(
        merchant_record(&services, &current.actor),
        services.table.get_settings(&current.actor.acting_as)
    );
    Ok(Json(profile_view(&merchant?, &settings?)))
}

/// Edit the payment-page name, contacts and notification addresses. Every address in a
/// `;`-separated list is checked and the bad one named.
#[utoipa::path(put, path = "/merchant/profile", tag = "merchant", security(("bearer" = [])), request_body = ProfileInput,
    responses((status = 200, body = ProfileView),
        (status = 400, description = "VALIDATION_FAILED: contacts.<role>.email naming the bad address, …; READ_ONLY_FIELD: website", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of profile; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn put_profile(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<Json<ProfileView>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::Profile).check_own(actor, Access::Modify)?;
    refuse_read_only(&[("website", input.website.is_some())])?;
    let mut violations = Vec::new();
    let contact = |input: &ContactInput, prefix: &str, violations: &mut Vec<Violation>| {
        Contact {
            name: input.name.clone(),
            phone: input.phone.clone(),
            email: input.email.clone(),
        }
        .validate(prefix, violations)
    };
    let contacts = Contacts {
        billing: contact(&input.contacts.billing, "contacts.billing", &mut violations),
        business: contact(
            &input.contacts.business,
            "contacts.business",
            &mut violations,
        ),
        technical: contact(
            &input.contacts.technical,
            "contacts.technical",
            &mut violations,
        ),
    };
    let authorization_emails = if input.authorization_emails.trim().is_empty() {
        String::new()
    } else {
        match EmailList::parse("authorization_emails", &input.authorization_emails) {
            Ok(list) => String::from(list),
            Err(error) => {
                violations.extend(error.violations);
                String::new()
            }
        }
    };
    if !violations.is_empty() {
        return Err(Error::invalid(violations).into());
    }
    let merchant = merchant_record(&services, actor).await?;
    let payment_page_name = match input.payment_page_name {
        PaymentPageNameInput::Company => PaymentPageName::Company,
        PaymentPageNameInput::Store => PaymentPageName::Store,
    };
    let settings = change_settings(&services, actor, "profile_changed", |settings| {
        let before = profile_view(&merchant, settings);
        settings.payment_page_name = payment_page_name;
        settings.contacts = contacts.clone();
        settings.authorization_emails = authorization_emails.clone();
        let after = profile_view(&merchant, settings);
        Ok(json!({"before": before, "after": after}))
    })
    .await?;
    Ok(Json(profile_view(&merchant, &settings)))
}

// ------------------------------------------------------------------ operation settings

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OperationSettingsView {
    pub sms_enabled: bool,
    /// False when the contract does not include SMS: the switch shows "not available".
    pub sms_available: bool,
    pub consumer_returns_enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OperationSettingsInput {
    pub sms_enabled: bool,
    pub consumer_returns_enabled: bool,
}

/// SMS notifications and consumer return requests (§7-1 基本設定).
#[utoipa::path(get, path = "/merchant/operation-settings", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = OperationSettingsView),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_operation_settings(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<OperationSettingsView>, Problem> {
    rights(FunctionArea::OperationSettings).check_own(&current.actor, Access::Query)?;
    let (settings, contract) = tokio::join!(
        services.table.get_settings(&current.actor.acting_as),
        services.table.get_contract(&current.actor.acting_as)
    );
    let (settings, contract) = (settings?, contract?);
    Ok(Json(OperationSettingsView {
        sms_enabled: settings.operation.sms_enabled,
        sms_available: contract.is_some_and(|c| c.sms_contracted),
        consumer_returns_enabled: settings.operation.consumer_returns_enabled,
    }))
}

/// Switch SMS notifications and consumer return requests on or off.
#[utoipa::path(put, path = "/merchant/operation-settings", tag = "merchant", security(("bearer" = [])), request_body = OperationSettingsInput,
    responses((status = 200, body = OperationSettingsView),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "SMS_NOT_CONTRACTED; CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn put_operation_settings(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<OperationSettingsInput>,
) -> Result<Json<OperationSettingsView>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Modify)?;
    let contract = services.table.get_contract(&actor.acting_as).await?;
    let requested = OperationSettings {
        sms_enabled: input.sms_enabled,
        consumer_returns_enabled: input.consumer_returns_enabled,
    };
    requested.validate(contract.as_ref())?;
    let settings = change_settings(&services, actor, "operation_settings_changed", |settings| {
        let before = settings.operation;
        settings.operation = requested;
        Ok(json!({"before": before, "after": requested}))
    })
    .await?;
    Ok(Json(OperationSettingsView {
        sms_enabled: settings.operation.sms_enabled,
        sms_available: contract.is_some_and(|c| c.sms_contracted),
        consumer_returns_enabled: settings.operation.consumer_returns_enabled,
    }))
}

// ------------------------------------------------------------------ refund notify URL

/// The action of a notify URL change in the merchant's history.
const NOTIFY_URL_CHANGED: &str = "refund_notify_url_changed";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefundNotifyUrlView {
    /// Where refund results are posted; `null`: none set.
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundNotifyUrlInput {
    /// An https:// URL with a host (at most 500 characters, no spaces, credentials or
    /// fragment); `null` or empty removes it.
    #[schema(
        max_length = 500,
        pattern = "^(https://[A-Za-z0-9\\[][A-Za-z0-9.\\[\\]:-]*([/?][!-\"$-~]*)?)?$"
    )]
    pub url: Option<String>,
}

/// 退款結果主動通知 URL (§八 8-1 發行前置設定): where the platform posts an order's refund
/// result. Each order keeps the URL in force when it was issued.
#[utoipa::path(get, path = "/merchant/refund-notify-url", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = RefundNotifyUrlView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_refund_notify_url(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<RefundNotifyUrlView>, Problem> {
    rights(FunctionArea::OperationSettings).check_own(&current.actor, Access::Query)?;
    let settings = services
        .table
        .get_settings(&current.actor.acting_as)
        .await?;
    Ok(Json(RefundNotifyUrlView {
        url: settings.refund_notify_url,
    }))
}

/// Set (or remove) the refund notify URL. Not retroactive: orders issued before keep theirs.
#[utoipa::path(put, path = "/merchant/refund-notify-url", tag = "merchant", security(("bearer" = [])), request_body = RefundNotifyUrlInput,
    responses((status = 200, body = RefundNotifyUrlView),
        (status = 400, description = "VALIDATION_FAILED: url", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn put_refund_notify_url(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<RefundNotifyUrlInput>,
) -> Result<Json<RefundNotifyUrlView>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Modify)?;
    let url = match input
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => Some(parse_notify_url(
            "url",
            url,
            services.callbacks_reach_private_targets()?,
        )?),
        None => None,
    };
    let url = &url;
    let settings = change_settings(&services, actor, NOTIFY_URL_CHANGED, |settings| {
        let before = settings.refund_notify_url.clone();
        settings.refund_notify_url = url.clone();
        Ok(json!({"url": {"before": before, "after": url}}))
    })
    .await?;
    // Setting an endpoint again enables it after a 410 disabled it.
    if let Some(url) = url {
        let services = &services;
        services
            .engine()
            .run(None, 200, |_| async move {
                let mut callbacks = services
                    .table
                    .get_callback_settings(&actor.acting_as)
                    .await?;
                let mut changes = Changes::new();
                if callbacks.disabled_urls.contains(url) {
                    callbacks.disabled_urls.retain(|u| u != url);
                    changes.write(tessera_platform::store::webhooks::callback_settings_write(
                        &actor.acting_as,
                        &mut callbacks,
                    )?);
                }
                Ok(Decision::new(changes, ()))
            })
            .await?;
    }
    Ok(Json(RefundNotifyUrlView {
        url: settings.refund_notify_url,
    }))
}

/// The notify URL's changes (歷程), oldest first: who, when, before and after.
#[utoipa::path(get, path = "/merchant/refund-notify-url/history", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = HistoryList),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = "application/problem+json")))]
async fn refund_notify_url_history(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<HistoryList>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Query)?;
    let mut entries = services
        .table
        .list_history(&actor.acting_as, ENTITY, actor.acting_as.as_str())
        .await?;
    entries.retain(|e| e.action == NOTIFY_URL_CHANGED);
    Ok(Json(HistoryList::from(entries)))
}

// ------------------------------------------------------------------ ticket page

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuerView {
    pub company: String,
    pub representative: String,
    pub tax_id: String,
    pub address: String,
    pub website: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerServiceView {
    pub phone: String,
    pub email: String,
    pub links: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketPageView {
    /// Read-only: company, representative, tax ID, address, website.
    pub issuer: IssuerView,
    pub customer_service: CustomerServiceView,
    /// Shown on goods vouchers only.
    pub return_rights_statement: String,
    /// A download link for the logo, valid for an hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// A download link for the banner, valid for an hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerServiceInput {
    /// At most 20 digits, spaces and + - ( ) #.
    #[serde(default)]
    #[schema(pattern = "^[0-9 +()#-]{0,20}$")]
    pub phone: String,
    #[serde(default)]
    #[schema(value_type = tessera_platform::formats::EmailOrEmptyText)]
    pub email: String,
    /// At most 5 https:// links of at most 200 characters.
    #[serde(default)]
    #[schema(max_items = 5, value_type = Vec<tessera_platform::formats::HttpsLinkText>)]
    pub links: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TicketPageInput {
    pub customer_service: CustomerServiceInput,
    #[serde(default)]
    pub return_rights_statement: String,
    /// Read-only; sending it is refused.
    #[schema(ignore)]
    pub issuer: Option<serde_json::Value>,
}

fn ticket_page_view(issuer: &IssuerInfo, settings: &MerchantSettings) -> TicketPageView {
    TicketPageView {
        issuer: IssuerView {
            company: issuer.company.clone(),
            representative: issuer.representative.clone(),
            tax_id: issuer.tax_id.clone(),
            address: issuer.address.clone(),
            website: issuer.website.clone(),
        },
        customer_service: CustomerServiceView {
            phone: settings.customer_service.phone.clone(),
            email: settings.customer_service.email.clone(),
            links: settings.customer_service.links.clone(),
        },
        return_rights_statement: settings.return_rights_statement.clone(),
        logo_url: None,
        banner_url: None,
    }
}

/// The view with download links for the images that are set.
async fn ticket_page_with_links(
    services: &Services,
    issuer: &IssuerInfo,
    settings: &MerchantSettings,
) -> Result<TicketPageView, Problem> {
    let mut view = ticket_page_view(issuer, settings);
    if let Some(key) = &settings.logo_key {
        view.logo_url = Some(
            services
                .assets()?
                .presign_download(key, DOWNLOAD_LINK_LIFETIME)
                .await?,
        );
    }
    if let Some(key) = &settings.banner_key {
        view.banner_url = Some(
            services
                .assets()?
                .presign_download(key, DOWNLOAD_LINK_LIFETIME)
                .await?,
        );
    }
    Ok(view)
}

const DOWNLOAD_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);
const UPLOAD_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);

/// What tickets, e-ticket pages and notification mails show about the issuer (§7-1).
#[utoipa::path(get, path = "/merchant/ticket-page", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = TicketPageView),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_ticket_page(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<TicketPageView>, Problem> {
    rights(FunctionArea::OperationSettings).check_own(&current.actor, Access::Query)?;
    let (merchant, settings) = tokio::join!(
        merchant_record(&services, &current.actor),
        services.table.get_settings(&current.actor.acting_as)
    );
    Ok(Json(
        ticket_page_with_links(&services, &merchant?.issuer, &settings?).await?,
    ))
}

/// Edit customer-service details and the return-rights statement; issuer fields are read-only.
#[utoipa::path(put, path = "/merchant/ticket-page", tag = "merchant", security(("bearer" = [])), request_body = TicketPageInput,
    responses((status = 200, body = TicketPageView),
        (status = 400, description = "VALIDATION_FAILED: customer_service.*, return_rights_statement; READ_ONLY_FIELD: issuer", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn put_ticket_page(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<TicketPageInput>,
) -> Result<Json<TicketPageView>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Modify)?;
    refuse_read_only(&[("issuer", input.issuer.is_some())])?;
    let mut violations = Vec::new();
    let customer_service = CustomerService {
        phone: input.customer_service.phone.clone(),
        email: input.customer_service.email.clone(),
        links: input.customer_service.links.clone(),
    }
    .validate(&mut violations);
    let statement = tessera_domain::merchant::validate_statement(
        &input.return_rights_statement,
        &mut violations,
    );
    if !violations.is_empty() {
        return Err(Error::invalid(violations).into());
    }
    let merchant = merchant_record(&services, actor).await?;
    let settings = change_settings(&services, actor, "ticket_page_changed", |settings| {
        let before = ticket_page_view(&merchant.issuer, settings);
        settings.customer_service = customer_service.clone();
        settings.return_rights_statement = statement.clone();
        let after = ticket_page_view(&merchant.issuer, settings);
        Ok(json!({"before": before, "after": after}))
    })
    .await?;
    Ok(Json(
        ticket_page_with_links(&services, &merchant.issuer, &settings).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TicketPageUploadRequest {
    /// `logo` (at most 1 MiB) or `banner` (at most 3 MiB).
    #[schema(value_type = String, pattern = "^(logo|banner)$")]
    pub image: TicketImage,
    /// `image/png` or `image/jpeg`.
    #[schema(pattern = "^image/(png|jpeg)$")]
    pub content_type: String,
    /// The file's size in bytes.
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketPageUploadTicket {
    /// PUT the file here, with exactly this Content-Type and the declared size.
    pub upload_url: String,
    pub content_type: String,
    /// Confirm the upload with this key.
    pub key: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmImage {
    pub key: String,
}

fn key_prefix(actor: &Actor, image: TicketImage) -> String {
    tessera_platform::store::object_keys::ticket_page_images(&actor.acting_as, image.name())
}

/// Ask for a presigned URL to upload the logo or the banner (PNG or JPEG, size-limited).
#[utoipa::path(post, path = "/merchant/ticket-page/uploads", tag = "merchant", security(("bearer" = [])), request_body = TicketPageUploadRequest,
    responses((status = 201, body = TicketPageUploadTicket),
        (status = 400, description = "VALIDATION_FAILED: content_type (PNG/JPEG), size (logo 1 MiB, banner 3 MiB)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings", body = ProblemDetails, content_type = "application/problem+json")))]
async fn request_upload(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<TicketPageUploadRequest>,
) -> Result<(axum::http::StatusCode, Json<TicketPageUploadTicket>), Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Modify)?;
    if input.image == TicketImage::Product {
        // Product pictures are uploaded through the product (POST /products/{id}/image-uploads).
        return Err(Error::invalid_field("image", "logo or banner").into());
    }
    let kind = validate_image_upload(input.image, &input.content_type, input.size)?;
    let key = format!(
        "{}{}.{}",
        key_prefix(actor, input.image),
        uuid::Uuid::new_v4().simple(),
        kind.extension()
    );
    let upload_url = services
        .assets()?
        .presign_upload(&key, kind.content_type(), input.size, UPLOAD_LINK_LIFETIME)
        .await?;
    let expires_at =
        services.clock.now() + chrono::Duration::seconds(UPLOAD_LINK_LIFETIME.as_secs() as i64);
    Ok((
        axum::http::StatusCode::CREATED,
        Json(TicketPageUploadTicket {
            upload_url,
            content_type: kind.content_type().to_owned(),
            key,
            expires_at,
        }),
    ))
}

/// Use an uploaded file as the logo or banner. The object is checked again: it must be
/// this merchant's upload for this image, within the size limit, and really a PNG/JPEG.
#[utoipa::path(put, path = "/merchant/ticket-page/images/{image}", tag = "merchant", security(("bearer" = [])),
    params(("image" = String, Path, description = "`logo` or `banner`")), request_body = ConfirmImage,
    responses((status = 200, body = TicketPageView),
        (status = 400, description = "VALIDATION_FAILED: key (not this merchant's upload, not uploaded, too large, not a PNG/JPEG)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ROUTE_NOT_FOUND: not logo or banner", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn confirm_image(
    State(services): State<Services>,
    current: CurrentActor,
    axum::extract::Path(image): axum::extract::Path<String>,
    ApiJson(input): ApiJson<ConfirmImage>,
) -> Result<Json<TicketPageView>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::OperationSettings).check_own(actor, Access::Modify)?;
    let image = match image.as_str() {
        "logo" => TicketImage::Logo,
        "banner" => TicketImage::Banner,
        _ => return Err(Problem::new(ErrorCode::RouteNotFound)),
    };
    tessera_platform::assets::verify_image_upload(
        services.assets()?,
        &input.key,
        &key_prefix(actor, image),
        image,
    )
    .await?;
    let merchant = merchant_record(&services, actor).await?;
    let settings = change_settings(&services, actor, "ticket_image_changed", |settings| {
        let slot = match image {
            TicketImage::Logo => &mut settings.logo_key,
            TicketImage::Banner => &mut settings.banner_key,
            TicketImage::Product => return Err(Error::new(ErrorCode::RouteNotFound)),
        };
        let before = slot.replace(input.key.clone());
        Ok(json!({"image": image.name(), "before": before, "after": input.key}))
    })
    .await?;
    Ok(Json(
        ticket_page_with_links(&services, &merchant.issuer, &settings).await?,
    ))
}

// ------------------------------------------------------------------ contract

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractQuery {
    /// Show the rates in force on this Taipei date (YYYY-MM-DD); default today.
    #[param(format = Date)]
    pub date: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractRateView {
    pub item: String,
    /// `per_unit` (NT$ each) or `percent`.
    pub basis: String,
    /// Decimal as a string, incl. tax.
    pub amount: String,
    pub effective_from: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractView {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// `active`, `not_started`, `expired` or `suspended`, as of today.
    pub service_status: String,
    pub redemption_mode: String,
    pub delivery_methods: Vec<String>,
    pub sms_contracted: bool,
    /// The date the rates are shown for.
    pub rates_on: NaiveDate,
    pub rates: Vec<ContractRateView>,
}

fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Contract period, service status, delivery methods and the fee rates in force (§3-6).
#[utoipa::path(get, path = "/merchant/contract", tag = "merchant", security(("bearer" = [])), params(ContractQuery),
    responses((status = 200, body = ContractView),
        (status = 400, description = "VALIDATION_FAILED: date", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: query right of profile", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "CONTRACT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_contract(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<ContractQuery>,
) -> Result<Json<ContractView>, Problem> {
    rights(FunctionArea::Profile).check_own(&current.actor, Access::Query)?;
    let now = services.clock.now();
    let day = match query
        .date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| Error::invalid_field("date", "a date as YYYY-MM-DD"))?,
        None => calendar::taipei_date(now),
    };
    let (contract, rates) = tokio::join!(
        services.table.get_contract(&current.actor.acting_as),
        services.table.list_rates(&current.actor.acting_as)
    );
    let contract = contract?.ok_or_else(|| Problem::new(ErrorCode::ContractNotFound))?;
    let rates = rates?;
    let items = [
        FeeItem::ReturnOperation,
        FeeItem::Sms,
        FeeItem::PaperPrinting,
        FeeItem::SerialProcessing,
    ];
    let in_force = items
        .iter()
        .filter_map(|item| rate_in_force(&rates, contract.redemption_mode, *item, day))
        .map(|rate| ContractRateView {
            item: name(&rate.item),
            basis: name(&rate.basis),
            amount: rate.amount.to_string(),
            effective_from: rate.effective_from,
        })
        .collect();
    let status: ServiceStatus = contract.status(now);
    Ok(Json(ContractView {
        starts_on: contract.starts_on,
        ends_on: contract.ends_on,
        service_status: name(&status),
        redemption_mode: name(&contract.redemption_mode),
        delivery_methods: contract.delivery_methods.iter().map(name).collect(),
        sms_contracted: contract.sms_contracted,
        rates_on: day,
        rates: in_force,
    }))
}

/// Who changed the profile, settings, ticket page or alerts, when, and what (oldest first).
#[utoipa::path(get, path = "/merchant/history", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = HistoryList),
        (status = 403, description = "RIGHT_MISSING: query right of profile", body = ProblemDetails, content_type = "application/problem+json")))]
async fn settings_history(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<HistoryList>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::Profile).check_own(actor, Access::Query)?;
    let entries = services
        .table
        .list_history(&actor.acting_as, ENTITY, actor.acting_as.as_str())
        .await?;
    Ok(Json(HistoryList::from(entries)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillLineView {
    /// `return_operation`, `sms`, `paper_printing` or `serial_processing`.
    pub item: String,
    pub amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillView {
    /// `YYYY-MM`, closed on the 1st of the next month.
    pub month: String,
    pub lines: Vec<BillLineView>,
    /// This month's fees, whole NT$.
    pub total: String,
    /// Earlier unpaid months included in the amount due.
    pub carried_months: Vec<String>,
    /// This bill plus every earlier unpaid bill, at closing.
    pub amount_due: String,
    pub paid: bool,
    /// Where to remit, on an unpaid bill (when the platform has set it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_account: Option<RemittanceAccountView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemittanceAccountView {
    pub bank_code: String,
    pub bank_name: String,
    pub account_no: String,
    pub account_name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillList {
    pub items: Vec<BillView>,
}

/// The merchant's monthly bills, newest first (§6-1, §9).
#[utoipa::path(get, path = "/bills", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = BillList),
        (status = 403, description = "RIGHT_MISSING: query right of billing", body = ProblemDetails, content_type = "application/problem+json")))]
async fn bills(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<BillList>, Problem> {
    let actor = &current.actor;
    rights(FunctionArea::Billing).check_own(actor, Access::Query)?;
    let (bills, remittance) = tokio::try_join!(
        services.table.list_bills(&actor.acting_as),
        services.table.get_remittance(&actor.acting_as)
    )?;
    let mut bills = bills;
    bills.reverse();
    let remittance = remittance.map(|a| RemittanceAccountView {
        bank_code: a.bank_code,
        bank_name: a.bank_name,
        account_no: a.account_no,
        account_name: a.account_name,
    });
    let items = bills
        .into_iter()
        .map(|bill| BillView {
            month: bill.month,
            lines: bill
                .lines
                .iter()
                .map(|line| BillLineView {
                    item: name(&line.item),
                    amount: line.amount.to_string(),
                })
                .collect(),
            total: bill.total.to_string(),
            carried_months: bill.carried_months,
            amount_due: bill.amount_due.to_string(),
            remittance_account: (!bill.paid).then(|| remittance.clone()).flatten(),
            paid: bill.paid,
        })
        .collect();
    Ok(Json(BillList { items }))
}

// ------------------------------------------------------------------ message centre

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub announcement_id: String,
    pub title: String,
    pub body: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// Whether this account has read it.
    pub read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
    /// How many of them this account has not read.
    pub unread: usize,
}

/// The message centre (§3-4, the home page's messages): the platform's latest
/// announcements for the merchant the session acts as, newest first, each read or not by
/// this account.
#[utoipa::path(get, path = "/messages", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = MessageList),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn messages(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<MessageList>, Problem> {
    let actor = &current.actor;
    let messages = services
        .table
        .messages_for(&actor.acting_as, &actor.account)
        .await?;
    let items: Vec<MessageView> = messages
        .into_iter()
        .map(|(a, read)| MessageView {
            read,
            announcement_id: a.id,
            title: a.title,
            body: a.body,
            published_at: a.published_at,
        })
        .collect();
    let unread = items.iter().filter(|m| !m.read).count();
    Ok(Json(MessageList { items, unread }))
}

/// Mark an announcement read by this account (marking it again changes nothing).
#[utoipa::path(put, path = "/messages/{announcement_id}/read", tag = "merchant", security(("bearer" = [])),
    params(("announcement_id" = String, Path, description = "The announcement's ID", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    responses((status = 204, description = "Read"),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ANNOUNCEMENT_NOT_FOUND: none such for this merchant", body = ProblemDetails, content_type = "application/problem+json")))]
async fn mark_message_read(
    State(services): State<Services>,
    current: CurrentActor,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, Problem> {
    let actor = &current.actor;
    let visible = services
        .table
        .get_announcement(&id)
        .await?
        .filter(|a| a.withdrawn_at.is_none() && a.audience.includes(&actor.acting_as));
    if visible.is_none() {
        return Err(Problem::new(ErrorCode::AnnouncementNotFound));
    }
    let engine = services.engine();
    let id = &id;
    engine
        .run(None, 204, |now| async move {
            let mut changes = Changes::new();
            changes.write(read_mark_write(&actor.acting_as, &actor.account, id, now)?);
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ documents area

/// How long a document's download link stays valid: short, as links travel.
const DOCUMENT_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(5 * 60);

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantDocument {
    pub document_id: String,
    pub title: String,
    pub content_type: String,
    pub size: u64,
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// A link to download the file, valid for five minutes.
    pub download_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantDocuments {
    pub items: Vec<MerchantDocument>,
}

/// The documents area (§3-4): the platform's manuals and application forms, each with a
/// short-lived download link.
#[utoipa::path(get, path = "/documents", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = MerchantDocuments),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn documents(
    State(services): State<Services>,
    _current: CurrentActor,
) -> Result<Json<MerchantDocuments>, Problem> {
    let assets = services.assets()?;
    let mut items = Vec::new();
    for record in services.table.list_documents().await? {
        let Some(published_at) = record
            .published_at
            .filter(|_| record.withdrawn_at.is_none())
        else {
            continue;
        };
        items.push(MerchantDocument {
            download_url: assets
                .presign_download(&record.key, DOCUMENT_LINK_LIFETIME)
                .await?,
            document_id: record.id,
            title: record.title,
            content_type: record.kind.content_type().to_owned(),
            size: record.size,
            published_at,
        });
    }
    Ok(Json(MerchantDocuments { items }))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(get_operation_settings, put_operation_settings))
        .routes(routes!(get_refund_notify_url, put_refund_notify_url))
        .routes(routes!(refund_notify_url_history))
        .routes(routes!(callbacks::rotate_secret, callbacks::secret_state))
        .routes(routes!(callbacks::deliveries))
        .routes(routes!(callbacks::redeliver))
        .routes(routes!(callbacks::redeliver_failed))
        .routes(routes!(callbacks::ping))
        .routes(routes!(get_ticket_page, put_ticket_page))
        .routes(routes!(request_upload))
        .routes(routes!(confirm_image))
        .routes(routes!(get_contract))
        .routes(routes!(settings_history))
        .routes(routes!(bills))
        .routes(routes!(messages))
        .routes(routes!(mark_message_read))
        .routes(routes!(documents))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
