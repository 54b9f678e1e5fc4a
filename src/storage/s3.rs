//! S3 and S3-compatible stores (AWS, Garage, MinIO, Ceph) through aws-sdk-s3.
//!
//! Credentials come from the SDK's default chain (environment, profile, SSO,
//! instance role); they never pass through our settings or messages.

use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::{
    join_key, MultipartUpload, ObjectInfo, ObjectReader, ObjectStore, PendingUpload, StorageError,
};
use crate::config::{ChecksumMode, S3Settings};

/// Bound on opening a connection to the endpoint (or the S3 timeout, if
/// shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
    sse: Option<ServerSideEncryption>,
    parts_in_flight: usize,
}

impl S3Store {
    pub async fn new(bucket: &str, prefix: &str, settings: &S3Settings) -> Result<Self> {
        // No request waits forever: connecting is bounded, an answer that
        // does not start within the timeout is retried, and so is a body
        // (part upload or download) that stops moving for as long.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.timeout.min(CONNECT_TIMEOUT))
            .read_timeout(settings.timeout)
            .build();
        let stalled = StalledStreamProtectionConfig::enabled()
            .grace_period(settings.timeout)
            .build();
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .timeout_config(timeouts)
            .stalled_stream_protection(stalled)
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .load()
            .await;
        let (request, response) = match settings.checksum {
            ChecksumMode::WhenRequired => (
                RequestChecksumCalculation::WhenRequired,
                ResponseChecksumValidation::WhenRequired,
            ),
            ChecksumMode::WhenSupported => (
                RequestChecksumCalculation::WhenSupported,
                ResponseChecksumValidation::WhenSupported,
            ),
        };
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(request)
            .response_checksum_validation(response);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: settings
                .endpoint
                .clone()
                .unwrap_or_else(|| format!("AWS S3 ({})", settings.region)),
            sse: settings
                .server_side_encryption
                .as_ref()
                .map(|_| ServerSideEncryption::Aes256),
            parts_in_flight: settings.parts_in_flight.max(1),
        })
    }

    fn full_key(&self, key: &str) -> String {
        join_key(&self.prefix, key)
    }

    fn relative_key(&self, full: &str) -> String {
        if self.prefix.is_empty() {
            return full.to_owned();
        }
        full.strip_prefix(&self.prefix)
            .map(|k| k.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| full.to_owned())
    }

    /// Turns an SDK error into one line that names the endpoint, the bucket
    /// and the likely cause. Credentials are never part of SDK messages.
    fn explain<E>(&self, err: SdkError<E>, action: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let Some(reason) = missing_credentials(&err) {
            return anyhow::anyhow!(
                "no S3 credentials ({reason}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 or AWS_PROFILE, or run with an instance or container role \
                 (-v shows what each source of the AWS SDK said)"
            );
        }
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_owned);
        let detail = summary(&err);
        let bucket = &self.bucket;
        let msg = match (&err, code.as_deref(), status) {
            (SdkError::DispatchFailure(_), ..) | (SdkError::TimeoutError(_), ..) => format!(
                "cannot reach the S3 endpoint {} to {action}: {detail}",
                self.endpoint
            ),
            (_, Some("NoSuchBucket"), _) => {
                format!("bucket {bucket} does not exist at {} ({action})", self.endpoint)
            }
            (
                _,
                Some(
                    "AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "InvalidSignature"
                    | "Forbidden",
                ),
                _,
            )
            | (_, _, Some(403)) => format!(
                "access to bucket {bucket} denied ({action}): check the credentials \
                 (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile) and the bucket policy [{}]",
                code.as_deref().unwrap_or("403")
            ),
            (_, _, Some(404)) => {
                format!("bucket {bucket} does not exist at {} ({action})", self.endpoint)
            }
            (_, _, Some(301)) => format!(
                "bucket {bucket} is in another region ({action}): set BACKUP_S3_REGION"
            ),
            _ => format!("S3 {action} failed on bucket {bucket}: {detail}"),
        };
        anyhow::anyhow!(msg)
    }
}

/// One line for an SDK error: a service's code, HTTP status and message
/// (not the SDK's debug dump of the response); otherwise the chain of causes.
pub(crate) fn summary<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) => {
            let status = err
                .raw_response()
                .map(|r| format!(" (HTTP {})", r.status().as_u16()))
                .unwrap_or_default();
            let code = service.code().unwrap_or("error");
            match service.message() {
                Some(message) => format!("{code}{status}: {message}"),
                None => format!("{code}{status}"),
            }
        }
        None => DisplayErrorContext(err).to_string(),
    }
}

/// Whether the SDK failed for want of credentials, and the short reason
/// (the chain's own message, without the screen of provider internals).
fn missing_credentials(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::CredentialsNotLoaded(_) => {
                    "none found in the environment, profile, web identity, container or \
                     instance metadata"
                        .to_owned()
                }
                CredentialsError::ProviderTimedOut(_) => {
                    "the credential provider timed out".to_owned()
                }
                other => other.to_string(),
            });
        }
        source = e.source();
    }
    None
}

/// One short line for an SDK error: S3's status, code and message, or the
/// chain of transport causes, without the SDK's debug dump of the response.
fn brief<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ServiceError(s) = err {
        let status = s.raw().status().as_u16();
        let e = s.err();
        return match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("S3 answered {status} {code}: {message}"),
            (Some(code), None) => format!("S3 answered {status} {code}"),
            _ => format!("S3 answered {status}"),
        };
    }
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let text = e.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = e.source();
    }
    line
}

fn to_datetime(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

#[async_trait]
impl ObjectStore for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    async fn check_access(&self) -> Result<()> {
        self.client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(join_key(&self.prefix, ""))
            .max_keys(1)
            .send()
            .await
            .map_err(|e| self.explain(e, "list objects"))?;
        Ok(())
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        let full = self.full_key(key);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .body(ByteStream::from(body))
            .set_server_side_encryption(self.sse.clone())
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("write {full}")))?;
        Ok(())
    }

    async fn put_new(&self, key: &str, body: Bytes) -> Result<bool> {
        let full = self.full_key(key);
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .set_server_side_encryption(self.sse.clone())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            // 412: the key exists. 409: another conditional write of the key
            // is in progress (AWS); whoever wins, this caller lost.
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(412 | 409)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.explain(e, &format!("write {full}"))),
        }
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let (reader, _) = self.open(key).await?;
        let mut buf = Vec::new();
        let mut reader = reader;
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut buf)
            .await
            .with_context(|| format!("cannot read {}", self.location(key)))?;
        Ok(Bytes::from(buf))
    }

    async fn open(&self, key: &str) -> Result<(ObjectReader, u64)> {
        let full = self.full_key(key);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    anyhow::Error::new(StorageError::NotFound(self.location(key)))
                } else {
                    self.explain(e, &format!("read {full}"))
                }
            })?;
        let size = out.content_length().unwrap_or_default().max(0) as u64;
        Ok((Box::pin(out.body.into_async_read()), size))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let full = self.full_key(key);
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                size: out.content_length().unwrap_or_default().max(0) as u64,
                last_modified: to_datetime(out.last_modified()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(self.explain(e, &format!("inspect {full}"))),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.explain(e, "list objects"))?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                objects.push(ObjectInfo {
                    key: self.relative_key(key),
                    size: obj.size().unwrap_or_default().max(0) as u64,
                    last_modified: to_datetime(obj.last_modified()),
                });
            }
        }
        Ok(objects)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let full = self.full_key(key);
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("delete {full}")))?;
        Ok(())
    }

    async fn create_upload(&self, key: &str) -> Result<Box<dyn MultipartUpload>> {
        let full = self.full_key(key);
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&full)
            .set_server_side_encryption(self.sse.clone())
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("start an upload of {full}")))?;
        let upload_id = out
            .upload_id()
            .context("S3 returned no upload id for a new multipart upload")?
            .to_owned();
        Ok(Box::new(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: full,
            upload_id,
            next_part: 1,
            sent_bytes: 0,
            done: Vec::new(),
            in_flight: JoinSet::new(),
            max_in_flight: self.parts_in_flight,
        }))
    }

    async fn list_pending_uploads(&self) -> Result<Vec<PendingUpload>> {
        let mut pending = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(join_key(&self.prefix, ""))
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| self.explain(e, "list unfinished uploads"))?;
            for u in page.uploads() {
                if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                    pending.push(PendingUpload {
                        key: self.relative_key(key),
                        upload_id: id.to_owned(),
                        initiated: to_datetime(u.initiated()),
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && id_marker.is_none() {
                break;
            }
        }
        Ok(pending)
    }

    async fn abort_pending_upload(&self, upload: &PendingUpload) -> Result<()> {
        let full = self.full_key(&upload.key);
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&full)
            .upload_id(&upload.upload_id)
            .send()
            .await
            .map_err(|e| self.explain(e, &format!("abort the upload of {full}")))?;
        Ok(())
    }
}

struct S3Upload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    next_part: i32,
    /// Bytes handed to parts: the object's size once complete.
    sent_bytes: u64,
    done: Vec<CompletedPart>,
    in_flight: JoinSet<Result<CompletedPart>>,
    max_in_flight: usize,
}

impl S3Upload {
    /// CompleteMultipartUpload failed after the SDK's retries, but S3 may
    /// have completed the object and only the answer been lost. Read back:
    /// an object of exactly our size at our (unique) key is ours, complete.
    /// Otherwise the upload is aborted, so no parts are left behind; when
    /// even the read fails, the key is also deleted, so that a `failed`
    /// manifest never sits over a complete object.
    async fn settle_failed_completion(self: Box<Self>, failure: anyhow::Error) -> Result<()> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await;
        let unknown = match &head {
            Ok(out) if out.content_length().map(|n| n.max(0) as u64) == Some(self.sent_bytes) => {
                tracing::warn!(
                    "the answer to completing {} was lost, but the object is there, \
                     complete ({failure:#})",
                    self.key
                );
                return Ok(());
            }
            Ok(_) => false,
            Err(e) => !e.as_service_error().is_some_and(|s| s.is_not_found()),
        };
        let key = self.key.clone();
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        if let Err(abort) = self.abort().await {
            tracing::warn!("{abort:#} (k12ctl backup prune removes it later)");
        }
        if unknown {
            let deleted = client
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await;
            if let Err(d) = deleted {
                tracing::warn!("cannot remove {key}: {}", DisplayErrorContext(&d));
            }
        }
        Err(failure)
    }

    async fn finish_one(&mut self) -> Result<()> {
        if let Some(joined) = self.in_flight.join_next().await {
            let part = joined.context("a part upload task failed")??;
            self.done.push(part);
        }
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for S3Upload {
    async fn write_part(&mut self, data: Bytes) -> Result<()> {
        while self.in_flight.len() >= self.max_in_flight {
            self.finish_one().await?;
        }
        let number = self.next_part;
        self.next_part += 1;
        self.sent_bytes += data.len() as u64;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(data.len() as i64)
            .body(ByteStream::from(data));
        let key = self.key.clone();
        self.in_flight.spawn(async move {
            let out = request.send().await.map_err(|e| {
                anyhow::anyhow!("upload of part {number} of {key} failed: {}", brief(&e))
            })?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build())
        });
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<()> {
        while !self.in_flight.is_empty() {
            self.finish_one().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|p| p.part_number());
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        let Err(e) = completed else {
            return Ok(());
        };
        let failure = anyhow::anyhow!(
            "completing the upload of {} failed: {}",
            self.key,
            brief(&e)
        );
        self.settle_failed_completion(failure).await
    }

    /// Abort, then check that the upload is gone: a part still being
    /// received when the abort arrived can be stored after it, so S3 asks
    /// to abort again until listing the parts finds no upload.
    async fn abort(mut self: Box<Self>) -> Result<()> {
        self.in_flight.shutdown().await;
        for _ in 0..ABORT_ATTEMPTS {
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&self.upload_id)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("aborting the upload of {} failed: {}", self.key, brief(&e))
                })?;
            let listed = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&self.upload_id)
                .send()
                .await;
            match listed {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.code() == Some("NoSuchUpload")) =>
                {
                    return Ok(());
                }
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                    return Ok(());
                }
                _ => tracing::debug!("the upload of {} is still listed; aborting again", self.key),
            }
        }
        anyhow::bail!(
            "the upload of {} is still listed after {ABORT_ATTEMPTS} aborts",
            self.key
        )
    }
}

/// Aborts of one upload before giving up (k12ctl backup prune removes what
/// is left later).
const ABORT_ATTEMPTS: usize = 3;
