//! Repo-relative paths, normalized one way everywhere: `./x` → `x`, `a//b` → `a/b`,
//! `a/./b` → `a/b`, `a/../b` → `b`. Changed paths and the values paths listed in cluster.yaml
//! go through the same function, so they compare equal when they name the same file.

/// Normalize a repo-relative path. Errors for paths that leave the repo (`../x`) or are empty.
pub fn normalize(path: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    let trimmed = path.trim_end_matches(['\r', '\n']);
    if trimmed.starts_with('/') {
        return Err(format!(
            "`{path}` is absolute; give paths relative to the repo root"
        ));
    }
    // most paths are normal already: one pass, one allocation
    if trimmed
        .split('/')
        .all(|p| !p.is_empty() && p != "." && p != "..")
    {
        return Ok(trimmed.to_string());
    }
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("`{path}` leaves the repository"));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(format!("`{path}` names no file"));
    }
    Ok(parts.join("/"))
}

/// `base/rel`, normalized (values paths are relative to their cluster folder).
pub fn join(base: &str, rel: &str) -> Result<String, String> {
    if rel.starts_with('/') {
        return Err(format!(
            "`{rel}` is absolute; values paths are relative to the cluster folder"
        ));
    }
    normalize(&format!("{base}/{rel}"))
}

/// Whether normalized `path` lies inside folder `dir` (not `dir` itself, not `dir-other/…`).
pub fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_one_way() {
        for (input, want) in [
            ("./x", "x"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            (
                "./config/clusters/c1/../c1/hub.values.yaml",
                "config/clusters/c1/hub.values.yaml",
            ),
            ("a/b/", "a/b"),
            ("x\r", "x"),
        ] {
            assert_eq!(normalize(input).unwrap(), want, "{input}");
        }
        for bad in ["../x", "a/../../x", "/etc/passwd", "", ".", "./"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
        assert_eq!(
            join("config/clusters/c1", "./common.values.yaml").unwrap(),
            "config/clusters/c1/common.values.yaml"
        );
        assert_eq!(
            join("config/clusters/c1", "../c2/x.yaml").unwrap(),
            "config/clusters/c2/x.yaml"
        );
        assert!(is_under("a/b/c", "a/b"));
        assert!(!is_under("a/b", "a/b"));
        assert!(!is_under("a/bc/d", "a/b"));
    }
}
