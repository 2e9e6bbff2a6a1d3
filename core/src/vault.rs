//! The vault: seals secrets (exchange API keys) before they reach the database.
//!
//! XChaCha20-Poly1305 with a fresh random 24-byte nonce per seal. The associated data
//! binds a ciphertext to where it belongs (account id, exchange, key label, field, vault
//! key version): a sealed value copied to another account, another key row or another
//! field does not open.
//!
//! Keys: `CHAINSIGNAL_VAULT_KEY` (version 1), `CHAINSIGNAL_VAULT_KEY_2`, `_3`, … (base64
//! of 32 random bytes each), or the file of `vault.key_file` (one base64 key per line,
//! line N is version N). The newest version seals; every configured version opens.
//! Key material lives in [`SecretBox`]es, zeroized on drop; no error or `Debug` output
//! ever shows it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::collections::BTreeMap;
use std::path::Path;
use zeroize::Zeroizing;

/// Length of a vault key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a nonce in bytes.
pub const NONCE_LEN: usize = 24;
/// The environment variable of version 1; version N is `CHAINSIGNAL_VAULT_KEY_N`.
pub const KEY_ENV: &str = "CHAINSIGNAL_VAULT_KEY";
/// Highest version looked for in the environment.
const MAX_VERSION: u32 = 64;

/// Why the vault could not be set up, or a value not be sealed or opened. No variant
/// carries key material or a plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("{source_name} is not valid base64; generate a key with `head -c32 /dev/urandom | base64`")]
    NotBase64 { source_name: String },
    #[error(
        "{source_name} decodes to {got} bytes, a vault key must be {KEY_LEN}; generate one with `head -c32 /dev/urandom | base64`"
    )]
    WrongLength { source_name: String, got: usize },
    #[error("cannot read the vault key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("the vault key file {0} holds no key")]
    EmptyFile(String),
    /// Key file lines are all `N:base64` or all bare; a version appears once.
    #[error(
        "the vault key file {0} mixes numbered (N:key) and bare lines, or repeats a version; number every line, e.g. 1:… and 2:…"
    )]
    FileVersions(String),
    #[error(
        "vault keys come from CHAINSIGNAL_VAULT_KEY* and from vault.key_file at once; configure one of them"
    )]
    TwoSources,
    #[error("vault key version {0} is not configured")]
    UnknownVersion(u32),
    #[error("a sealed value is malformed (bad base64 or nonce length)")]
    Malformed,
    #[error("a sealed value does not open: wrong key, wrong owner, or tampered with")]
    DoesNotOpen,
    #[error("the operating system gave no randomness for a nonce")]
    NoRandomness,
}

/// Where a sealed value belongs: authenticated with it, stored beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The account (`users.id`).
    pub account_id: i64,
    pub exchange: &'a str,
    /// The key row's label (unique per account).
    pub label: &'a str,
    /// Which value of the row (`api_key`, `secret`).
    pub field: &'a str,
}

impl Binding<'_> {
    /// Length-prefixed fields, so that no two bindings encode alike.
    fn aad(&self, version: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"chainsignal-vault-v1");
        out.extend_from_slice(&self.account_id.to_be_bytes());
        for part in [self.exchange, self.label, self.field] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&version.to_be_bytes());
        out
    }
}

/// A sealed value: the key version, the nonce and the ciphertext (with its tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub version: u32,
    pub nonce: [u8; NONCE_LEN],
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("version", &self.version)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl Sealed {
    /// The nonce and the ciphertext as base64 text, as stored.
    pub fn to_text(&self) -> (String, String) {
        (B64.encode(self.nonce), B64.encode(&self.ciphertext))
    }

    /// From the stored text form.
    pub fn from_text(version: u32, nonce: &str, ciphertext: &str) -> Result<Self, VaultError> {
        let nonce = B64.decode(nonce).map_err(|_| VaultError::Malformed)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Malformed)?;
        let ciphertext = B64.decode(ciphertext).map_err(|_| VaultError::Malformed)?;
        Ok(Self {
            version,
            nonce,
            ciphertext,
        })
    }
}

/// The configured vault keys, by version.
pub struct Vault {
    keys: BTreeMap<u32, SecretBox<[u8; KEY_LEN]>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One key from its base64 text; `source_name` names where it came from in errors.
fn decode_key(text: &str, source_name: &str) -> Result<SecretBox<[u8; KEY_LEN]>, VaultError> {
    let bytes = Zeroizing::new(B64.decode(text.trim()).map_err(|_| VaultError::NotBase64 {
        source_name: source_name.to_string(),
    })?);
    if bytes.len() != KEY_LEN {
        return Err(VaultError::WrongLength {
            source_name: source_name.to_string(),
            got: bytes.len(),
        });
    }
    let mut key = Box::new([0u8; KEY_LEN]);
    key.copy_from_slice(&bytes);
    Ok(SecretBox::new(key))
}

impl Vault {
    /// A vault of these base64 keys (versions 1, 2, …); `None` when there are none.
    pub fn from_keys(keys: &[(u32, SecretString)]) -> Result<Option<Self>, VaultError> {
        let mut out = BTreeMap::new();
        for (version, text) in keys {
            let name = if *version == 1 {
                KEY_ENV.to_string()
            } else {
                format!("{KEY_ENV}_{version}")
            };
            out.insert(*version, decode_key(text.expose_secret(), &name)?);
        }
        Ok((!out.is_empty()).then_some(Self { keys: out }))
    }

    /// The keys from the environment (through `get`) or from `key_file`; `None` when
    /// neither configures one (the vault is off).
    pub fn load(
        get: impl Fn(&str) -> Option<String>,
        key_file: Option<&Path>,
    ) -> Result<Option<Self>, VaultError> {
        Self::configured(&env_keys(get), key_file)
    }

    /// The vault of keys read from the environment ([`env_keys`]) or of `key_file`.
    pub fn configured(
        from_env: &[(u32, SecretString)],
        key_file: Option<&Path>,
    ) -> Result<Option<Self>, VaultError> {
        match key_file {
            Some(_) if !from_env.is_empty() => Err(VaultError::TwoSources),
            Some(path) => Self::from_file(path).map(Some),
            None => Self::from_keys(from_env),
        }
    }

    /// Each line is `N:base64` (version N), or, for files without numbers, version N is
    /// the Nth bare line (blank lines and `#` comments are skipped). Numbered lines are the
    /// safe form: removing a retired key does not renumber the others (which would make
    /// every row sealed under them fail to open).
    fn from_file(path: &Path) -> Result<Self, VaultError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| VaultError::File {
            path: shown.clone(),
            reason: e.kind().to_string(),
        })?;
        let text = Zeroizing::new(text);
        let mut keys = BTreeMap::new();
        let (mut numbered, mut lines) = (0usize, 0usize);
        for (i, line) in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let (version, key) = match line.split_once(':') {
                Some((n, key)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    let version = n
                        .parse::<u32>()
                        .ok()
                        .filter(|v| *v > 0)
                        .ok_or_else(|| VaultError::FileVersions(shown.clone()))?;
                    numbered += 1;
                    (version, key.trim())
                }
                _ => (i as u32 + 1, line),
            };
            let name = format!("key version {version} of {shown}");
            if keys.insert(version, decode_key(key, &name)?).is_some() {
                return Err(VaultError::FileVersions(shown));
            }
            lines += 1;
        }
        if numbered != 0 && numbered != lines {
            return Err(VaultError::FileVersions(shown));
        }
        if keys.is_empty() {
            return Err(VaultError::EmptyFile(shown));
        }
        Ok(Self { keys })
    }

    /// The version that seals.
    pub fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(1)
    }

    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    fn cipher(&self, version: u32) -> Result<XChaCha20Poly1305, VaultError> {
        let key = self
            .keys
            .get(&version)
            .ok_or(VaultError::UnknownVersion(version))?;
        XChaCha20Poly1305::new_from_slice(key.expose_secret())
            .map_err(|_| VaultError::UnknownVersion(version))
    }

    /// Seal `secret` for `binding` with the newest key and a fresh nonce.
    pub fn seal(&self, binding: &Binding<'_>, secret: &SecretString) -> Result<Sealed, VaultError> {
        self.seal_with(self.current_version(), binding, secret)
    }

    /// Seal with a given version (rotation re-seals under a chosen one).
    pub fn seal_with(
        &self,
        version: u32,
        binding: &Binding<'_>,
        secret: &SecretString,
    ) -> Result<Sealed, VaultError> {
        let cipher = self.cipher(version)?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = binding.aad(version);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::NoRandomness)?;
        let mut fixed = [0u8; NONCE_LEN];
        fixed.copy_from_slice(&nonce);
        Ok(Sealed {
            version,
            nonce: fixed,
            ciphertext,
        })
    }

    /// Open a sealed value for `binding`; fails when it belongs elsewhere or was changed.
    pub fn open(&self, binding: &Binding<'_>, sealed: &Sealed) -> Result<SecretString, VaultError> {
        let cipher = self.cipher(sealed.version)?;
        let aad = binding.aad(sealed.version);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| VaultError::DoesNotOpen)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| VaultError::DoesNotOpen)?;
        Ok(SecretString::from(text.to_string()))
    }
}

impl Vault {
    /// Open the API key and the secret of a stored key row, for the row's account.
    /// A row changed in the database, or moved to another account, does not open.
    pub fn open_row(
        &self,
        row: &crate::store::ExchangeKeyRecord,
    ) -> Result<(SecretString, SecretString), VaultError> {
        let version = u32::try_from(row.key_version).map_err(|_| VaultError::Malformed)?;
        let open = |field: &str, nonce: &str, sealed: &str| {
            let binding = Binding {
                account_id: row.user_id,
                exchange: &row.exchange,
                label: &row.label,
                field,
            };
            self.open(&binding, &Sealed::from_text(version, nonce, sealed)?)
        };
        Ok((
            open("api_key", &row.api_key_nonce, &row.api_key_sealed)?,
            open("secret", &row.secret_nonce, &row.secret_sealed)?,
        ))
    }

    /// Both values of a row opened and sealed again with version `to` (fresh nonces).
    pub fn reseal_row(
        &self,
        row: &crate::store::ExchangeKeyRecord,
        to: u32,
    ) -> Result<crate::store::Resealed, VaultError> {
        let (api_key, secret) = self.open_row(row)?;
        let seal = |field: &str, value: &SecretString| {
            let binding = Binding {
                account_id: row.user_id,
                exchange: &row.exchange,
                label: &row.label,
                field,
            };
            self.seal_with(to, &binding, value).map(|s| s.to_text())
        };
        let (api_key_nonce, api_key_sealed) = seal("api_key", &api_key)?;
        let (secret_nonce, secret_sealed) = seal("secret", &secret)?;
        Ok(crate::store::Resealed {
            api_key_sealed,
            api_key_nonce,
            secret_sealed,
            secret_nonce,
            key_version: i32::try_from(to).map_err(|_| VaultError::UnknownVersion(to))?,
        })
    }
}

/// `CHAINSIGNAL_VAULT_KEY` as version 1, then `_2`, `_3`, … (gaps allowed), blank ones
/// ignored.
pub fn env_keys(get: impl Fn(&str) -> Option<String>) -> Vec<(u32, SecretString)> {
    let mut out = Vec::new();
    let value = |name: &str| get(name).filter(|v| !v.trim().is_empty()).map(SecretString::from);
    if let Some(v) = value(KEY_ENV) {
        out.push((1, v));
    }
    for version in 2..=MAX_VERSION {
        if let Some(v) = value(&format!("{KEY_ENV}_{version}")) {
            out.push((version, v));
        }
    }
    out
}

/// A new random key as base64 (what `head -c32 /dev/urandom | base64` prints).
pub fn generate_key() -> Result<SecretString, VaultError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    getrandom_fill(bytes.as_mut())?;
    Ok(SecretString::from(B64.encode(bytes.as_ref())))
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), VaultError> {
    use chacha20poly1305::aead::rand_core::RngCore;
    OsRng.try_fill_bytes(buf).map_err(|_| VaultError::NoRandomness)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn vault(keys: &[(u32, &str)]) -> Vault {
        let keys: Vec<_> = keys
            .iter()
            .map(|(v, k)| (*v, SecretString::from(k.to_string())))
            .collect();
        Vault::from_keys(&keys).unwrap().unwrap()
    }

    fn binding(account_id: i64) -> Binding<'static> {
        Binding {
            account_id,
            exchange: "binance-testnet",
            label: "main",
            field: "secret",
        }
    }

    fn secret() -> SecretString {
        SecretString::from("s3cr3t-value-XYZ".to_string())
    }

    #[test]
    fn seal_then_open_with_a_fresh_nonce_each_time() {
        let v = vault(&[(1, K1)]);
        let a = v.seal(&binding(7), &secret()).unwrap();
        let b = v.seal(&binding(7), &secret()).unwrap();
        assert_ne!(a.nonce, b.nonce, "a fresh nonce per seal");
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(!a.ciphertext.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(
            v.open(&binding(7), &a).unwrap().expose_secret(),
            "s3cr3t-value-XYZ"
        );
        let (n, c) = a.to_text();
        let again = Sealed::from_text(a.version, &n, &c).unwrap();
        assert_eq!(
            v.open(&binding(7), &again).unwrap().expose_secret(),
            "s3cr3t-value-XYZ"
        );
    }

    #[test]
    fn tampering_does_not_open() {
        let v = vault(&[(1, K1)]);
        let sealed = v.seal(&binding(7), &secret()).unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= 1;
            assert_eq!(v.open(&binding(7), &bad).unwrap_err(), VaultError::DoesNotOpen);
        }
        let mut bad = sealed.clone();
        bad.nonce[0] ^= 1;
        assert_eq!(v.open(&binding(7), &bad).unwrap_err(), VaultError::DoesNotOpen);
    }

    #[test]
    fn another_account_label_exchange_or_field_does_not_open() {
        let v = vault(&[(1, K1)]);
        let sealed = v.seal(&binding(7), &secret()).unwrap();
        assert_eq!(v.open(&binding(8), &sealed).unwrap_err(), VaultError::DoesNotOpen);
        for other in [
            Binding {
                label: "other",
                ..binding(7)
            },
            Binding {
                exchange: "binance",
                ..binding(7)
            },
            Binding {
                field: "api_key",
                ..binding(7)
            },
        ] {
            assert_eq!(v.open(&other, &sealed).unwrap_err(), VaultError::DoesNotOpen);
        }
    }

    #[test]
    fn versions_newest_seals_all_open_wrong_version_fails() {
        let old = vault(&[(1, K1)]);
        let both = vault(&[(1, K1), (2, K2)]);
        assert_eq!(both.current_version(), 2);
        let by_old = old.seal(&binding(1), &secret()).unwrap();
        let by_new = both.seal(&binding(1), &secret()).unwrap();
        assert_eq!(by_new.version, 2);
        assert!(
            both.open(&binding(1), &by_old).is_ok(),
            "older versions still open"
        );
        assert_eq!(
            old.open(&binding(1), &by_new).unwrap_err(),
            VaultError::UnknownVersion(2)
        );
        // The version is authenticated: relabelling a v2 value as v1 does not open.
        let relabelled = Sealed {
            version: 1,
            ..by_new.clone()
        };
        assert_eq!(
            both.open(&binding(1), &relabelled).unwrap_err(),
            VaultError::DoesNotOpen
        );
    }

    #[test]
    fn keys_from_env_and_file_and_bad_material_never_shown() {
        let env = |k: &str| match k {
            "CHAINSIGNAL_VAULT_KEY" => Some(K1.to_string()),
            "CHAINSIGNAL_VAULT_KEY_3" => Some(K2.to_string()),
            _ => None,
        };
        let v = Vault::load(env, None).unwrap().unwrap();
        assert_eq!(v.versions(), vec![1, 3]);
        assert!(!format!("{v:?}").contains(K1));
        assert!(
            Vault::load(|_| None, None).unwrap().is_none(),
            "no key: the vault is off"
        );

        let bad = "not base64 at all!!";
        let e = Vault::load(|k| (k == KEY_ENV).then(|| bad.to_string()), None).unwrap_err();
        assert!(matches!(e, VaultError::NotBase64 { .. }));
        assert!(!e.to_string().contains(bad), "{e}");
        let short = "c2hvcnQ=";
        let e = Vault::load(|k| (k == KEY_ENV).then(|| short.to_string()), None).unwrap_err();
        assert!(e.to_string().contains("decodes to 5 bytes"), "{e}");
        assert!(!e.to_string().contains(short), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.keys");
        std::fs::write(&path, format!("# vault keys\n{K1}\n\n{K2}\n")).unwrap();
        let v = Vault::load(|_| None, Some(&path)).unwrap().unwrap();
        assert_eq!(v.versions(), vec![1, 2]);
        assert_eq!(Vault::load(env, Some(&path)).unwrap_err(), VaultError::TwoSources);
        std::fs::write(&path, "garbage\n").unwrap();
        let e = Vault::load(|_| None, Some(&path)).unwrap_err();
        assert!(e.to_string().contains("key version 1 of"), "{e}");
        assert!(!e.to_string().contains("garbage"), "{e}");

        // Numbered lines: a retired key removed does not renumber the others.
        std::fs::write(&path, format!("# 1 retired\n2:{K1}\n3: {K2}\n")).unwrap();
        let v = Vault::load(|_| None, Some(&path)).unwrap().unwrap();
        assert_eq!(v.versions(), vec![2, 3]);
        assert_eq!(v.current_version(), 3);
        for bad in [
            format!("1:{K1}\n{K2}\n"),
            format!("2:{K1}\n2:{K2}\n"),
            format!("0:{K1}\n"),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let e = Vault::load(|_| None, Some(&path)).unwrap_err();
            assert!(matches!(e, VaultError::FileVersions(_)), "{bad}: {e}");
            assert!(!e.to_string().contains(K1) && !e.to_string().contains(K2), "{e}");
        }
    }

    #[test]
    fn generated_keys_load() {
        let k = generate_key().unwrap();
        let v = Vault::from_keys(&[(1, k)]).unwrap().unwrap();
        let sealed = v.seal(&binding(1), &secret()).unwrap();
        assert!(v.open(&binding(1), &sealed).is_ok());
    }
}
