//! The e-ticket page as HTML: mobile-first, Traditional Chinese, no script, the codes drawn
//! as inline SVG (`tessera_platform::render`), every text from storage escaped.

use crate::wallet::{WalletTicket, WalletView};
use axum::response::{Html, IntoResponse, Response};
use tessera_domain::Error;
use tessera_platform::render::{barcode_svg, escape, qr_svg};

const STYLE: &str = "body{margin:0;font-family:system-ui,-apple-system,'Noto Sans TC',sans-serif;background:#f4f5f7;color:#1f2328}main{max-width:480px;margin:0 auto;padding:12px}header{text-align:center}header img.banner{width:100%;border-radius:8px}header img.logo{max-height:56px}h1{font-size:1.25rem;margin:.5rem 0}.notice{background:#e6f4ea;border-radius:8px;padding:12px;margin:12px 0}.refusal{background:#fdecea}.ticket{background:#fff;border-radius:12px;padding:16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.12)}.ticket h2{font-size:1.1rem;margin:0 0 .25rem}.status{display:inline-block;border-radius:12px;padding:2px 10px;background:#e8eaed}.status.unused{background:#d2e3fc}.codes{text-align:center;margin:12px 0}svg.qr{width:200px;height:200px}svg.barcode{width:100%;height:60px}.code{font:600 1.2rem ui-monospace,monospace;letter-spacing:.1em}dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:8px 0}dt{color:#5f6368}dd{margin:0}.notes{white-space:pre-wrap;color:#3c4043;font-size:.9rem}form{background:#fff;border-radius:12px;padding:16px;margin:12px 0}label{display:block;margin:8px 0 4px}input[type=text],input[type=tel],input[type=email]{width:100%;box-sizing:border-box;padding:10px;font-size:1rem;border:1px solid #c4c7c5;border-radius:8px}button{margin-top:12px;width:100%;padding:12px;font-size:1rem;border:0;border-radius:8px;background:#1a73e8;color:#fff}footer{font-size:.85rem;color:#5f6368;padding:12px}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-Hant-TW\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

fn ticket_card(ticket: &WalletTicket) -> String {
    let code = &ticket.redemption_code;
    let shows_codes = ticket.status == tessera_domain::tickets::TicketStatus::Unused;
    let codes = if shows_codes {
        format!(
            "<div class=\"codes\">{}{}<div class=\"code\">{}</div></div>",
            qr_svg(code).unwrap_or_default(),
            barcode_svg(code).unwrap_or_default(),
            escape(code)
        )
    } else {
        String::new()
    };
    let requested = ticket
        .return_requested_at
        .map(|at| {
            format!(
                "<dt>退貨申請</dt><dd>{}</dd>",
                tessera_domain::calendar::taipei_date(at)
            )
        })
        .unwrap_or_default();
    let from = ticket
        .valid_from
        .map(|day| format!("<dt>可使用日期</dt><dd>{day} 起</dd>"))
        .unwrap_or_default();
    format!(
        "<section class=\"ticket\" id=\"t-{no}\"><h2>{product}</h2><span class=\"status {status}\">{status_name}</span>{codes}<dl><dt>票券序號</dt><dd>{no}</dd><dt>面額</dt><dd>NT$ {face}</dd>{from}<dt>{term}</dt><dd>{ends}</dd>{requested}</dl><div class=\"notes\">{notes}</div></section>",
        no = escape(&ticket.ticket_no),
        product = escape(&ticket.product_name),
        status = serde_json::to_value(ticket.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        status_name = escape(&ticket.status_name),
        face = escape(&ticket.face_value),
        term = match ticket.kind {
            tessera_domain::products::TicketKind::GoodsVoucher => "價金保管期限",
            tessera_domain::products::TicketKind::GiftVoucher => "有效期限",
        },
        ends = ticket.term_ends_on,
        notes = escape(&ticket.usage_notes),
    )
}

/// A fresh key for a form: a resubmitted form (a double tap, a reload) repeats its key and
/// so its answer, never its change.
fn form_key() -> String {
    tessera_platform::random::random_bytes::<12>()
        .map(|b| tessera_domain::values::hex(&b))
        .unwrap_or_default()
}

fn choices(tickets: &[&WalletTicket]) -> String {
    tickets
        .iter()
        .map(|t| {
            format!(
                "<label><input type=\"checkbox\" name=\"ticket_no\" value=\"{no}\" checked> {product} {no}</label>",
                no = escape(&t.ticket_no),
                product = escape(&t.product_name)
            )
        })
        .collect()
}

fn transfer_form(view: &WalletView, token: &str) -> String {
    let transferable: Vec<&WalletTicket> = view.tickets.iter().filter(|t| t.transferable).collect();
    if !view.can_transfer || transferable.is_empty() {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"/t/{token}/transfers\"><h2>轉贈票券 Transfer</h2>{choices}<label for=\"rn\">受贈人姓名</label><input id=\"rn\" type=\"text\" name=\"recipient_name\" maxlength=\"30\" required><label for=\"rm\">受贈人手機</label><input id=\"rm\" type=\"tel\" name=\"recipient_mobile\" pattern=\"09[0-9]{{8}}\" required><label for=\"re\">受贈人 Email</label><input id=\"re\" type=\"email\" name=\"recipient_email\" maxlength=\"100\" required><input type=\"hidden\" name=\"idempotency_key\" value=\"{key}\"><button type=\"submit\">確認轉贈</button></form>",
        token = escape(token),
        choices = choices(&transferable),
        key = form_key(),
    )
}

fn return_form(view: &WalletView, token: &str) -> String {
    let returnable: Vec<&WalletTicket> = view
        .tickets
        .iter()
        .filter(|t| {
            t.status == tessera_domain::tickets::TicketStatus::Unused
                && t.return_requested_at.is_none()
        })
        .collect();
    if !view.can_request_return || returnable.is_empty() {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"/t/{token}/return-requests\"><h2>申請退貨 Return</h2>{choices}<label for=\"rr\">原因</label><input id=\"rr\" type=\"text\" name=\"reason\" maxlength=\"100\" required><input type=\"hidden\" name=\"idempotency_key\" value=\"{key}\"><button type=\"submit\">送出退貨申請</button></form>",
        token = escape(token),
        choices = choices(&returnable),
        key = form_key(),
    )
}

/// The page of a wallet, with `notice` (what was just done) above the tickets.
pub fn page(view: &WalletView, token: &str, notice: Option<&str>) -> Response {
    let issuer = &view.issuer;
    let image = |url: &Option<String>, class: &str| {
        url.as_ref()
            .map(|u| format!("<img class=\"{class}\" src=\"{}\" alt=\"\">", escape(u)))
            .unwrap_or_default()
    };
    let notice = notice
        .map(|n| format!("<p class=\"notice\" role=\"status\">{}</p>", escape(n)))
        .unwrap_or_default();
    let tickets: String = if view.tickets.is_empty() {
        "<p class=\"notice\">此頁目前沒有票券。No tickets on this page.</p>".to_owned()
    } else {
        view.tickets.iter().map(ticket_card).collect()
    };
    let links: String = issuer
        .links
        .iter()
        .map(|l| {
            format!(
                "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a><br>",
                escape(l)
            )
        })
        .collect();
    let body = format!(
        "<header>{banner}{logo}<h1>{name}</h1><p>{holder} 的電子票券</p></header>{notice}{tickets}{transfer}{returns}<footer><p>客服電話 {phone}<br>客服信箱 {email}</p>{links}<p class=\"notes\">{statement}</p></footer>",
        banner = image(&issuer.banner_url, "banner"),
        logo = image(&issuer.logo_url, "logo"),
        name = escape(&issuer.name),
        holder = escape(&view.holder_name),
        transfer = transfer_form(view, token),
        returns = return_form(view, token),
        phone = escape(&issuer.customer_service_phone),
        email = escape(&issuer.customer_service_email),
        statement = escape(&issuer.return_rights_statement),
    );
    Html(document(&format!("{} 電子票券", issuer.name), &body)).into_response()
}

/// A refusal as a page: what went wrong, in both languages, and its code.
pub fn refusal(error: &Error) -> String {
    let detail = error
        .detail
        .as_deref()
        .map(|d| format!("<br>{}", escape(d)))
        .unwrap_or_default();
    let violations: String = error
        .violations
        .iter()
        .map(|v| {
            format!(
                "<li>{}: {}</li>",
                escape(v.field.as_deref().unwrap_or_default()),
                escape(&v.reason)
            )
        })
        .collect();
    document(
        "電子票券",
        &format!(
            "<p class=\"notice refusal\" role=\"alert\">{}<br>{}{detail}</p><ul>{violations}</ul><p>錯誤代碼 {}</p>",
            escape(error.code.message_zh_tw()),
            escape(error.code.message_en()),
            error.code.code()
        ),
    )
}
