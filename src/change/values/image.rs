use bca_codehost::repository::valid_host;

use super::{string_value, Invalid};

/// A container image reference as the OCI distribution spec defines it:
/// `[registry[:port]/]path[:tag][@algorithm:digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    original: String,
    tag: Option<String>,
    digest: Option<String>,
}

string_value!(ImageRef, r"^[^\s]+$");

impl ImageRef {
    pub fn parse(input: &str) -> Result<ImageRef, Invalid> {
        let invalid = |why: &str| {
            Invalid::new(format!("\"{input}\" is not a valid image reference: {why}"))
                .help("use a reference such as ghcr.io/org/image:1.2.3 or registry.example.com:5000/image@sha256:<64 hex digits>")
        };
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (input, None),
        };
        if let Some(digest) = digest {
            digest_problem(digest).map_or(Ok(()), |why| Err(invalid(why)))?;
        }
        // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            let ok = tag.len() <= 128
                && tag.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(invalid("the tag may hold letters, digits, '_', '.' and '-' (at most 128)"));
            }
        }
        if name.is_empty() {
            return Err(invalid("the repository name is empty"));
        }
        if name.len() > 255 {
            return Err(invalid("the name is longer than 255 characters"));
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let first = components[0];
        let has_domain = components.len() > 1
            && (first.contains(['.', ':']) || first == "localhost" || first.bytes().any(|b| b.is_ascii_uppercase()));
        if has_domain {
            if !valid_host(first) {
                return Err(invalid("the registry must be a host name with an optional :port"));
            }
            components.remove(0);
        }
        for component in components {
            if component.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(invalid("repository names must be lowercase"));
            }
            if !valid_path_component(component) {
                return Err(invalid(
                    "each part of the path must be lowercase letters and digits, separated by '.', '_', '__' or '-'",
                ));
            }
        }
        Ok(ImageRef { original: input.to_string(), tag: tag.map(str::to_string), digest: digest.map(str::to_string) })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// True for references that do not pin what runs: `:latest`, or no tag and no digest.
    pub fn is_floating(&self) -> bool {
        self.digest.is_none() && self.tag.as_deref().is_none_or(|t| t == "latest")
    }
}

fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A separator: '.', '_', '__' or a run of '-'.
        let start = i;
        while i < bytes.len() && matches!(bytes[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || (!sep.is_empty() && sep.bytes().all(|b| b == b'-'));
        if !ok {
            return false;
        }
    }
    true
}

fn digest_problem(digest: &str) -> Option<&'static str> {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Some("a digest is ALGORITHM:HEX, such as sha256:<64 hex digits>");
    };
    if algorithm == "sha256"
        && !(encoded.len() == 64 && encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return Some("a sha256 digest has 64 lowercase hex digits");
    }
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-'));
    let encoded_ok =
        !encoded.is_empty() && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    if !algorithm_ok || !encoded_ok {
        return Some("a digest is ALGORITHM:HEX, such as sha256:<64 hex digits>");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_references_docker_accepts() {
        for image in [
            "ubuntu".to_string(),
            "ghcr.io/manno/background-coder:latest".into(),
            "localhost:5000/a/b_c__d.e-f---g:v1.2_x".into(),
            "registry.example.com:8443/team/runner".into(),
            format!("ghcr.io/a/b@{SHA}"),
            format!("ghcr.io/a/b:1.0@{SHA}"),
            "Registry.Example.com/x".into(),
        ] {
            ImageRef::parse(&image).unwrap_or_else(|e| panic!("{image}: {e:?}"));
        }
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for image in [
            "",
            "Ubuntu",
            "ghcr.io/Org/x",
            "a:",
            "a:-x",
            "a::b",
            "a/-b",
            "a/b_",
            "a/b...c",
            "a b",
            "ghcr.io/a/b@sha256:abc",
            "ghcr.io/a/b@",
            "ghcr.io/a/b:tag:x",
            "https://ghcr.io/a/b",
        ] {
            assert!(ImageRef::parse(image).is_err(), "{image:?}");
        }
    }

    #[test]
    fn floating_means_latest_or_untagged_without_digest() {
        let floating = |s: &str| ImageRef::parse(s).unwrap().is_floating();
        assert!(floating("ghcr.io/a/b"));
        assert!(floating("ghcr.io/a/b:latest"));
        assert!(!floating("ghcr.io/a/b:1.0"));
        assert!(floating("localhost:5000/b"));
        assert!(!floating("localhost:5000/b:1"));
        assert!(!floating(&format!("ghcr.io/a/b@{SHA}")));
    }
}
