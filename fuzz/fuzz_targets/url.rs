//! The URL parser on any path: never panics, and whatever it accepts names a storage key that
//! stays below the root and has exactly one spelling (the canonical encoding of its id).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tofu_core::storage::key_segments;
use tofu_core::url::{encode_id, parse, request_target_path};

fuzz_target!(|target: &str| {
    let path = request_target_path(target);
    let Ok(request) = parse(path.strip_prefix('/').unwrap_or(path), 4096) else {
        return;
    };
    assert_eq!(
        encode_id(&request.id),
        request.raw_id,
        "one spelling per id"
    );
    assert!(
        key_segments(&request.id).is_ok(),
        "an accepted id can be a storage key: {:?}",
        request.id
    );
    assert!(!request.id.contains('\0'));
    assert!(request
        .signature
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(request.signed_string().starts_with(&request.raw_id));
});
