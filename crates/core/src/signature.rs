//! URL signatures: the lowercase hex of the first N bytes of HMAC-SHA256(key, signed string).
//!
//! Several keys may be configured so that keys can be rotated without a flag day: the first one
//! signs, every one verifies. Verification is constant-time per key (`verify_truncated_left`) and
//! always tries every key, so timing tells nothing about which key or how many bytes matched.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Smallest and largest `TofuSignatureBytes`.
pub const MIN_SIGNATURE_BYTES: usize = 8;
pub const MAX_SIGNATURE_BYTES: usize = 32;
/// `TofuSignatureBytes` when unset.
pub const DEFAULT_SIGNATURE_BYTES: usize = 16;

/// The configured HMAC keys, in order: the first signs, all verify.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, not even into a debug log.
        write!(f, "Keys({} keys)", self.keys.len())
    }
}

impl Keys {
    /// Keys in configuration order. Empty keys are refused by the directive parser.
    pub fn new(keys: Vec<Vec<u8>>) -> Self {
        Keys { keys }
    }

    /// How many keys verify.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys in order, for building a longer list (repeated directives accumulate).
    pub fn iter_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(Vec::as_slice)
    }

    /// True when no key is configured (a location that cannot verify anything).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The signature the first key gives `signed`, as it appears in a URL.
    pub fn sign(&self, signed: &str, bytes: usize) -> Option<String> {
        self.keys.first().map(|key| sign(key, signed, bytes))
    }

    /// True when `signature_hex` is the signature of `signed` under any key. Malformed hex or a
    /// wrong length never matches.
    pub fn verify(&self, signed: &str, signature_hex: &str, bytes: usize) -> bool {
        let Ok(tag) = hex::decode(signature_hex) else {
            return false;
        };
        if tag.len() != bytes || !(MIN_SIGNATURE_BYTES..=MAX_SIGNATURE_BYTES).contains(&bytes) {
            return false;
        }
        // Fold over all keys without short-circuiting.
        self.keys.iter().fold(false, |matched, key| {
            let mut mac = mac(key);
            mac.update(signed.as_bytes());
            mac.verify_truncated_left(&tag).is_ok() | matched
        })
    }
}

/// HMAC-SHA256 of `signed` under `key`, truncated to `bytes` bytes, lowercase hex.
pub fn sign(key: &[u8], signed: &str, bytes: usize) -> String {
    let mut mac = mac(key);
    mac.update(signed.as_bytes());
    let full = mac.finalize().into_bytes();
    hex::encode(&full[..bytes.min(full.len())])
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's test vectors (a signing app in another language must reproduce these) and
    /// RFC 4231 test case 2 (key "Jefe"), whole and truncated.
    #[test]
    fn known_answers() {
        let jefe = "what do ya want for nothing?";
        for (key, text, bytes, expected) in [
            (
                &b"secret"[..],
                "123/280x210c-q80.jpg",
                16,
                "e6b085c4b76e6933a83ab70a2f729207",
            ),
            (
                b"secret",
                "recipes/123/280x",
                16,
                "5a02212ae24faaf069b6c10ef6643fcb",
            ),
            (
                b"secret",
                "basn%23weird/caf%C3%A9/100x100-q90.webp",
                16,
                "e06578bae4705f836ef25af113f74e48",
            ),
            (
                b"secret",
                "123/280x210c-q80-e1767225600.jpg",
                16,
                "4c265aab112d96f6ac3c3c3e6632a4c7",
            ),
            (
                b"secret",
                "logo/400x-b1a2b3c.jpg",
                16,
                "668d8d2ee9e29565ce3fb15defe04d04",
            ),
            (
                b"secret",
                "123/280x210c-q80.avif",
                16,
                "8caab5963eb755a96ead7e4a5b98a0ef",
            ),
            (
                b"rotate-me-2026",
                "123/800x600-r100,50,1600,1200",
                8,
                "faefde247f10b691",
            ),
            (
                b"Jefe",
                jefe,
                32,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (b"Jefe", jefe, 16, "5bdcc146bf60754e6a042426089575c7"),
        ] {
            assert_eq!(sign(key, text, bytes), expected, "{text}");
        }
    }

    #[test]
    fn every_key_verifies_the_first_signs() {
        let keys = Keys::new(vec![b"new".to_vec(), b"old".to_vec()]);
        let by_old = sign(b"old", "a/100x", 16);
        let by_new = keys.sign("a/100x", 16).unwrap();
        assert_eq!(by_new, sign(b"new", "a/100x", 16));
        assert!(keys.verify("a/100x", &by_old, 16));
        assert!(keys.verify("a/100x", &by_new, 16));
        assert!(!keys.verify("a/101x", &by_new, 16));
        assert!(!Keys::new(vec![b"other".to_vec()]).verify("a/100x", &by_new, 16));
    }

    #[test]
    fn wrong_lengths_and_garbage_never_verify() {
        let keys = Keys::new(vec![b"k".to_vec()]);
        let good = keys.sign("x/1x", 16).unwrap();
        assert!(keys.verify("x/1x", &good, 16));
        assert!(!keys.verify("x/1x", &good[..30], 16), "truncated");
        assert!(!keys.verify("x/1x", &format!("{good}00"), 16), "extended");
        assert!(!keys.verify("x/1x", "", 16));
        assert!(!keys.verify("x/1x", "zz", 16));
        assert!(
            !keys.verify("x/1x", &good[..8], 4),
            "below the minimum length"
        );
        assert!(!Keys::new(vec![]).verify("x/1x", &good, 16));
    }
}
