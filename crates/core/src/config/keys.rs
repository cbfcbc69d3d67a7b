//! `TofuSecret`, `TofuSecretFile`, `TofuSignatureBytes`: the HMAC keys (the first signs, all
//! verify) and the length of the truncated signature.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use super::values::parse_count;
use super::{DirConfig, Directive};
use crate::signature::{Keys, MAX_SIGNATURE_BYTES, MIN_SIGNATURE_BYTES};

/// Shortest HMAC key accepted: a shorter one can be found by brute force from a single signed
/// URL, after which anyone can order any transform.
pub const MIN_KEY_BYTES: usize = 16;

/// Appends keys: repeated directives in one section accumulate, in order.
fn add_keys(c: &mut DirConfig, new: Vec<Vec<u8>>) {
    let mut all: Vec<Vec<u8>> = Vec::new();
    if let Some(existing) = &c.keys {
        all.extend(existing.iter_keys().map(<[u8]>::to_vec));
    }
    all.extend(new);
    c.keys = Some(Arc::new(Keys::new(all)));
}

/// Refuses a key too short to resist brute force (`what` names it in the message).
fn check_key_length(key: &[u8], what: &str) -> Result<(), String> {
    if key.len() < MIN_KEY_BYTES {
        return Err(format!(
            "{what} is {} bytes; a key needs at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
            key.len()
        ));
    }
    Ok(())
}

/// `TofuSecret KEY`.
pub(super) const TOFU_SECRET: Directive = Directive::one(
    c"TofuSecret",
    c"an HMAC key of at least 16 bytes (repeatable: the first signs, all verify)",
    set_secret,
);

fn set_secret(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    check_key_length(arg.as_bytes(), "the key")?;
    add_keys(c, vec![arg.as_bytes().to_vec()]);
    Ok(())
}

/// `TofuSecretFile PATH`.
pub(super) const TOFU_SECRET_FILE: Directive = Directive::path(
    c"TofuSecretFile",
    c"a file of HMAC keys, one per line, readable by root only (the first signs, all verify)",
    set_secret_file,
);

/// `TofuSecretFile`: the adapter hands over the path resolved against ServerRoot, as httpd
/// resolves every relative file name in its configuration.
fn set_secret_file(c: &mut DirConfig, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.permissions().mode() & 0o004 != 0 {
        return Err(format!(
            "{shown} is world-readable: anyone on the machine could sign URLs (chmod 600; httpd \
             reads it as root before it drops privileges)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    let keys = parse_secret_file(&bytes);
    if keys.is_empty() {
        return Err(format!("{shown}: no key in the file"));
    }
    for (line, key) in keys.iter().enumerate() {
        check_key_length(key, &format!("{shown}: key {}", line + 1))?;
    }
    add_keys(c, keys);
    Ok(())
}

/// True when a key file may be read by its group (not refused, but worth a warning at startup).
pub fn secret_file_group_readable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o040 != 0)
}

/// One key per line; blank lines and a trailing `\r` are ignored. Every other byte is key: a
/// key file holds bytes, not necessarily UTF-8.
pub fn parse_secret_file(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// `TofuSignatureBytes N`.
pub(super) const TOFU_SIGNATURE_BYTES: Directive = Directive::one(
    c"TofuSignatureBytes",
    c"length of the truncated signature in bytes, 8..32 (default 16)",
    set_signature_bytes,
);

fn set_signature_bytes(c: &mut DirConfig, arg: &str) -> Result<(), String> {
    let n = parse_count(arg, false)?;
    let range = MIN_SIGNATURE_BYTES as u64..=MAX_SIGNATURE_BYTES as u64;
    if !range.contains(&n) {
        return Err(format!(
            "{n} is outside {MIN_SIGNATURE_BYTES}..{MAX_SIGNATURE_BYTES}"
        ));
    }
    c.signature_bytes = Some(n as usize);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::set;
    use super::*;

    #[test]
    fn help_states_the_signature_default() {
        let help = TOFU_SIGNATURE_BYTES.help.to_str().unwrap();
        assert!(help.contains(&format!(
            "{MIN_SIGNATURE_BYTES}..{MAX_SIGNATURE_BYTES} (default {})",
            crate::signature::DEFAULT_SIGNATURE_BYTES
        )));
    }

    #[test]
    fn bad_keys_are_refused() {
        let mut c = DirConfig::default();
        for (name, arg) in [
            ("TofuSecret", ""),
            ("TofuSecret", "fifteen-bytes!!"),
            ("TofuSecretFile", "/nonexistent/tofu/keys"),
            ("TofuSignatureBytes", "7"),
            ("TofuSignatureBytes", "33"),
            ("TofuSignatureBytes", "16x"),
        ] {
            assert!(set(&mut c, name, arg).is_err(), "{name} {arg}");
        }
        set(&mut c, "TofuSignatureBytes", "8").unwrap();
        assert_eq!(c.signature_bytes(), 8);
        assert_eq!(DirConfig::default().signature_bytes(), 16);
    }

    #[test]
    fn key_files_are_bytes_private_and_long_enough() {
        let dir = std::env::temp_dir().join(format!("tofu-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: &[u8], mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path.to_str().unwrap().to_string()
        };
        let mut c = DirConfig::default();
        let binary = write("binary", b"\xff\x00\x01 not UTF-8 at all \xfe\n", 0o600);
        set(&mut c, "TofuSecretFile", &binary).unwrap();
        assert_eq!(c.keys().unwrap().len(), 1);
        let public = write("public", b"a-long-enough-key-for-hmac\n", 0o644);
        let err = set(&mut c, "TofuSecretFile", &public).unwrap_err();
        assert!(err.contains("world-readable"), "{err}");
        let short = write("short", b"a-long-enough-key-for-hmac\nshort\n", 0o600);
        let err = set(&mut c, "TofuSecretFile", &short).unwrap_err();
        assert!(err.contains("key 2 is 5 bytes"), "{err}");
        let group = write("group", b"a-long-enough-key-for-hmac\n", 0o640);
        assert!(set(&mut c, "TofuSecretFile", &group).is_ok());
        assert!(secret_file_group_readable(Path::new(&group)));
        assert!(!secret_file_group_readable(Path::new(&binary)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_accumulate_in_order_within_a_section() {
        let mut c = DirConfig::default();
        set(&mut c, "TofuSecret", "first-key-of-16-bytes").unwrap();
        set(&mut c, "TofuSecret", "second-key-of-16-bytes").unwrap();
        let keys = c.keys().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            keys.sign("a/1x", 16),
            Some(crate::signature::sign(b"first-key-of-16-bytes", "a/1x", 16))
        );
        assert_eq!(
            parse_secret_file(b"k1\r\n\nk 2\n\xff\xfe"),
            vec![b"k1".to_vec(), b"k 2".to_vec(), b"\xff\xfe".to_vec()]
        );
    }
}
