//! [`OpenOptions`]: how to open a [`File`], as `std::fs::OpenOptions`.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{asyncify, File};

/// Options for opening a [`File`]: `std::fs::OpenOptions`, with an `async` [`open`](OpenOptions::open)
/// that runs on the loop's blocking pool.
///
/// ```
/// use aioloop::fs::{self, OpenOptions};
///
/// let path = std::env::temp_dir().join(format!("aioloop-options-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::write(&path, "one\n").await.unwrap();
///     let mut log = OpenOptions::new().append(true).open(&path).await.unwrap();
///     log.write_all(b"two\n").await.unwrap();
///     log.flush().await.unwrap();
///     assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
///     fs::remove_file(&path).await.unwrap();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off (set at least one of read, write, append).
    pub fn new() -> Self {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.0.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes when opening it (needs write).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.0.create(create);
        self
    }

    /// Create the file, failing if it exists (needs write or append).
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a file this creates (Unix; default `0o666`, less the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags (Unix), such as `libc::O_NOFOLLOW`.
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.0.custom_flags(flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
        let path = path.as_ref().to_owned();
        asyncify(move || options.open(path)).await.map(File::from_std)
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> Self {
        OpenOptions(options)
    }
}
