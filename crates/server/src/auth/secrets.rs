//! Random ids, tokens and API keys, and their SHA-256 hashes (what the store keeps).

use rand::RngCore as _;
use sha2::Digest as _;
use sha2::Sha256;

use crate::config::encode_hex;

/// The prefix of every API key, so a key is recognised without a lookup.
pub(crate) const API_KEY_PREFIX: &str = "aw_";
/// How many characters of a key (prefix included) are kept to recognise it in lists.
const SHOWN_CHARS: usize = 11;

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    encode_hex(&buffer)
}

/// A random id such as `usr_3f2a…` (16 random bytes).
pub(crate) fn new_id(kind: &str) -> String {
    format!("{kind}_{}", random_hex(16))
}

/// A fresh refresh token (32 random bytes).
pub(crate) fn new_refresh_token() -> String {
    random_hex(32)
}

/// A fresh API key: `aw_` and 32 random bytes in hex.
pub(crate) fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_hex(32))
}

/// The part of a key shown in lists.
pub(crate) fn shown_prefix(api_key: &str) -> String {
    api_key.chars().take(SHOWN_CHARS).collect()
}

/// SHA-256 of a secret, in hex: how keys and refresh tokens are stored and looked up. A
/// plain hash suffices: these secrets are 256 random bits, not guessable passwords.
pub(crate) fn sha256_hex(secret: &str) -> String {
    encode_hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ids_and_hashes_have_their_shapes() {
        let key = new_api_key();
        assert!(key.starts_with("aw_") && key.len() == 67, "{key}");
        assert_eq!(shown_prefix(&key), key[..11]);
        assert_ne!(new_api_key(), key);
        assert!(new_id("key").starts_with("key_"));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
