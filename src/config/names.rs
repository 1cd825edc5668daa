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

/// A value from config that reaches a command line as its own argument (a project, zone,
/// cluster, region, image, URL or branch): never read as an option, never a line break in logs.
pub fn check_arg(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.starts_with('-') {
        return Err(format!(
            "`{value}` starts with `-`, so a tool would read it as an option"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{value:?} contains a control character (a line break?)"
        ));
    }
    Ok(())
}

/// A cluster folder name: it becomes part of temp folder names, log lines and matrix job names,
/// so a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters).
pub fn check_cluster_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "cluster folder name {name:?} is not valid: use lowercase letters, digits and '-' \
             (at most 63, starting and ending with a letter or digit)"
        ))
    }
}

/// A chart named in cluster.yaml (`helm_chart`): a folder of helm-charts/, by name only.
pub fn check_chart_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !name.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a chart name: give the name of a folder of helm-charts/ \
             (letters, digits, '-', '_', '.'; no '/')"
        ))
    }
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

    #[test]
    fn args_clusters_and_charts() {
        assert!(check_arg("us-central1-b").is_ok());
        for bad in ["", "--project=x", "-x", "a\nb"] {
            assert!(check_arg(bad).is_err(), "{bad:?}");
        }
        assert!(check_cluster_name("2i2c-aws-us").is_ok());
        for bad in ["", "Alpha", "a_b", "a\n::warning::x", "-a", "a-"] {
            assert!(check_cluster_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_chart_name("basehub").is_ok());
        for bad in ["../../x", "a/b", ".", "..", "-x", ""] {
            assert!(check_chart_name(bad).is_err(), "{bad:?}");
        }
    }
}
