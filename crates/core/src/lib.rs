//! tofu-core: everything mod_tofu does to answer a signed image URL, in safe Rust that knows
//! nothing of Apache (DESIGN.md, "Layers").
//!
//! `url` and `signature` read the request, `config` holds the directives' values and the startup
//! check, `handler` runs one request through `storage` (where originals live),
//! `transform` (decode, resize, encode), `conditional` (ETag, 304s) and `expiry` (the `e`
//! option), with `admission` and `coalesce` bounding the work per child process (`process`);
//! `error` is the one table from outcome to HTTP status; `metrics` counts what every child
//! process does and `health` answers load balancers from those counters. The Apache adapter (the `mod_tofu`
//! crate at the top) drives it; so do the `tofu` CLI, the benches and the fuzz targets. JPEG
//! goes through the `tofu-libjpeg` crate, the only other place with `unsafe`.
#![forbid(unsafe_code)]

pub mod admission;
pub mod coalesce;
pub mod conditional;
pub mod config;
pub mod error;
pub mod expiry;
pub mod handler;
pub mod health;
pub mod metrics;
pub mod negotiate;
pub mod ops;
pub mod process;
pub mod signature;
pub mod storage;
pub mod transform;
pub mod url;

/// Version of the image pipeline; part of every ETag so a pipeline change invalidates caches.
/// Bump it whenever output bytes change for the same input (2: libjpeg decode with a 1.3
/// shrink-on-load margin, baseline thumbnails with optimised Huffman tables; 3: embedded ICC
/// profiles converted to sRGB, untagged CMYK through a FOGRA39 profile).
pub const PIPELINE_VERSION: u32 = 3;

/// The repository's testdata/ (test images with their licences), for the unit tests.
#[cfg(test)]
pub(crate) const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");
