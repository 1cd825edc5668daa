//! Reading the repo's text files one way everywhere: only a regular file (a FIFO would block a
//! read forever, a device never ends), at most [`MAX_TEXT_BYTES`], UTF-8 with a leading byte-order
//! mark dropped (editors on Windows write one), and errors that name the file and say what is
//! wrong with it rather than quoting its content.

use std::io::Read;
use std::path::Path;

use super::error::ConfigError;

/// The largest config or values file we read (the largest real cluster.yaml is ~60 KB): the
/// bound every input has ([`super::input::INPUT_MAX`]).
pub const MAX_TEXT_BYTES: u64 = super::input::INPUT_MAX;

/// Why a file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    Missing,
    /// A FIFO, socket, device or folder.
    NotRegular(&'static str),
    TooLarge,
    /// The byte offset of the first byte that is not UTF-8.
    NotUtf8(usize),
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => f.write_str("does not exist"),
            ReadError::NotRegular(kind) => {
                write!(
                    f,
                    "is a {kind}, not a regular file: deploy reads only files"
                )
            }
            ReadError::TooLarge => write!(f, "is larger than {} MiB", MAX_TEXT_BYTES >> 20),
            ReadError::NotUtf8(at) => write!(
                f,
                "is not UTF-8 text (byte {at}): a binary file, or still encrypted (git-crypt)?"
            ),
            ReadError::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "folder"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() || t.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

/// The bytes of a regular file (symlinks followed), at most [`MAX_TEXT_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(ReadError::Io(e)),
    };
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta)));
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).min(1 << 20));
    file.take(MAX_TEXT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// Bytes as text: UTF-8, a leading byte-order mark dropped.
pub fn text_of(bytes: Vec<u8>) -> Result<String, ReadError> {
    let mut s =
        String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8(e.utf8_error().valid_up_to()))?;
    if s.starts_with('\u{feff}') {
        s.drain(..'\u{feff}'.len_utf8());
    }
    Ok(s)
}

/// A text file, checked as described in the module documentation.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    text_of(read_bytes(path)?)
}

/// `root/rel` as text; errors name `rel`.
pub fn read_repo(root: &Path, rel: &str) -> Result<String, ConfigError> {
    read_text(&root.join(rel)).map_err(|e| ConfigError::new(rel, e.to_string()))
}

/// Like [`read_repo`], but a missing file is `Ok(None)`.
pub fn read_repo_opt(root: &Path, rel: &str) -> Result<Option<String>, ConfigError> {
    match read_text(&root.join(rel)) {
        Ok(t) => Ok(Some(t)),
        Err(ReadError::Missing) => Ok(None),
        Err(e) => Err(ConfigError::new(rel, e.to_string())),
    }
}

/// `rel` exists and, symlinks resolved, stays inside `root` (a secret symlinked to
/// `/home/me/.ssh/id_rsa` must not be read, decrypted or handed to a tool). The message is about
/// `rel` and does not name it.
pub fn check_inside(root: &Path, rel: &str) -> Result<(), String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("the repository: {e}"))?;
    match root.join(rel).canonicalize() {
        Ok(real) if real.starts_with(&root) => Ok(()),
        Ok(_) => {
            Err("is a symlink out of the repository: deploy reads only files inside it".to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("does not exist".to_string()),
        Err(e) => Err(format!("cannot be read: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("bom.yaml"), b"\xef\xbb\xbfa: 1\n").unwrap();
        assert_eq!(read_text(&p("bom.yaml")).unwrap(), "a: 1\n");
        std::fs::write(p("latin1.yaml"), b"a: caf\xe9\n").unwrap();
        assert_eq!(
            read_text(&p("latin1.yaml")).unwrap_err().to_string(),
            "is not UTF-8 text (byte 6): a binary file, or still encrypted (git-crypt)?"
        );
        assert!(matches!(read_text(&p("none")), Err(ReadError::Missing)));
        assert_eq!(
            read_text(tmp.path()).unwrap_err().to_string(),
            "is a folder, not a regular file: deploy reads only files"
        );
        let fifo = p("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // must not block: nothing ever writes to the FIFO
        assert_eq!(
            read_text(&fifo).unwrap_err().to_string(),
            "is a FIFO, not a regular file: deploy reads only files"
        );
    }
}
