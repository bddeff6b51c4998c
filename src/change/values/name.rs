use super::{string_value, Invalid};

/// A Change's stable name (`metadata.name`): a DNS label, so it fits a Kubernetes label
/// value and a branch name (`bca/<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeName(String);

string_value!(ChangeName, r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

/// The longest DNS-1123 label: a Kubernetes name or label value.
pub const MAX_DNS_LABEL: usize = 63;

/// A DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending
/// with a letter or digit. Change names, namespaces, queues and object names are.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_DNS_LABEL
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl ChangeName {
    pub fn parse(input: &str) -> Result<ChangeName, Invalid> {
        if is_dns1123_label(input) {
            return Ok(ChangeName(input.to_string()));
        }
        let fixed: String = input
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let fixed: String = fixed.chars().take(63).collect();
        let invalid = Invalid::new(format!(
            "\"{input}\" is not a valid Change name: expected at most 63 lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        ));
        Err(if fixed.is_empty() { invalid } else { invalid.help(format!("use {}", fixed.trim_end_matches('-'))) })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_only_with_a_fix() {
        assert!(ChangeName::parse("migrate-logging-2").is_ok());
        let err = ChangeName::parse("Migrate Logging_v2").unwrap_err();
        assert_eq!(err.help.as_deref(), Some("use migrate-logging-v2"));
        assert!(ChangeName::parse(&"a".repeat(64)).is_err());
        assert!(ChangeName::parse("-x").is_err());
    }
}
