//! Demo data for a person trying Tessera locally. Idempotent: what exists is left alone.

use chrono::Utc;
use tessera_domain::access::{Access, FunctionArea, Rights, Role};
use tessera_domain::values::{AccountName, BranchCode, MerchantId, NewPassword, Remark};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::password;
use tessera_platform::services::Services;
use tessera_platform::store::accounts::{AccountRecord, HistoryEntry, IssuerInfo, MerchantRecord};
use tessera_platform::store::branches::BranchRecord;

pub const PARENT: &str = "DEMO0001";
pub const CHILD: &str = "DEMO0002";
pub const PARTNER: &str = "DEMO0003";
/// A merchant in installment mode (分期核銷): installment orders instead of tickets.
pub const INSTALLMENT: &str = "DEMO0004";
pub const ADMIN_PASSWORD: &str = "Demo#2026";
pub const STAFF_PASSWORD: &str = "Tessera2026";
/// The platform operator's accounts: `ops` with every right, `auditor` reading only.
pub const OPERATOR: &str = "ops";
pub const AUDITOR: &str = "auditor";
pub const OPERATOR_PASSWORD: &str = "Operator#2026";

fn id(value: &str) -> Result<MerchantId, Error> {
    MerchantId::parse("merchant_id", value)
}

pub async fn seed_demo(services: &Services) -> Result<String, Error> {
    let table = &services.table;
    let merchants = [
        (
            PARENT,
            "Demo Parent Store 示範母商店",
            None,
            vec![id(CHILD)?],
        ),
        (
            CHILD,
            "Demo Child Store 示範子商店",
            Some(id(PARENT)?),
            vec![],
        ),
        (PARTNER, "Demo Partner Store 示範合作商店", None, vec![]),
        (
            INSTALLMENT,
            "Demo Installment Store 示範分期商店",
            None,
            vec![],
        ),
    ];
    for (merchant_id, name, parent, children) in merchants {
        table
            .put_merchant_if_absent(&MerchantRecord {
                merchant_id: id(merchant_id)?,
                name: name.to_owned(),
                parent,
                children,
                issuer: IssuerInfo {
                    company: name.to_owned(),
                    representative: "王大明".to_owned(),
                    tax_id: "24681357".to_owned(),
                    address: "台北市中正區重慶南路一段 1 號".to_owned(),
                    website: format!(
                        "https://{}.example.com.tw",
                        merchant_id.to_ascii_lowercase()
                    ),
                },
                version: 1,
            })
            .await?;
        let mode = if merchant_id == INSTALLMENT {
            tessera_domain::merchant::RedemptionMode::Installment
        } else {
            tessera_domain::merchant::RedemptionMode::RedeemAfterUse
        };
        seed_contract(
            services,
            merchant_id,
            merchant_id == PARENT || merchant_id == CHILD,
            mode,
        )
        .await?;
        create_if_absent(
            services,
            merchant_id,
            "admin",
            Role::Admin,
            ADMIN_PASSWORD,
            Rights::none(),
            "",
        )
        .await?;
    }
    let cashier = Rights::none()
        .grant(FunctionArea::Redemption, Access::Modify)
        .grant(FunctionArea::CancelRedemption, Access::Modify)
        .grant(FunctionArea::Reports, Access::Query);
    // A counter clerk who also handles returns (bind them to a branch to try branch rules).
    let clerk = Rights::none()
        .grant(FunctionArea::Redemption, Access::Modify)
        .grant(FunctionArea::CancelRedemption, Access::Modify)
        .grant(FunctionArea::Return, Access::Modify)
        .grant(FunctionArea::CancelReturn, Access::Modify);
    create_if_absent(
        services,
        PARENT,
        "clerk01",
        Role::SubAccount,
        STAFF_PASSWORD,
        clerk,
        "高雄櫃台（含退貨）",
    )
    .await?;
    let manager = FunctionArea::ALL
        .iter()
        .fold(Rights::none(), |rights, area| {
            rights.grant(*area, Access::Query)
        });
    create_if_absent(
        services,
        PARENT,
        "cashier01",
        Role::SubAccount,
        STAFF_PASSWORD,
        cashier,
        "櫃台收銀",
    )
    .await?;
    create_if_absent(
        services,
        PARENT,
        "manager01",
        Role::SubAccount,
        STAFF_PASSWORD,
        manager,
        "店長（唯讀）",
    )
    .await?;
    let branches = [
        ("TPE01", "台北信義店", "台北市信義區松高路 1 號"),
        ("KHH01", "高雄左營店", "高雄市左營區博愛二路 2 號"),
    ];
    for (code, name, address) in branches {
        let created = create_branch_if_absent(services, PARENT, code, name, address).await?;
        if created && code == "TPE01" {
            bind_if_unbound(services, PARENT, "cashier01", code).await?;
        }
    }
    seed_partner_relation(services).await?;
    for (account, rights) in [
        (OPERATOR, tessera_domain::operator::OperatorRights::all()),
        (
            AUDITOR,
            tessera_domain::operator::OperatorRights::read_only(),
        ),
    ] {
        seed_operator(services, account, rights).await?;
    }
    Ok(format!(
        "demo data (branches TPE01, KHH01; cashier01 bound to TPE01; DEMO0003 a redeemable store of DEMO0001): sign in with POST /sessions {{\"merchant_id\":\"{PARENT}\",\"account\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}\n\
         \x20          (also sub-accounts cashier01 / clerk01 / manager01 with password {STAFF_PASSWORD}; child merchant {CHILD}; partner {PARTNER}; installment mode {INSTALLMENT})\n\
         \x20          platform operator: POST /operator/sessions {{\"account\":\"{OPERATOR}\",\"password\":\"{OPERATOR_PASSWORD}\"}} (read-only: {AUDITOR}, same password)"
    ))
}

/// An operator account unless it exists.
async fn seed_operator(
    services: &Services,
    account: &str,
    rights: tessera_domain::operator::OperatorRights,
) -> Result<(), Error> {
    let account = AccountName::parse_login("account", account)?;
    if services.table.get_operator(&account).await?.is_some() {
        return Ok(());
    }
    let new_password = NewPassword::parse_admin("password", OPERATOR_PASSWORD)?;
    let record = tessera_platform::store::operators::OperatorRecord {
        account,
        password_hash: password::hash(&new_password)
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e))?,
        rights,
        created_at: Utc::now(),
        version: 1,
    };
    services.table.put_operator_if_absent(&record).await?;
    Ok(())
}

async fn create_if_absent(
    services: &Services,
    merchant_id: &str,
    account: &str,
    role: Role,
    plain_password: &str,
    rights: Rights,
    remark: &str,
) -> Result<(), Error> {
    let merchant_id = id(merchant_id)?;
    let account = AccountName::parse_login("account", account)?;
    if services
        .table
        .get_account(&merchant_id, &account)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let new_password = match role {
        Role::Admin => NewPassword::parse_admin("password", plain_password)?,
        Role::SubAccount => NewPassword::parse_sub_account("password", plain_password)?,
    };
    let now = Utc::now();
    let record = AccountRecord {
        merchant_id: merchant_id.clone(),
        account: account.clone(),
        role,
        password_hash: password::hash(&new_password)
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e))?,
        rights,
        remark: Some(Remark::parse("remark", remark)?),
        branch: None,
        created_at: now,
        deleted_at: None,
        version: 0,
    };
    let history = seed_history(&merchant_id, "account", account.as_str(), "created")?;
    seed_change(services, |changes| {
        let version = changes.create(&mut record.clone(), ErrorCode::AccountExists)?;
        changes.history(&history, version)?;
        Ok(())
    })
    .await
}

/// Seeds through the change engine, as every state change goes. Seeding is repeatable: a
/// record that is there already (its claim taken) is left as it is.
async fn seed_change(
    services: &Services,
    build: impl Fn(&mut Changes) -> Result<(), Error>,
) -> Result<(), Error> {
    let build = &build;
    let seeded = ChangeEngine::new(services.table.clone(), services.clock.clone())
        .run(None, 200, |_| async move {
            let mut changes = Changes::new();
            build(&mut changes)?;
            Ok(Decision::new(changes, ()))
        })
        .await;
    match seeded {
        Err(error)
            if matches!(
                error.code,
                ErrorCode::AccountExists | ErrorCode::RelationExists
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn seed_history(
    merchant_id: &MerchantId,
    entity: &str,
    id: &str,
    action: &str,
) -> Result<HistoryEntry, Error> {
    Ok(HistoryEntry {
        at: Utc::now(),
        merchant_id: merchant_id.clone(),
        by_account: AccountName::parse_login("account", "seed")?,
        entity: entity.to_owned(),
        entity_id: id.to_owned(),
        action: action.to_owned(),
        changes: serde_json::json!({ "seeded": true }),
    })
}

async fn create_branch_if_absent(
    services: &Services,
    merchant_id: &str,
    code: &str,
    name: &str,
    address: &str,
) -> Result<bool, Error> {
    let merchant_id = id(merchant_id)?;
    let branch = BranchRecord {
        merchant_id: merchant_id.clone(),
        code: BranchCode::parse("code", code)?,
        name: name.to_owned(),
        address: address.to_owned(),
        phone: String::new(),
        enabled: true,
        created_at: Utc::now(),
        version: 1,
    };
    match services
        .table
        .create_branch(
            &branch,
            &seed_history(&merchant_id, "branch", code, "created")?,
        )
        .await
    {
        Ok(()) => Ok(true),
        Err(error) if error.code == ErrorCode::BranchCodeTaken => Ok(false),
        Err(error) => Err(error),
    }
}

async fn bind_if_unbound(
    services: &Services,
    merchant_id: &str,
    account: &str,
    code: &str,
) -> Result<(), Error> {
    let merchant_id = id(merchant_id)?;
    let name = AccountName::parse_login("account", account)?;
    let Some(mut record) = services.table.get_account(&merchant_id, &name).await? else {
        return Ok(());
    };
    if record.branch.is_some() {
        return Ok(());
    }
    record.branch = Some(BranchCode::parse("code", code)?);
    let history = seed_history(&merchant_id, "account", account, "bound")?;
    seed_change(services, |changes| {
        let version = changes.update(&mut record.clone())?;
        changes.history(&history, version)?;
        Ok(())
    })
    .await
}

/// A year's contract from 1 January of this year, with the manual's fee items of its mode.
/// The partner store has no SMS service, so switching SMS on there shows the "not
/// contracted" error.
async fn seed_contract(
    services: &Services,
    merchant_id: &str,
    sms: bool,
    redemption_mode: tessera_domain::merchant::RedemptionMode,
) -> Result<(), Error> {
    use chrono::{Datelike, NaiveDate};
    use rust_decimal::Decimal;
    use tessera_domain::merchant::{Contract, DeliveryMethod, FeeBasis, FeeItem, FeeRate};
    let merchant_id = id(merchant_id)?;
    if services.table.get_contract(&merchant_id).await?.is_some() {
        return Ok(());
    }
    let year = tessera_domain::calendar::taipei_date(services.clock.now()).year();
    let (Some(starts_on), Some(ends_on)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(Error::new(ErrorCode::InternalError));
    };
    let contract = Contract {
        starts_on,
        ends_on,
        issuance_enabled: true,
        sms_contracted: sms,
        redemption_mode,
        delivery_methods: vec![
            DeliveryMethod::Ibon,
            DeliveryMethod::PaperByMerchant,
            DeliveryMethod::PaperByPlatform,
            DeliveryMethod::ElectronicImmediate,
            DeliveryMethod::ElectronicDeferred,
        ],
    };
    services.table.put_contract(&merchant_id, &contract).await?;
    let effective_from = tessera_domain::calendar::start_of_day(starts_on);
    // Installment mode bills the return-operation fee per returned order and the serial
    // processing fee per serial issued (§6-2).
    let items = match redemption_mode {
        tessera_domain::merchant::RedemptionMode::RedeemAfterUse => vec![
            (
                FeeItem::ReturnOperation,
                FeeBasis::PerUnit,
                Decimal::new(10, 0),
            ),
            (FeeItem::Sms, FeeBasis::PerUnit, Decimal::new(12, 1)),
            (
                FeeItem::PaperPrinting,
                FeeBasis::PerUnit,
                Decimal::new(5, 0),
            ),
            (
                FeeItem::SerialProcessing,
                FeeBasis::Percent,
                Decimal::new(5, 1),
            ),
        ],
        tessera_domain::merchant::RedemptionMode::Installment => vec![
            (
                FeeItem::ReturnOperation,
                FeeBasis::PerUnit,
                Decimal::new(15, 0),
            ),
            (
                FeeItem::SerialProcessing,
                FeeBasis::Percent,
                Decimal::new(1, 0),
            ),
        ],
    };
    for (item, basis, amount) in items {
        let rate = FeeRate {
            mode: redemption_mode,
            item,
            basis,
            amount,
            effective_from,
        };
        services.table.put_rate(&merchant_id, &rate).await?;
    }
    Ok(())
}

/// DEMO0003 is an open redeemable store of DEMO0001 (and so DEMO0001 its joint issuer).
async fn seed_partner_relation(services: &Services) -> Result<(), Error> {
    use tessera_domain::relations::RelationStatus;
    use tessera_platform::store::relations::{change_relation, RelationRecord};
    let (issuer, store) = (id(PARENT)?, id(PARTNER)?);
    if services
        .table
        .get_relation(&issuer, &store)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = services.clock.now();
    let relation = RelationRecord {
        issuer: issuer.clone(),
        store,
        status: RelationStatus::Open,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let mut history = seed_history(&issuer, "", "", "added")?;
    history.changes = serde_json::json!({ "acting_merchant": PARENT, "before": null, "after": "open", "seeded": true });
    seed_change(services, |changes| {
        change_relation(changes, &mut relation.clone(), &history)
    })
    .await
}

/// The paid orders a payment integration would have sent by now, so that a person trying
/// the console has something to issue: when `DEMO0001` has no issuable order, a demo
/// product (made once) and three paid orders are recorded through the API itself (`app`,
/// the stack's router), as the integration sends them.
pub async fn seed_demo_orders(app: &axum::Router) -> Result<String, String> {
    let token = {
        let (status, body) = call(
            app,
            "POST",
            "/sessions",
            None,
            serde_json::json!({"merchant_id": PARENT, "account": "admin", "password": ADMIN_PASSWORD}),
        )
        .await?;
        if status != 201 {
            return Err(format!("demo orders: signing in answered {status}: {body}"));
        }
        body["token"].as_str().unwrap_or_default().to_owned()
    };
    let (_, unissued) = call(
        app,
        "GET",
        "/orders/unissued",
        Some(&token),
        serde_json::Value::Null,
    )
    .await?;
    let issuable = unissued["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|o| o["issuable"] == true));
    if issuable {
        return Ok("demo orders: DEMO0001 has issuable orders already".to_owned());
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let year_ago = (chrono::Utc::now() - chrono::Duration::days(364))
        .format("%Y-%m-%d")
        .to_string();
    let (_, products) = call(
        app,
        "GET",
        &format!("/products?from={year_ago}&to={today}"),
        Some(&token),
        serde_json::Value::Null,
    )
    .await?;
    const DEMO_PRODUCT: &str = "示範咖啡兌換券";
    let existing = products["items"].as_array().and_then(|items| {
        items
            .iter()
            .find(|p| p["name"] == DEMO_PRODUCT && p["listed"] == true)
            .and_then(|p| p["product_id"].as_str().map(str::to_owned))
    });
    let product_id = match existing {
        Some(id) => id,
        None => {
            let (status, created) = call(
                app,
                "POST",
                "/products",
                Some(&token),
                serde_json::json!({"name": DEMO_PRODUCT, "kind": "goods_voucher", "term_days": 90, "face_value": "150",
                    "usage_notes": "憑券至門市兌換中杯咖啡一杯。"}),
            )
            .await?;
            if status != 201 {
                return Err(format!(
                    "demo orders: the product answered {status}: {created}"
                ));
            }
            created["product_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    let stamp = chrono::Utc::now().format("%m%d%H%M%S");
    for (n, (name, email)) in [
        ("陳小華", "hua@example.com"),
        ("林美玲", "meiling@example.com"),
        ("張志明", "chihming@example.com"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = call(
            app,
            "POST",
            "/orders",
            Some(&token),
            serde_json::json!({"trade_no": format!("DEMO{stamp}{n}"), "product_id": product_id, "amount": "150",
                "quantity": 1, "cardholder_name": name, "cardholder_mobile": "0912345678",
                "cardholder_email": email, "paid_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await?;
        if status != 201 {
            return Err(format!("demo orders: an order answered {status}: {body}"));
        }
    }
    Ok(format!(
        "demo orders: three paid orders of {DEMO_PRODUCT} ({product_id}) wait to be issued in the console (票券發行)"
    ))
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value), String> {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("idempotency-key", uuid::Uuid::new_v4().to_string());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = if body.is_null() {
        axum::body::Body::empty()
    } else {
        axum::body::Body::from(body.to_string())
    };
    let request = request.body(body).map_err(|e| e.to_string())?;
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| format!("demo orders: {uri}: {e}"))?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|e| format!("demo orders: {uri}: {e}"))?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    ))
}
