//! Session tokens: compact JWTs (HS256, by `jsonwebtoken`) naming the session, merchant,
//! account, the merchant acted as, and the bound branch. The header's `kid` names the key
//! that signed it: in AWS, the Secrets Manager version of the signing-key secret. The token
//! is only a signed handle: the function also checks that the session still exists
//! (sign-out deletes it) and reloads the account, so a deleted account or a revoked right
//! stops working at once.
//!
//! Keys are read at run time ([`SigningKeys::from_secret`]), cached for a few minutes, and
//! rotated by putting a new secret value: tokens signed by the previous version
//! (`AWSPREVIOUS`) still verify until they expire. See docs/decisions/0007-run-what-ships.md.

use aws_sdk_secretsmanager::Client as SecretsClient;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_domain::{Error, ErrorCode};
use tokio::sync::RwLock;

/// One signing key and its id. Comes from configuration, never from code.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    pub const MIN_BYTES: usize = 32;

    /// A key with id `kid`; at least [`Self::MIN_BYTES`] bytes of secret.
    pub fn with_id(kid: &str, bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!(
                "the signing key must be at least {} bytes",
                Self::MIN_BYTES
            ));
        }
        Ok(SigningKey {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
        })
    }

    /// A fixed key (tests, benchmarks), under the id `static`.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        SigningKey::with_id("static", &bytes)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, ***)", self.kid)
    }
}

/// The keys a token may be signed with: the current one (which signs) and the previous one
/// (still accepted, so a rotation signs no one out).
#[derive(Clone, Debug)]
pub struct KeyRing {
    pub current: SigningKey,
    pub previous: Option<SigningKey>,
}

impl KeyRing {
    fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.kid == kid)
    }
}

/// How long fetched keys are used before they are read again.
const KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// An unknown key id forces a fresh read at most this often (random ids cannot make every
/// request call Secrets Manager); a token of a version put since is refused until then.
pub const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(5);
const AWS_CURRENT: &str = "AWSCURRENT";
const AWS_PREVIOUS: &str = "AWSPREVIOUS";

/// Where the signing keys come from: fixed (tests, benchmarks) or a Secrets Manager secret
/// read at run time. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct SigningKeys(Arc<Source>);

enum Source {
    Fixed(Arc<KeyRing>),
    Secret {
        client: SecretsClient,
        secret_id: String,
        // Shared, not copied, with each request that verifies a token.
        cache: RwLock<(Arc<KeyRing>, Instant)>,
    },
}

impl From<SigningKey> for SigningKeys {
    fn from(key: SigningKey) -> Self {
        SigningKeys(Arc::new(Source::Fixed(Arc::new(KeyRing {
            current: key,
            previous: None,
        }))))
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Source::Fixed(_) => f.write_str("SigningKeys(fixed)"),
            Source::Secret { secret_id, .. } => write!(f, "SigningKeys(secret {secret_id})"),
        }
    }
}

impl SigningKeys {
    /// Reads the secret's current and previous versions now, so that a function without
    /// access fails its cold start instead of every request.
    pub async fn from_secret(client: SecretsClient, secret_id: &str) -> Result<Self, String> {
        let ring = fetch_ring(&client, secret_id).await?;
        Ok(SigningKeys(Arc::new(Source::Secret {
            client,
            secret_id: secret_id.to_owned(),
            cache: RwLock::new((Arc::new(ring), Instant::now())),
        })))
    }

    /// The key ring, read again when the cached one is older than `max_age`.
    async fn ring(&self, max_age: Duration) -> Result<Arc<KeyRing>, Error> {
        match &*self.0 {
            Source::Fixed(ring) => Ok(ring.clone()),
            Source::Secret {
                client,
                secret_id,
                cache,
            } => {
                {
                    let cached = cache.read().await;
                    if cached.1.elapsed() < max_age {
                        return Ok(cached.0.clone());
                    }
                }
                let mut cached = cache.write().await;
                // Another request may have refreshed it while this one waited.
                if cached.1.elapsed() < max_age {
                    return Ok(cached.0.clone());
                }
                match fetch_ring(client, secret_id).await {
                    Ok(ring) => {
                        let ring = Arc::new(ring);
                        *cached = (ring.clone(), Instant::now());
                        Ok(ring)
                    }
                    // Keep serving the keys we have; Secrets Manager may be briefly away.
                    Err(reason) => {
                        tracing::warn!(reason = %reason, "signing keys not refreshed");
                        Ok(cached.0.clone())
                    }
                }
            }
        }
    }

    /// The key that signs new tokens.
    pub async fn current(&self) -> Result<SigningKey, Error> {
        Ok(self.ring(KEY_CACHE_TTL).await?.current.clone())
    }

    /// Checks the signature (with the key the token names), the algorithm and the expiry.
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SessionClaims, Error> {
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .ok_or_else(|| Error::new(ErrorCode::Unauthenticated))?;
        let ring = self.ring(KEY_CACHE_TTL).await?;
        if let Some(key) = ring.by_kid(&kid) {
            return verify(token, key, now);
        }
        // Perhaps rotated since the keys were read: read them again (rate-limited).
        let ring = self.ring(UNKNOWN_KID_REFRESH).await?;
        let key = ring
            .by_kid(&kid)
            .ok_or_else(|| Error::new(ErrorCode::Unauthenticated))?;
        verify(token, key, now)
    }
}

async fn fetch_ring(client: &SecretsClient, secret_id: &str) -> Result<KeyRing, String> {
    let (current, previous) = tokio::join!(
        fetch_version(client, secret_id, AWS_CURRENT),
        fetch_version(client, secret_id, AWS_PREVIOUS)
    );
    Ok(KeyRing {
        current: current?.ok_or_else(|| format!("secret {secret_id} has no current value"))?,
        previous: previous.unwrap_or_else(|reason| {
            tracing::warn!(reason = %reason, "previous signing key not read");
            None
        }),
    })
}

async fn fetch_version(
    client: &SecretsClient,
    secret_id: &str,
    stage: &str,
) -> Result<Option<SigningKey>, String> {
    let output = match client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(error) => {
            return Err(format!(
                "cannot read the signing key {secret_id} ({stage}): {}",
                crate::aws::sdk_error_text(&error)
            ))
        }
    };
    let (Some(version), Some(secret)) = (output.version_id(), output.secret_string()) else {
        return Err(format!(
            "the signing key {secret_id} ({stage}) is not a text secret"
        ));
    };
    SigningKey::with_id(version, secret.as_bytes()).map(Some)
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
    /// The platform operator's session (`mid`/`act` name no merchant): only the operator's
    /// routes load it, and merchant routes refuse it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub op: bool,
    pub iat: i64,
    pub exp: i64,
}

pub fn sign(claims: &SessionClaims, key: &SigningKey) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    // Encoding a struct of strings and integers with an HMAC key cannot fail.
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap_or_default()
}

/// Checks the signature (in constant time), the algorithm (HS256 only) and the expiry at
/// `now` (the caller's clock, not the system's).
pub fn verify(token: &str, key: &SigningKey, now: DateTime<Utc>) -> Result<SessionClaims, Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked below against the injected clock, to the second.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<SessionClaims>(token, &key.decoding, &validation)
        .map_err(|_| Error::new(ErrorCode::Unauthenticated))?
        .claims;
    if now.timestamp() >= claims.exp {
        return Err(Error::new(ErrorCode::SessionExpired));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
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
            op: false,
            iat: 1_800_000_000,
            exp: 1_800_003_600,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn a_signed_token_names_its_key_and_verifies_until_it_expires() {
        let key = key("0123456789abcdef0123456789abcdef");
        let token = sign(&claims(), &key);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("static"));
        assert_eq!(verify(&token, &key, at(1_800_003_599)).unwrap(), claims());
        assert_eq!(
            verify(&token, &key, at(1_800_003_600)).unwrap_err().code,
            ErrorCode::SessionExpired
        );
    }

    #[tokio::test]
    async fn a_ring_verifies_by_key_id_and_refuses_unknown_ids() {
        let current = SigningKey::with_id("v2", b"0123456789abcdef0123456789abcdef").unwrap();
        let previous = SigningKey::with_id("v1", b"fedcba9876543210fedcba9876543210").unwrap();
        let keys = SigningKeys(Arc::new(Source::Fixed(Arc::new(KeyRing {
            current: current.clone(),
            previous: Some(previous.clone()),
        }))));
        let now = at(1_800_000_001);
        assert_eq!(
            keys.verify(&sign(&claims(), &current), now).await.unwrap(),
            claims()
        );
        assert_eq!(
            keys.verify(&sign(&claims(), &previous), now).await.unwrap(),
            claims()
        );
        assert_eq!(keys.current().await.unwrap().kid(), "v2");
        // The previous key's bytes under an id the ring does not know.
        let stranger = SigningKey::with_id("v0", b"fedcba9876543210fedcba9876543210").unwrap();
        assert_eq!(
            keys.verify(&sign(&claims(), &stranger), now)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Unauthenticated
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
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"static"}"#);
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
