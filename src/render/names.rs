//! The names a render flag takes, checked once where clap parses them (`FromStr`), and
//! trusted after: the library never re-checks a namespace or an owner.

use std::fmt;

use crate::change::values::is_dns1123_label;

/// A checked name: the text, and the rule it passed.
macro_rules! checked_name {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(String);

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                let check: fn(&str) -> Result<String, String> = $check;
                check(s).map($name)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_name!(
    /// A namespace, queue or other object name: a DNS-1123 label.
    DnsLabel,
    |s| {
        if is_dns1123_label(s) {
            Ok(s.to_string())
        } else {
            Err(format!(
                "\"{s}\" is not a valid name: expected at most 63 lowercase letters, digits and '-', starting and \
                 ending with a letter or digit"
            ))
        }
    }
);

checked_name!(
    /// A Secret or secret store name: a DNS-1123 subdomain (labels separated by '.').
    DnsSubdomain,
    |s| {
        if s.len() <= 253 && s.split('.').all(is_dns1123_label) {
            Ok(s.to_string())
        } else {
            Err(format!(
                "\"{s}\" is not a valid name: expected lowercase letters, digits, '-' and '.', starting and ending \
                 with a letter or digit"
            ))
        }
    }
);

checked_name!(
    /// A GitHub user or organisation name: letters, digits and single hyphens, at most 39.
    GitHubOwner,
    |s| {
        if bca_codehost::repository::valid_owner(s) {
            Ok(s.to_string())
        } else {
            Err(format!("\"{s}\" is not a GitHub organisation name: expected letters, digits and single hyphens"))
        }
    }
);

checked_name!(
    /// A GitHub Enterprise host (`ghe.example.com`, or with a port), lowercased: the one
    /// host the token is sent to.
    GitHubHost,
    |s| {
        if bca_codehost::repository::valid_host(s) {
            Ok(s.to_ascii_lowercase())
        } else {
            Err(format!("\"{s}\" is not a host name: expected a name such as ghe.example.com, without https://"))
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_checked_by_its_rule() {
        assert_eq!("bca-jobs".parse::<DnsLabel>().as_deref(), Ok("bca-jobs"));
        for bad in ["Bca", "-x", "a.b", ""] {
            assert!(bad.parse::<DnsLabel>().unwrap_err().contains("is not a valid name"), "{bad}");
        }
        assert!("bca.credentials".parse::<DnsSubdomain>().is_ok());
        assert!("bca..x".parse::<DnsSubdomain>().is_err());
        assert!("acme-bots".parse::<GitHubOwner>().is_ok());
        for bad in ["-acme", "acme--bots", "a_b", ""] {
            assert!(bad.parse::<GitHubOwner>().unwrap_err().contains("is not a GitHub organisation name"), "{bad}");
        }
        assert_eq!("GHE.example.com:8443".parse::<GitHubHost>().as_deref(), Ok("ghe.example.com:8443"));
        for bad in ["https://ghe.example.com", "ghe.example.com/x", "a b", ""] {
            assert!(bad.parse::<GitHubHost>().unwrap_err().contains("is not a host name"), "{bad}");
        }
    }
}
