//! Where rendered manifests go: one YAML stream, or a directory with one file per
//! object and a kustomization, replaced as a whole.

pub mod directory;
mod header;
pub mod kustomization;
pub mod read;
pub mod settings;

pub use directory::{files, read_dir_files, write_dir, DirError, Found, Written};
pub use header::HEADER;
