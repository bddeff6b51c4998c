//! Names and identities: content-addressed Job names, the Change id, label values.
//! A Job's pod template is immutable in Kubernetes, so a Job whose inputs change must
//! get a new name; names carry a short sha256 of exactly what shapes that Job.

use sha2::{Digest, Sha256};

/// Hex digits of sha256 kept in names: 40 bits, so a collision among a fleet's Jobs is
/// about as likely as one among 10^6 random picks from 10^12.
pub const HASH_LEN: usize = 10;
/// Kubernetes names of Jobs must be DNS-1123 labels (the Job controller puts the name
/// into a pod label).
pub const MAX_NAME_LEN: usize = crate::change::values::MAX_DNS_LABEL;

pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(HASH_LEN);
    hex
}

/// `bca-<slug>-<hash>`: the slug (`owner-repo`, or a Change and its shard) is cut to fit
/// 63 characters, never the hash.
pub fn job_name(text: &str, hash: &str) -> String {
    let budget = MAX_NAME_LEN - "bca-".len() - 1 - hash.len();
    let slug = slug(text, budget);
    if slug.is_empty() {
        format!("bca-{hash}")
    } else {
        format!("bca-{slug}-{hash}")
    }
}

/// The Change's part of an Indexed Job's name: cut so `-NNN` (the shard) and the hash
/// still fit.
pub fn indexed_slug(identity: &str) -> String {
    slug(identity, MAX_NAME_LEN - "bca-".len() - "-000-".len() - HASH_LEN)
}

/// A Change's follow-up CronJob, `bca-follow-up-<slug>-NNN`: stable (a CronJob is
/// changed in place), and within the 52 characters Kubernetes allows a CronJob (its Jobs'
/// names add 11).
pub fn follow_up_name(identity: &str, shard: u32) -> String {
    format!("bca-follow-up-{}-{shard:03}", slug(identity, 52 - "bca-follow-up-".len() - "-000".len()))
}

/// Which of `shards` Indexed Jobs runs a repository: from a hash of its identity, so a
/// repository stays in its Job whatever else is added or removed.
pub fn shard_of(identity: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(identity.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % shards.max(1)
}

/// Lowercase letters, digits and single dashes, at most `max` characters, no dash at
/// either end.
fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(max);
    out.trim_end_matches('-').to_string()
}

/// A label value (at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends)
/// naming a repository readably: `owner.name`.
pub fn repository_label(owner: &str, repo: &str) -> String {
    let text: String = format!("{owner}.{repo}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    let mut text: String = text.chars().take(MAX_NAME_LEN).collect();
    while text.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        text.pop();
    }
    text.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::values::is_dns1123_label;

    #[test]
    fn names_are_dns_labels_and_keep_the_whole_hash() {
        let hash = short_hash(b"x");
        let cases = [
            ("acme", "billing-api", "bca-acme-billing-api-"),
            ("Acme", "My.Repo__x", "bca-acme-my-repo-x-"),
            ("a", &"r".repeat(200), "bca-a-rrrr"),
            ("_", "_", "bca-"),
        ];
        for (owner, repo, prefix) in cases {
            let name = job_name(&format!("{owner}-{repo}"), &hash);
            assert!(is_dns1123_label(&name), "{name}");
            assert!(name.starts_with(prefix), "{name}");
            assert!(name.ends_with(&format!("-{hash}")), "{name}");
        }
        assert_eq!(job_name(&format!("a-{}", "r".repeat(200)), &hash).len(), 63);
        let shard = job_name(&format!("{}-007", indexed_slug(&"long-name-".repeat(10))), &hash);
        assert!(shard.ends_with(&format!("-007-{hash}")) && shard.len() <= 63, "{shard}");
    }

    #[test]
    fn shards_are_stable_and_spread() {
        let repos: Vec<String> = (0..1000).map(|i| format!("https://github.com/acme/r{i}")).collect();
        let mut counts = [0usize; 10];
        for r in &repos {
            counts[shard_of(r, 10) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (60..140).contains(c)), "{counts:?}");
        assert_eq!(shard_of("https://github.com/acme/r1", 10), shard_of("https://github.com/acme/r1", 10));
    }

    #[test]
    fn hash_is_sha256_prefix() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(short_hash(b"abc"), "ba7816bf8f");
    }

    #[test]
    fn repository_labels_are_valid_label_values() {
        assert_eq!(repository_label("acme", "api"), "acme.api");
        assert_eq!(repository_label("-x", "y."), "x.y");
        let long = repository_label("o", &"n".repeat(100));
        assert_eq!(long.len(), 63);
    }
}
