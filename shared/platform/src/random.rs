//! Bytes from the operating system's CSPRNG, for codes that must be unguessable.

use tessera_domain::{Error, ErrorCode};

pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!(error = %e, "the system random source failed");
        Error::new(ErrorCode::InternalError)
    })?;
    Ok(bytes)
}
