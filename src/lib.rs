//! mod_tofu: an Apache httpd 2.4 module that answers signed image URLs with resized images.
//!
//! The crate is layered as DESIGN.md draws it. The core (`url`, `signature`, `transform`,
//! `storage`, `config`, `error`) is safe Rust that knows nothing of Apache; `handler` runs one
//! request through the core; `apache` (only with the `apache` feature, i.e. in the module build) is
//! the FFI adapter and the only place allowed to use `unsafe` — besides the codec binding
//! `transform::libjpeg`, a thin wrapper over a C shim that exists because the TurboJPEG API cannot
//! skip progressive scans or turn block smoothing off.
#![deny(unsafe_code)]

pub mod admission;
pub mod coalesce;
pub mod config;
pub mod config_tree;
pub mod error;
pub mod handler;
pub mod negotiate;
pub mod ops;
pub mod process;
pub mod signature;
pub mod storage;
pub mod transform;
pub mod url;
pub mod validators;

#[cfg(feature = "apache")]
#[allow(unsafe_code)]
mod apache;

/// Version of the image pipeline; part of every ETag so a pipeline change invalidates caches.
/// Bump it whenever output bytes change for the same input (2: libjpeg decode with a 1.3
/// shrink-on-load margin, baseline thumbnails with optimised Huffman tables).
pub const PIPELINE_VERSION: u32 = 2;
