//! Messages for people (mail now; SMS joins with issuance), queued so that a mail failure
//! never undoes the operation that caused it, and retried until delivered.

use serde::{Deserialize, Serialize};

/// One notification. `id` is unique per notification and is how the consumer recognises a
/// redelivered message: the same id is sent at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub merchant_id: String,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Message {
    Email {
        to: Vec<String>,
        subject: String,
        body: String,
    },
    /// A text message to a Taiwan mobile; every one sent is kept in the merchant's SMS log
    /// (§7-3 L) with the buyer's name and why it was sent.
    Sms {
        to: String,
        buyer_name: String,
        body: String,
        purpose: String,
    },
}

impl Message {
    /// The channel's name (`email`, `sms`): a notice sends at most one of each, so it
    /// completes a notification id.
    pub fn channel(&self) -> &'static str {
        match self {
            Message::Email { .. } => "email",
            Message::Sms { .. } => "sms",
        }
    }
}

/// An address for logs: enough to tell messages apart, not enough to identify a person.
/// What one message on the notifications queue carries: one notification, or a bundle of
/// them (batch issuance queues a thousand at a time; bundling keeps that to a few messages).
/// The consumer remembers each notification's id, so a bundle delivered twice, or retried
/// after some of it was sent, sends each notification once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueuedNotifications {
    Bundle { bundle: Vec<Notification> },
    One(Notification),
}

impl QueuedNotifications {
    pub fn into_vec(self) -> Vec<Notification> {
        match self {
            QueuedNotifications::Bundle { bundle } => bundle,
            QueuedNotifications::One(one) => vec![one],
        }
    }
}

pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_round_trip_as_tagged_json() {
        let notification = Notification {
            id: "n1".into(),
            merchant_id: "DEMO0001".into(),
            message: Message::Email {
                to: vec!["a@b.com".into()],
                subject: "s".into(),
                body: "b".into(),
            },
        };
        let json = serde_json::to_value(&notification).unwrap();
        assert_eq!(json["channel"], "email");
        assert_eq!(
            serde_json::from_value::<Notification>(json).unwrap(),
            notification
        );
    }

    #[test]
    fn a_queue_message_is_one_notification_or_a_bundle() {
        let one = Notification {
            id: "n1".into(),
            merchant_id: "DEMO0001".into(),
            message: Message::Sms {
                to: "0912345678".into(),
                buyer_name: "王".into(),
                body: "b".into(),
                purpose: "issue".into(),
            },
        };
        let single: QueuedNotifications =
            serde_json::from_value(serde_json::to_value(&one).unwrap()).unwrap();
        assert_eq!(single.into_vec(), vec![one.clone()]);
        let bundle = serde_json::json!({"bundle": [one.clone(), one.clone()]});
        let parsed: QueuedNotifications = serde_json::from_value(bundle).unwrap();
        assert_eq!(parsed.into_vec().len(), 2);
    }

    #[test]
    fn masked_addresses_hide_the_person() {
        assert_eq!(mask_email("chen.xiaoming@demo.com.tw"), "c***@demo.com.tw");
        assert_eq!(mask_email("broken"), "***");
    }
}
