//! Off-host storage: the S3-compatible bucket of `[backups]` (Hetzner Object Storage,
//! DigitalOcean Spaces, Vultr Object Storage, Tencent COS, AWS S3, MinIO…), through
//! `object_store`. Owns the connection, the object names, and moving sealed files in and
//! out of it as streams (multipart for large ones), never whole in memory. What goes in is
//! always sealed already (`ops::backups`): the bucket never sees a plain byte.

use std::path::Path as FsPath;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::BackupsConfig;

/// Archives up to this size go up in one request; larger ones in parts of this size.
pub const PART: usize = 8 << 20;
/// Parts in flight at once.
const PARTS_AT_ONCE: usize = 4;

/// Why the bucket could not be used.
#[derive(Debug, Error)]
pub enum OffsiteError {
    #[error("[backups]: {0}")]
    Config(String),
    #[error("the backup bucket {bucket} answered: {source}")]
    Store {
        bucket: String,
        source: object_store::Error,
    },
    #[error("{what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// One object in the bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub key: String,
    pub bytes: u64,
    pub modified: DateTime<Utc>,
}

/// The bucket of `[backups]`.
#[derive(Clone)]
pub struct Offsite {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for Offsite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Offsite({})", self.describe())
    }
}

impl Offsite {
    /// Connects (lazily: nothing is sent yet) with the keys from the environment variables
    /// the config names (`env` reads one).
    pub fn new(
        config: &BackupsConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Offsite, OffsiteError> {
        let key = |given: &Option<String>, var: &str| {
            given
                .clone()
                .or_else(|| env(var))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    OffsiteError::Config(format!(
                        "{var} is not set: export the bucket's access key id as {} and its secret as {}",
                        config.access_key_env, config.secret_key_env
                    ))
                })
        };
        // Its HTTPS client is reqwest's, on the process's rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = AmazonS3Builder::new()
            .with_endpoint(config.endpoint.trim_end_matches('/'))
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(key(&config.access_key, &config.access_key_env)?)
            .with_secret_access_key(key(&config.secret_key, &config.secret_key_env)?)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_allow_http(config.endpoint.starts_with("http://"))
            // Not every S3-compatible store takes object tags.
            .with_disable_tagging(true)
            .build()
            .map_err(|e| OffsiteError::Config(e.to_string()))?;
        Ok(Offsite {
            store: Arc::new(store),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
        })
    }

    /// `s3://BUCKET/PREFIX`, for messages.
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The full key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    fn failed(&self, source: object_store::Error) -> OffsiteError {
        OffsiteError::Store {
            bucket: self.bucket.clone(),
            source,
        }
    }

    /// Copies the file at `file` to `key`, streaming: one request when small, parts of
    /// [`PART`] bytes (a few in flight) when large. An upload that fails is aborted, so
    /// no part is left behind to be billed.
    pub async fn upload(&self, file: &FsPath, key: &str) -> Result<u64, OffsiteError> {
        let unreadable = |source| OffsiteError::File {
            what: "cannot read",
            path: file.display().to_string(),
            source,
        };
        let mut input = tokio::fs::File::open(file).await.map_err(unreadable)?;
        let size = input.metadata().await.map_err(unreadable)?.len();
        let location = Path::from(key);
        if size as usize <= PART {
            let mut all = Vec::with_capacity(size as usize);
            input.read_to_end(&mut all).await.map_err(unreadable)?;
            self.store
                .put(&location, PutPayload::from(all))
                .await
                .map_err(|e| self.failed(e))?;
            return Ok(size);
        }
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|e| self.failed(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = match input.read(&mut buffer).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(unreadable(e));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARTS_AT_ONCE).await {
                let _ = writer.abort().await;
                return Err(self.failed(e));
            }
            writer.write(&buffer[..n]);
        }
        writer.finish().await.map_err(|e| self.failed(e))?;
        Ok(size)
    }

    /// Copies `key` into a new private file at `file`, streaming. A failed download leaves
    /// no file.
    pub async fn download(&self, key: &str, file: &FsPath) -> Result<u64, OffsiteError> {
        let result = self.download_inner(key, file).await;
        if result.is_err() {
            let _ = std::fs::remove_file(file);
        }
        result
    }

    async fn download_inner(&self, key: &str, file: &FsPath) -> Result<u64, OffsiteError> {
        let unwritable = |source| OffsiteError::File {
            what: "cannot write",
            path: file.display().to_string(),
            source,
        };
        let got = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|e| self.failed(e))?;
        let out = crate::vault::create_private(file).map_err(unwritable)?;
        let mut out = tokio::fs::File::from_std(out);
        let mut stream = got.into_stream();
        let mut bytes = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.failed(e))?;
            out.write_all(&chunk).await.map_err(unwritable)?;
            bytes += chunk.len() as u64;
        }
        out.flush().await.map_err(unwritable)?;
        out.sync_all().await.map_err(unwritable)?;
        Ok(bytes)
    }

    /// Deletes `key`; one already gone counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), OffsiteError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// The objects under `PREFIX/under`, oldest name first.
    pub async fn list(&self, under: &str) -> Result<Vec<Object>, OffsiteError> {
        let prefix = Path::from(self.key(under));
        let mut stream = self.store.list(Some(&prefix));
        let mut all = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.failed(e))?;
            all.push(Object {
                key: meta.location.to_string(),
                bytes: meta.size,
                modified: meta.last_modified,
            });
        }
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(all)
    }
}
