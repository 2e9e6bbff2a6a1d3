//! Binance request signing: HMAC-SHA256 of the exact parameter string, hex.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// An exchange API key and its secret. Both stay in [`SecretString`]s (zeroized on
/// drop); `Debug` shows only the masked key.
#[derive(Clone)]
pub struct ApiKey {
    key: SecretString,
    secret: SecretString,
}

impl ApiKey {
    pub fn new(key: SecretString, secret: SecretString) -> Self {
        Self { key, secret }
    }

    /// The key as sent in `X-MBX-APIKEY`.
    pub(crate) fn key(&self) -> &SecretString {
        &self.key
    }

    pub(crate) fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The key as people may see it: `abcd…wxyz` (its first and last four characters),
    /// or `…` when it is too short to show any of it safely.
    pub fn masked(&self) -> String {
        mask(self.key.expose_secret())
    }
}

/// `abcd…wxyz` for a key of at least 16 characters, `…` otherwise.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "…".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &self.masked())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The lowercase hex HMAC-SHA256 of `payload` under `secret`: Binance's `signature`
/// for a query string (or the query string followed by the body).
pub fn sign(secret: &SecretString, payload: &str) -> String {
    // HMAC takes a key of any length: `new_from_slice` does not fail for it. Were it
    // to, an empty signature is simply refused by the exchange (-1022).
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    /// Binance's own documented example (SIGNED endpoint security).
    #[test]
    fn signs_binance_documented_example() {
        let secret = SecretString::from(
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_string(),
        );
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            sign(&secret, query),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn debug_and_mask_never_show_the_secret() {
        let k = ApiKey::new(
            SecretString::from(
                "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A".to_string(),
            ),
            SecretString::from(
                "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_string(),
            ),
        );
        let shown = format!("{k:?} {}", k.masked());
        assert!(
            !shown.contains("NhqPtmd") && !shown.contains("vmPUZE6mv9SD"),
            "{shown}"
        );
        assert_eq!(k.masked(), "vmPU…Eh8A");
        assert_eq!(mask("short"), "…");
        assert_eq!(mask("ąęśćżźńółĄĘŚĆŻŹŃ"), "ąęść…ĆŻŹŃ");
    }
}
