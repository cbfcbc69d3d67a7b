//! mod_tofu: an Apache httpd 2.4 module that answers signed image URLs with resized images.
//!
//! The crate is layered as DESIGN.md draws it. The core (`url`, `signature`, `transform`,
//! `storage`, `config`, `error`) is safe Rust that knows nothing of Apache; `handler` runs one
//! request through the core; `apache` (only with the `apache` feature, i.e. in the module build) is
//! the FFI adapter and the only place allowed to use `unsafe`.
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
pub const PIPELINE_VERSION: u32 = 1;
