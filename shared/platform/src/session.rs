//! Session tokens: compact JWTs (HS256) naming the session, merchant, account, the merchant
//! acted as, and the bound branch. The token is only a signed handle: the authorizer also
//! checks that the session still exists (sign-out deletes it) and reloads the account, so
//! a deleted account or a revoked right stops working at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tessera_domain::{Error, ErrorCode};

type HmacSha256 = Hmac<Sha256>;

/// The key that signs session tokens. Comes from configuration, never from code. Keyed
/// once, when loaded; each signature starts from a copy of the keyed state.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl SigningKey {
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!(
                "the signing key must be at least {} bytes",
                Self::MIN_BYTES
            ));
        }
        HmacSha256::new_from_slice(&bytes)
            .map(SigningKey)
            .map_err(|_| "the signing key cannot key HMAC-SHA256".to_owned())
    }

    /// `TESSERA_SIGNING_KEY`: at least 32 bytes of secret text.
    pub fn from_env() -> Result<Self, String> {
        let value = std::env::var("TESSERA_SIGNING_KEY")
            .map_err(|_| "TESSERA_SIGNING_KEY is not set".to_owned())?;
        SigningKey::new(value.into_bytes())
    }

    fn mac(&self) -> HmacSha256 {
        self.0.clone()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Session id (the session item's key).
    pub sid: String,
    /// The account's merchant.
    pub mid: String,
    /// The account.
    pub sub: String,
    /// The merchant the session acts as.
    pub act: String,
    /// The bound branch, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub br: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

pub fn sign(claims: &SessionClaims, key: &SigningKey) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    // Serialising a struct of strings and integers cannot fail.
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = key.mac();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Checks the signature (in constant time), the algorithm and the expiry.
pub fn verify(token: &str, key: &SigningKey, now: DateTime<Utc>) -> Result<SessionClaims, Error> {
    let unauthenticated = || Error::new(ErrorCode::Unauthenticated);
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthenticated());
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| unauthenticated())?;
    let header_value: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| unauthenticated())?;
    if header_value.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
        return Err(unauthenticated());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| unauthenticated())?;
    let mut mac = key.mac();
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| unauthenticated())?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| unauthenticated())?;
    let claims: SessionClaims = serde_json::from_slice(&payload).map_err(|_| unauthenticated())?;
    if now.timestamp() >= claims.exp {
        return Err(Error::new(ErrorCode::SessionExpired));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(text: &str) -> SigningKey {
        SigningKey::new(text.as_bytes().to_vec()).unwrap()
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            sid: "s1".into(),
            mid: "PARENT01".into(),
            sub: "admin".into(),
            act: "PARENT01".into(),
            br: None,
            iat: 1_800_000_000,
            exp: 1_800_003_600,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = key("0123456789abcdef0123456789abcdef");
        let token = sign(&claims(), &key);
        assert_eq!(verify(&token, &key, at(1_800_003_599)).unwrap(), claims());
        assert_eq!(
            verify(&token, &key, at(1_800_003_600)).unwrap_err().code,
            ErrorCode::SessionExpired
        );
    }

    #[test]
    fn tampered_tokens_and_other_keys_are_refused() {
        let key_a = key("0123456789abcdef0123456789abcdef");
        let key_b = key("fedcba9876543210fedcba9876543210");
        let token = sign(&claims(), &key_a);
        let now = at(1_800_000_001);
        assert_eq!(
            verify(&token, &key_b, now).unwrap_err().code,
            ErrorCode::Unauthenticated
        );

        // Change the acting-as merchant in the payload, keep the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims();
        forged.act = "OTHER001".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            verify(&tampered, &key_a, now).unwrap_err().code,
            ErrorCode::Unauthenticated
        );

        // "alg": "none" with no signature.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            verify(&unsigned, &key_a, now).unwrap_err().code,
            ErrorCode::Unauthenticated
        );

        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.***"] {
            assert_eq!(
                verify(garbage, &key_a, now).unwrap_err().code,
                ErrorCode::Unauthenticated
            );
        }
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert!(SigningKey::new(b"short".to_vec()).is_err());
        let key = key("0123456789abcdef0123456789abcdef");
        assert!(!format!("{key:?}").contains("0123"));
    }
}
