//! Which decoder an original goes to, decided from its first bytes only.
//!
//! The key's extension and the storage's Content-Type are never trusted: an `.jpg` that is really
//! HTML or SVG must be refused (422), and a PNG stored as `photo.jpg` must still be decoded.

/// The source formats mod_tofu decodes. Anything else is refused before any decoder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl SourceFormat {
    /// The format's common name, for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
            SourceFormat::Gif => "GIF",
            SourceFormat::WebP => "WebP",
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Detects the format from magic bytes: JPEG `FF D8 FF`, the 8-byte PNG signature, `GIF87a` /
/// `GIF89a`, and `RIFF....WEBP`. `None` for anything else (HTML, SVG, TIFF, empty input, …).
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(SourceFormat::Jpeg)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Some(SourceFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(SourceFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(SourceFormat::WebP)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_four_formats_by_their_magic() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"),
            Some(SourceFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(SourceFormat::Png)
        );
        assert_eq!(sniff(b"GIF87a\x01\x00"), Some(SourceFormat::Gif));
        assert_eq!(sniff(b"GIF89a\x01\x00"), Some(SourceFormat::Gif));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(SourceFormat::WebP));
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"<!DOCTYPE html><html>"), None);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg"), None);
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"), None);
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), None); // TIFF
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        assert_eq!(sniff(b"GIF88a"), None);
    }
}
