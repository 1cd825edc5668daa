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
    if is_normal(trimmed) {
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
    Folder::new(base).join(rel)
}

/// A folder to join paths to, checked once (a cluster's folder is joined with each of its hubs'
/// values files: tens of thousands of times for a large repo).
pub struct Folder<'a> {
    path: &'a str,
    normal: bool,
}

impl<'a> Folder<'a> {
    pub fn new(path: &'a str) -> Self {
        Folder {
            path,
            normal: is_normal(path),
        }
    }

    /// Whether `folder/rel`, normalized, is `folder/rel` as written (most values paths are):
    /// [`Folder::join`] of it is then that, and cannot fail.
    pub fn joins_as_written(&self, rel: &str) -> bool {
        self.normal && is_normal(rel) && !rel.ends_with(['\r', '\n'])
    }

    /// `folder/rel`, normalized.
    pub fn join(&self, rel: &str) -> Result<String, String> {
        let base = self.path;
        if rel.starts_with('/') {
            return Err(format!(
                "`{rel}` is absolute; values paths are relative to the cluster folder"
            ));
        }
        if self.joins_as_written(rel) {
            let mut joined = String::with_capacity(base.len() + 1 + rel.len());
            joined.push_str(base);
            joined.push('/');
            joined.push_str(rel);
            return Ok(joined);
        }
        normalize(&format!("{base}/{rel}"))
    }
}

/// No empty, `.` or `..` part, and not absolute: `normalize` would return it as it is. (A byte
/// scan: the planner joins a cluster folder with each of its values files, tens of thousands of
/// times for a large repo.)
fn is_normal(path: &str) -> bool {
    let b = path.as_bytes();
    // one part (most values paths: a file of the cluster folder): not empty, `.` or `..`
    if !b.contains(&b'/') {
        return !matches!(b, b"" | b"." | b"..");
    }
    // An empty, `.` or `..` part starts the path, ends it, or follows a slash: a path with
    // none of `/` or `.` first, `/` last, `//` or `/.` inside has none (one pass, no splitting).
    let plain = matches!(b.first(), Some(c) if !matches!(c, b'/' | b'.'))
        && b.last() != Some(&b'/')
        && !b
            .windows(2)
            .any(|w| w[0] == b'/' && matches!(w[1], b'/' | b'.'));
    plain
        || b.split(|&c| c == b'/')
            .all(|p| !p.is_empty() && p != b"." && p != b"..")
}

/// Whether normalized `path` lies inside folder `dir` (not `dir` itself, not `dir-other/…`).
pub fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_normal_is_no_empty_dot_or_dot_dot_part() {
        // every string of up to 6 of these bytes
        let alphabet = [b'a', b'.', b'/', b'-'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|s| alphabet.map(|c| format!("{s}{}", c as char)))
                .collect();
            all.extend(last.iter().cloned());
        }
        for p in &all {
            let by_parts = p.split('/').all(|x| !x.is_empty() && x != "." && x != "..");
            assert_eq!(is_normal(p), by_parts, "{p:?}");
        }
    }

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
        for (base, rel) in [
            ("a", "b"),
            ("a/b", "c/d"),
            ("a", "./b"),
            ("a", "b/../c"),
            ("a/", "b"),
            ("a", "b\n"),
            ("a", ""),
            // the one-pass check: dots and slashes where a part starts or ends
            ("a", ".hidden/x"),
            ("a", "x/.hidden"),
            ("a", "x/..y"),
            ("a", "x./y."),
            ("a", "x//y"),
            ("a", "x/"),
            ("a", "."),
            ("a", ".."),
            ("a", "x/."),
            ("a", "x/.."),
            ("a", "-x/y.values.yaml"),
            (".", "x"),
            ("./a", "x"),
            ("a/.", "x"),
            ("", "x"),
        ] {
            assert_eq!(
                join(base, rel),
                normalize(&format!("{base}/{rel}")),
                "{base} {rel}"
            );
        }
        assert!(is_under("a/b/c", "a/b"));
        assert!(!is_under("a/b", "a/b"));
        assert!(!is_under("a/bc/d", "a/b"));
    }
}
