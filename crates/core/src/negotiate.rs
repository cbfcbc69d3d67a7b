//! `TofuAutoFormat`: which output format a URL without an extension gets, and may this client
//! get AVIF or WebP?
//!
//! Reading of RFC 9110 §12.5.1: a media range's `q` is its preference, `q=0` means "not
//! acceptable", and the most specific range that matches decides. We serve a modern format only
//! when the client names it explicitly (`image/avif`, `image/webp`) with q > 0. Wildcards
//! (`image/*`, `*/*`) match formally, but browsers that could not decode WebP (Safari before 14,
//! old Edge, IE) or AVIF (Chrome before 85, Safari before 16, Edge before 121) sent exactly those,
//! so treating them as support would break images for real users; every browser that decodes
//! one of them lists it in its image Accept header.
//!
//! Among the formats the client accepts, the operator's order (`TofuAutoFormat avif webp`)
//! decides, not the client's q-values: browsers send `image/avif,image/webp` without q, and the
//! operator knows what each format costs.

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

/// The first of `offered` (the operator's order of preference) that `accept` (the request's
/// Accept header, if any) names explicitly with q > 0; `None`: the source's format.
pub fn choose(offered: &[OutputFormat], accept: Option<&str>) -> Option<OutputFormat> {
    let accept = accept?;
    offered.iter().copied().find(|f| accepts(accept, *f))
}

/// True when the Accept header names `format`'s media type explicitly with q > 0.
fn accepts(accept: &str, format: OutputFormat) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(format.mime_type()) {
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
    use OutputFormat::{Avif, WebP};

    fn accepts_webp(accept: Option<&str>) -> bool {
        choose(&[WebP], accept) == Some(WebP)
    }

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

    #[test]
    fn the_operators_order_decides_among_what_the_client_accepts() {
        let chrome = Some("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8");
        assert_eq!(choose(&[Avif, WebP], chrome), Some(Avif));
        assert_eq!(choose(&[WebP, Avif], chrome), Some(WebP));
        assert_eq!(choose(&[WebP], chrome), Some(WebP));
        assert_eq!(choose(&[Avif], chrome), Some(Avif));
        assert_eq!(choose(&[], chrome), None);
        // Safari 15: WebP, no AVIF.
        let safari15 =
            Some("image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5");
        assert_eq!(choose(&[Avif, WebP], safari15), Some(WebP));
        assert_eq!(choose(&[Avif], safari15), None);
        // q-values: q=0 refuses; any q > 0 accepts, whatever the client's own order.
        assert_eq!(
            choose(&[Avif, WebP], Some("image/avif;q=0,image/webp")),
            Some(WebP)
        );
        assert_eq!(
            choose(&[Avif, WebP], Some("image/avif;q=0.1,image/webp")),
            Some(Avif)
        );
        assert_eq!(
            choose(&[Avif, WebP], Some("image/avif;q=0.0,image/webp;q=0")),
            None
        );
        assert_eq!(
            choose(&[Avif, WebP], Some("Image/AVIF ; Q=0.9")),
            Some(Avif)
        );
        // Wildcards never imply a modern format.
        for accept in ["*/*", "image/*", "image/*;q=1,*/*;q=0.5", "image/avifx", ""] {
            assert_eq!(choose(&[Avif, WebP], Some(accept)), None, "{accept}");
        }
        assert_eq!(choose(&[Avif, WebP], None), None);
    }
}
