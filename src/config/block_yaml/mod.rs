//! A fast reader for the plain block subset of YAML that cluster files are written in: block
//! mappings with plain keys, block sequences, one-line scalars (plain, single-quoted, or
//! double-quoted without escapes), comments and blank lines. It reads a type through serde
//! exactly as serde_yaml reads it from the same text, or declines (`None`): on anything else
//! (flow collections, block scalars, anchors, aliases, tags, multi-line scalars, tabs, escapes,
//! document markers, a key given twice, any scalar whose reading it is not certain of) and on any
//! error, so the caller reads the file the exact way and reports what serde_yaml reports.
//!
//! libyaml spends about 1.4M instructions on a 4.5 KB cluster file (it decodes and copies the
//! text a character at a time); this reader a small fraction of that: `plan` of 500 changed
//! files parses 219 of them. `yaml::from_str_refusing_repeats` uses it first; the unit tests and
//! the `cluster_yaml` fuzz target check that both readings agree.

use serde::de::DeserializeOwned;

mod de;
#[cfg(test)]
mod tests;

/// Nesting beyond this declines (far below `yaml::MAX_DEPTH`, which the depth scan enforces, and
/// serde_yaml's own recursion limit). Checked at every level.
const MAX_NESTING: usize = 32;

/// Longer keys decline: libyaml refuses one longer than 1024 characters.
const MAX_KEY: usize = 256;

/// `text` read as `T`, when it is in the subset and reads without error.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    let doc = parse(text)?;
    T::deserialize(doc.root()).ok()
}

/// A parsed document. The entries of all its mappings are kept in one list and the items of all
/// its sequences in another, each collection's contiguous, instead of a list of its own for each
/// collection: a cluster file of 20 hubs has some 60 collections, and making, growing and then
/// freeing a list for each was a fifth of the time this reader took.
#[derive(Debug)]
pub struct Doc<'a> {
    root: Node<'a>,
    entries: Vec<(&'a str, Node<'a>)>,
    items: Vec<Node<'a>>,
}

#[derive(Debug, PartialEq)]
pub enum Node<'a> {
    /// A one-line scalar: its text (single quotes unescaped) and whether it was plain.
    Scalar(std::borrow::Cow<'a, str>, bool),
    /// Its entries: `Doc::entries[range]`.
    Map(std::ops::Range<usize>),
    /// Its items: `Doc::items[range]`.
    Seq(std::ops::Range<usize>),
}

impl<'a> Doc<'a> {
    fn root(&self) -> de::At<'_> {
        de::At {
            doc: self,
            node: &self.root,
        }
    }
}

/// The document, when it is a block mapping or sequence in the subset.
pub fn parse(text: &str) -> Option<Doc<'_>> {
    if !printable(text) {
        return None;
    }
    // (a line is at most one entry or item: enough room for all, at once)
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
    let mut lines = Lines {
        text,
        pos: 0,
        cur: None,
        entries: Vec::with_capacity(lines),
        items: Vec::with_capacity(lines),
        open_entries: Vec::with_capacity(64),
        open_items: Vec::with_capacity(64),
    };
    lines.advance()?;
    let first = lines.cur?;
    if first.indent != 0 {
        return None;
    }
    let node = lines.node(0, 0)?;
    // everything read: a line left over is indented where nothing expects it
    lines.cur.is_none().then_some(Doc {
        root: node,
        entries: lines.entries,
        items: lines.items,
    })
}

/// Only characters libyaml takes as printable and not as a line break: no tab, carriage return,
/// other control characters, NEL, the Unicode line and paragraph separators, or byte order mark.
fn printable(text: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    // in blocks, without stopping early, so that the compiler can check many bytes at once
    let blocks_ok = |t: &[u8]| {
        t.chunks(64)
            .all(|c| c.iter().fold(true, |ok, &b| ok & ascii_ok(b)))
    };
    if blocks_ok(text.as_bytes()) {
        return true;
    }
    if text.is_ascii() {
        return false;
    }
    text.chars().all(|c| {
        let c = c as u32;
        if c < 0x80 {
            ascii_ok(c as u8)
        } else {
            c >= 0xa0 && !matches!(c, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
        }
    })
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// After the indentation, without the line break.
    body: &'a str,
}

struct Lines<'a> {
    text: &'a str,
    pos: usize,
    /// The next line with content (not blank, not only a comment).
    cur: Option<Line<'a>>,
    /// The entries of the mappings read so far ([`Doc::entries`]).
    entries: Vec<(&'a str, Node<'a>)>,
    /// The items of the sequences read so far ([`Doc::items`]).
    items: Vec<Node<'a>>,
    /// The entries of the mappings being read, innermost last: a mapping's move to `entries`
    /// when it ends (those of a mapping inside it have moved by then, so each is contiguous).
    open_entries: Vec<(&'a str, Node<'a>)>,
    /// The same for the items of the sequences being read.
    open_items: Vec<Node<'a>>,
}

fn is_dash(body: &str) -> bool {
    body == "-" || body.starts_with("- ")
}

impl<'a> Lines<'a> {
    /// Move to the next line with content; `None` (decline) on a document marker or directive.
    fn advance(&mut self) -> Option<()> {
        self.cur = None;
        while self.pos < self.text.len() {
            let rest = &self.text[self.pos..];
            let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            let line = &rest[..end];
            self.pos += end + 1;
            let body = line.trim_start_matches(' ');
            let indent = line.len() - body.len();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if indent == 0
                && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%'))
            {
                return None;
            }
            self.cur = Some(Line { indent, body });
            break;
        }
        Some(())
    }

    /// The collection starting at the current line, which is indented by `indent`.
    fn node(&mut self, indent: usize, depth: usize) -> Option<Node<'a>> {
        if is_dash(self.cur?.body) {
            self.seq(indent, depth)
        } else {
            self.map(indent, depth)
        }
    }

    fn seq(&mut self, indent: usize, depth: usize) -> Option<Node<'a>> {
        // here and in `map`, which call each other directly too: every level counts
        if depth > MAX_NESTING {
            return None;
        }
        let start = self.open_items.len();
        while let Some(line) = self.cur.filter(|l| l.indent == indent && is_dash(l.body)) {
            let rest = line.body.get(1..)?;
            let content = rest.trim_start_matches(' ');
            let col = indent + 1 + (rest.len() - content.len());
            if content.is_empty() || content.starts_with('#') || is_dash(content) {
                return None; // an item on the following lines, a null, or a nested compact list
            }
            if split_key(content).is_some() {
                // a mapping that starts on the dash's line, at the column of its first key
                self.cur = Some(Line {
                    indent: col,
                    body: content,
                });
                let item = self.map(col, depth + 1)?;
                self.open_items.push(item);
            } else {
                let (text, plain) = scalar(content)?;
                self.advance()?;
                if self.cur.is_some_and(|l| l.indent > indent) {
                    return None; // a continuation line, or structure where none can be
                }
                self.open_items.push(Node::Scalar(text, plain));
            }
        }
        let at = self.items.len();
        self.items.extend(self.open_items.drain(start..));
        Some(Node::Seq(at..self.items.len()))
    }

    fn map(&mut self, indent: usize, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_NESTING {
            return None;
        }
        let start = self.open_entries.len();
        while let Some(line) = self.cur.filter(|l| l.indent == indent) {
            let (key, rest) = split_key(line.body)?;
            self.advance()?;
            let value = if rest.is_empty() {
                match self.cur {
                    Some(next) if next.indent > indent => self.node(next.indent, depth + 1)?,
                    Some(next) if next.indent == indent && is_dash(next.body) => {
                        self.seq(indent, depth + 1)?
                    }
                    _ => Node::Scalar("".into(), true),
                }
            } else {
                let (text, plain) = scalar(rest)?;
                if self.cur.is_some_and(|l| l.indent > indent) {
                    return None;
                }
                Node::Scalar(text, plain)
            };
            self.open_entries.push((key, value));
        }
        // a key given twice: the exact path names both lines
        if repeats(&self.open_entries[start..]) {
            return None;
        }
        let at = self.entries.len();
        self.entries.extend(self.open_entries.drain(start..));
        Some(Node::Map(at..self.entries.len()))
    }
}

/// Whether a mapping gives a key twice, as written (pairwise for a short mapping, sorted for a
/// long one, so that the check does not grow with the square of its length).
fn repeats(entries: &[(&str, Node)]) -> bool {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .any(|(i, (k, _))| entries[..i].iter().any(|(j, _)| j == k));
    }
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// `key: rest` or `key:` with a plain key of letters, digits and `_ . / -` (not first), and the
/// rest after the separating spaces (empty when only a comment follows).
fn split_key(body: &str) -> Option<(&str, &str)> {
    let b = body.as_bytes();
    // the key ends at the first colon (which no key byte is), and every byte before it is a key
    // byte: most lines that are not `key:` lines have no colon at all, found a word at a time
    let n = memchr::memchr(b':', b)?;
    // (libyaml refuses a key longer than 1024 characters: far above any real one)
    if n == 0 || n > MAX_KEY || b[0] == b'-' || !b[..n].iter().all(|&c| KEY[c as usize]) {
        return None;
    }
    let after = &body[n + 1..];
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let rest = after.trim_start_matches(' ');
    let rest = if rest.starts_with('#') { "" } else { rest };
    Some((&body[..n], rest))
}

/// The bytes of a plain key this reader takes.
static KEY: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-');
        c += 1;
    }
    t
};

/// A one-line scalar (no leading space): its text and whether it is plain.
fn scalar(s: &str) -> Option<(std::borrow::Cow<'_, str>, bool)> {
    let only_comment_after = |tail: &str| {
        let t = tail.trim_start_matches(' ');
        t.is_empty() || (t.len() < tail.len() && t.starts_with('#'))
    };
    match s.as_bytes()[0] {
        b'\'' => {
            let mut out = String::new();
            let mut i = 1;
            loop {
                let j = i + s[i..].find('\'')?;
                out.push_str(&s[i..j]);
                if s.as_bytes().get(j + 1) == Some(&b'\'') {
                    out.push('\'');
                    i = j + 2;
                } else {
                    return only_comment_after(&s[j + 1..]).then_some((out.into(), false));
                }
            }
        }
        b'"' => {
            let j = 1 + s[1..].find('"')?;
            let text = &s[1..j];
            (!text.contains('\\') && only_comment_after(&s[j + 1..]))
                .then_some((text.into(), false))
        }
        b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
        | b'|' | b'>' | b'%' | b'@' | b'`' => None,
        _ => {
            // up to a comment (` #`); `: ` or a final `:` would make it a key, which YAML
            // refuses here
            // (only at a `#` or `:`, found a word at a time: most scalars have neither)
            let b = s.as_bytes();
            let mut end = b.len();
            for i in memchr::memchr2_iter(b'#', b':', b) {
                if b[i] == b'#' && i > 0 && b[i - 1] == b' ' {
                    end = i - 1;
                    break;
                }
                if b[i] == b':' && b.get(i + 1) == Some(&b' ') {
                    return None;
                }
            }
            let text = s[..end].trim_end_matches(' ');
            (!text.ends_with(':')).then_some((text.into(), true))
        }
    }
}
