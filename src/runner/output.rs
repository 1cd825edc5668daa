//! Reading what a command prints, in bounded memory: a line is cut at [`LINE_MAX`] bytes, a
//! captured output at [`CAPTURE_MAX`], bytes that are not UTF-8 are decoded lossily, and every
//! pipe is read to its end (a reader that stops early makes the child die of SIGPIPE).

use std::collections::VecDeque;

pub use crate::log::partial_secret_suffix;

/// The longest line of a command's output that is logged; the rest of it is dropped (and said).
pub const LINE_MAX: usize = 64 * 1024;
/// The most stdout a query may print (`helm get manifest` of a big release is a few MiB); more
/// is an error rather than an out-of-memory kill.
pub const CAPTURE_MAX: usize = 256 * 1024 * 1024;
/// The end of a query's stderr that is kept (for error messages and the "not found" answers).
pub const STDERR_MAX: usize = 4 * 1024 * 1024;
/// Lines of a streamed command's output kept for its error message.
pub const KEPT_LINES: usize = 200;
/// Lines of output quoted in an error message, and the longest of them.
pub const TAIL_LINES: usize = 20;
pub const TAIL_LINE_MAX: usize = 2048;

/// Splits what a pipe gives, a chunk at a time, into lines (without their `\n`), keeping at most
/// `cap` bytes of each: `emit` gets each line and how many bytes of it were dropped, and at
/// [`Lines::finish`] a last line that has no `\n`.
pub struct Lines<F: FnMut(&[u8], usize)> {
    line: Vec<u8>,
    dropped: usize,
    cap: usize,
    emit: F,
}

impl<F: FnMut(&[u8], usize)> Lines<F> {
    pub fn new(cap: usize, emit: F) -> Self {
        Lines {
            line: Vec::new(),
            dropped: 0,
            cap,
            emit,
        }
    }

    pub fn push(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let newline = memchr::memchr(b'\n', chunk);
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            let take = part.len().min(self.cap.saturating_sub(self.line.len()));
            self.line.extend_from_slice(&part[..take]);
            self.dropped += part.len() - take;
            let Some(i) = newline else { break };
            (self.emit)(&self.line, self.dropped);
            self.line.clear();
            self.dropped = 0;
            chunk = &chunk[i + 1..];
        }
    }

    /// The end of the input: its last line, if it has no `\n` (bytes of it were given: kept, or
    /// dropped past the cap).
    pub fn finish(mut self) {
        if !self.line.is_empty() || self.dropped > 0 {
            (self.emit)(&self.line, self.dropped);
        }
    }
}

/// A line from [`Lines`] as text: decoded lossily, `\r\n` ends removed, and a cut
/// line ends with a note saying how much was dropped. `partial_secret` says how many bytes at the
/// end of a text are the start of a secret: a cut line loses them too, so a secret cut in two
/// never shows its first half.
pub fn line_text(bytes: &[u8], dropped: usize, partial_secret: impl Fn(&str) -> usize) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if dropped == 0 {
        return text;
    }
    let mut dropped = dropped;
    loop {
        let n = partial_secret(&text);
        if n == 0 {
            break;
        }
        let keep = floor_char_boundary(&text, text.len() - n);
        dropped += text.len() - keep;
        text.truncate(keep);
    }
    text.push_str(&format!(" … [{dropped} more bytes of this line not shown]"));
    text
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// What a pipe gave, bounded.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes read but not kept.
    pub dropped: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Which part of an output too long to keep whole is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The first `cap` bytes (a result to parse: too much of it is an error).
    Head(usize),
    /// The last `cap` bytes (messages: the end says what went wrong).
    Tail(usize),
}

/// What a pipe gave so far, bounded: a chunk at a time (a reader waits on several pipes at
/// once).
#[derive(Debug)]
pub struct Capture {
    out: Captured,
    keep: Keep,
}

impl Capture {
    pub fn new(keep: Keep) -> Self {
        Capture {
            out: Captured::default(),
            keep,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let out = &mut self.out;
        let n = chunk.len();
        match self.keep {
            Keep::Head(cap) => {
                let take = n.min(cap.saturating_sub(out.bytes.len()));
                out.bytes.extend_from_slice(&chunk[..take]);
                out.dropped += (n - take) as u64;
            }
            Keep::Tail(cap) => {
                out.bytes.extend_from_slice(chunk);
                if out.bytes.len() > cap.saturating_mul(2) {
                    let cut = out.bytes.len() - cap;
                    out.bytes.drain(..cut);
                    out.dropped += cut as u64;
                }
            }
        }
    }

    pub fn finish(self) -> Captured {
        let mut out = self.out;
        if let Keep::Tail(cap) = self.keep {
            let mut cut = out.bytes.len().saturating_sub(cap);
            if out.dropped > 0 || cut > 0 {
                // from the first whole line: a cut line could start with the end of a secret
                cut += out.bytes[cut..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.bytes.len() - cut, |i| i + 1);
            }
            out.bytes.drain(..cut);
            out.dropped += cut as u64;
        }
        out
    }
}

/// The last [`TAIL_LINES`] lines of `text`, each cut at [`TAIL_LINE_MAX`] bytes.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| {
            if l.len() <= TAIL_LINE_MAX {
                (*l).to_string()
            } else {
                let keep = floor_char_boundary(l, TAIL_LINE_MAX);
                format!("{} … [{} more bytes]", &l[..keep], l.len() - keep)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `n` lines pushed.
#[derive(Debug, Default)]
pub struct LastLines {
    lines: VecDeque<String>,
}

impl LastLines {
    pub fn push(&mut self, line: String) {
        self.lines.push_back(line);
        if self.lines.len() > KEPT_LINES {
            self.lines.pop_front();
        }
    }

    pub fn text(self) -> String {
        self.lines.into_iter().map(|l| l + "\n").collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Read `r` to its end, keeping part of it.
    fn capture(mut r: impl Read, keep: Keep) -> Captured {
        let mut out = Capture::new(keep);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => out.push(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        out.finish()
    }

    /// `input` given in chunks of `chunk` bytes.
    fn lines(input: &[u8], cap: usize, chunk: usize) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        let mut l = Lines::new(cap, |line: &[u8], dropped| {
            out.push((line.to_vec(), dropped))
        });
        for c in input.chunks(chunk) {
            l.push(c);
        }
        l.finish();
        out
    }

    #[test]
    fn long_lines_are_cut_and_reading_goes_on_however_the_input_comes() {
        let want = vec![
            (b"short".to_vec(), 0),
            (b"abcdefghij".to_vec(), 6),
            (b"".to_vec(), 0),
            (b"last".to_vec(), 0),
        ];
        for chunk in [1, 3, 7, 100] {
            assert_eq!(lines(b"short\nabcdefghijklmnop\n\nlast", 10, chunk), want);
        }
        assert_eq!(lines(b"a\n", 10, 1), vec![(b"a".to_vec(), 0)]);
        assert!(lines(b"", 10, 1).is_empty());
    }

    #[test]
    fn a_huge_line_costs_only_the_cap() {
        // 50 MB without a newline, in 64 KiB chunks
        let chunk = vec![b'x'; 64 * 1024];
        let mut got = None;
        let mut l = Lines::new(LINE_MAX, |line: &[u8], dropped| {
            got = Some((line.len(), dropped))
        });
        let mut n = 0;
        while n < 50_000_000 {
            let k = chunk.len().min(50_000_000 - n);
            l.push(&chunk[..k]);
            n += k;
        }
        assert!(l.line.capacity() < 2 * LINE_MAX, "{}", l.line.capacity());
        l.finish();
        assert_eq!(got, Some((LINE_MAX, 50_000_000 - LINE_MAX)));
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        assert_eq!(line_text(b"caf\xe9 ok\r", 0, |_| 0), "caf\u{fffd} ok");
    }

    #[test]
    fn a_cut_line_never_ends_with_the_start_of_a_secret() {
        let secrets = ["hunter2-very-secret"];
        let cut = line_text(b"token=hunter2-ve", 100, |t| {
            partial_secret_suffix(t, secrets)
        });
        assert_eq!(cut, "token= … [110 more bytes of this line not shown]");
        assert_eq!(partial_secret_suffix("a hunter2-very-secret", secrets), 0);
    }

    #[test]
    fn captures_keep_the_head_or_the_tail() {
        let c = capture(&b"0123456789"[..], Keep::Head(4));
        assert_eq!((c.bytes.as_slice(), c.dropped), (&b"0123"[..], 6));
        let big = std::io::repeat(b'y').take(1_000_000);
        let c = capture(big.chain(&b"\nlast line\n"[..]), Keep::Tail(100));
        // whole lines only: the cut one is dropped
        assert_eq!(c.bytes, b"last line\n");
        assert_eq!(c.dropped, 1_000_001);
        let c = capture(&b"short\n"[..], Keep::Tail(100));
        assert_eq!((c.bytes.as_slice(), c.dropped), (&b"short\n"[..], 0));
    }

    #[test]
    fn the_tail_is_bounded() {
        let long = "z".repeat(10_000);
        let text: String = (0..50).map(|i| format!("{i} {long}\n")).collect();
        let t = tail(&text);
        assert_eq!(t.lines().count(), TAIL_LINES);
        assert!(t.len() < TAIL_LINES * (TAIL_LINE_MAX + 40), "{}", t.len());
        assert!(t.starts_with("30 zzz"));
    }
}
