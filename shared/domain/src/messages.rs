//! What people are sent about their tickets (§5, §7-3 C, §7-1): the words of each message,
//! in Traditional Chinese with English, composed here once for every sender (batch
//! issuance, change of buyer, resend, transfer). Pure: the caller adds ids and queues them.

use crate::merchant::DeliveryMethod;
use crate::notification::Message;
use crate::ticket::Person;

/// Why a text message was sent: the SMS log's type column (§7-3 L).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    Issue,
    ChangeBuyer,
    Resend,
}

impl SmsPurpose {
    pub const ALL: [SmsPurpose; 3] = [
        SmsPurpose::Issue,
        SmsPurpose::ChangeBuyer,
        SmsPurpose::Resend,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SmsPurpose::Issue => "issue",
            SmsPurpose::ChangeBuyer => "change_buyer",
            SmsPurpose::Resend => "resend",
        }
    }

    pub fn name_zh_tw(self) -> &'static str {
        match self {
            SmsPurpose::Issue => "發行通知",
            SmsPurpose::ChangeBuyer => "變更購買人通知",
            SmsPurpose::Resend => "補發通知",
        }
    }

    pub fn parse(name: &str) -> Option<SmsPurpose> {
        SmsPurpose::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What an issued order's buyer is told it holds: the delivery, the product, how many, and
/// where to get them (the e-ticket page's address, or the ibon pickup code).
#[derive(Debug, Clone, Copy)]
pub struct OrderNotice<'a> {
    pub delivery: DeliveryMethod,
    pub product: &'a str,
    pub quantity: usize,
    /// The e-ticket page (electronic), whole: base and token.
    pub link: Option<&'a str>,
    pub pickup_code: Option<&'a str>,
}

/// The issue notice to `buyer` (sent at issuance, again on a resend and to a new buyer):
/// a mail when the buyer gave an address, and a text when the merchant's SMS service is on.
/// Paper tickets are not sent (the merchant or the platform prints them): nothing.
pub fn issue_notice(
    notice: &OrderNotice<'_>,
    buyer: &Person,
    sms: bool,
    purpose: SmsPurpose,
) -> Vec<Message> {
    let OrderNotice {
        product,
        quantity: count,
        ..
    } = *notice;
    let (subject, body, text) = match notice.delivery {
        DeliveryMethod::Ibon => {
            let code = notice.pickup_code.unwrap_or_default();
            (
                format!("【{product}】超商取票代碼 Pickup code"),
                format!(
                    "{} 您好：\n\n您購買的「{product}」共 {count} 張已發行，請於 7-ELEVEN ibon 輸入取票代碼 {code} 列印票券。\n\nYour {count} ticket(s) for \"{product}\" are ready: print them at an ibon kiosk with pickup code {code}.\n",
                    buyer.name
                ),
                format!("您的「{product}」{count}張已發行，ibon取票代碼：{code}"),
            )
        }
        DeliveryMethod::ElectronicImmediate | DeliveryMethod::ElectronicDeferred => {
            let link = notice.link.unwrap_or_default();
            (
                format!("【{product}】您的電子票券 Your e-tickets"),
                format!(
                    "{} 您好：\n\n您購買的「{product}」共 {count} 張電子票券已發行，請由以下連結開啟：\nYour {count} e-ticket(s) for \"{product}\":\n\n{link}\n",
                    buyer.name
                ),
                format!("您的「{product}」電子票券{count}張已發行：{link}"),
            )
        }
        DeliveryMethod::PaperByMerchant | DeliveryMethod::PaperByPlatform => return Vec::new(),
    };
    let mut messages = Vec::new();
    if let Some(email) = &buyer.email {
        messages.push(Message::Email {
            to: vec![email.clone()],
            subject,
            body,
        });
    }
    if sms {
        messages.push(Message::Sms {
            to: buyer.mobile.clone(),
            buyer_name: buyer.name.clone(),
            body: text,
            purpose: purpose.name().to_owned(),
        });
    }
    messages
}

/// The notice to the buyer an order was taken from (§7-3 C: "the original consumer is
/// told by mail"): no text message, and nothing of the new buyer.
pub fn buyer_replaced_notice(product: &str, old_buyer: &Person) -> Option<Message> {
    let email = old_buyer.email.clone()?;
    Some(Message::Email {
        to: vec![email],
        subject: format!("【{product}】票券購買人已變更 Buyer changed"),
        body: format!(
            "{} 您好：\n\n您的「{product}」票券已由發行商店變更購買人，原票券連結或取票代碼已失效。如有疑問請洽發行商店。\n\nThe issuer changed the buyer of your \"{product}\" tickets; your earlier link or pickup code no longer works. Please contact the issuer with any question.\n",
            old_buyer.name
        ),
    })
}

/// The mail to a transfer's recipient: who gave what, and their own page.
pub fn transfer_notice(
    product: &str,
    count: usize,
    giver: &Person,
    recipient: &Person,
    link: &str,
) -> Option<Message> {
    let email = recipient.email.clone()?;
    Some(Message::Email {
        to: vec![email],
        subject: format!("【{product}】{} 轉贈電子票券給您 E-tickets for you", giver.name),
        body: format!(
            "{} 您好：\n\n{} 轉贈「{product}」電子票券 {count} 張給您，請由以下連結開啟：\n{} sent you {count} e-ticket(s) for \"{product}\":\n\n{link}\n",
            recipient.name, giver.name, giver.name
        ),
    })
}

/// The mail to the merchant about a consumer's return request (§3-3).
pub fn return_request_notice(
    to: Vec<String>,
    import_no: &str,
    ticket_nos: &[String],
    reason: &str,
) -> Message {
    Message::Email {
        to,
        subject: format!("消費者申請退貨 Return requested: {import_no}"),
        body: format!(
            "訂單 {import_no} 的消費者申請退貨，請至後台處理。\nThe consumer of order {import_no} asks to return these tickets; handle them in the back office.\n\n票券 Tickets: {}\n原因 Reason: {reason}\n",
            ticket_nos.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer(email: Option<&str>) -> Person {
        Person {
            name: "王小明".into(),
            mobile: "0912345678".into(),
            email: email.map(str::to_owned),
        }
    }

    fn notice(delivery: DeliveryMethod) -> OrderNotice<'static> {
        OrderNotice {
            delivery,
            product: "咖啡",
            quantity: 2,
            link: Some("https://t.example/t/abc"),
            pickup_code: Some("PICK1234"),
        }
    }

    #[test]
    fn electronic_notices_carry_the_page_and_ibon_the_pickup_code() {
        let sent = issue_notice(
            &notice(DeliveryMethod::ElectronicImmediate),
            &buyer(Some("a@b.tw")),
            true,
            SmsPurpose::Resend,
        );
        assert_eq!(sent.len(), 2);
        let Message::Email { body, .. } = &sent[0] else {
            panic!("mail first")
        };
        assert!(body.contains("https://t.example/t/abc") && body.contains("2 張"));
        let Message::Sms { purpose, body, .. } = &sent[1] else {
            panic!("then the text")
        };
        assert_eq!(purpose, "resend");
        assert!(body.contains("https://t.example/t/abc"));
        let ibon = issue_notice(
            &notice(DeliveryMethod::Ibon),
            &buyer(None),
            true,
            SmsPurpose::Issue,
        );
        assert_eq!(ibon.len(), 1, "no address: the text only");
        assert!(matches!(&ibon[0], Message::Sms { body, .. } if body.contains("PICK1234")));
    }

    #[test]
    fn paper_is_not_sent_and_texts_need_the_service() {
        assert!(issue_notice(
            &notice(DeliveryMethod::PaperByMerchant),
            &buyer(Some("a@b.tw")),
            true,
            SmsPurpose::Issue
        )
        .is_empty());
        let mail_only = issue_notice(
            &notice(DeliveryMethod::Ibon),
            &buyer(Some("a@b.tw")),
            false,
            SmsPurpose::Issue,
        );
        assert!(matches!(mail_only.as_slice(), [Message::Email { .. }]));
    }

    #[test]
    fn purposes_round_trip() {
        for purpose in SmsPurpose::ALL {
            assert_eq!(SmsPurpose::parse(purpose.name()), Some(purpose));
        }
        assert_eq!(SmsPurpose::parse("other"), None);
    }

    #[test]
    fn the_replaced_buyer_hears_by_mail_only_and_the_recipient_gets_their_page() {
        assert!(buyer_replaced_notice("咖啡", &buyer(None)).is_none());
        assert!(buyer_replaced_notice("咖啡", &buyer(Some("a@b.tw"))).is_some());
        let Some(Message::Email { body, .. }) = transfer_notice(
            "咖啡",
            1,
            &buyer(None),
            &buyer(Some("c@d.tw")),
            "https://x/t/r",
        ) else {
            panic!("a mail")
        };
        assert!(body.contains("https://x/t/r"));
    }
}
