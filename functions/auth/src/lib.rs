//! Sign-in, sign-out, switching into a child merchant, and the login history (§一 2, §2, §3-5).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::{authorize, switch_target, Access, Actor, FunctionArea, Role};
use tessera_domain::merchant::{LoginAlerts, RedemptionMode};
use tessera_domain::notification::{Message, Notification};
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::{device_fingerprint, limit_sign_ins, CurrentActor};
use tessera_platform::change::{Changes, Decision};
use tessera_platform::extract::ClientAddress;
use tessera_platform::services::{Resource, Services};
use tessera_platform::session::{sign, SessionClaims};
use tessera_platform::store::accounts::LoginRecord;
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::sessions::{SessionRecord, SignInAttempt};
use tessera_platform::store::settings::settings_write;
use tessera_platform::{password, ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::SigningKey];

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    #[schema(value_type = tessera_platform::formats::MerchantIdText)]
    pub merchant_id: String,
    #[schema(value_type = tessera_platform::formats::LoginNameText)]
    pub account: String,
    #[schema(format = Password, min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub merchant_id: String,
    pub account: String,
    pub acting_as: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub role: String,
    /// Child merchants this session may switch into.
    pub children: Vec<String>,
}

/// The signed-in account as it acts now: what a console needs to draw its menus.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CurrentSessionView {
    pub merchant_id: String,
    pub account: String,
    /// The merchant the session acts as (its own, or a child it switched into).
    pub acting_as: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[schema(pattern = "^(admin|sub_account)$")]
    pub role: String,
    /// The acting merchant's redemption mode: `redeem_after_use` or `installment`.
    #[schema(pattern = "^(redeem_after_use|installment)$")]
    pub mode: String,
    /// Child merchants this session may switch into.
    pub children: Vec<String>,
    /// Every area on the acting merchant's menus with this account's two rights (an admin
    /// holds all). The operations still check every request.
    pub rights: std::collections::BTreeMap<String, MenuRightsView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MenuRightsView {
    pub query: bool,
    pub modify: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SwitchRequest {
    /// A child merchant, or the session's own merchant to switch back.
    pub merchant_id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginView {
    pub at: DateTime<Utc>,
    pub account: String,
    pub ip: String,
    pub user_agent: String,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginHistory {
    pub items: Vec<LoginView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginHistoryQuery {
    /// How many records, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
}

/// Sign in with merchant ID, account and password.
#[utoipa::path(post, path = "/sessions", tag = "auth", request_body = SignInRequest,
    responses(
        (status = 201, description = "Signed in", body = SessionView),
        (status = 400, description = "VALIDATION_FAILED, MALFORMED_JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "INVALID_CREDENTIALS", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 423, description = "ACCOUNT_LOCKED: 5 failures within 15 minutes (counted per device for a device the account signed in from before)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "TOO_MANY_REQUESTS: more than 20 sign-in attempts a minute from one address (Retry-After)", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn sign_in(
    State(services): State<Services>,
    source: ClientAddress,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SessionView>), Problem> {
    let merchant_id = MerchantId::parse("merchant_id", &request.merchant_id)?;
    let account_name = AccountName::parse_login("account", &request.account)?;
    if request.password.is_empty() || request.password.len() > 128 {
        return Err(Error::invalid_field("password", "1 to 128 characters").into());
    }
    let now = services.clock.now();
    let table = &services.table;
    // Per source address first: a guessing run stops here, before any account.
    limit_sign_ins(table, &source, now).await?;
    // An attempt is reserved (counted as a failure) before the password is checked, so
    // parallel guesses cannot get past the lock; from a device the account signed in
    // from before, under that device's own counter, so that guesses from elsewhere
    // never lock a known till out (decision 0016).
    let fingerprint = device_fingerprint(header_text(&headers, "user-agent"));
    // Everything the decision reads is read before the attempt is reserved: a storage
    // failure is then a 503 that counts nothing, never a failed sign-in toward the lock.
    let (known, merchant, account) = tokio::join!(
        table.is_known_device(&merchant_id, &account_name, &fingerprint),
        table.get_merchant(&merchant_id),
        table.get_account(&merchant_id, &account_name)
    );
    let (known, merchant, account) = (
        known?,
        merchant?,
        account?.filter(|a| a.deleted_at.is_none()),
    );
    let device = known.then_some(fingerprint.as_str());
    let locked = |until: DateTime<Utc>| {
        Problem(
            Error::new(ErrorCode::AccountLocked)
                .with_detail(format!("locked until {}", until.to_rfc3339())),
        )
    };
    let locked_if_wrong = match table
        .reserve_sign_in(&merchant_id, &account_name, device, now)
        .await?
    {
        SignInAttempt::Locked { until } => {
            record_login(
                &services,
                &merchant_id,
                &account_name,
                &headers,
                &source,
                now,
                Some("locked"),
            )
            .await;
            return Err(locked(until));
        }
        SignInAttempt::Reserved { locked_if_wrong } => locked_if_wrong,
    };
    // Verify against a decoy when the account is unknown, so timing does not tell.
    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    let candidate = request.password.clone();
    let matches = tokio::task::spawn_blocking(move || {
        password::verify(
            &candidate,
            stored_hash.as_deref().unwrap_or(password::decoy_hash()),
        )
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    let merchant_exists = merchant.is_some();
    let (Some(merchant), Some(account), true) = (merchant, account, matches) else {
        record_login(
            &services,
            &merchant_id,
            &account_name,
            &headers,
            &source,
            now,
            Some("invalid_credentials"),
        )
        .await;
        if merchant_exists {
            alert(
                &services,
                &merchant_id,
                &account_name,
                &headers,
                &source,
                now,
                Alert::FailedSignIn,
            )
            .await;
        }
        return Err(match locked_if_wrong {
            Some(until) => locked(until),
            None => Problem::new(ErrorCode::InvalidCredentials),
        });
    };
    table
        .clear_failed_sign_ins(&merchant_id, &account_name, device)
        .await?;
    let session = SessionRecord {
        session_id: uuid::Uuid::new_v4().simple().to_string(),
        merchant_id: merchant_id.clone(),
        account: account_name.clone(),
        acting_as: merchant_id.clone(),
        created_at: now,
        expires: now + services.session_lifetime,
    };
    table.put_session(&session).await?;
    record_login(
        &services,
        &merchant_id,
        &account_name,
        &headers,
        &source,
        now,
        None,
    )
    .await;
    match table
        .remember_device(&merchant_id, &account_name, &fingerprint)
        .await
    {
        Ok(true) => {
            alert(
                &services,
                &merchant_id,
                &account_name,
                &headers,
                &source,
                now,
                Alert::NewDevice,
            )
            .await
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(error = %error, "device not remembered"),
    }
    tracing::info!(merchant = %merchant_id, operation = "sign_in", "signed in");
    let view = session_view(
        &services,
        &session,
        account.branch.as_ref().map(|b| b.to_string()),
        account.role,
        merchant.children.iter().map(|c| c.to_string()).collect(),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view?)))
}

async fn session_view(
    services: &Services,
    session: &SessionRecord,
    branch: Option<String>,
    role: Role,
    children: Vec<String>,
) -> Result<SessionView, Problem> {
    let claims = SessionClaims {
        sid: session.session_id.clone(),
        mid: session.merchant_id.to_string(),
        sub: session.account.to_string(),
        act: session.acting_as.to_string(),
        br: branch.clone(),
        op: false,
        iat: session.created_at.timestamp(),
        exp: session.expires.timestamp(),
    };
    let key = services.signing_keys()?.current().await?;
    Ok(SessionView {
        token: sign(&claims, &key),
        expires_at: session.expires,
        merchant_id: session.merchant_id.to_string(),
        account: session.account.to_string(),
        acting_as: session.acting_as.to_string(),
        branch,
        role: role_name(role).to_owned(),
        children,
    })
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alert {
    FailedSignIn,
    NewDevice,
}

/// Requests a sign-in alert (an outbox event) if the merchant asked for this kind. Best
/// effort: an alert that cannot be requested is logged and never changes the sign-in's answer.
async fn alert(
    services: &Services,
    merchant_id: &MerchantId,
    account: &AccountName,
    headers: &HeaderMap,
    source: &ClientAddress,
    at: DateTime<Utc>,
    kind: Alert,
) {
    let settings = match services.table.get_settings(merchant_id).await {
        Ok(settings) => settings.login_alerts,
        Err(error) => {
            tracing::warn!(error = %error, "login alert settings unreadable");
            return;
        }
    };
    let wanted = match kind {
        Alert::FailedSignIn => settings.on_failed_sign_in,
        Alert::NewDevice => settings.on_new_device,
    };
    let to = settings.recipients();
    if !wanted || to.is_empty() {
        return;
    }
    let (subject, headline) = match kind {
        Alert::FailedSignIn => ("登入失敗通知 Failed sign-in", "登入失敗 / A sign-in failed"),
        Alert::NewDevice => (
            "新裝置登入通知 Sign-in from a new device",
            "新的裝置或瀏覽器登入 / A sign-in from a new device or browser",
        ),
    };
    let taipei = at
        .with_timezone(&tessera_domain::calendar::TAIPEI)
        .format("%Y-%m-%d %H:%M:%S");
    let ip = &source.0;
    let body = format!(
        "{headline}\n\n商店代號 Merchant: {merchant_id}\n帳號 Account: {account}\n時間 Time (Asia/Taipei): {taipei}\nIP: {ip}\n瀏覽器 Browser: {}\n\n若非本人操作，請立即變更密碼。 If this was not you, change the password now.",
        header_text(headers, "user-agent").chars().take(200).collect::<String>()
    );
    let notification = Notification {
        id: uuid::Uuid::new_v4().simple().to_string(),
        merchant_id: merchant_id.to_string(),
        message: Message::Email {
            to,
            subject: format!("[Tessera] {subject} ({merchant_id}/{account})"),
            body,
        },
    };
    let requested = tessera_platform::notifications::notification_events(
        &format!("alert-{}", notification.id),
        merchant_id,
        at,
        account.as_str(),
        std::slice::from_ref(&notification),
    );
    let written = match requested {
        Ok(events) => services.table.put_events(&events).await,
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        tracing::warn!(error = %error, "login alert not requested");
    }
}

/// Login history is best effort: a failure to record it must not block signing in.
async fn record_login(
    services: &Services,
    merchant_id: &MerchantId,
    account: &AccountName,
    headers: &HeaderMap,
    source: &ClientAddress,
    at: DateTime<Utc>,
    failure: Option<&str>,
) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let record = LoginRecord {
        at,
        account: account.to_string(),
        // The address API Gateway saw, never a header the client may have written.
        ip: source.0.clone(),
        user_agent: header("user-agent").chars().take(256).collect(),
        succeeded: failure.is_none(),
        failure: failure.map(str::to_owned),
    };
    if let Err(error) = services.table.record_login(merchant_id, &record).await {
        tracing::warn!(error = %error, "login record not stored");
    }
}

/// Sign out: the session ends and its token stops working.
#[utoipa::path(delete, path = "/sessions/current", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn sign_out(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<StatusCode, Problem> {
    services.table.delete_session(&current.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account as it acts now: merchant, branch, mode and its rights per area.
#[utoipa::path(get, path = "/sessions/current", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The session's account", body = CurrentSessionView),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn current_session(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<CurrentSessionView>, Problem> {
    let actor = &current.actor;
    let mode = services.table.redemption_mode(&actor.acting_as).await?;
    Ok(Json(CurrentSessionView {
        merchant_id: actor.merchant.to_string(),
        account: actor.account.to_string(),
        acting_as: actor.acting_as.to_string(),
        branch: actor.branch.as_ref().map(|b| b.to_string()),
        role: role_name(actor.role).to_owned(),
        mode: match mode {
            RedemptionMode::RedeemAfterUse => "redeem_after_use",
            RedemptionMode::Installment => "installment",
        }
        .to_owned(),
        children: actor.children.iter().map(|c| c.to_string()).collect(),
        rights: actor
            .menu_rights(mode)
            .into_iter()
            .map(|(area, rights)| {
                (
                    area.code().to_owned(),
                    MenuRightsView {
                        query: rights.query,
                        modify: rights.modify,
                    },
                )
            })
            .collect(),
    }))
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::SubAccount => "sub_account",
    }
}

/// Switch the session into a child merchant, or back to its own merchant.
#[utoipa::path(post, path = "/sessions/current/switch", tag = "auth", security(("bearer" = [])), request_body = SwitchRequest,
    responses(
        (status = 200, description = "Switched; use the new token", body = SessionView),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "MERCHANT_NOT_FOUND: not a child of this merchant", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn switch_merchant(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(request): ApiJson<SwitchRequest>,
) -> Result<Json<SessionView>, Problem> {
    let actor = &current.actor;
    let target = MerchantId::parse("merchant_id", &request.merchant_id)?;
    let target = switch_target(actor, &target)?;
    services
        .table
        .set_acting_as(&current.session_id, &target)
        .await?;
    let session = services
        .table
        .get_session(&current.session_id)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::SessionExpired))?;
    tracing::info!(merchant = %actor.merchant, acting_as = %target, operation = "switch_merchant", "switched");
    Ok(Json(
        session_view(
            &services,
            &session,
            actor.branch.as_ref().map(|b| b.to_string()),
            actor.role,
            actor.children.iter().map(|c| c.to_string()).collect(),
        )
        .await?,
    ))
}

/// The merchant's login history, newest first (§3-5).
#[utoipa::path(get, path = "/login-history", tag = "auth", security(("bearer" = [])), params(LoginHistoryQuery),
    responses(
        (status = 200, description = "Newest first", body = LoginHistory),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: query right of login_history", body = ProblemDetails, content_type = "application/problem+json"),
    ))]
async fn login_history(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<LoginHistoryQuery>,
) -> Result<Json<LoginHistory>, Problem> {
    let actor: &Actor = &current.actor;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid_field("limit", "between 1 and 200").into());
    }
    authorize(
        actor,
        &actor.acting_as,
        FunctionArea::LoginHistory,
        Access::Query,
        ErrorCode::MerchantNotFound,
    )?;
    let records = services.table.list_logins(&actor.acting_as, limit).await?;
    Ok(Json(LoginHistory {
        items: records
            .into_iter()
            .map(|r| LoginView {
                at: r.at,
                account: r.account,
                ip: r.ip,
                user_agent: r.user_agent,
                succeeded: r.succeeded,
                failure: r.failure,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginAlertsView {
    pub on_failed_sign_in: bool,
    pub on_new_device: bool,
    /// `;`-separated recipients.
    #[schema(value_type = tessera_platform::formats::EmailListText)]
    pub emails: String,
}

fn alerts_view(alerts: &LoginAlerts) -> LoginAlertsView {
    LoginAlertsView {
        on_failed_sign_in: alerts.on_failed_sign_in,
        on_new_device: alerts.on_new_device,
        emails: alerts.emails.clone(),
    }
}

/// Which sign-in alerts are mailed, and to whom (§3-5).
#[utoipa::path(get, path = "/login-alerts", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = LoginAlertsView),
        (status = 403, description = "RIGHT_MISSING: query right of login_history", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_login_alerts(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<LoginAlertsView>, Problem> {
    let actor = &current.actor;
    authorize(
        actor,
        &actor.acting_as,
        FunctionArea::LoginHistory,
        Access::Query,
        ErrorCode::MerchantNotFound,
    )?;
    Ok(Json(alerts_view(
        &services
            .table
            .get_settings(&actor.acting_as)
            .await?
            .login_alerts,
    )))
}

/// Switch the failed-sign-in and new-device alerts on or off and set their recipients.
#[utoipa::path(put, path = "/login-alerts", tag = "auth", security(("bearer" = [])), request_body = LoginAlertsView,
    responses((status = 200, body = LoginAlertsView),
        (status = 400, description = "VALIDATION_FAILED: emails (required while an alert is on; the bad address named)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of login_history; SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn put_login_alerts(
    State(services): State<Services>,
    current: CurrentActor,
    ApiJson(input): ApiJson<LoginAlertsView>,
) -> Result<Json<LoginAlertsView>, Problem> {
    let actor = &current.actor;
    authorize(
        actor,
        &actor.acting_as,
        FunctionArea::LoginHistory,
        Access::Modify,
        ErrorCode::MerchantNotFound,
    )?;
    let alerts = LoginAlerts {
        on_failed_sign_in: input.on_failed_sign_in,
        on_new_device: input.on_new_device,
        emails: input.emails,
    }
    .validate()?;
    let (services, alerts) = (&services, &alerts);
    // A PUT sets a state: its key is recorded after it (the idempotency layer).
    let settings = services
        .engine()
        .run(None, 200, |now| async move {
            let mut settings = services.table.get_settings(&actor.acting_as).await?;
            let before = alerts_view(&settings.login_alerts);
            settings.login_alerts = alerts.clone();
            let (write, version) = settings_write(&actor.acting_as, &mut settings)?;
            let entry = HistoryEntry::by(
                actor,
                now,
                "settings",
                actor.acting_as.as_str(),
                "login_alerts_changed",
                serde_json::json!({"before": before, "after": alerts_view(&settings.login_alerts)}),
            );
            let mut changes = Changes::new();
            changes.write(write).history(&entry, version)?;
            Ok(Decision::new(changes, settings))
        })
        .await?;
    Ok(Json(alerts_view(&settings.login_alerts)))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(current_session, sign_out))
        .routes(routes!(switch_merchant))
        .routes(routes!(login_history))
        .routes(routes!(get_login_alerts, put_login_alerts))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
