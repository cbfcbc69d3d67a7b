//! tofu-jpeg's scaled decode on any bytes: never panics, and when it decodes, the pixels are
//! exactly the window asked for. The first byte chooses the scale and the window (whole image,
//! or a window at a third of each side); the rest is the JPEG. Limits as tofu-core's fuzzing
//! of the transform (4 Mpx) so that each run is short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tofu_jpeg::{decode, info, scaled_size, Limits, Window};

const LIMITS: Limits = Limits {
    max_pixels: 4_000_000,
    max_scans: 64,
};

fuzz_target!(|data: &[u8]| {
    let [choice, source @ ..] = data else {
        return;
    };
    let denom = [2, 4, 8][usize::from(choice % 3)];
    let Ok(i) = info(source) else {
        return;
    };
    let (w, h) = scaled_size(i.width, i.height, denom);
    let window = if choice & 0x80 != 0 && w >= 3 && h >= 3 {
        Window { x: w / 3, y: h / 3, width: w / 3, height: h / 3 }
    } else {
        Window { x: 0, y: 0, width: w, height: h }
    };
    let mut checks = 0u32;
    if let Ok(img) = decode(source, denom, window, LIMITS, &mut || {
        checks += 1;
        true
    }) {
        assert_eq!((img.width, img.height), (window.width, window.height));
        assert_eq!(img.data.len(), window.width as usize * window.height as usize * usize::from(img.channels));
        assert!(checks > 0);
    }
});
