//! Kubernetes object names. Label values from an alert end up in API paths, so every one of them is
//! checked against the API server's own naming rules before anything else happens.

use thiserror::Error;

/// Which naming rule a value must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 label: namespaces. At most 63 characters, `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
    Dns1123Label,
    /// RFC 1123 subdomain: deployments, pods, nodes, statefulsets. At most 253 characters, labels
    /// joined by dots.
    Dns1123Subdomain,
    /// An EKS cluster name: at most 100 characters, `[0-9A-Za-z][A-Za-z0-9_-]*`.
    EksCluster,
}

/// Why a value is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than the rule allows.
    #[error("must be no more than {max} characters (got {len})")]
    TooLong {
        /// Length of the value in bytes.
        len: usize,
        /// The rule's maximum.
        max: usize,
    },
    /// A character outside the allowed set.
    #[error("invalid character {found:?} at position {position}: {rule}")]
    InvalidCharacter {
        /// The offending character.
        found: char,
        /// Its position, counted in characters.
        position: usize,
        /// The rule, in the API server's words.
        rule: &'static str,
    },
    /// The value (or one of its dot-separated parts) starts or ends with a character that may
    /// only appear inside.
    #[error("must start and end with an alphanumeric character: {rule}")]
    BadEdge {
        /// The rule, in the API server's words.
        rule: &'static str,
    },
}

const LABEL_RULE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
                          characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
                              alphanumeric characters, '-' or '.', and must start and end with an \
                              alphanumeric character";
const CLUSTER_RULE: &str = "an EKS cluster name must start with an alphanumeric character and \
                            consist of alphanumeric characters, '-' or '_'";

impl NameRule {
    /// Checks `value` against this rule.
    pub fn check(self, value: &str) -> Result<(), NameError> {
        match self {
            NameRule::Dns1123Label => check_label(value, 63, LABEL_RULE),
            NameRule::Dns1123Subdomain => {
                check_len(value, 253)?;
                value
                    .split('.')
                    .try_for_each(|part| check_label(part, 253, SUBDOMAIN_RULE))
                    .map_err(|err| match err {
                        // A '.' is fine in a subdomain; re-report other characters against the
                        // subdomain rule with their position in the whole value.
                        NameError::InvalidCharacter { found, .. } => {
                            invalid_char(value, found, SUBDOMAIN_RULE)
                        }
                        NameError::Empty => NameError::BadEdge {
                            rule: SUBDOMAIN_RULE,
                        },
                        other => other,
                    })
            }
            NameRule::EksCluster => {
                check_len(value, 100)?;
                for (position, c) in value.chars().enumerate() {
                    let ok = c.is_ascii_alphanumeric() || (position > 0 && (c == '-' || c == '_'));
                    if !ok {
                        return Err(NameError::InvalidCharacter {
                            found: c,
                            position,
                            rule: CLUSTER_RULE,
                        });
                    }
                }
                Ok(())
            }
        }
    }
}

fn check_len(value: &str, max: usize) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty);
    }
    if value.len() > max {
        return Err(NameError::TooLong {
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn check_label(value: &str, max: usize, rule: &'static str) -> Result<(), NameError> {
    check_len(value, max)?;
    if let Some(found) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(invalid_char(value, found, rule));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(NameError::BadEdge { rule });
    }
    Ok(())
}

fn invalid_char(value: &str, found: char, rule: &'static str) -> NameError {
    let position = value.chars().position(|c| c == found).unwrap_or_default();
    NameError::InvalidCharacter {
        found,
        position,
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        NameRule::Dns1123Label.check("payments").unwrap();
        NameRule::Dns1123Label.check("team-a-2").unwrap();
        NameRule::Dns1123Subdomain
            .check("backend-7d9f8c6b5-x2k4q")
            .unwrap();
        NameRule::Dns1123Subdomain
            .check("ip-10-0-1-23.eu-west-1.compute.internal")
            .unwrap();
        NameRule::EksCluster.check("prod_eu-1").unwrap();
    }

    #[test]
    fn path_traversal_is_refused() {
        let err = NameRule::Dns1123Label.check("../kube-system").unwrap_err();
        assert!(matches!(
            err,
            NameError::InvalidCharacter {
                found: '.',
                position: 0,
                ..
            }
        ));
        let err = NameRule::Dns1123Subdomain
            .check("../kube-system")
            .unwrap_err();
        assert_eq!(
            err,
            NameError::BadEdge {
                rule: SUBDOMAIN_RULE
            }
        );
        let err = NameRule::Dns1123Subdomain.check("a/b").unwrap_err();
        assert!(matches!(
            err,
            NameError::InvalidCharacter {
                found: '/',
                position: 1,
                ..
            }
        ));
    }

    #[test]
    fn uppercase_spaces_and_unicode_are_refused() {
        for bad in ["Backend", "back end", "bäckend", "backend\n", "backend%2F"] {
            let err = NameRule::Dns1123Subdomain.check(bad).unwrap_err();
            assert!(
                matches!(err, NameError::InvalidCharacter { .. }),
                "{bad:?} gave {err:?}"
            );
        }
        let err = NameRule::EksCluster.check("prod cluster").unwrap_err();
        assert!(matches!(
            err,
            NameError::InvalidCharacter {
                found: ' ',
                position: 4,
                ..
            }
        ));
    }

    #[test]
    fn edges_lengths_and_empty_are_checked() {
        assert_eq!(NameRule::Dns1123Label.check(""), Err(NameError::Empty));
        assert!(matches!(
            NameRule::Dns1123Label.check("-backend"),
            Err(NameError::BadEdge { .. })
        ));
        assert!(matches!(
            NameRule::Dns1123Subdomain.check("backend."),
            Err(NameError::BadEdge { .. })
        ));
        assert_eq!(
            NameRule::Dns1123Label.check(&"a".repeat(64)),
            Err(NameError::TooLong { len: 64, max: 63 })
        );
        NameRule::Dns1123Label.check(&"a".repeat(63)).unwrap();
        NameRule::Dns1123Subdomain.check(&"a".repeat(253)).unwrap();
        assert!(matches!(
            NameRule::EksCluster.check("-prod"),
            Err(NameError::InvalidCharacter { position: 0, .. })
        ));
    }
}
