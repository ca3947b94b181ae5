//! The vault: every secret clawops keeps at rest (instances' SSH private keys, gateway
//! tokens, channel tokens, backups) is sealed here before it reaches the store or a file.
//!
//! One 32-byte master key, from `CLAWOPS_MASTER_KEY` (64 hex digits) or from a key file
//! made on first start next to the store (mode 0600). Each purpose gets its own key,
//! derived with HKDF-SHA256, and each value is sealed with XChaCha20-Poly1305 under a
//! fresh random 24-byte nonce; the purpose is also bound as associated data, so a value
//! sealed as one thing cannot be opened as another.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use rand::RngExt;
use sha2::Sha256;
use thiserror::Error;

/// The environment variable that holds the master key (64 hex digits).
pub const MASTER_KEY_ENV: &str = "CLAWOPS_MASTER_KEY";

const NONCE_LEN: usize = 24;
/// Marks sealed data, with the format's version.
const MAGIC: &[u8; 4] = b"CV1\0";
/// Marks data sealed in chunks by a [`SealingWriter`].
const STREAM_MAGIC: &[u8; 4] = b"CV2\0";
/// The plain bytes in one sealed chunk.
pub const CHUNK: usize = 1 << 20;

/// Why a secret could not be sealed or opened.
#[derive(Debug, Error)]
pub enum VaultError {
    #[error(
        "{MASTER_KEY_ENV} must be 64 hex digits (32 bytes); generate one with: openssl rand -hex 32"
    )]
    BadMasterKey,
    #[error("cannot read or create the master key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "a sealed {purpose} cannot be opened: it was sealed with another master key, or it was changed"
    )]
    Open { purpose: String },
    #[error(
        "the master key file {path} is {problem}: it must be readable by its owner only. Fix it with: chmod 600 {path}"
    )]
    KeyFileUnsafe { path: PathBuf, problem: String },
    #[error(
        "the master key file {path} is empty (clawops may have been stopped while making it). If nothing was ever sealed with it (a new store), delete it and start again; otherwise put it back from your backup"
    )]
    KeyFileEmpty { path: PathBuf },
    #[error(
        "the master key file {path} does not hold 64 hex digits; put the right file back from your backup"
    )]
    KeyFileBad { path: PathBuf },
    #[error("the sealed value is larger than {cap} bytes: not opened")]
    TooLarge { cap: usize },
}

/// The associated data of one chunk: the purpose, its place, and whether it is the last,
/// so chunks cannot be reordered, dropped or cut off at the end unnoticed.
fn chunk_aad(purpose: &str, index: u64, last: bool) -> Vec<u8> {
    let mut aad = purpose.as_bytes().to_vec();
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// Seals what is written in chunks: `CV2\0`, then per chunk a last-flag byte, a fresh
/// nonce, the sealed length (u32, big-endian) and the sealed bytes.
pub struct SealingWriter<W: Write> {
    cipher: XChaCha20Poly1305,
    purpose: String,
    inner: W,
    buffer: Vec<u8>,
    index: u64,
    started: bool,
}

impl<W: Write> SealingWriter<W> {
    fn emit(&mut self, last: bool) -> std::io::Result<()> {
        if !self.started {
            self.inner.write_all(STREAM_MAGIC)?;
            self.started = true;
        }
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let aad = chunk_aad(&self.purpose, self.index, last);
        let sealed = self
            .cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: &self.buffer,
                    aad: &aad,
                },
            )
            .map_err(|_| std::io::Error::other("sealing a chunk failed"))?;
        self.inner.write_all(&[u8::from(last)])?;
        self.inner.write_all(&nonce)?;
        self.inner.write_all(&(sealed.len() as u32).to_be_bytes())?;
        self.inner.write_all(&sealed)?;
        self.buffer.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last chunk and returns the inner writer, flushed.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.emit(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..n]);
        if self.buffer.len() == CHUNK {
            self.emit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Seals and opens secrets. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    master: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(<master key hidden>)")
    }
}

impl Vault {
    /// A vault on this master key.
    pub fn new(master: [u8; 32]) -> Vault {
        Vault { master }
    }

    /// The master key from `CLAWOPS_MASTER_KEY` if set, else from `key_file`, which is
    /// created with a fresh random key (mode 0600) when it does not exist.
    pub fn load(env: Option<String>, key_file: &Path) -> Result<Vault, VaultError> {
        if let Some(hex_key) = env.filter(|v| !v.trim().is_empty()) {
            crate::secrets::register(hex_key.trim());
            return parse_key(hex_key.trim()).map(Vault::new);
        }
        let err = |source| VaultError::KeyFile {
            path: key_file.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => {
                check_private(key_file).map_err(|problem| VaultError::KeyFileUnsafe {
                    path: key_file.to_path_buf(),
                    problem,
                })?;
                if text.trim().is_empty() {
                    return Err(VaultError::KeyFileEmpty {
                        path: key_file.to_path_buf(),
                    });
                }
                crate::secrets::register(text.trim());
                parse_key(text.trim())
                    .map(Vault::new)
                    .map_err(|_| VaultError::KeyFileBad {
                        path: key_file.to_path_buf(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::rng().random();
                crate::secrets::register(&hex::encode(key));
                write_private(key_file, hex::encode(key).as_bytes()).map_err(err)?;
                Ok(Vault::new(key))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Seals `plain` for `purpose` (e.g. `ssh-key:alice-bot`).
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let sealed = self
            .cipher(purpose)
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plain,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what `seal` made for the same `purpose`.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let fail = || VaultError::Open {
            purpose: purpose.split(':').next().unwrap_or(purpose).to_string(),
        };
        let rest = sealed.strip_prefix(MAGIC.as_slice()).ok_or_else(fail)?;
        if rest.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        self.cipher(purpose)
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: body,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| fail())
    }

    /// Seals a text secret; see [`Vault::seal`].
    pub fn seal_text(&self, purpose: &str, plain: &str) -> Vec<u8> {
        self.seal(purpose, plain.as_bytes())
    }

    /// Opens a text secret.
    pub fn open_text(&self, purpose: &str, sealed: &[u8]) -> Result<String, VaultError> {
        let bytes = self.open(purpose, sealed)?;
        String::from_utf8(bytes).map_err(|_| VaultError::Open {
            purpose: purpose.to_string(),
        })
    }

    /// A writer that seals what is written to it for `purpose` into `inner`, in chunks
    /// of [`CHUNK`] bytes, so a large value (a backup) never sits whole in memory.
    /// [`SealingWriter::finish`] must be called: without its last chunk the result
    /// does not open.
    pub fn sealing_writer<W: Write>(&self, purpose: &str, inner: W) -> SealingWriter<W> {
        SealingWriter {
            cipher: self.cipher(purpose),
            purpose: purpose.to_string(),
            inner,
            buffer: Vec::with_capacity(CHUNK),
            index: 0,
            started: false,
        }
    }

    /// Opens what [`Vault::seal`] or a [`SealingWriter`] made for `purpose`, reading at
    /// most `cap` bytes of plain text.
    pub fn open_reader(
        &self,
        purpose: &str,
        mut reader: impl Read,
        cap: usize,
    ) -> Result<Vec<u8>, VaultError> {
        let fail = || VaultError::Open {
            purpose: purpose.split(':').next().unwrap_or(purpose).to_string(),
        };
        let mut magic = [0u8; 4];
        reader.read_exact(&mut magic).map_err(|_| fail())?;
        if &magic == MAGIC {
            let mut rest = magic.to_vec();
            reader
                .take((cap as u64).saturating_add(4096))
                .read_to_end(&mut rest)
                .map_err(|_| fail())?;
            return self.open(purpose, &rest);
        }
        if &magic != STREAM_MAGIC {
            return Err(fail());
        }
        let cipher = self.cipher(purpose);
        let mut plain = Vec::new();
        for index in 0u64.. {
            let mut head = [0u8; 1 + NONCE_LEN + 4];
            reader.read_exact(&mut head).map_err(|_| fail())?;
            let last = head[0] == 1;
            let nonce: [u8; NONCE_LEN] = head[1..1 + NONCE_LEN].try_into().map_err(|_| fail())?;
            let len =
                u32::from_be_bytes(head[1 + NONCE_LEN..].try_into().map_err(|_| fail())?) as usize;
            if len > CHUNK + 16 || plain.len() + len > cap.saturating_add(16) {
                return Err(VaultError::TooLarge { cap });
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).map_err(|_| fail())?;
            let aad = chunk_aad(purpose, index, last);
            let chunk = cipher
                .decrypt(
                    (&nonce).into(),
                    Payload {
                        msg: &body,
                        aad: &aad,
                    },
                )
                .map_err(|_| fail())?;
            plain.extend_from_slice(&chunk);
            if last {
                return Ok(plain);
            }
        }
        Err(fail())
    }

    fn cipher(&self, purpose: &str) -> XChaCha20Poly1305 {
        // The family of the purpose ("ssh-key", "backup", ...) picks the derived key;
        // the whole purpose is bound as associated data.
        let family = purpose.split(':').next().unwrap_or(purpose);
        XChaCha20Poly1305::new((&self.derive(family)).into())
    }

    /// A 32-byte key for `family`, derived from the master key (HKDF-SHA256): the audit
    /// chain's HMAC key is one.
    pub fn derive(&self, family: &str) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"clawops vault v1"), &self.master);
        let mut key = [0u8; 32];
        hk.expand(family.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

fn parse_key(text: &str) -> Result<[u8; 32], VaultError> {
    let bytes = hex::decode(text).map_err(|_| VaultError::BadMasterKey)?;
    bytes.try_into().map_err(|_| VaultError::BadMasterKey)
}

/// Writes a new file readable by its owner only, atomically (a temporary file, synced,
/// then linked into place), so a crash leaves either no file or the whole one; never
/// overwrites an existing file.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let written = (|| {
        let mut file = create_private(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        // A hard link fails when `path` exists: an existing file is never replaced.
        std::fs::hard_link(&temp, path)
    })();
    let _ = std::fs::remove_file(&temp);
    written?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new file with mode 0600 (fails when it exists).
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Whether `path` is readable by its owner only; the problem in words when not.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("unreadable ({e})"))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!("mode {mode:04o} (group or others may read it)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_purpose_and_key() {
        let vault = Vault::new([7; 32]);
        let sealed = vault.seal("ssh-key:alice", b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(vault.open("ssh-key:alice", &sealed).unwrap(), b"secret");
        assert!(vault.open("ssh-key:bob", &sealed).is_err());
        assert!(vault.open("backup:alice", &sealed).is_err());
        assert!(Vault::new([8; 32]).open("ssh-key:alice", &sealed).is_err());
        let mut bent = sealed.clone();
        *bent.last_mut().unwrap() ^= 1;
        assert!(vault.open("ssh-key:alice", &bent).is_err());
        assert_ne!(
            sealed,
            vault.seal("ssh-key:alice", b"secret"),
            "fresh nonce"
        );
    }

    #[test]
    fn key_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.key");
        let a = Vault::load(None, &path).unwrap();
        let b = Vault::load(None, &path).unwrap();
        let sealed = a.seal("t", b"x");
        assert_eq!(b.open("t", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            Vault::load(Some("abc".into()), &path),
            Err(VaultError::BadMasterKey)
        ));
    }
}
