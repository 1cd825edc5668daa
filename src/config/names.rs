//! Names that reach a command line (release, namespace, chart) must be valid Kubernetes names;
//! checking them up front also means no name can smuggle an option (`--kubeconfig=…`) into argv.

/// Release and namespace names: a DNS-1123 label, at most 53 characters (Helm's release limit).
pub fn check_release_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.is_empty() || !ok_chars || !ok_ends {
        return Err(format!(
            "`{name}` is not a valid release/namespace name: use lowercase letters, digits and \
             '-', starting and ending with a letter or digit"
        ));
    }
    if name.len() > 53 {
        return Err(format!(
            "`{name}` is longer than 53 characters (Helm's limit for release names)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names() {
        for ok in ["ea-hub", "staginghub", "a", "hub2"] {
            assert!(check_release_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(54);
        for bad in [
            "",
            "-x",
            "x-",
            "Ea",
            "a_b",
            "a b",
            "--kubeconfig=/x",
            "a;rm",
            long.as_str(),
        ] {
            assert!(check_release_name(bad).is_err(), "{bad}");
        }
    }
}
