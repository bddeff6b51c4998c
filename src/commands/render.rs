//! `bca render`: Change files in, manifests out (standard output or a directory).

use std::path::PathBuf;

use anyhow::bail;

use super::{render_files, Outcome, Style};
use crate::output::settings::{Flags, Settings};
use crate::output::write_dir;
use crate::render::{self, RenderOptions, Scope, SecretSource};

pub struct RenderRequest {
    pub files: Vec<PathBuf>,
    pub options: RenderOptions,
    /// The render flags as given, recorded in --output-dir for `bca diff`.
    pub flags: Flags,
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
                 committed. Use --external-secret STORE, or create the Secret in the cluster yourself (see \
                 docs/rendering.md, \"Credentials\"), or pass {PLAINTEXT_OVERRIDE_FLAG} if you really mean it",
                dir.display()
            );
        }
    }
    let mut options = request.options.clone();
    if let (Some(dir), Scope::Both) = (&request.output_dir, options.scope) {
        // A directory is one application's: a Change's Jobs, or (--platform) what the
        // namespace's Changes share, never both.
        options.scope = Scope::Change;
        if options.secret != SecretSource::Existing {
            bail!(
                "the credentials are shared by every Change in the namespace, so a Change's directory does not hold \
                 them: render them into the platform directory with bca render --platform ... --output-dir DIR, and \
                 {} without the credentials flags",
                dir.display()
            );
        }
    }
    let (changes, rendered) = render_files(&request.files, &options, env, style)?;
    let mut outcome = Outcome::default();
    for warning in &rendered.warnings {
        outcome.stderr.push_str(&style.warning(warning));
    }
    match &request.output_dir {
        None => outcome.stdout = render::to_stream(&rendered.manifests),
        Some(dir) => {
            let settings = Settings::current(request.flags.clone(), super::holds(options.scope, &changes));
            let written =
                write_dir(dir, &rendered.manifests, &settings, request.force).map_err(super::errors::dir_error)?;
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
