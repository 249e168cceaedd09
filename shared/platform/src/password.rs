//! Password hashing with argon2id (PHC string format, random salt per hash).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tessera_domain::values::NewPassword;

/// The PHC string of a new password (algorithm, parameters, salt and hash).
pub fn hash(password: &NewPassword) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("hashing failed: {e}"))
}

/// Whether `candidate` matches the stored hash. A malformed stored hash never matches.
pub fn verify(candidate: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has, verified against when the account does not exist, so
/// that "no such account" takes as long as "wrong password" and cannot be told apart.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WX2ZKmTOVSvfV9Y8uX8T3PmnVNrYw6Bn6NO4ALpRuAE"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let password = NewPassword::parse_admin("p", "Secret#123").unwrap();
        let first = hash(&password).unwrap();
        let second = hash(&password).unwrap();
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "a fresh salt each time");
        assert!(verify("Secret#123", &first));
        assert!(!verify("Secret#124", &first));
        assert!(!verify("Secret#123", "not a hash"));
        assert!(!verify("anything", decoy_hash()));
    }
}
