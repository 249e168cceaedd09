//! A link's wallet: what its page shows, and the holder's acts on it (transfer, return
//! request) through the change engine.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tessera_domain::messages::{return_request_notice, transfer_notice};
use tessera_domain::notification::Notification;
use tessera_domain::products::{ProductId, TicketKind};
use tessera_domain::reports::status_zh_tw;
use tessera_domain::ticket::{Person, Ticket};
use tessera_domain::tickets::{self, TicketNumber, TicketStatus};
use tessera_domain::transfers::{check_person, Transfer, TransferStatus, TRANSFER_MAX_TICKETS};
use tessera_domain::values::{EmailList, MerchantId};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::link_keyed;
use tessera_platform::lifecycle::add_ticket_change;
use tessera_platform::notifications::notification_events;
use tessera_platform::random::random_bytes;
use tessera_platform::services::Services;
use tessera_platform::store::keys;
use tessera_platform::store::links::{link_claim_write, LinkTarget};
use tessera_platform::store::products::ProductRecord;
use tessera_platform::store::settings::MerchantSettings;
use utoipa::ToSchema;

/// How long the logo's and banner's links on a page work.
const IMAGE_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// What a link opens, read afresh.
pub struct Wallet {
    pub target: LinkTarget,
    pub merchant_id: MerchantId,
    pub import_no: String,
    /// The issuing branch of the order (`None`: head office).
    pub branch: Option<tessera_domain::values::BranchCode>,
    pub holder: Person,
    /// The tickets the page shows, by number.
    pub tickets: Vec<Ticket>,
    pub products: HashMap<ProductId, ProductRecord>,
    pub settings: MerchantSettings,
    pub issuer_name: String,
}

/// A token as issued: 40 lowercase hexadecimal digits.
fn well_formed(token: &str) -> bool {
    token.len() == 2 * tickets::LINK_TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The wallet behind `token`, or `TICKET_LINK_NOT_FOUND`. A miss makes the same reads as a
/// hit, in the same order (on keys that hold nothing), so the time tells nothing.
pub async fn open(services: &Services, token: &str) -> Result<Wallet, Error> {
    let table = &services.table;
    let target = if well_formed(token) {
        table.link_target(token).await?
    } else {
        table
            .read_for_cost(keys::ticket_link("~"), keys::LINK)
            .await?;
        None
    };
    // The order (transfer) the claim names, if it still carries the token.
    let found = match &target {
        Some(LinkTarget::Order {
            merchant_id,
            import_no,
        }) => table
            .get_issued_order(merchant_id, import_no)
            .await?
            .filter(|o| o.link_token.as_deref() == Some(token))
            .map(|o| {
                let holder = Person {
                    name: o.buyer_name.clone(),
                    mobile: o.buyer_mobile.clone(),
                    email: o.buyer_email.clone(),
                };
                let numbers = o.tickets.iter().map(|t| t.ticket_no.clone()).collect();
                (o.merchant_id, o.import_no, o.branch, holder, numbers, None)
            }),
        Some(LinkTarget::Transfer {
            merchant_id,
            transfer_id,
        }) => table
            .get_transfer(merchant_id, transfer_id)
            .await?
            .filter(|t| t.link_token == token)
            .map(|t| {
                (
                    t.merchant_id,
                    t.import_no,
                    t.branch,
                    t.recipient,
                    t.ticket_nos,
                    Some(t.transfer_id),
                )
            }),
        None => {
            table.read_for_cost(keys::ticket_link("~"), "~").await?;
            None
        }
    };
    let Some((merchant_id, import_no, branch, holder, numbers, transfer_id)) = found else {
        table.batch_read_for_cost(1).await?;
        let (a, b, c) = tokio::join!(
            table.read_for_cost(keys::ticket_link("~"), "~settings"),
            table.read_for_cost(keys::ticket_link("~"), "~merchant"),
            table.batch_read_for_cost(1),
        );
        a?;
        b?;
        c?;
        return Err(Error::new(ErrorCode::TicketLinkNotFound));
    };
    let numbers: Vec<TicketNumber> = numbers;
    let mut shown: Vec<Ticket> = table
        .get_tickets(&numbers)
        .await?
        .into_iter()
        // The buyer's page: what was not given; a recipient's: what is still gifted.
        .filter(|t| t.transfer_id == transfer_id)
        .collect();
    shown.sort_by(|a, b| a.ticket_no.cmp(&b.ticket_no));
    let mut product_ids: Vec<ProductId> = shown.iter().map(|t| t.product_id.clone()).collect();
    product_ids.sort();
    product_ids.dedup();
    let (settings, merchant, products) = tokio::join!(
        table.get_settings(&merchant_id),
        table.get_merchant(&merchant_id),
        table.get_products(&merchant_id, &product_ids),
    );
    let issuer_name = merchant?
        .map(|m| m.issuer.company)
        .unwrap_or_else(|| merchant_id.to_string());
    Ok(Wallet {
        target: target.ok_or_else(|| Error::new(ErrorCode::TicketLinkNotFound))?,
        merchant_id,
        import_no,
        branch,
        holder,
        tickets: shown,
        products: products?
            .into_iter()
            .map(|p| (p.product_id.clone(), p))
            .collect(),
        settings: settings?,
        issuer_name,
    })
}

/// The page as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletView {
    /// `order`: the buyer's page; `transfer`: a recipient's.
    pub page: String,
    pub holder_name: String,
    pub issuer: TicketIssuerView,
    pub tickets: Vec<WalletTicket>,
    /// Whether tickets may be given from this page (the buyer's page).
    pub can_transfer: bool,
    /// Whether the merchant takes return requests from the page.
    pub can_request_return: bool,
}

/// What the issuer shows on its tickets (§7-1 票券頁面資訊).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketIssuerView {
    pub name: String,
    pub logo_url: Option<String>,
    pub banner_url: Option<String>,
    pub customer_service_phone: String,
    pub customer_service_email: String,
    pub links: Vec<String>,
    pub return_rights_statement: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletTicket {
    pub ticket_no: String,
    pub product_name: String,
    #[schema(value_type = String)]
    pub kind: TicketKind,
    pub face_value: String,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    /// The status in Traditional Chinese.
    pub status_name: String,
    /// Last day of escrow (goods) or validity (gift), Taipei.
    pub term_ends_on: NaiveDate,
    /// A non-immediate ticket's first valid day (Taipei): not redeemable before it.
    pub valid_from: Option<NaiveDate>,
    /// What the till scans or types (also the QR code's and barcode's content).
    pub redemption_code: String,
    /// The product's terms (使用說明).
    pub usage_notes: String,
    pub transferable: bool,
    pub return_requested_at: Option<DateTime<Utc>>,
}

impl Wallet {
    pub async fn view(&self, services: &Services) -> Result<WalletView, Error> {
        let now = services.clock.now();
        let is_buyers_page = matches!(self.target, LinkTarget::Order { .. });
        let settings = &self.settings;
        let image = |key: &Option<String>| {
            let key = key.clone();
            async move {
                match key {
                    Some(key) => services
                        .assets()?
                        .presign_download(&key, IMAGE_LINK_LIFETIME)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            }
        };
        let (logo_url, banner_url) =
            tokio::join!(image(&settings.logo_key), image(&settings.banner_key));
        let tickets = self
            .tickets
            .iter()
            .map(|stored| {
                let (t, _) = stored.as_of(now);
                WalletTicket {
                    ticket_no: t.ticket_no.to_string(),
                    product_name: t.product_name.clone(),
                    kind: t.kind,
                    face_value: t.face_value.to_string(),
                    status: t.status,
                    status_name: status_zh_tw(t.status).to_owned(),
                    term_ends_on: t.term_ends_on,
                    valid_from: t.valid_from,
                    redemption_code: t.redemption_code.to_string(),
                    usage_notes: self
                        .products
                        .get(&t.product_id)
                        .map(|p| p.spec.usage_notes.clone())
                        .unwrap_or_default(),
                    transferable: is_buyers_page && t.may_transfer(now).is_ok(),
                    return_requested_at: t.return_requested_at,
                }
            })
            .collect();
        Ok(WalletView {
            page: match self.target {
                LinkTarget::Order { .. } => "order",
                LinkTarget::Transfer { .. } => "transfer",
            }
            .to_owned(),
            holder_name: self.holder.name.clone(),
            issuer: TicketIssuerView {
                name: self.issuer_name.clone(),
                logo_url: logo_url?,
                banner_url: banner_url?,
                customer_service_phone: settings.customer_service.phone.clone(),
                customer_service_email: settings.customer_service.email.clone(),
                links: settings.customer_service.links.clone(),
                return_rights_statement: settings.return_rights_statement.clone(),
            },
            tickets,
            can_transfer: is_buyers_page,
            can_request_return: settings.operation.consumer_returns_enabled,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecipientInput {
    /// 1 to 30 characters.
    #[schema(min_length = 1, max_length = 30)]
    pub name: String,
    /// A Taiwan mobile number: 09 and 8 digits.
    #[schema(pattern = "^09[0-9]{8}$")]
    pub mobile: String,
    /// Where the recipient's page is sent.
    #[schema(format = "email", max_length = 100)]
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferInput {
    /// The tickets given: 1 to 20 of this page's, each once.
    #[schema(min_items = 1, max_items = 20)]
    pub ticket_nos: Vec<String>,
    pub recipient: RecipientInput,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    pub transfer_id: String,
    pub ticket_nos: Vec<String>,
    pub recipient_name: String,
}

/// The tickets named: 1 to 20 of them, parsed, each once.
fn chosen(ticket_nos: &[String]) -> Result<Vec<TicketNumber>, Error> {
    tickets::parse_ticket_choice("ticket_nos", ticket_nos, TRANSFER_MAX_TICKETS)
}

/// The wallet's tickets among `numbers`; one that is not on the page is refused with
/// `refusal` (the page cannot act on it, whoever holds it).
fn on_page<'a>(
    wallet: &'a Wallet,
    numbers: &[TicketNumber],
    refusal: ErrorCode,
) -> Result<Vec<&'a Ticket>, Error> {
    numbers
        .iter()
        .map(|no| {
            wallet
                .tickets
                .iter()
                .find(|t| &t.ticket_no == no)
                .ok_or_else(|| {
                    Error::new(refusal).with_detail(format!("ticket {no} is not on this page"))
                })
        })
        .collect()
}

/// A new transfer's id: `TR` and 16 random hexadecimal digits.
fn new_transfer_id() -> Result<String, Error> {
    let bytes: [u8; 8] = random_bytes()?;
    Ok(format!(
        "TR{}",
        bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
    ))
}

/// The buyer gives tickets of their page (the change engine: the tickets, their history
/// and events, the transfer, the recipient's link claim and mail, in one transaction).
pub async fn transfer(
    services: &Services,
    token: &str,
    key: &str,
    input: TransferInput,
) -> Result<TransferView, Error> {
    let numbers = chosen(&input.ticket_nos)?;
    let recipient = check_person(
        "recipient",
        &input.recipient.name,
        &input.recipient.mobile,
        Some(&input.recipient.email),
        true,
    )?;
    let wallet = open(services, token).await?;
    let body = serde_json::to_vec(&input).map_err(|e| tessera_platform::store::internal(&e))?;
    let keyed = link_keyed(&wallet.merchant_id, key, token, "transfer", &body)?;
    let engine = services.engine();
    let (numbers, recipient) = (&numbers, &recipient);
    let view = engine
        .run(Some(&keyed), 201, |now| async move {
            let wallet = open(services, token).await?;
            if !matches!(wallet.target, LinkTarget::Order { .. }) {
                return Err(Error::new(ErrorCode::TicketNotTransferable)
                    .with_detail("a gifted ticket is not given on"));
            }
            let given = on_page(&wallet, numbers, ErrorCode::TicketNotTransferable)?;
            let transfer_id = new_transfer_id()?;
            let link_token = tickets::link_token(random_bytes()?);
            let mut changes = Changes::new();
            for ticket in &given {
                let change = ticket.transfer_to(&transfer_id, recipient, now)?;
                add_ticket_change(&mut changes, ticket, change)?;
            }
            let mut record = Transfer {
                transfer_id: transfer_id.clone(),
                merchant_id: wallet.merchant_id.clone(),
                import_no: wallet.import_no.clone(),
                branch: wallet.branch.clone(),
                giver: wallet.holder.clone(),
                recipient: recipient.clone(),
                ticket_nos: numbers.clone(),
                link_token: link_token.clone(),
                status: TransferStatus::Active,
                at: now,
                cancelled_at: None,
                cancelled_by: None,
                version: 0,
            };
            changes.create(&mut record, ErrorCode::ConcurrentChange)?;
            changes.write(link_claim_write(
                &link_token,
                &LinkTarget::Transfer {
                    merchant_id: wallet.merchant_id.clone(),
                    transfer_id: transfer_id.clone(),
                },
            )?);
            let product = given
                .first()
                .map(|t| t.product_name.clone())
                .unwrap_or_default();
            let link = services.ticket_link(&link_token)?;
            let notices: Vec<Notification> =
                transfer_notice(&product, given.len(), &wallet.holder, recipient, &link)
                    .into_iter()
                    .map(|message| Notification {
                        id: format!("transfer-{transfer_id}-{}", message.channel()),
                        merchant_id: wallet.merchant_id.to_string(),
                        message,
                    })
                    .collect();
            for event in notification_events(
                &format!("transfer-{transfer_id}"),
                &wallet.merchant_id,
                now,
                &transfer_id,
                &notices,
            )? {
                changes.event(event);
            }
            Ok(Decision::new(
                changes,
                TransferView {
                    transfer_id,
                    ticket_nos: numbers.iter().map(|n| n.to_string()).collect(),
                    recipient_name: recipient.name.clone(),
                },
            ))
        })
        .await?;
    tracing::info!(merchant = %wallet.merchant_id, transfer = %view.transfer_id, tickets = view.ticket_nos.len(), operation = "transfer", "tickets transferred");
    Ok(view)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequestInput {
    /// The tickets: 1 to 20 of this page's, each once.
    #[schema(min_items = 1, max_items = 20)]
    pub ticket_nos: Vec<String>,
    /// Why (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequestView {
    pub ticket_nos: Vec<String>,
    pub requested_at: DateTime<Utc>,
}

/// The holder asks for tickets of their page to be taken back, where the merchant takes
/// such requests: each ticket records it, and the merchant's business contact (or, without
/// one, its billing contact) is mailed, in one transaction.
pub async fn request_return(
    services: &Services,
    token: &str,
    key: &str,
    input: ReturnRequestInput,
) -> Result<ReturnRequestView, Error> {
    let numbers = chosen(&input.ticket_nos)?;
    let wallet = open(services, token).await?;
    if !wallet.settings.operation.consumer_returns_enabled {
        return Err(Error::new(ErrorCode::ConsumerReturnNotEnabled));
    }
    let body = serde_json::to_vec(&input).map_err(|e| tessera_platform::store::internal(&e))?;
    let keyed = link_keyed(&wallet.merchant_id, key, token, "return-request", &body)?;
    let engine = services.engine();
    let (numbers, reason) = (&numbers, input.reason.as_str());
    let view = engine
        .run(Some(&keyed), 201, |now| async move {
            let wallet = open(services, token).await?;
            let asked = on_page(&wallet, numbers, ErrorCode::TicketStatusConflict)?;
            let mut changes = Changes::new();
            for ticket in &asked {
                let change = ticket.request_return(reason, now)?;
                add_ticket_change(&mut changes, ticket, change)?;
            }
            let contacts = &wallet.settings.contacts;
            let to = [&contacts.business.email, &contacts.billing.email]
                .into_iter()
                .find_map(|list| EmailList::parse("email", list).ok())
                .map(|list| list.addresses().to_vec())
                .unwrap_or_default();
            if !to.is_empty() {
                let ticket_nos: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
                let first = numbers.first().map(|n| n.to_string()).unwrap_or_default();
                let id = format!("return-request-{first}-{}", now.timestamp_micros());
                let notice = Notification {
                    id: format!("{id}-email"),
                    merchant_id: wallet.merchant_id.to_string(),
                    message: return_request_notice(to, &wallet.import_no, &ticket_nos, reason),
                };
                for event in notification_events(
                    &id,
                    &wallet.merchant_id,
                    now,
                    &wallet.import_no,
                    &[notice],
                )? {
                    changes.event(event);
                }
            }
            Ok(Decision::new(
                changes,
                ReturnRequestView {
                    ticket_nos: numbers.iter().map(|n| n.to_string()).collect(),
                    requested_at: now,
                },
            ))
        })
        .await?;
    tracing::info!(merchant = %wallet.merchant_id, tickets = view.ticket_nos.len(), operation = "return_request", "return requested");
    Ok(view)
}
