//! The security regression table. Every operation of the OpenAPI document behind the session
//! authorizer has a well-formed sample request here, on real objects of a victim tenant, and
//! each is tried as an attacker would:
//! - with no token, a tampered one, one signed with another key, and an expired one: 401;
//! - from another tenant: an object it does not own answers exactly what a nonexistent object
//!   answers (the documented 404 or the refusal before it), so existence cannot be probed,
//!   and a listing without an object in its address shows none of the victim's objects;
//! - by a sub-account with no rights at all: every operation but the few any account may use
//!   on itself is refused (403, or the documented 404 where the right is checked against the
//!   caller's own objects), and by a read-only manager: every change is refused with the
//!   modify right it lacks (or ADMIN_ONLY for account management).
//!
//! None of these refusals changes the table. A new operation in the document without a
//! sample fails the walk. The operator's routes have a table of their own (operator.rs).

use super::samples::{objects, ok, request, samples, Objects, Sample, Victim};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{ADMIN_PASSWORD, INSTALLMENT, OPERATOR, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{json_request, seeded, Seeded};

/// The tokens that attack one victim tenant.
struct Attackers {
    /// The admin of another tenant in the victim's mode.
    stranger: String,
    /// A sub-account of the victim with no rights at all.
    bare: String,
    /// A sub-account of the victim that may read every area and change none.
    manager: String,
}

/// Operations any signed-in account may use on itself: no function-area right opens them.
const ANY_ACCOUNT: &[(&str, &str)] = &[
    ("GET", "/sessions/current"),
    ("DELETE", "/sessions/current"),
    ("POST", "/sessions/current/switch"),
    ("PUT", "/account/password"),
    ("GET", "/messages"),
    ("PUT", "/messages/{announcement_id}/read"),
    ("GET", "/documents"),
    // The issuance file's rules, as the manual prints them for every user.
    ("GET", "/issuance/rules"),
];

/// Objects of one account (an export holds what its maker's view of the report allowed): to
/// any other account, even one without rights, they do not exist.
const OWN_OBJECTS: &[(&str, &str)] = &[("GET", "/exports/{export_id}")];

/// Reads that are POSTs (a redemption code kept out of URLs; an export is reading a report):
/// the query right opens them, so a read-only manager may use them.
const READS_BY_POST: &[(&str, &str)] = &[("POST", "/tickets/lookup"), ("POST", "/exports")];

/// Operations whose body names another merchant by design, not an object of it: a merchant
/// lists any merchant as a store its tickets may be redeemed at.
const NAMES_ANOTHER_MERCHANT: &[(&str, &str)] = &[("POST", "/redeemable-stores")];

/// The statuses the document states for an operation.
fn documented(document: &Value, method: &str, operation: &str) -> BTreeSet<u16> {
    document["paths"][operation][method.to_ascii_lowercase()]["responses"]
        .as_object()
        .map(|responses| responses.keys().filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_default()
}

struct Attack {
    w: Seeded,
    document: Value,
    findings: Vec<String>,
}

impl Attack {
    async fn send(
        &self,
        sample: &Sample,
        uri: &str,
        body: &Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        self.w.call(request(sample.method, uri, body, token)).await
    }

    /// Records a finding unless the answer is `expected` with one of `codes` (any code when
    /// `codes` is empty), and the status is one the document states.
    fn expect(
        &mut self,
        sample: &Sample,
        who: &str,
        answer: &(u16, Value),
        expected: u16,
        codes: &[&str],
    ) {
        let (status, body) = answer;
        let code = body["code"].as_str().unwrap_or_default();
        if *status != expected || (!codes.is_empty() && !codes.contains(&code)) {
            self.findings.push(format!(
                "{} {} {who}: expected {expected} {codes:?}, got {status} {body}",
                sample.method, sample.uri
            ));
        }
        self.documents(sample, who, *status);
    }

    fn documents(&mut self, sample: &Sample, who: &str, status: u16) {
        if !documented(&self.document, sample.method, sample.operation).contains(&status) {
            self.findings.push(format!(
                "{} {} {who}: {status} is not documented",
                sample.method, sample.operation
            ));
        }
    }
}

/// Opens a merchant through the operator's API, in the given mode, with its admin's password.
async fn open_merchant(w: &Seeded, operator: &str, merchant: &str, mode: &str) {
    let calls = [
        (
            format!("/operator/merchants/{merchant}"),
            json!({"name": "陌生商店", "admin_password": ADMIN_PASSWORD}),
        ),
        (
            format!("/operator/merchants/{merchant}/contract"),
            json!({"starts_on": "2026-01-01", "ends_on": "2028-12-31", "issuance_enabled": true,
                   "sms_contracted": false, "redemption_mode": mode,
                   "delivery_methods": ["electronic_immediate"]}),
        ),
    ];
    for (uri, body) in calls {
        let (status, answer) = w
            .call(json_request("PUT", &uri, Some(operator), body))
            .await;
        assert!((200..300).contains(&status), "{uri}: {status} {answer}");
    }
}

/// An answer with its texts and numbers blanked: two answers of the same shape list as many
/// things (a report of no rows for an object the caller cannot see, as for one that does not
/// exist).
fn shape(answer: &Value) -> Value {
    match answer {
        Value::String(_) => json!(""),
        Value::Number(_) => json!(0),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        other => other.clone(),
    }
}

/// Whether an answer shows one of the victim's identifiers that its request did not carry
/// (a filter is echoed; anything else is a leak).
fn shows_objects(answer: &Value, sample: &Sample, o: &Objects) -> bool {
    let asked = format!("{} {}", sample.uri, sample.body.clone().unwrap_or_default());
    let text = answer.to_string();
    o.identifiers()
        .into_iter()
        .any(|id| !asked.contains(id) && text.contains(id))
}

fn replaced(text: &str, pairs: &[(String, String)]) -> String {
    pairs.iter().fold(text.to_owned(), |text, (real, fake)| {
        text.replace(real, fake)
    })
}

#[tokio::test]
async fn every_operation_refuses_missing_bad_and_expired_tokens_other_tenants_and_accounts_without_the_right(
) {
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let installment_admin = w.token(INSTALLMENT, "admin", ADMIN_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let operator = w.operator_token(OPERATOR).await;
    open_merchant(&w, &operator, "OTHR0001", "redeem_after_use").await;
    open_merchant(&w, &operator, "OTHR0002", "installment").await;
    let stranger = w.token("OTHR0001", "admin", ADMIN_PASSWORD).await;
    let installment_stranger = w.token("OTHR0002", "admin", ADMIN_PASSWORD).await;
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &admin,
        json!({"account": "norights1", "password": "Norights2026", "rights": {}}),
    )
    .await;
    // In each victim tenant: a sub-account without any right, and one that may read every
    // area and change none (the demo's manager01 in the parent).
    let all_query: serde_json::Map<String, Value> = tessera_domain::access::FunctionArea::ALL
        .iter()
        .map(|area| {
            let name = serde_json::to_value(area).expect("an area");
            (
                name.as_str().expect("a name").to_owned(),
                json!({"query": true}),
            )
        })
        .collect();
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &installment_admin,
        json!({"account": "norights1", "password": "Norights2026", "rights": {}}),
    )
    .await;
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &installment_admin,
        json!({"account": "readonly1", "password": "Readonly2026", "rights": all_query}),
    )
    .await;
    let bare = w.token(PARENT, "norights1", "Norights2026").await;
    let installment_bare = w.token(INSTALLMENT, "norights1", "Norights2026").await;
    let installment_manager = w.token(INSTALLMENT, "readonly1", "Readonly2026").await;
    // Who attacks each victim: a stranger in its mode, and its own accounts without rights.
    let parent_side = Attackers {
        stranger,
        bare,
        manager,
    };
    let installment_side = Attackers {
        stranger: installment_stranger,
        bare: installment_bare,
        manager: installment_manager,
    };
    let attackers = |victim: Victim| match victim {
        Victim::RedeemAfterUse => &parent_side,
        Victim::Installment => &installment_side,
    };
    let o = objects(&w, &admin, &installment_admin, &partner).await;

    let document = serde_json::to_value(tessera_dev::openapi::document()).expect("the document");
    let samples = samples(&o);
    // Every operation behind the authorizer has its sample, the operator's aside.
    let sampled: BTreeSet<(String, String)> = samples
        .iter()
        .map(|s| (s.method.to_owned(), s.operation.to_owned()))
        .collect();
    let guarded: BTreeSet<(String, String)> =
        tessera_dev::openapi::operations(&tessera_dev::openapi::document())
            .into_iter()
            .filter(|(method, path)| {
                document["paths"][path][method.to_ascii_lowercase()]["security"]
                    .as_array()
                    .is_some_and(|security| !security.is_empty())
                    && !path.starts_with(tessera_dev::openapi::OPERATOR_PREFIX)
            })
            .collect();
    assert_eq!(
        sampled, guarded,
        "every signed-in operation has its sample here"
    );

    let mut attack = Attack {
        w,
        document,
        findings: Vec::new(),
    };
    let before = attack.w.snapshot().await;
    let pairs = o.nonexistent();
    let mut tampered = admin.clone();
    let last = if tampered.ends_with('A') { 'B' } else { 'A' };
    tampered.pop();
    tampered.push(last);
    let forged = {
        let key = tessera_platform::session::SigningKey::new(
            b"another-key-another-key-another-key!".to_vec(),
        )
        .expect("a long key");
        let now = tessera_tests::test_start();
        let claims = tessera_platform::session::SessionClaims {
            sid: "forged".into(),
            mid: PARENT.into(),
            sub: "admin".into(),
            act: PARENT.into(),
            br: None,
            op: false,
            iat: now.timestamp(),
            exp: (now + chrono::Duration::hours(1)).timestamp(),
        };
        tessera_platform::session::sign(&claims, &key)
    };
    for sample in &samples {
        let key = (sample.method, sample.operation);
        for (who, token) in [
            ("without a token", None),
            ("with a tampered token", Some(tampered.as_str())),
            ("with a forged token", Some(forged.as_str())),
        ] {
            let answer = attack.send(sample, &sample.uri, &sample.body, token).await;
            attack.expect(sample, who, &answer, 401, &["UNAUTHENTICATED"]);
        }

        // Another tenant, in the victim's mode.
        let other = attackers(sample.victim).stranger.as_str();
        let fake_uri = replaced(&sample.uri, &pairs);
        let fake_body = sample.body.as_ref().map(|body| {
            serde_json::from_str(&replaced(&body.to_string(), &pairs)).expect("still JSON")
        });
        let addresses_objects = fake_uri != sample.uri || fake_body != sample.body;
        if addresses_objects
            && !ANY_ACCOUNT.contains(&key)
            && !NAMES_ANOTHER_MERCHANT.contains(&key)
            || key == ("POST", "/sessions/current/switch")
        {
            let real = attack
                .send(sample, &sample.uri, &sample.body, Some(other))
                .await;
            let none = attack
                .send(sample, &fake_uri, &fake_body, Some(other))
                .await;
            let leak = (real.0, real.1["code"].as_str()) != (none.0, none.1["code"].as_str())
                || shape(&real.1) != shape(&none.1)
                || shows_objects(&real.1, sample, &o);
            if leak {
                attack.findings.push(format!(
                    "{} {} from another tenant: the real object answered {} {}, a nonexistent one {} {}",
                    sample.method, sample.uri, real.0, real.1, none.0, none.1
                ));
            }
            attack.documents(sample, "from another tenant", real.0);
        } else if sample.method == "GET" && !ANY_ACCOUNT.contains(&key) {
            let (status, listing) = attack.send(sample, &sample.uri, &None, Some(other)).await;
            let text = listing.to_string();
            for id in o.identifiers() {
                if text.contains(id) {
                    attack
                        .findings
                        .push(format!("GET {} from another tenant shows {id}", sample.uri));
                }
            }
            attack.documents(sample, "from another tenant", status);
        }

        // A sub-account with no rights at all.
        if !ANY_ACCOUNT.contains(&key) {
            let answer = attack
                .send(
                    sample,
                    &sample.uri,
                    &sample.body,
                    Some(&attackers(sample.victim).bare),
                )
                .await;
            let states_403 =
                documented(&attack.document, sample.method, sample.operation).contains(&403);
            if OWN_OBJECTS.contains(&key) {
                attack.expect(sample, "by an account without rights", &answer, 404, &[]);
            } else if states_403 {
                attack.expect(
                    sample,
                    "by an account without rights",
                    &answer,
                    403,
                    &["RIGHT_MISSING", "ADMIN_ONLY"],
                );
            } else {
                // Checked against the caller's own objects: what it cannot reach is not found.
                attack.expect(sample, "by an account without rights", &answer, 404, &[]);
            }
        }
        // A read-only manager: every change.
        if sample.method != "GET" && !ANY_ACCOUNT.contains(&key) && !READS_BY_POST.contains(&key) {
            let answer = attack
                .send(
                    sample,
                    &sample.uri,
                    &sample.body,
                    Some(&attackers(sample.victim).manager),
                )
                .await;
            let code = if sample.operation.starts_with("/sub-accounts") {
                "ADMIN_ONLY"
            } else {
                "RIGHT_MISSING"
            };
            attack.expect(sample, "by a read-only manager", &answer, 403, &[code]);
            if code == "RIGHT_MISSING"
                && !answer.1["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("modify right")
            {
                attack.findings.push(format!(
                    "{} {}: the refusal does not name the modify right: {}",
                    sample.method, sample.uri, answer.1
                ));
            }
        }
    }
    let after = attack.w.snapshot().await;
    let changed: Vec<String> = tessera_tests::changed_items(&before, &after)
        .into_iter()
        // What the strangers did in their own tenants (an export of their own report, a
        // store of their own) is theirs to do.
        .filter(|key| {
            let item = after.get(key).or(before.get(key));
            !key.contains("OTHR000") && !item.is_some_and(|item| item.contains("OTHR000"))
        })
        .collect();
    for key in changed {
        attack
            .findings
            .push(format!("a refused request changed {key}"));
    }

    // Expired: the session's eight hours are over.
    attack
        .w
        .clock
        .advance(chrono::Duration::hours(8) + chrono::Duration::seconds(1));
    for sample in &samples {
        let answer = attack
            .send(sample, &sample.uri, &sample.body, Some(&admin))
            .await;
        attack.expect(
            sample,
            "with an expired token",
            &answer,
            401,
            &["SESSION_EXPIRED"],
        );
    }
    assert!(
        attack.findings.is_empty(),
        "{} findings:\n{:#?}",
        attack.findings.len(),
        attack.findings
    );
}
