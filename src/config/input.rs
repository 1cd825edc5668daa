//! Reading files and stdin with a bound: an input larger than [`INPUT_MAX`] (a mistaken
//! `/dev/zero`, a runaway generator on a pipe) is an error, not a process that grows until the
//! kernel kills it.

use std::io::Read;
use std::path::Path;

/// The most deploy reads from one file or from stdin. Config files, plans and reports are
/// kilobytes; values files rarely reach a megabyte.
pub const INPUT_MAX: u64 = 64 * 1024 * 1024;

/// All of `r`, or an `InvalidData` error past [`INPUT_MAX`] bytes.
pub fn read_all(r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(INPUT_MAX + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > INPUT_MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, the most deploy reads from one input",
                INPUT_MAX / (1024 * 1024)
            ),
        ));
    }
    Ok(buf)
}

/// [`read_all`] as UTF-8 text.
pub fn text(r: impl Read) -> std::io::Result<String> {
    String::from_utf8(read_all(r)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// A file's content, like `std::fs::read_to_string`, bounded.
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    text(std::fs::File::open(path)?)
}

/// A file's bytes, like `std::fs::read`, bounded.
pub fn read_bytes(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    read_all(std::fs::File::open(path)?)
}

/// A file named on the command line, or stdin for `-`, as text. Errors name the path after
/// `what` (the flag, when the message should say which one) and are usage errors (exit 2).
pub fn read_arg(path: &Path, what: &str) -> Result<String, super::UsageError> {
    if path.as_os_str() == "-" {
        return text(std::io::stdin().lock()).map_err(|e| {
            let flag = if what.is_empty() {
                String::new()
            } else {
                format!("{what}-: ")
            };
            super::UsageError(format!("{flag}cannot read stdin: {e}"))
        });
    }
    read_text(path).map_err(|e| super::UsageError(format!("{what}{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_is_an_error() {
        let e = read_text("/dev/zero").unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 64 MiB, the most deploy reads from one input"
        );
        assert_eq!(read_all(&b"abc"[..]).unwrap(), b"abc");
        assert!(text(&b"\xff"[..]).is_err());
    }
}
