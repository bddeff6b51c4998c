//! Whether a pull request is bca's own, before bca closes it or deletes its branch.
//! A pull request is the Change's only if it comes from exactly the Change's branch
//! (GitHub's search matches `head:` as a prefix), in the push owner's repository, was
//! opened by the token's account, and carries a marker that names the Change. Its branch
//! is bca's to delete only while its tip is the commit bca made (the marker records it):
//! a reviewer's commit on top keeps the branch.

use bca_codehost::{ChangeRequestDetail, Head};
use bca_runner::marker::Marker;

/// A pull request that is the Change's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ours {
    /// Whether the branch's tip is the commit bca made, so bca may delete the branch.
    pub branch_is_ours: bool,
}

/// Checks `pull` against what the Change's own would be; the error says, in a
/// reviewer's words, why it is not.
pub fn check(pull: &ChangeRequestDetail, expected: &Head, account: &str, change: &str) -> Result<Ours, String> {
    if pull.head.branch != expected.branch {
        return Err(format!("it comes from branch {}, not the Change's {}", pull.head.branch, expected.branch));
    }
    if !pull.head.owner.eq_ignore_ascii_case(&expected.owner) {
        return Err(format!("it comes from {}'s repository, not {}'s", pull.head.owner, expected.owner));
    }
    if !pull.author.eq_ignore_ascii_case(account) {
        return Err(format!("{} opened it, not {account} (GITHUB_TOKEN's account)", pull.author));
    }
    let Some(marker) = Marker::find(&pull.body) else {
        return Err("its description has no bca marker".to_string());
    };
    if marker.change != change {
        return Err(format!("its marker names Change {}, not {change}", marker.change));
    }
    Ok(Ours { branch_is_ours: marker.commit == pull.head_sha })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bca_codehost::PullState;

    fn pull(owner: &str, branch: &str, author: &str, change: &str, head_sha: &str) -> ChangeRequestDetail {
        let marker = Marker {
            change: change.into(),
            fingerprint: "f".into(),
            parts: Default::default(),
            commit: "c1".into(),
            follow_up: None,
        };
        ChangeRequestDetail {
            number: 1,
            url: "u".into(),
            state: PullState::Open,
            head: Head::new(owner, branch),
            head_sha: head_sha.into(),
            author: author.into(),
            body: format!("text\n\n{}\n", marker.to_line()),
        }
    }

    #[test]
    fn only_exactly_the_changes_own_pull_request_is_ours() {
        let expected = Head::new("bca-bot", "bca/migrate");
        let ours = check(&pull("bca-bot", "bca/migrate", "bca-bot", "migrate", "c1"), &expected, "bca-bot", "migrate");
        assert_eq!(ours, Ok(Ours { branch_is_ours: true }));
        let reviewed =
            check(&pull("bca-bot", "bca/migrate", "bca-bot", "migrate", "c2"), &expected, "bca-bot", "migrate");
        assert_eq!(reviewed, Ok(Ours { branch_is_ours: false }));
        for (p, why) in [
            (
                pull("bca-bot", "bca/migrate-v2", "bca-bot", "migrate-v2", "c1"),
                "it comes from branch bca/migrate-v2, not the Change's bca/migrate",
            ),
            (
                pull("colleague", "bca/migrate", "colleague", "migrate", "c1"),
                "it comes from colleague's repository, not bca-bot's",
            ),
            (
                pull("bca-bot", "bca/migrate", "outsider", "migrate", "c1"),
                "outsider opened it, not bca-bot (GITHUB_TOKEN's account)",
            ),
            (
                pull("bca-bot", "bca/migrate", "bca-bot", "other-team", "c1"),
                "its marker names Change other-team, not migrate",
            ),
        ] {
            assert_eq!(check(&p, &expected, "bca-bot", "migrate"), Err(why.to_string()));
        }
        let mut bare = pull("bca-bot", "bca/migrate", "bca-bot", "migrate", "c1");
        bare.body = "no marker".into();
        assert_eq!(check(&bare, &expected, "bca-bot", "migrate"), Err("its description has no bca marker".into()));
    }
}
