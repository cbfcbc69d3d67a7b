//! APR pools as a borrowed handle, and Rust values whose lifetime is a pool's.
//!
//! A Rust value placed in a pool is boxed and a pool cleanup drops it, so config objects live
//! exactly as long as the pool httpd gave them (pconf for sections, the request pool for merges)
//! and nothing is kept in Rust statics across restarts.

use std::ffi::{c_void, CString};
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::ptr::NonNull;

use super::ffi;

/// A pool httpd owns, borrowed for `'p`. Not `Send`: pools are not thread-safe.
#[derive(Clone, Copy)]
pub struct Pool<'p> {
    raw: NonNull<ffi::apr_pool_t>,
    _owner: PhantomData<&'p mut ffi::apr_pool_t>,
}

impl<'p> Pool<'p> {
    /// # Safety
    /// `raw` must be a live pool for `'p`.
    pub unsafe fn from_raw(raw: *mut ffi::apr_pool_t) -> Option<Self> {
        NonNull::new(raw).map(|raw| Pool {
            raw,
            _owner: PhantomData,
        })
    }

    pub fn as_ptr(self) -> *mut ffi::apr_pool_t {
        self.raw.as_ptr()
    }

    /// Moves `value` into the pool: it is dropped by a cleanup when the pool is cleared or
    /// destroyed. The returned pointer is valid as long as the pool.
    pub fn place<T: 'static>(self, value: T) -> *mut T {
        unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) -> ffi::apr_status_t {
            // A panic in a destructor must not unwind into APR.
            let _ = std::panic::catch_unwind(|| {
                // SAFETY: `data` is the Box::into_raw of `place`, dropped exactly once here.
                drop(unsafe { Box::from_raw(data as *mut T) });
            });
            0
        }
        let raw = Box::into_raw(Box::new(value));
        // SAFETY: the pool is live; the cleanup owns `raw` from now on.
        unsafe {
            ffi::apr_pool_cleanup_register(
                self.as_ptr(),
                raw as *const c_void,
                Some(drop_boxed::<T>),
                Some(ffi::apr_pool_cleanup_null),
            );
        }
        raw
    }

    /// A NUL-terminated copy of `s` in the pool (interior NULs are replaced, never truncated).
    pub fn strdup(self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default();
        // SAFETY: the pool is live and `c` a valid C string; APR copies it.
        unsafe { ffi::apr_pstrdup(self.as_ptr(), c.as_ptr()) }
    }
}
