//! `TofuAutoFormat`: which output format a URL without an extension gets, and may this client
//! get WebP?
//!
//! Reading of RFC 9110 §12.5.1: a media range's `q` is its preference, `q=0` means "not
//! acceptable", and the most specific range that matches decides. We serve WebP only when the
//! client names `image/webp` explicitly with q > 0. Wildcards (`image/*`, `*/*`) match WebP
//! formally, but browsers that could not decode WebP (Safari before 14, old Edge, IE) sent exactly
//! those, so treating them as WebP support would break images for real users; every browser that
//! decodes WebP lists `image/webp` in its image Accept header.

use crate::ops::OutputFormat;

/// What the output format of a response was decided by: part of the ETag, because the same URL
/// may give different bytes under `TofuAutoFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// The URL's extension.
    Explicit(OutputFormat),
    /// No extension: the source's format.
    Source,
    /// No extension, and content negotiation picked this format.
    Negotiated(OutputFormat),
}

impl FormatChoice {
    /// The format to ask the transform for (`None` = the source's).
    pub fn requested(self) -> Option<OutputFormat> {
        match self {
            FormatChoice::Explicit(f) | FormatChoice::Negotiated(f) => Some(f),
            FormatChoice::Source => None,
        }
    }

    /// How the choice enters the ETag (`crate::conditional::etag`).
    pub fn etag_token(self) -> String {
        match self {
            FormatChoice::Explicit(f) => f.extension().to_string(),
            FormatChoice::Source => "source".to_string(),
            FormatChoice::Negotiated(f) => format!("negotiated-{}", f.extension()),
        }
    }
}

/// True when `accept` (the request's Accept header, if any) explicitly accepts `image/webp`.
pub fn accepts_webp(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("image/webp") {
            return false;
        }
        let q = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())
                    .flatten()
            })
            .next()
            .unwrap_or(1.0);
        q > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_that_decode_webp_get_it() {
        // Chrome / Firefox / Safari 16 image requests.
        assert!(accepts_webp(Some(
            "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
        )));
        assert!(accepts_webp(Some("image/webp,*/*")));
        assert!(accepts_webp(Some("IMAGE/WEBP ; q=0.5")));
    }

    #[test]
    fn wildcards_and_refusals_do_not() {
        assert!(!accepts_webp(None));
        assert!(!accepts_webp(Some("")));
        assert!(!accepts_webp(Some("*/*")));
        assert!(!accepts_webp(Some(
            "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
        )));
        assert!(!accepts_webp(Some("image/webp;q=0,*/*")));
        assert!(!accepts_webp(Some("image/webp;q=0.000")));
        assert!(!accepts_webp(Some("image/webpx")));
    }
}
