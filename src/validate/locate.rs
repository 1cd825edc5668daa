//! Where each node of a YAML document is: JSON pointer (`/hubs/0/name`) → line and column, so
//! schema and cross-file errors can say `config/clusters/a/cluster.yaml:12:11: hubs[0].name: …`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

#[derive(Debug, Default)]
pub struct Locations {
    at: HashMap<String, (usize, usize)>,
}

enum Frame {
    /// In a mapping: the pointer of the mapping and the key awaiting its value, if any.
    Map(String, Option<String>),
    /// In a sequence: its pointer and the next index.
    Seq(String, usize),
}

struct Builder {
    stack: Vec<Frame>,
    at: HashMap<String, (usize, usize)>,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Builder {
    /// The pointer of the node that starts now (and advances the parent's state).
    fn next_pointer(&mut self, scalar: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq(p, i)) => {
                let ptr = format!("{p}/{i}");
                *i += 1;
                Some(ptr)
            }
            Some(Frame::Map(p, key)) => match key.take() {
                Some(k) => Some(format!("{p}/{}", escape(&k))),
                None => {
                    // this node is a key: the value's pointer, until the value is seen
                    let k = scalar.unwrap_or("").to_string();
                    *key = Some(k.clone());
                    Some(format!("{p}/{}", escape(&k)))
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(p) = self.next_pointer(Some(&value)) {
                    self.at.entry(p).or_insert(pos);
                }
            }
            Event::MappingStart(..) => {
                let p = self.next_pointer(None).unwrap_or_default();
                self.at.entry(p.clone()).or_insert(pos);
                self.stack.push(Frame::Map(p, None));
            }
            Event::SequenceStart(..) => {
                let p = self.next_pointer(None).unwrap_or_default();
                self.at.entry(p.clone()).or_insert(pos);
                self.stack.push(Frame::Seq(p, 0));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                if let Some(p) = self.next_pointer(None) {
                    self.at.entry(p).or_insert(pos);
                }
            }
            _ => {}
        }
    }
}

/// A document's [`Locations`], built on first use: most documents have no problem to locate, and
/// indexing one costs a second parse.
pub struct Lazy<'a> {
    text: &'a str,
    built: std::cell::OnceCell<Locations>,
}

impl<'a> Lazy<'a> {
    pub fn new(text: &'a str) -> Lazy<'a> {
        Lazy {
            text,
            built: std::cell::OnceCell::new(),
        }
    }

    pub fn get(&self) -> &Locations {
        self.built.get_or_init(|| Locations::of(self.text))
    }
}

impl Locations {
    /// Index a document; a document that does not parse, or nests too deeply, gives no
    /// locations.
    pub fn of(text: &str) -> Locations {
        if crate::config::yaml::check_depth("", text).is_err() {
            return Locations::default();
        }
        let mut b = Builder {
            stack: Vec::new(),
            at: HashMap::new(),
        };
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut b, false).is_err() {
            return Locations::default();
        }
        Locations { at: b.at }
    }

    /// Line and column of the node at `pointer`, or of its nearest ancestor that exists.
    pub fn find(&self, pointer: &str) -> Option<(usize, usize)> {
        self.deepest(pointer).map(|(_, at)| at)
    }

    /// The nearest existing node at or above `pointer`: its pointer and position.
    pub fn deepest(&self, pointer: &str) -> Option<(String, (usize, usize))> {
        let mut p = pointer.to_string();
        loop {
            if let Some(at) = self.at.get(&p) {
                return Some((p, *at));
            }
            let cut = p.rfind('/')?;
            p.truncate(cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_nodes() {
        let text = "name: a\nhubs:\n- name: x\n  domain: x.org\n- name: y\n  files: [a, b]\n";
        let l = Locations::of(text);
        assert_eq!(l.find("/name"), Some((1, 1)), "a key is located at the key");
        assert_eq!(l.find("/hubs/1/name"), Some((5, 3)));
        assert_eq!(l.find("/hubs/1/files/1"), Some((6, 14)));
        assert_eq!(
            l.find("/hubs/0/missing").map(|(line, _)| line),
            Some(3),
            "nearest ancestor"
        );
        assert_eq!(
            crate::config::yaml::dotted("/hubs/1/files/0"),
            "hubs[1].files[0]"
        );
    }
}
