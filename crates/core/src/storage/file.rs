//! Originals on a local or NFS filesystem, confined to one root directory.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{key_segments, Object, Storage, StorageError, Validators};

/// A directory of originals. Keys are relative paths below it; nothing outside it can be read,
/// neither through `..` nor through a symlink that points out of the root.
#[derive(Debug, Clone)]
pub struct FileStorage {
    /// The root, canonical (symlinks resolved) so that confinement can be checked by prefix.
    root: PathBuf,
}

impl FileStorage {
    /// Opens `path` (absolute) as a storage root; it must be an existing directory.
    pub fn open(path: &str) -> Result<Self, String> {
        let path = Path::new(path);
        if !path.is_absolute() {
            return Err(format!(
                "file://{}: the storage path must be absolute",
                path.display()
            ));
        }
        let root = path
            .canonicalize()
            .map_err(|e| format!("file://{}: {e}", path.display()))?;
        if !root.is_dir() {
            return Err(format!("file://{}: not a directory", path.display()));
        }
        Ok(FileStorage { root })
    }

    /// The canonical root directory (one I/O pool per root per child).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A miss while the root itself is gone (a share that vanished under it) is a storage
    /// fault, not a 404 that a CDN would cache.
    fn unless_root_gone(&self, e: StorageError) -> StorageError {
        if matches!(e, StorageError::NotFound(_)) && !self.root.is_dir() {
            return StorageError::Failed(format!(
                "{}: the storage root is gone",
                self.root.display()
            ));
        }
        e
    }

    /// The canonical path of `key`, or why it may not be read.
    fn resolve(&self, key: &str) -> Result<PathBuf, StorageError> {
        let segments = key_segments(key)?;
        let mut path = self.root.clone();
        path.extend(segments);
        let canonical = path.canonicalize().map_err(|e| io_error(key, &e))?;
        if !canonical.starts_with(&self.root) {
            return Err(StorageError::KeyRefused(format!(
                "{key} (resolves outside the storage root)"
            )));
        }
        Ok(canonical)
    }
}

impl Storage for FileStorage {
    fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        self.read(key, max_bytes)
            .map_err(|e| self.unless_root_gone(e))
    }

    fn stat(&self, key: &str) -> Result<Validators, StorageError> {
        self.metadata(key).map_err(|e| self.unless_root_gone(e))
    }
}

impl FileStorage {
    fn read(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        let path = self.resolve(key)?;
        let file = File::open(&path).map_err(|e| io_error(key, &e))?;
        let meta = file.metadata().map_err(|e| io_error(key, &e))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound(key.to_string()));
        }
        if meta.len() > max_bytes {
            return Err(StorageError::TooLarge {
                key: key.to_string(),
                size: meta.len(),
                limit: max_bytes,
            });
        }
        // The file may grow between stat and read: never read more than the limit allows.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(key, &e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(StorageError::TooLarge {
                key: key.to_string(),
                size: bytes.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(Object {
            bytes,
            validators: validators(&meta),
            fallback_reason: None,
        })
    }

    fn metadata(&self, key: &str) -> Result<Validators, StorageError> {
        let path = self.resolve(key)?;
        let meta = std::fs::metadata(&path).map_err(|e| io_error(key, &e))?;
        if !meta.is_file() {
            return Err(StorageError::NotFound(key.to_string()));
        }
        Ok(validators(&meta))
    }
}

/// A file's version: inode, mtime (ns) and size change whenever the file is replaced or edited.
fn validators(meta: &std::fs::Metadata) -> Validators {
    Validators {
        size: meta.len(),
        modified: meta.modified().ok(),
        version: format!("{:x}-{:x}-{:x}", meta.ino(), mtime_ns(meta), meta.len()),
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

/// Not-found-like errors are 404; everything else (EACCES, EIO, ESTALE…) is a storage fault.
fn io_error(key: &str, e: &std::io::Error) -> StorageError {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => StorageError::NotFound(key.to_string()),
        _ => StorageError::Failed(format!("{key}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("tofu-file-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn fixture(name: &str) -> (TempDir, FileStorage) {
        let dir = TempDir::new(name);
        let root = dir.0.join("root");
        std::fs::create_dir_all(root.join("recipes")).unwrap();
        std::fs::write(root.join("recipes/1.jpg"), b"twelve bytes").unwrap();
        std::fs::write(dir.0.join("secret.txt"), b"outside").unwrap();
        symlink(dir.0.join("secret.txt"), root.join("escape.jpg")).unwrap();
        symlink(root.join("recipes/1.jpg"), root.join("inside.jpg")).unwrap();
        symlink(&dir.0, root.join("up")).unwrap();
        let storage = FileStorage::open(root.to_str().unwrap()).unwrap();
        (dir, storage)
    }

    #[test]
    fn reads_objects_with_validators() {
        let (_dir, s) = fixture("read");
        let o = s.get("recipes/1.jpg", 100).unwrap();
        assert_eq!(o.bytes, b"twelve bytes");
        assert_eq!(o.validators.size, 12);
        assert!(o.validators.modified.is_some());
        assert!(!o.validators.version.is_empty());
        assert_eq!(s.get("inside.jpg", 100).unwrap().bytes, b"twelve bytes");
        assert_eq!(s.stat("recipes/1.jpg").unwrap(), o.validators);
        assert!(matches!(
            s.stat("escape.jpg"),
            Err(StorageError::KeyRefused(_))
        ));
        assert!(matches!(s.stat("recipes"), Err(StorageError::NotFound(_))));
    }

    #[test]
    fn is_confined_to_its_root() {
        let (_dir, s) = fixture("confine");
        for key in [
            "escape.jpg",
            "up/secret.txt",
            "../secret.txt",
            "/etc/passwd",
        ] {
            assert!(
                matches!(s.get(key, 100), Err(StorageError::KeyRefused(_))),
                "{key}"
            );
        }
    }

    #[test]
    fn missing_and_directories_are_not_found() {
        let (_dir, s) = fixture("missing");
        assert!(matches!(
            s.get("nope.jpg", 100),
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            s.get("recipes", 100),
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            s.get("recipes/1.jpg/x", 100),
            Err(StorageError::NotFound(_))
        ));
    }

    #[test]
    fn refuses_objects_above_the_byte_limit() {
        let (_dir, s) = fixture("limit");
        assert!(matches!(
            s.get("recipes/1.jpg", 11),
            Err(StorageError::TooLarge { size: 12, .. })
        ));
        assert!(s.get("recipes/1.jpg", 12).is_ok());
    }

    #[test]
    fn root_must_be_an_absolute_directory() {
        let (dir, _s) = fixture("root");
        assert!(FileStorage::open("relative/path").is_err());
        assert!(FileStorage::open(dir.0.join("secret.txt").to_str().unwrap()).is_err());
    }
}
