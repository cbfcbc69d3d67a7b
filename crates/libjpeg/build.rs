//! Compiles the C shim over libjpeg's own API (src/shim.c: setjmp error handling, a source that
//! jumps over unneeded scans, a bounded memory destination) and links the system libjpeg
//! (Debian's libjpeg62-turbo-dev: headers and libjpeg.so).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=src/shim.h");
    cc::Build::new()
        .file("src/shim.c")
        .opt_level(2)
        .flag_if_supported("-Wall")
        .compile("tofu_jpeg_shim");
    println!("cargo:rustc-link-lib=jpeg");
}
