//! Generates the httpd/APR bindings of the Apache adapter (the `-sys` layer, `src/ffi.rs`).
//!
//! Include paths and defines come from the httpd we build for, through `apxs -q` (as ngx-rust asks
//! nginx's build): `APXS=/path/to/apxs` selects another httpd, `TOFU_APACHE_CFLAGS` adds flags.
//! Only the items the adapter uses are allowlisted, so the bindings stay small and reviewable.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn apxs_query(apxs: &str, var: &str) -> String {
    let out = Command::new(apxs)
        .args(["-q", var])
        .output()
        .unwrap_or_else(|e| {
            panic!("running {apxs} -q {var}: {e} (install apache2-dev or set APXS)")
        });
    assert!(out.status.success(), "{apxs} -q {var} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-env-changed=TOFU_APACHE_CFLAGS");
    println!("cargo:rerun-if-changed=src/wrapper.h");
    let apxs = env::var("APXS").unwrap_or_else(|_| "apxs".to_string());
    let include = apxs_query(&apxs, "INCLUDEDIR");
    let apr_include = apxs_query(&apxs, "APR_INCLUDEDIR");
    let extra = apxs_query(&apxs, "EXTRA_CPPFLAGS");
    for dir in [&include, &apr_include] {
        println!("cargo:rerun-if-changed={dir}");
    }

    let mut builder = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_arg(format!("-I{include}"))
        .clang_arg(format!("-I{apr_include}"))
        .clang_args(extra.split_whitespace())
        .clang_args(
            env::var("TOFU_APACHE_CFLAGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false);
    for f in [
        "ap_hook_handler",
        "ap_hook_post_config",
        "ap_hook_check_config",
        "ap_hook_child_init",
        "ap_hook_map_to_storage",
        "ap_location_walk",
        // SetHandler's value is an expression (httpd 2.4.10+): evaluated in map_to_storage.
        "ap_expr_str_exec",
        "ap_log_rerror_",
        "ap_log_error_",
        "ap_set_content_type",
        "ap_set_content_length",
        "ap_rwrite",
        "ap_custom_response",
        "ap_index_of_response",
        "ap_get_core_module_config",
        "ap_server_root_relative",
        "apr_table_set",
        "apr_table_get",
        "apr_pstrdup",
        "apr_pool_cleanup_register",
        "apr_pool_cleanup_null",
        // Shared counters (src/metrics.rs): kept in the process pool across restarts, and
        // mod_status's optional status_hook.
        "apr_pool_userdata_get",
        "apr_pool_userdata_set",
        "apr_optional_hook_add",
    ] {
        builder = builder.allowlist_function(f);
    }
    for t in [
        "module",
        "command_rec",
        "cmd_parms",
        "request_rec",
        "server_rec",
        "ap_directive_t",
        "core_dir_config",
        "core_server_config",
        "apr_array_header_t",
        "apr_pool_t",
        "process_rec",
    ] {
        builder = builder.allowlist_type(t);
    }
    for v in [
        "ap_conftree",
        "ap_server_conf",
        "ap_server_root",
        "MODULE_MAGIC_COOKIE",
        "MODULE_MAGIC_NUMBER_MAJOR",
        "MODULE_MAGIC_NUMBER_MINOR",
        "APR_HOOK_MIDDLE",
        "APR_HOOK_FIRST",
        "APLOG_.*",
        "OK",
        "DECLINED",
        "RSRC_CONF",
        "ACCESS_CONF",
        "HTTP_INTERNAL_SERVER_ERROR",
        "HTTP_METHOD_NOT_ALLOWED",
        "M_GET",
    ] {
        builder = builder.allowlist_var(v);
    }
    let bindings = builder
        .generate()
        .expect("bindgen could not generate the httpd bindings");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("httpd_bindings.rs");
    bindings.write_to_file(out).expect("writing bindings");

    // httpd unloads and reloads the module on every restart: a thread-local destructor
    // must never point into an unmapped library.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
