//! The hidden marker bca leaves at the end of each pull request body: which Change the
//! pull request belongs to, the fingerprint of the work it holds, and the commit bca
//! pushed. The next run reads it back from GitHub to decide whether the agent must run
//! again and whether anyone else pushed to the branch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

const OPEN: &str = "<!-- bca: ";
const CLOSE: &str = " -->";
/// A marker is a line of JSON; anything longer is not one bca wrote.
const MAX_MARKER_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The Change's name, or its change id when it has none.
    pub change: String,
    pub fingerprint: String,
    /// What the fingerprint is made of, to say what changed.
    #[serde(default)]
    pub parts: BTreeMap<String, String>,
    /// The commit bca pushed to the head branch.
    pub commit: String,
    /// The follow-up rounds bca ran on the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<Rounds>,
}

/// What the follow-up rounds so far used and answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rounds {
    pub used: u32,
    /// Whether a round built on commits people pushed: a first run's new work, which
    /// starts again from the base, would then drop them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_people: bool,
    /// What the rounds answered (`review:ID`, `comment:ID`, `check:ID`), the newest last,
    /// at most the last 100: answered once, never again.
    pub answered: Vec<String>,
}

impl Marker {
    /// The marker as the last line of a pull request body.
    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).expect("a marker serialises");
        // `-->` inside would end the HTML comment early; JSON escapes make it impossible.
        format!("{OPEN}{}{CLOSE}", json.replace("-->", "--\\u003e"))
    }

    /// The last marker in `body`, if any parses.
    pub fn find(body: &str) -> Option<Marker> {
        let start = body.rfind(OPEN)? + OPEN.len();
        let rest = &body[start..];
        let end = rest.find(CLOSE)?;
        let json = &rest[..end];
        (json.len() <= MAX_MARKER_BYTES).then(|| serde_json::from_str(json).ok()).flatten()
    }
}

/// `body` with its marker (if any) replaced by `marker`.
pub fn with_marker(body: &str, marker: &Marker) -> String {
    let without = match body.rfind(OPEN) {
        Some(i) => body[..i].trim_end(),
        None => body.trim_end(),
    };
    format!("{without}\n\n{}\n", marker.to_line())
}

/// What differs between the work a pull request holds and the work asked for, in words.
pub fn what_changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut changes = Vec::new();
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old == new {
            continue;
        }
        let shown = |v: Option<&String>| v.map_or("none".to_string(), |v| v.clone());
        changes.push(match key.as_str() {
            "prompt" => "the prompt changed".to_string(),
            "context" => "the agent's context (agentsmd, resources) changed".to_string(),
            "model" => "the model settings changed".to_string(),
            "agent" => format!("the agent changed ({} → {})", shown(old), shown(new)),
            "baseBranch" => format!("the base branch changed ({} → {})", shown(old), shown(new)),
            "verify" => "the verification settings changed".to_string(),
            other => format!("{other} changed"),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> Marker {
        Marker {
            change: "migrate".into(),
            fingerprint: "abc".into(),
            parts: BTreeMap::from([("prompt".into(), "p1".into()), ("baseBranch".into(), "main".into())]),
            commit: "0123".into(),
            follow_up: None,
        }
    }

    #[test]
    fn round_trips_through_a_body_and_is_replaced_not_repeated() {
        let body = with_marker("Made by the agent.\n", &marker());
        assert_eq!(Marker::find(&body), Some(marker()));
        let mut next = marker();
        next.commit = "4567".into();
        let again = with_marker(&body, &next);
        assert_eq!(again.matches(OPEN).count(), 1);
        assert_eq!(Marker::find(&again).unwrap().commit, "4567");
        assert!(again.starts_with("Made by the agent.\n\n<!-- bca: "));
    }

    #[test]
    fn a_marker_cannot_be_closed_early() {
        let mut m = marker();
        m.change = "x --> <script>".into();
        let line = m.to_line();
        assert_eq!(line.matches("-->").count(), 1, "{line}");
        assert_eq!(Marker::find(&line).unwrap().change, "x --> <script>");
    }

    #[test]
    fn says_what_changed() {
        let mut after = marker().parts;
        after.insert("prompt".into(), "p2".into());
        after.insert("baseBranch".into(), "develop".into());
        assert_eq!(
            what_changed(&marker().parts, &after),
            ["the base branch changed (main → develop)", "the prompt changed"]
        );
        assert!(Marker::find("no marker here").is_none());
        assert!(Marker::find("<!-- bca: {not json} -->").is_none());
    }
}
