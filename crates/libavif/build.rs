//! Compiles the C shim over libavif's encoder API (src/shim.c) and links the system libavif
//! (Debian's libavif-dev 0.11: headers and libavif.so, which brings libaom 3.6 as its AV1
//! encoder).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=src/shim.h");
    cc::Build::new()
        .file("src/shim.c")
        .opt_level(2)
        .flag_if_supported("-Wall")
        .compile("tofu_avif_shim");
    println!("cargo:rustc-link-lib=avif");
}
