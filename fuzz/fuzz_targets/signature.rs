//! The signature check: never panics on any key, path or signature; accepts what the key signed;
//! and a path it accepts carries exactly the signature the key gives its signed string (no
//! second spelling of a signature passes, whatever is repeated or re-encoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tofu_core::signature::{sign, Keys};
use tofu_core::url::parse;

fuzz_target!(|input: (Vec<u8>, u8, &str)| {
    let (key, bytes, path) = input;
    if key.is_empty() {
        return;
    }
    let bytes = usize::from(bytes % 40);
    let keys = Keys::new(vec![key.clone()]);
    if (8..=32).contains(&bytes) {
        let signature = sign(&key, path, bytes);
        assert!(keys.verify(path, &signature, bytes));
        assert!(!keys.verify(&format!("{path}x"), &signature, bytes));
    }
    // A whole URL path, signature included, as the handler checks it.
    if let Ok(request) = parse(path, 4096) {
        let signed = request.signed_string();
        if keys.verify(&signed, &request.signature, bytes) {
            assert_eq!(request.signature, sign(&key, &signed, bytes));
        }
    }
    // Any string as a signature.
    keys.verify(path, path, bytes);
});
