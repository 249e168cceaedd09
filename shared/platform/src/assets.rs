//! The assets bucket (logos, banners, product images): uploads and downloads go through
//! presigned URLs, so image bytes never pass through a function.

use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;
use tessera_domain::{Error, ErrorCode};

#[derive(Clone, Debug)]
pub struct AssetStore {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

/// What S3 says about an uploaded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    pub size: u64,
    pub content_type: String,
}

fn unavailable<E: std::fmt::Debug>(error: E) -> Error {
    tracing::error!(error = ?error, "s3 call failed");
    Error::new(ErrorCode::DependencyUnavailable)
}

impl AssetStore {
    /// A URL to PUT exactly this object: its type and length are part of the signature.
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        valid_for: Duration,
    ) -> Result<String, Error> {
        let config = PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(length).unwrap_or(i64::MAX))
            .presigned(config)
            .await
            .map_err(unavailable)?;
        Ok(request.uri().to_owned())
    }

    pub async fn presign_download(&self, key: &str, valid_for: Duration) -> Result<String, Error> {
        self.presign_get(key, None, valid_for).await
    }

    /// A link that downloads the object as a file named `filename` (an attachment, so a
    /// browser saves it rather than opening it), valid for `valid_for`.
    pub async fn presign_attachment(
        &self,
        key: &str,
        filename: &str,
        valid_for: Duration,
    ) -> Result<String, Error> {
        let disposition = format!("attachment; filename=\"{filename}\"");
        self.presign_get(key, Some(disposition), valid_for).await
    }

    async fn presign_get(
        &self,
        key: &str,
        content_disposition: Option<String>,
        valid_for: Duration,
    ) -> Result<String, Error> {
        let config = PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_response_content_disposition(content_disposition)
            .presigned(config)
            .await
            .map_err(unavailable)?;
        Ok(request.uri().to_owned())
    }

    /// Size and declared type of an object, or `None` if nothing was uploaded there.
    pub async fn facts(&self, key: &str) -> Result<Option<ObjectFacts>, Error> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectFacts {
                size: declared_length(head.content_length()),
                content_type: head.content_type().unwrap_or_default().to_owned(),
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The first `count` bytes of an object (to check what it really is).
    pub async fn head_bytes(&self, key: &str, count: u64) -> Result<Vec<u8>, Error> {
        let range = format!("bytes=0-{}", count.saturating_sub(1));
        let bytes = self.read(key, Some(range)).await?;
        Ok(bytes.iter().take(count as usize).copied().collect())
    }

    /// An object's bytes, or the `range` of them.
    async fn read(&self, key: &str, range: Option<String>) -> Result<bytes::Bytes, Error> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await
            .map_err(unavailable)?;
        body_bytes(object.body).await
    }
}

impl AssetStore {
    /// The whole object, refusing (with `too_large`) one bigger than `max_bytes` before
    /// reading its body; `None` if nothing is there. One request: the length is read
    /// from the answer's headers, before the body.
    pub async fn get_bytes(
        &self,
        key: &str,
        max_bytes: u64,
        too_large: Error,
    ) -> Result<Option<Vec<u8>>, Error> {
        let object = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(error) => return Err(unavailable(error)),
        };
        if declared_length(object.content_length()) > max_bytes {
            return Err(too_large);
        }
        let bytes = body_bytes(object.body).await?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large);
        }
        Ok(Some(bytes.to_vec()))
    }

    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), Error> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// An object's length as its answer declares it (0 if it does not).
fn declared_length(content_length: Option<i64>) -> u64 {
    content_length
        .and_then(|l| u64::try_from(l).ok())
        .unwrap_or(0)
}

/// An answer's whole body.
async fn body_bytes(body: aws_sdk_s3::primitives::ByteStream) -> Result<bytes::Bytes, Error> {
    Ok(body.collect().await.map_err(unavailable)?.into_bytes())
}

/// The SHA-256 of `bytes`, in hex: what tells one uploaded file from another.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    tessera_domain::values::hex(&Sha256::digest(bytes))
}

/// Checks an uploaded image before it is used: the key must be one this merchant was handed
/// for this image (`prefix` + 32 hex digits + `.png`/`.jpg`), the object must be there,
/// within the image's limit, declared as that type and really of it (magic bytes). Any
/// failure is a validation error on `key`.
pub async fn verify_image_upload(
    assets: &AssetStore,
    key: &str,
    prefix: &str,
    image: tessera_domain::merchant::TicketImage,
) -> Result<(), Error> {
    use tessera_domain::merchant::ImageType;
    let bad = |reason: &str| Error::invalid_field("key", reason);
    let name = key
        .strip_prefix(prefix)
        .ok_or_else(|| bad("not an upload of this merchant for this image"))?;
    let (stem, extension) = name
        .split_once('.')
        .ok_or_else(|| bad("not an upload key"))?;
    let kind = match extension {
        "png" => ImageType::Png,
        "jpg" => ImageType::Jpeg,
        _ => return Err(bad("not an upload key")),
    };
    if stem.len() != 32 || !stem.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("not an upload key"));
    }
    let facts = assets
        .facts(key)
        .await?
        .ok_or_else(|| bad("nothing was uploaded with this key"))?;
    if facts.size == 0 || facts.size > image.max_bytes() {
        return Err(bad(&format!(
            "the file is {} bytes; a {} image is at most {}",
            facts.size,
            image.name(),
            image.max_bytes()
        )));
    }
    let head = assets.head_bytes(key, 8).await?;
    if !kind.matches_magic(&head) || ImageType::from_content_type(&facts.content_type) != Some(kind)
    {
        return Err(bad(&format!("the file is not a {}", kind.content_type())));
    }
    Ok(())
}
