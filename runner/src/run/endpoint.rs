//! Where the GitHub token of a run may go: the contract's GitHub host, and only when
//! the contract's repository is on it. The policy itself (https only, the origin of a
//! `GITHUB_API_URL` override, git URLs checked against the origin) is the code host's.

use bca_codehost::endpoint::GITHUB_COM;
pub use bca_codehost::endpoint::{Endpoint, Origin};

use super::RunError;
use crate::{Repository, RunContract};

/// The endpoint of the contract's GitHub host (github.com unless the contract names
/// an Enterprise host), or of `api_override` (`GITHUB_API_URL`) when set. Refuses a
/// repository on any other host: the token must not go there.
pub fn for_run(contract: &RunContract, api_override: Option<String>) -> Result<Endpoint, RunError> {
    let token_host = contract.github_host.as_deref().unwrap_or(GITHUB_COM);
    let repository = Repository::parse(&contract.repository)
        .map_err(|e| RunError::usage(format!("the run contract's repository: {e}")))?;
    // Host and port, as written: a GitHub Enterprise on :8443 is another origin.
    let repo_host = repository.host();
    if !repo_host.eq_ignore_ascii_case(token_host) {
        return Err(RunError::permanent(format!(
            "the run contract names {} on {repo_host}, but the GitHub token is for {token_host}: \
             render the Change with bca render --github-host {repo_host}",
            contract.repository
        )));
    }
    Ok(Endpoint::for_host(token_host, api_override)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(repository: &str, host: Option<&str>) -> RunContract {
        let json = serde_json::json!({
            "version": crate::CONTRACT_VERSION, "changeId": "c", "repository": repository,
            "baseBranch": "main", "headBranch": "bca/c", "agent": "copilot-cli", "prompt": "p",
            "pullRequestTitle": "t", "pullRequestBody": "b", "commitMessage": "m",
            "work": { "fingerprint": "f", "parts": {} },
        });
        let mut c: RunContract = serde_json::from_value(json).unwrap();
        c.github_host = host.map(str::to_string);
        c
    }

    #[test]
    fn github_com_and_enterprise_hosts() {
        let e = for_run(&contract("https://GitHub.com/a/b", None), None).unwrap();
        assert_eq!((e.api_base.as_str(), e.git.to_string().as_str()), ("https://api.github.com", "https://github.com"));
        let e = for_run(&contract("https://ghe.example.com/a/b", Some("ghe.example.com")), None).unwrap();
        assert_eq!(e.api_base, "https://ghe.example.com/api/v3");
        let e = for_run(&contract("https://github.com/a/b", None), Some("http://127.0.0.1:9/".into())).unwrap();
        assert_eq!((e.api_base.as_str(), e.git.to_string().as_str()), ("http://127.0.0.1:9", "http://127.0.0.1:9"));
    }

    #[test]
    fn an_enterprise_host_on_a_port_keeps_its_port() {
        let host = Some("ghe.example.com:8443");
        let e = for_run(&contract("https://ghe.example.com:8443/a/b", host), None).unwrap();
        assert_eq!(e.api_base, "https://ghe.example.com:8443/api/v3");
        assert!(e.check_git_url("https://GHE.example.com:8443/a/b.git").is_ok());
        assert!(e.check_git_url("https://ghe.example.com/a/b.git").is_err());
        let err = for_run(&contract("https://ghe.example.com/a/b", host), None).unwrap_err();
        assert!(err.message.contains("on ghe.example.com, but the GitHub token is for ghe.example.com:8443"), "{err}");
        let e = for_run(&contract("https://ghe.example.com:443/a/b", Some("ghe.example.com:443")), None);
        assert_eq!(e.unwrap().git.to_string(), "https://ghe.example.com");
    }

    #[test]
    fn a_repository_on_another_host_is_refused() {
        let err = for_run(&contract("https://evil.example/a/b", None), None).unwrap_err();
        assert!(err.message.contains("render the Change with bca render --github-host evil.example"), "{err}");
        let err = for_run(&contract("https://github.com/a/b", None), Some("http://u:p@x".into())).unwrap_err();
        assert!(err.message.contains("without a user or password"), "{err}");
    }
}
