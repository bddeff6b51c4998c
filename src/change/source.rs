//! Reading a Change file from disk or standard input, bounded in size.

use std::io::Read;
use std::path::Path;

/// Far more than any real Change needs (about 80,000 repository URLs); a larger input
/// is refused before it is parsed.
pub const MAX_FILE_BYTES: usize = 4 << 20;

/// The bytes of one input and the name errors use for it.
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Source {
    /// Reads `path`, or standard input for `-`. Reads at most one byte past the limit,
    /// so a 100 MB file costs no more than a 4 MB one.
    pub fn read(path: &Path) -> std::io::Result<Source> {
        let limit = MAX_FILE_BYTES as u64 + 1;
        let mut bytes = Vec::new();
        if path == Path::new("-") {
            std::io::stdin().lock().take(limit).read_to_end(&mut bytes)?;
            return Ok(Source { name: "<stdin>".to_string(), bytes });
        }
        std::fs::File::open(path)?.take(limit).read_to_end(&mut bytes)?;
        Ok(Source { name: path.display().to_string(), bytes })
    }
}
