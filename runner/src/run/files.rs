//! Reading files a step did not write itself: never through a symbolic link, only
//! regular files, and never more than a bound.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file could not be read as asked.
#[derive(Debug)]
pub enum ReadError {
    Missing,
    /// A symbolic link, directory, device or fifo where a regular file was expected.
    NotAFile,
    TooLarge {
        limit: u64,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => f.write_str("it does not exist"),
            ReadError::NotAFile => f.write_str("it is not a regular file (a symbolic link, directory or device)"),
            ReadError::TooLarge { limit } => write!(f, "it is larger than {limit} bytes"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Opens `path` for reading without following a symbolic link at its last component,
/// and only if it is a regular file. Non-blocking, so a planted fifo cannot hang the step.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(
            |e| match e.raw_os_error() {
                Some(libc::ENOENT) => ReadError::Missing,
                Some(libc::ELOOP) | Some(libc::ENXIO) => ReadError::NotAFile,
                _ => ReadError::Io(e),
            },
        )?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotAFile);
    }
    Ok(file)
}

/// The bytes of a regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Like [`read_bounded`], as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes)
        .map_err(|_| ReadError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")))
}

/// The first `limit` bytes of a regular file as text (a cut character is dropped), and
/// whether there was more.
pub fn read_text_prefix(path: &Path, limit: u64) -> Result<(String, bool), ReadError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    let more = bytes.len() as u64 > limit;
    bytes.truncate(limit as usize);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    Ok((text, more))
}

/// A path component a checkout on some filesystem would take for `.git`: any case,
/// trailing dots or spaces (Windows), or the 8.3 short name.
pub fn is_dot_git(part: &str) -> bool {
    let trimmed = part.trim_end_matches(['.', ' ']);
    trimmed.eq_ignore_ascii_case(".git") || part.eq_ignore_ascii_case("git~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_fifos_and_large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        assert!(matches!(read_bounded(&file, 4), Err(ReadError::TooLarge { limit: 4 })));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(read_bounded(&link, 5), Err(ReadError::NotAFile)));
        assert!(matches!(read_bounded(dir.path(), 5), Err(ReadError::NotAFile)));
        assert!(matches!(read_bounded(&dir.path().join("nope"), 5), Err(ReadError::Missing)));
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(matches!(read_bounded(&fifo, 5), Err(ReadError::NotAFile)));
    }
}
