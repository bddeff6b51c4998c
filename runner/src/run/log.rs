//! Log lines of the runner: prefixed with the step, redacted, on standard error (the
//! pod log). Standard output carries only the result line.

use std::io::{BufRead, BufReader, Read, Write};
use std::thread::JoinHandle;

use super::secrets::redact;

pub fn info(step: &str, message: &str) {
    let line = redact(&format!("[bca-runner {step}] {message}\n"));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Copies a subprocess's output to the log line by line, redacted, as it arrives.
pub fn stream(prefix: String, from: impl Read + Send + 'static) -> JoinHandle<()> {
    observe(prefix, from, |_| {})
}

/// Like [`stream`], and hands each line (before redaction) to `seen`.
pub fn observe(
    prefix: String,
    from: impl Read + Send + 'static,
    mut seen: impl FnMut(&str) + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut buf = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf);
            seen(text.trim_end());
            let line = redact(&format!("[{prefix}] {}\n", text.trim_end_matches(['\n', '\r'])));
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            buf.clear();
        }
    })
}
