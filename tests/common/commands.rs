//! Commands as `deploy plan --format commands` prints them, compared with the calls the fake
//! tools log.

/// A printed command line as the fake tools log it (`<tool> <args…>`, unquoted): notes and a
/// stdin description dropped, single quotes undone. `<placeholders>` are kept.
pub fn as_logged(line: &str) -> String {
    let line = match line.rfind(" (") {
        Some(i) if line.ends_with(')') => &line[..i],
        _ => line,
    };
    let line = match line.find(" < ") {
        Some(i) => &line[..i],
        None => line,
    };
    line.replace('\'', "")
}

/// A printed command's words: split at spaces, except inside a `<placeholder>` (which may hold
/// spaces: `<decrypted config/…/key.json>`).
fn words(printed: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0usize;
    for ch in printed.chars() {
        match ch {
            ' ' if depth == 0 => out.push(String::new()),
            '<' => {
                depth += 1;
                out.last_mut().unwrap().push(ch);
            }
            '>' => {
                depth = depth.saturating_sub(1);
                out.last_mut().unwrap().push(ch);
            }
            _ => out.last_mut().unwrap().push(ch),
        }
    }
    out
}

/// Whether a logged call is a printed command, `<placeholders>` standing for one word.
pub fn matches(printed: &str, logged: &str) -> bool {
    let p = words(printed);
    let l: Vec<&str> = logged.split(' ').collect();
    p.len() == l.len()
        && p.iter().zip(&l).all(|(a, b)| {
            a == b
                || (a.contains('<') && {
                    let (pre, rest) = a.split_once('<').unwrap();
                    let (name, post) = rest.rsplit_once('>').unwrap_or((rest, ""));
                    let middle = b.strip_prefix(pre).and_then(|m| m.strip_suffix(post));
                    // a temp copy's folder is absolute: a repo folder is not one
                    middle.is_some_and(|m| name != "chart-override" || m.starts_with('/'))
                })
        })
}
