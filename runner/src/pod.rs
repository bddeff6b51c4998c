//! What the rendered pod and the runner agree on: the user, the mount paths, the secret
//! keys and the environment variable that carries the run contract.

/// UID and GID the runner runs as; high enough to never collide with a host user
/// (checkov CKV_K8S_40 asks for >= 10000).
pub const RUNNER_UID: i64 = 10001;
pub const RUNNER_GID: i64 = 10001;

/// The repository is cloned below this directory (an emptyDir shared by all steps).
pub const WORKSPACE_DIR: &str = "/workspace";
/// HOME of the runner user (an emptyDir: the agent CLIs keep state there). Only the
/// agent's container mounts it; the runner's steps get their own scratch space.
pub const HOME_DIR: &str = "/home/bca";
/// Scratch space (an emptyDir: the root filesystem is read-only). Each container gets
/// its own volume here: the agent's, or the runner steps' that the agent never sees.
pub const TMP_DIR: &str = "/tmp";
/// State the steps hand on to each other that the agent must not touch: the fork's
/// URL, the base commit and the authoritative git directory. An emptyDir the agent's
/// container does not mount.
pub const STATE_DIR: &str = "/var/lib/bca";
/// What the collect step hands to publish: its verdict on the agent's work tree and a
/// git bundle of the agent's work. Written without a token, read by publish as data.
pub const HANDOFF_DIR: &str = "/var/lib/bca-handoff";
/// The verdict of `spec.verify`'s checks: written only by the verify steps, read by the
/// agent's next attempt and by collect.
pub const VERIFICATION_DIR: &str = "/var/lib/bca-verification";
/// Each step sees only the secret keys it needs, as files in this directory.
pub const SECRETS_DIR: &str = "/var/run/secrets/bca";
/// Where the result line goes so that `kubectl get pod` can show it.
pub const TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";

/// The pod annotation holding the run contract as JSON. One copy per pod, readable in
/// the rendered Job, and mounted into every container through the downward API.
pub const CONTRACT_ANNOTATION: &str = "bca.dev/run-contract";
/// The directory the downward API volume with the run contract is mounted at.
pub const CONTRACT_DIR: &str = "/etc/bca";
/// The run contract's file name in `CONTRACT_DIR`.
pub const CONTRACT_FILE: &str = "run-contract.json";

/// Secret key holding the GitHub token that forks, pushes and opens pull requests.
pub const SECRET_KEY_GITHUB_TOKEN: &str = "github-token";
/// Secret key holding the Copilot CLI token.
pub const SECRET_KEY_COPILOT_TOKEN: &str = "copilot-token";
/// Secret key holding the Gemini API key.
pub const SECRET_KEY_GEMINI_API_KEY: &str = "gemini-api-key";
/// Secret key holding the Anthropic API key (Claude Code).
pub const SECRET_KEY_ANTHROPIC_API_KEY: &str = "anthropic-api-key";
/// Secret key holding the OpenAI API key (Codex CLI).
pub const SECRET_KEY_OPENAI_API_KEY: &str = "openai-api-key";

/// The binary every container runs.
pub const RUNNER_BINARY: &str = "bca-runner";

/// Where the release publishes the runner image. `bca render` uses this repository with
/// the tag of its own version, so a bca release and its runner image always match.
pub const RUNNER_IMAGE_REPOSITORY: &str = "ghcr.io/manno/bca-runner";

/// The runner image of this version: `ghcr.io/manno/bca-runner:<crate version>`.
pub fn default_image() -> String {
    format!("{RUNNER_IMAGE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}
