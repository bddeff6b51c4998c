//! `bca render`: Change files in, manifests out (standard output or a directory).

use std::path::PathBuf;

use anyhow::bail;

use super::{render_files, Outcome, Style};
use crate::output::write_dir;
use crate::render::{self, RenderOptions, SecretSource};

pub struct RenderRequest {
    pub files: Vec<PathBuf>,
    pub options: RenderOptions,
    pub output_dir: Option<PathBuf>,
    pub force: bool,
    /// The loudly named override that lets a plaintext Secret into `--output-dir`.
    pub allow_plaintext_secret: bool,
}

pub const PLAINTEXT_OVERRIDE_FLAG: &str = "--unsafe-write-plaintext-secret";

pub fn render(request: &RenderRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    if let (SecretSource::FromEnv, Some(dir)) = (&request.options.secret, &request.output_dir) {
        if !request.allow_plaintext_secret {
            bail!(
                "refusing to write plaintext tokens from --secret-from-env into {}: an output directory is meant to be \
                 committed. Use --external-secret STORE, or create the Secret in the cluster yourself (see README, \
                 \"Credentials\"), or pass {PLAINTEXT_OVERRIDE_FLAG} if you really mean it",
                dir.display()
            );
        }
    }
    let rendered = match render_files(&request.files, &request.options, env, style)? {
        Ok((_, rendered)) => rendered,
        Err(outcome) => return Ok(outcome),
    };
    let mut outcome = Outcome::default();
    for warning in &rendered.warnings {
        outcome.stderr.push_str(&style.warning(warning));
    }
    match &request.output_dir {
        None => outcome.stdout = render::to_stream(&rendered.manifests),
        Some(dir) => {
            let written = write_dir(dir, &rendered.manifests, request.force)?;
            for name in &written.forced {
                outcome.stderr.push_str(&style.warning(&format!("--force: deleted {name}, which bca did not write")));
            }
            let removed = if written.removed.is_empty() {
                String::new()
            } else {
                format!("; removed {} stale: {}", written.removed.len(), written.removed.join(", "))
            };
            outcome.stderr.push_str(&format!("wrote {} files to {}{removed}\n", written.files, dir.display()));
        }
    }
    Ok(outcome)
}
