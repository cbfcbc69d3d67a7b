//! Per-directory config objects and the directive table, as httpd's own modules do it:
//! create/merge build a fresh [`DirConfig`] in the pool httpd passes, and one `TAKE1`
//! trampoline dispatches every directive to its parser in `tofu_core::config`.

use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr;

use super::ffi;
use super::pool::Pool;
use super::process::ServerSlot;
use tofu_core::config::{DirConfig, Setter, DIRECTIVES};

const COMMAND_COUNT: usize = DIRECTIVES.len() + 1;

/// The NULL-terminated `command_rec` table. Raw pointers are not `Sync`; the table is immutable
/// and only read by httpd, so sharing it is sound.
#[repr(transparent)]
pub struct CommandTable([ffi::command_rec; COMMAND_COUNT]);

// SAFETY: never written after construction; httpd only reads it.
unsafe impl Sync for CommandTable {}

impl CommandTable {
    pub const fn as_ptr(&self) -> *const ffi::command_rec {
        self.0.as_ptr()
    }
}

/// One entry per `tofu_core::config::DIRECTIVES`, its index in `cmd_data`. Allowed in the server
/// config, `<VirtualHost>`, `<Location>` and `<Directory>`, never in `.htaccess` (keys and storage
/// are the operator's, not a content author's).
pub static COMMANDS: CommandTable = CommandTable(build_commands());

const fn build_commands() -> [ffi::command_rec; COMMAND_COUNT] {
    // SAFETY: an all-zero command_rec is the table terminator httpd expects.
    let mut table: [ffi::command_rec; COMMAND_COUNT] = unsafe { std::mem::zeroed() };
    let mut i = 0;
    while i < DIRECTIVES.len() {
        let d = &DIRECTIVES[i];
        let (func, how) = match d.set {
            Setter::One(_) | Setter::Path(_) => {
                (ffi::cmd_func { take1: Some(take1) }, ffi::cmd_how_TAKE1)
            }
            Setter::Two(_) => (ffi::cmd_func { take2: Some(take2) }, ffi::cmd_how_TAKE2),
            Setter::Flag(_) => (ffi::cmd_func { flag: Some(flag) }, ffi::cmd_how_FLAG),
            // RAW_ARGS hands over the rest of the line in one string, as TAKE1 hands one word.
            Setter::Raw(_) => (
                ffi::cmd_func {
                    raw_args: Some(take1),
                },
                ffi::cmd_how_RAW_ARGS,
            ),
        };
        table[i] = ffi::command_rec {
            name: d.name.as_ptr(),
            func,
            cmd_data: ptr::without_provenance_mut(i),
            req_override: (ffi::RSRC_CONF | ffi::ACCESS_CONF) as _,
            args_how: how,
            errmsg: d.help.as_ptr(),
        };
        i += 1;
    }
    table
}

/// `create_dir_config`: an empty config for a section.
pub unsafe extern "C" fn create_dir_config(
    p: *mut ffi::apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    super::guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: httpd passes its live config pool.
            let pool = unsafe { Pool::from_raw(p) }.expect("no pool");
            // The section's path matters only where it sets SetHandler tofu, which post_config
            // tells the section (`sections`), from core's own record of the path.
            pool.place(DirConfig::new()) as *mut c_void
        },
    )
}

/// `create_server_config`: an empty per-server slot for this child's process state, owned by
/// pconf (see `process`).
pub unsafe extern "C" fn create_server_config(
    p: *mut ffi::apr_pool_t,
    _s: *mut ffi::server_rec,
) -> *mut c_void {
    super::guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: httpd passes its live configuration pool.
            let pool = unsafe { Pool::from_raw(p) }.expect("no pool");
            pool.place(ServerSlot::default()) as *mut c_void
        },
    )
}

/// `merge_dir_config`: a new config, child over parent, inputs untouched. Runs per request, so
/// it only clones `Arc`s.
pub unsafe extern "C" fn merge_dir_config(
    p: *mut ffi::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    super::guard(
        |_| add,
        || {
            // SAFETY: both are `DirConfig`s placed by create/merge_dir_config, or null.
            let (parent, child) = unsafe {
                (
                    (base as *const DirConfig).as_ref(),
                    (add as *const DirConfig).as_ref(),
                )
            };
            let merged = match (parent, child) {
                (Some(parent), Some(child)) => DirConfig::merge(parent, child),
                (None, Some(only)) | (Some(only), None) => only.clone(),
                (None, None) => DirConfig::default(),
            };
            // SAFETY: httpd passes a live pool (the request's, or pconf at startup).
            let pool = unsafe { Pool::from_raw(p) }.expect("no pool");
            pool.place(merged) as *mut c_void
        },
    )
}

/// The arguments httpd passed to a directive.
enum Args {
    Words(Vec<*const c_char>),
    Flag(bool),
}

/// Every directive goes through here: `cmd->info` holds its index in `DIRECTIVES`. An error
/// string makes httpd stop with "Syntax error on line N of FILE: …".
///
/// # Safety
/// `cmd` must be httpd's live `cmd_parms` of this directive and `mconfig` our section's config.
unsafe fn dispatch(cmd: *mut ffi::cmd_parms, mconfig: *mut c_void, args: Args) -> *const c_char {
    // SAFETY: httpd passes a live cmd_parms whose pool lives as long as the configuration.
    let pool = unsafe { Pool::from_raw((*cmd).pool) };
    let Some(pool) = pool else {
        return c"mod_tofu: no pool".as_ptr();
    };
    let result = super::guard(
        |panic| Err(format!("internal error: {panic}")),
        || {
            // SAFETY: a live cmd_parms; `info` is the index our table put there.
            let index = unsafe { (*cmd).info } as usize;
            let directive = DIRECTIVES
                .get(index)
                .ok_or_else(|| "unknown directive".to_string())?;
            // SAFETY: our section's config, placed by create_dir_config, used by this call alone.
            let config = unsafe { (mconfig as *mut DirConfig).as_mut() }
                .ok_or_else(|| "no config".to_string())?;
            let words = |ptrs: &[*const c_char]| -> Result<Vec<&str>, String> {
                ptrs.iter()
                    .map(|&p| {
                        // SAFETY: httpd's arguments are NUL-terminated and live in its pool.
                        unsafe { CStr::from_ptr(p) }
                            .to_str()
                            .map_err(|_| "argument is not UTF-8".to_string())
                    })
                    .collect()
            };
            let outcome = match (directive.set, &args) {
                (Setter::One(f), Args::Words(w)) => f(config, words(w)?[0]),
                (Setter::Two(f), Args::Words(w)) => {
                    let w = words(w)?;
                    f(config, w[0], w[1])
                }
                (Setter::Flag(f), Args::Flag(on)) => f(config, *on),
                (Setter::Raw(f), Args::Words(w)) => f(config, words(w)?[0]),
                (Setter::Path(f), Args::Words(w)) => {
                    let path = server_root_relative(pool, w[0])
                        .ok_or_else(|| "invalid file name".to_string())?;
                    f(config, &path)
                }
                _ => Err("argument kind mismatch".to_string()),
            };
            outcome.map_err(|e| format!("{}: {e}", directive.name.to_str().unwrap_or("Tofu")))
        },
    );
    match result {
        Ok(()) => ptr::null(),
        Err(message) => pool.strdup(&message),
    }
}

/// A file name from the configuration, relative to ServerRoot unless absolute (what httpd's
/// own directives do, through `ap_server_root_relative`).
fn server_root_relative(pool: Pool<'_>, name: *const c_char) -> Option<PathBuf> {
    // SAFETY: a live pool and httpd's NUL-terminated argument; the result lives in the pool.
    let resolved = unsafe { ffi::ap_server_root_relative(pool.as_ptr(), name) };
    if resolved.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string in the pool, alive for this call.
    let bytes = unsafe { CStr::from_ptr(resolved) }.to_bytes();
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

unsafe extern "C" fn take1(
    cmd: *mut ffi::cmd_parms,
    mconfig: *mut c_void,
    arg: *const c_char,
) -> *const c_char {
    // SAFETY: httpd calls this with the live cmd_parms and config of one of our directives.
    unsafe { dispatch(cmd, mconfig, Args::Words(vec![arg])) }
}

unsafe extern "C" fn take2(
    cmd: *mut ffi::cmd_parms,
    mconfig: *mut c_void,
    a: *const c_char,
    b: *const c_char,
) -> *const c_char {
    // SAFETY: httpd calls this with the live cmd_parms and config of one of our directives.
    unsafe { dispatch(cmd, mconfig, Args::Words(vec![a, b])) }
}

unsafe extern "C" fn flag(
    cmd: *mut ffi::cmd_parms,
    mconfig: *mut c_void,
    on: c_int,
) -> *const c_char {
    // SAFETY: httpd calls this with the live cmd_parms and config of one of our directives.
    unsafe { dispatch(cmd, mconfig, Args::Flag(on != 0)) }
}
