//! The path operations of [`aioloop::fs`](crate::fs): each runs its `std::fs` namesake on the
//! loop's blocking pool.
//!
//! Every function panics if no loop is running on this thread.

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use super::asyncify;

/// Reads the whole file at `path` into bytes (`std::fs::read`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-read-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("f"), [1u8, 2, 3]).await.unwrap();
///     assert_eq!(fs::read(dir.join("f")).await.unwrap(), [1, 2, 3]);
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8 (`std::fs::read_to_string`); `InvalidData` if it
/// is not.
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-read-to-string-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("f"), "text").await.unwrap();
///     assert_eq!(fs::read_to_string(dir.join("f")).await.unwrap(), "text");
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` to the file at `path`, creating or truncating it (`std::fs::write`).
/// The bytes are copied to the pool thread.
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-write-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("f"), "first").await.unwrap();
///     fs::write(dir.join("f"), b"second").await.unwrap();
///     assert_eq!(fs::read(dir.join("f")).await.unwrap(), b"second");
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// The metadata of `path`, following symlinks (`std::fs::metadata`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-metadata-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("f"), "12345").await.unwrap();
///     let meta = fs::metadata(dir.join("f")).await.unwrap();
///     assert!(meta.is_file() && meta.len() == 5);
///     assert!(fs::metadata(dir.join("none")).await.is_err());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// The metadata of `path` itself, not following a symlink (`std::fs::symlink_metadata`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-symlink-metadata-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     std::os::unix::fs::symlink(dir.join("target"), dir.join("link")).unwrap();
///     let meta = fs::symlink_metadata(dir.join("link")).await.unwrap();
///     assert!(meta.file_type().is_symlink());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// Whether `path` exists: `Ok(false)` if it does not, `Err` if that cannot be told
/// (`std::fs::exists`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-try-exists-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     assert!(fs::try_exists(&dir).await.unwrap());
///     assert!(!fs::try_exists(dir.join("none")).await.unwrap());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || path.try_exists()).await
}

/// The absolute form of `path`, with every symlink and `..` resolved (`std::fs::canonicalize`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-canonicalize-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     let dotted = dir.join(".").join("..").join(dir.file_name().unwrap());
///     assert_eq!(fs::canonicalize(dotted).await.unwrap(), fs::canonicalize(&dir).await.unwrap());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Creates the directory `path`; its parent must exist (`std::fs::create_dir`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-create-dir-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::create_dir(dir.join("sub")).await.unwrap();
///     assert!(fs::create_dir(dir.join("sub")).await.is_err()); // exists
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates the directory `path` and every missing parent; fine if it exists
/// (`std::fs::create_dir_all`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-create-dir-all-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
///     assert!(fs::metadata(dir.join("a/b/c")).await.unwrap().is_dir());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Removes the file (or symlink) `path` (`std::fs::remove_file`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-remove-file-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("f"), "").await.unwrap();
///     fs::remove_file(dir.join("f")).await.unwrap();
///     assert!(!fs::try_exists(dir.join("f")).await.unwrap());
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes the empty directory `path` (`std::fs::remove_dir`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-remove-dir-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::create_dir(dir.join("empty")).await.unwrap();
///     fs::remove_dir(dir.join("empty")).await.unwrap();
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes the directory `path` with everything in it (`std::fs::remove_dir_all`). Large
/// trees take one pool thread for the whole walk.
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-remove-dir-all-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::create_dir_all(dir.join("x/y")).await.unwrap();
///     fs::write(dir.join("x/y/f"), "").await.unwrap();
///     fs::remove_dir_all(dir.join("x")).await.unwrap();
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Renames `from` to `to`, replacing `to` if it is a file (`std::fs::rename`; atomic within
/// one file system).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-rename-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("tmp"), "data").await.unwrap();
///     fs::rename(dir.join("tmp"), dir.join("final")).await.unwrap();
///     assert_eq!(fs::read_to_string(dir.join("final")).await.unwrap(), "data");
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copies the file `from` to `to` with its permissions; returns the bytes copied
/// (`std::fs::copy`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-copy-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("a"), "abc").await.unwrap();
///     assert_eq!(fs::copy(dir.join("a"), dir.join("b")).await.unwrap(), 3);
///     assert_eq!(fs::read(dir.join("b")).await.unwrap(), b"abc");
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Makes `link` a new name for the file `original` (`std::fs::hard_link`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-hard-link-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     fs::write(dir.join("a"), "x").await.unwrap();
///     fs::hard_link(dir.join("a"), dir.join("b")).await.unwrap();
///     assert_eq!(fs::read(dir.join("b")).await.unwrap(), b"x");
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// The target of the symlink `path` (`std::fs::read_link`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-read-link-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     std::os::unix::fs::symlink("target", dir.join("link")).unwrap();
///     assert_eq!(fs::read_link(dir.join("link")).await.unwrap(), std::path::Path::new("target"));
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// Sets the permissions of `path` (`std::fs::set_permissions`).
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-set-permissions-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(&dir).await.unwrap();
///     use std::os::unix::fs::PermissionsExt;
///     fs::write(dir.join("f"), "").await.unwrap();
///     fs::set_permissions(dir.join("f"), std::fs::Permissions::from_mode(0o600)).await.unwrap();
///     let mode = fs::metadata(dir.join("f")).await.unwrap().permissions().mode();
///     assert_eq!(mode & 0o777, 0o600);
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn set_permissions(path: impl AsRef<Path>, permissions: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, permissions)).await
}
