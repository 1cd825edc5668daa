//! How deeply a YAML document nests, found in one pass over its text, before any parser sees it.
//!
//! Both YAML parsers deploy uses take time quadratic in the nesting of flow collections (a
//! 200 KB line of `[` takes minutes), so the check cannot be made with them. This scan follows
//! what makes a level: block collections (a line starting with `- `, `? ` or holding `key: `,
//! more indented than the collection around it) and flow collections (`[`, `{` where a node
//! starts, and anywhere inside another flow collection), and skips what cannot: quoted scalars,
//! block scalars (`|`, `>`), comments. Where YAML is ambiguous to a scan this simple it counts
//! fewer levels, never more, so a valid file is never refused for a depth it does not have; a
//! file deeper than the scan sees still meets the parser's own limit.

/// Where (1-based line and column) `text` first nests deeper than `max` levels.
pub fn too_deep(text: &str, max: usize) -> Option<(usize, usize)> {
    let mut s = Scan {
        max,
        block: Vec::new(),
        flow: 0,
        quote: None,
        node_start: true,
        block_scalar: None,
    };
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(col) = s.line(line.as_bytes()) {
            return Some((n + 1, col + 1));
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

struct Scan {
    max: usize,
    /// The open block collections: column, and whether it is a sequence.
    block: Vec<(usize, bool)>,
    /// Open flow collections.
    flow: usize,
    /// Inside a quoted scalar (which may span lines).
    quote: Option<Quote>,
    /// The next character may start a node (a quote, a flow collection, a block scalar).
    node_start: bool,
    /// Inside a block scalar whose header was on a line of this indentation.
    block_scalar: Option<usize>,
}

fn blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `b[i]` is an indicator (`-`, `?`, `:`) followed by a blank or the end of the line.
fn indicator(b: &[u8], i: usize, c: u8) -> bool {
    b.get(i) == Some(&c) && b.get(i + 1).is_none_or(|&n| blank(n))
}

/// Whether the node at `b[i..]` starts a block collection: a sequence entry, a complex key, or a
/// `key: ` (a plain or quoted key on this line).
fn starts_collection(b: &[u8], i: usize) -> bool {
    if indicator(b, i, b'-') || indicator(b, i, b'?') {
        return true;
    }
    let mut j = i;
    match b.get(i) {
        Some(&q @ (b'"' | b'\'')) => {
            // a quoted key: its closing quote, then `:`
            j += 1;
            while j < b.len() && b[j] != q {
                j += if q == b'"' && b[j] == b'\\' { 2 } else { 1 };
            }
            j += 1;
            while j < b.len() && blank(b[j]) {
                j += 1;
            }
            indicator(b, j, b':')
        }
        Some(b'[' | b'{' | b'#' | b'|' | b'>') | None => false,
        Some(_) => {
            // only a `:` or a `#` can end a plain key
            while let Some(k) = memchr::memchr2(b':', b'#', &b[j..]) {
                j += k;
                if indicator(b, j, b':') {
                    return true;
                }
                if b[j] == b'#' && j > 0 && blank(b[j - 1]) {
                    return false;
                }
                j += 1;
            }
            false
        }
    }
}

impl Scan {
    fn depth(&self) -> usize {
        self.block.len() + self.flow
    }

    /// One line; the 0-based column where the depth went past the limit.
    fn line(&mut self, b: &[u8]) -> Option<usize> {
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        let empty = b[indent..].iter().all(|&c| blank(c));
        if let Some(n) = self.block_scalar {
            if empty || indent > n {
                return None; // text of the block scalar
            }
            self.block_scalar = None;
        }
        let mut i = 0;
        if self.quote.is_none() && self.flow == 0 {
            if empty || b[indent] == b'#' || b[0] == b'%' {
                return None;
            }
            self.node_start = true;
            if (b.starts_with(b"---") || b.starts_with(b"..."))
                && b.get(3).is_none_or(|&c| blank(c))
            {
                // a new document
                self.block.clear();
                i = 3;
            } else {
                while self.block.last().is_some_and(|&(c, _)| c > indent) {
                    self.block.pop();
                }
                i = indent;
                // block collections starting on this line: `- - key: value` opens three
                while starts_collection(b, i) {
                    let seq = indicator(b, i, b'-');
                    // a key at the column of a sequence: that sequence was a value, now ended
                    if !seq && self.block.last() == Some(&(i, true)) {
                        self.block.pop();
                    }
                    let open = match self.block.last() {
                        None => true,
                        Some(&(c, _)) if c < i => true,
                        // `key:` then `- item` at the key's column: a sequence in the mapping
                        Some(&(c, was_seq)) => c == i && seq && !was_seq,
                    };
                    if open {
                        self.block.push((i, seq));
                        if self.depth() > self.max {
                            return Some(i);
                        }
                    }
                    if !(seq || indicator(b, i, b'?')) {
                        break;
                    }
                    i += 1;
                    while i < b.len() && blank(b[i]) {
                        i += 1;
                    }
                }
            }
        }
        self.rest(b, i, indent)
    }

    /// The rest of a line from `i`: quotes, flow collections, comments, block scalar headers.
    fn rest(&mut self, b: &[u8], mut i: usize, indent: usize) -> Option<usize> {
        while i < b.len() {
            if self.quote.is_none() && !self.node_start && self.flow == 0 {
                // inside a plain scalar or a key: only a `:` (a node may start after it) or a
                // `#` (a comment) changes anything, so go straight to the next one
                match memchr::memchr2(b':', b'#', &b[i..]) {
                    Some(k) => i += k,
                    None => return None,
                }
            }
            let c = b[i];
            if let Some(q) = self.quote {
                match (q, c) {
                    (Quote::Double, b'\\') => i += 1,
                    (Quote::Double, b'"') => self.quote = None,
                    (Quote::Single, b'\'') if b.get(i + 1) == Some(&b'\'') => i += 1,
                    (Quote::Single, b'\'') => self.quote = None,
                    _ => {}
                }
                i += 1;
                continue;
            }
            match c {
                b' ' | b'\t' => {}
                b'#' if i == 0 || blank(b[i - 1]) => return None,
                b'"' | b'\'' if self.node_start => {
                    self.quote = Some(if c == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    });
                    self.node_start = false;
                }
                b'[' | b'{' if self.node_start || self.flow > 0 => {
                    self.flow += 1;
                    if self.depth() > self.max {
                        return Some(i);
                    }
                    self.node_start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    self.node_start = false;
                }
                b',' if self.flow > 0 => self.node_start = true,
                b':' if self.flow > 0 || b.get(i + 1).is_none_or(|&n| blank(n)) => {
                    self.node_start = true;
                }
                b'-' | b'?' if self.node_start && b.get(i + 1).is_none_or(|&n| blank(n)) => {}
                // an anchor or a tag before a node: the node starts after it
                b'&' | b'!' if self.node_start => {
                    while i + 1 < b.len() && !blank(b[i + 1]) {
                        i += 1;
                    }
                }
                b'|' | b'>' if self.node_start && self.flow == 0 => {
                    self.block_scalar = Some(indent);
                    return None;
                }
                _ => self.node_start = false,
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deepest the scan sees (the smallest limit it does not refuse).
    fn depth(text: &str) -> usize {
        (0..200).find(|&max| too_deep(text, max).is_none()).unwrap()
    }

    #[test]
    fn counts_block_and_flow_levels() {
        assert_eq!(depth("a: 1\n"), 1);
        assert_eq!(depth("a:\n  b:\n    c: 1\n  d: 2\ne: 3\n"), 3);
        // a sequence at its key's column is nested all the same
        assert_eq!(depth("a:\n- b:\n  - c: 1\nd: 2\n"), 5);
        assert_eq!(depth("a:\n- 1\nb:\n- 2\n"), 2);
        assert_eq!(depth("- - - x\n"), 3);
        assert_eq!(depth("- name: a\n  files: [a, {b: [c]}]\n"), 5);
        assert_eq!(depth("{\"a\": [1, {\"b\": \"x\"}]}"), 3);
        assert_eq!(depth("--- [[1]]\n--- a: 1\n"), 2);
        assert_eq!(depth("a:\n  b: 1\n---\nc: [[[1]]]\n"), 4);
    }

    #[test]
    fn text_is_not_structure() {
        // brackets and colons in scalars, comments, quoted and block scalars
        assert_eq!(
            depth("a: see [docs](x) or {y\nb: \"[[[\"\nc: '{{ x }}' # [[[\n"),
            1
        );
        assert_eq!(
            depth("a: \"multi-line [[[\n  still: quoted {{{\"\nb: 1\n"),
            1
        );
        assert_eq!(depth("a: |\n  - [[[\n  k: {{{\n    - x\nb: >-\n  [[[\n"), 1);
        assert_eq!(depth("a: it's [not, quoted]\n"), 1);
        assert_eq!(depth("a: [\"x, ]\", 'y'' ]']\n"), 2);
        assert_eq!(depth("a: &anchor [1, !!str [x]]\nb: *anchor\n"), 3);
        assert_eq!(depth("url: http://x:80/[a]\n"), 1);
    }

    #[test]
    fn is_linear_on_hostile_input() {
        let text = format!("a: {}", "[".repeat(10_000_000));
        let t = std::time::Instant::now();
        assert_eq!(too_deep(&text, 100), Some((1, 103)));
        let text = "- ".repeat(5_000_000);
        assert_eq!(too_deep(&text, 100), Some((1, 201)));
        let text = format!("\"{}", "[".repeat(10_000_000));
        assert_eq!(too_deep(&text, 100), None);
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
    }
}

#[cfg(test)]
mod agreement {
    use super::too_deep;
    use yaml_rust2::parser::{Event, Parser};

    /// The nesting a real parser sees; `None` when the text is not YAML.
    fn parsed_depth(text: &str) -> Option<usize> {
        let mut p = Parser::new_from_str(text);
        let (mut depth, mut max) = (0usize, 0usize);
        loop {
            match p.next_token().ok()?.0 {
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    depth += 1;
                    max = max.max(depth);
                }
                Event::MappingEnd | Event::SequenceEnd => depth -= 1,
                Event::StreamEnd => return Some(max),
                _ => {}
            }
        }
    }

    fn scanned_depth(text: &str) -> usize {
        (0..1000).find(|&m| too_deep(text, m).is_none()).unwrap()
    }

    fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    yaml_files(&p, out);
                }
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(p);
            }
        }
    }

    /// Every YAML file of this repository (examples, charts, schemas, workflows, fixtures): the
    /// scan never sees more levels than the parser, and sees them all in all but odd layouts.
    #[test]
    fn the_scan_never_counts_more_than_the_parser() {
        let mut files = Vec::new();
        yaml_files(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), &mut files);
        assert!(files.len() > 50, "{}", files.len());
        let mut exact = 0;
        let mut checked = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let Some(real) = parsed_depth(&text) else {
                continue;
            };
            checked += 1;
            let seen = scanned_depth(&text);
            assert!(seen <= real, "{}: scan {seen} > parser {real}", f.display());
            if seen == real {
                exact += 1;
            } else {
                eprintln!("{}: scan {seen} < parser {real}", f.display());
            }
        }
        assert!(exact * 10 >= checked * 9, "{exact} of {checked} exact");
    }
}
