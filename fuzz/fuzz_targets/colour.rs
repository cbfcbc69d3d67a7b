//! Any bytes as the embedded ICC profile of an RGB, a grey and a CMYK image (Little CMS parses
//! and links them; transform/colour.rs): never a panic or a crash, whatever the profile; a
//! profile that cannot be used is a note, and the pixels stay as they were. The transform target
//! reaches profiles too, but only inside a JPEG, PNG or WebP; this one spends every run on them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for note in tofu_core::transform::exercise_colour_profile(data) {
        assert!(note.contains("ignored"), "{note}");
    }
});
