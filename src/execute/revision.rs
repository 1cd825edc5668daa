//! A git revision as a [`Tree`]: what `deploy plan --base A --head B` reads B's config from, and
//! A's cluster files. One `git ls-tree` lists the revision when it is opened; files are read with
//! `git cat-file --batch`, all the files the planner is about to need in one process.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::ConfigError;
use crate::config::files::{MAX_TEXT_BYTES, ReadError};
use crate::config::tree::Tree;
use crate::runner::{CmdError, Output, Reply, Runner};
use crate::tools::git;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Symlink,
    /// A submodule (a commit entry): there, but not a file.
    Commit,
}

#[derive(Clone, Debug)]
struct Entry {
    kind: Kind,
    object: String,
    /// Bytes (`None` for a submodule).
    size: Option<u64>,
}

type Text = Result<Option<String>, ConfigError>;

/// One commit's files.
pub struct Revision {
    /// The commit hash.
    rev: String,
    /// How messages name it: as the user gave it (a full hash shortened).
    name: String,
    runner: Arc<dyn Runner>,
    entries: HashMap<String, Entry>,
    dirs: HashSet<String>,
    texts: Mutex<HashMap<String, Text>>,
}

impl std::fmt::Debug for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revision")
            .field("rev", &self.rev)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

fn run(runner: &dyn Runner, cmd: &crate::cmd::Cmd) -> Result<Output, CmdError> {
    match runner.run(cmd)? {
        Reply::Ran(o) => Ok(o),
        Reply::NotRun => Ok(Output::default()),
    }
}

/// `git ls-tree -r -z -l` output: path → entry.
fn parse_ls_tree(out: &str) -> HashMap<String, Entry> {
    let mut entries = HashMap::new();
    for record in out.split('\0').filter(|r| !r.is_empty()) {
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut f = meta.split_whitespace();
        let (Some(mode), Some(_type), Some(object), Some(size)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let kind = match mode {
            "120000" => Kind::Symlink,
            "160000" => Kind::Commit,
            _ => Kind::File,
        };
        entries.insert(
            path.to_string(),
            Entry {
                kind,
                object: object.to_string(),
                size: size.parse().ok(),
            },
        );
    }
    entries
}

/// `git cat-file --batch` output for `objects` (asked in this order): each object's text, or why
/// it is not text. The runner decodes output that is not UTF-8 lossily, which changes its length:
/// such an object no longer ends where its header says, is reported as not UTF-8, and reading
/// goes on at the next object's header.
fn parse_batch(out: &str, objects: &[&str]) -> HashMap<String, Result<String, ReadError>> {
    let mut texts = HashMap::new();
    let mut at = 0;
    for (i, object) in objects.iter().enumerate() {
        let Some(header_end) = out[at..].find('\n').map(|n| at + n) else {
            break;
        };
        let header = &out[at..header_end];
        let mut f = header.split(' ');
        let (Some(name), Some(_type), Some(size)) = (f.next(), f.next(), f.next()) else {
            break;
        };
        let (Some(size), true) = (size.parse::<usize>().ok(), name == *object) else {
            break;
        };
        let start = header_end + 1;
        let end = start + size;
        let exact = out.get(start..end).is_some() && out[end..].starts_with('\n');
        let next_header = objects.get(i + 1).map(|n| format!("\n{n} "));
        let fits = exact
            && next_header
                .as_ref()
                .is_none_or(|h| out[end..].starts_with(h.as_str()));
        if fits {
            // a leading byte-order mark dropped, as from a file
            let text = &out[start..end];
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            texts.insert(object.to_string(), Ok(text.to_string()));
            at = end + 1;
            continue;
        }
        let bad = out[start..].find('\u{fffd}').unwrap_or(0);
        texts.insert(object.to_string(), Err(ReadError::NotUtf8(bad)));
        match next_header.and_then(|h| out[start..].find(&h)) {
            Some(n) => at = start + n + 1,
            None => break,
        }
    }
    texts
}

/// How messages name a revision the user gave: as typed, a full hash shortened to 12 digits.
pub fn short_name(name: &str) -> String {
    let is_hash = name.len() >= 40 && name.chars().all(|c| c.is_ascii_hexdigit());
    if is_hash {
        name[..12].to_string()
    } else {
        name.to_string()
    }
}

impl Revision {
    /// List commit `rev` (a hash from `git rev-parse`), which messages call `name` (what the user
    /// typed; a full hash is shortened).
    pub fn open(runner: Arc<dyn Runner>, rev: &str, name: &str) -> anyhow::Result<Revision> {
        let out = run(runner.as_ref(), &git::ls_tree(rev))?;
        let entries = parse_ls_tree(&out.stdout);
        let mut dirs = HashSet::from([String::new()]);
        for path in entries.keys() {
            let mut p = path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                if !dirs.insert(parent.to_string()) {
                    break;
                }
                p = parent;
            }
        }
        Ok(Revision {
            rev: rev.to_string(),
            name: short_name(name),
            runner,
            entries,
            dirs,
            texts: Mutex::default(),
        })
    }

    fn texts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Text>> {
        self.texts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Read `rels` (files of this revision not read yet) with one `git cat-file --batch`.
    fn fetch(&self, rels: &[&str]) {
        let mut wanted: Vec<(&str, &Entry)> = Vec::new();
        {
            let mut texts = self.texts();
            for rel in rels {
                if texts.contains_key(*rel) {
                    continue;
                }
                match self.entries.get(*rel) {
                    Some(e) if e.size.is_some_and(|s| s > MAX_TEXT_BYTES) => {
                        let err = ConfigError::new(*rel, ReadError::TooLarge.to_string());
                        texts.insert(rel.to_string(), Err(err));
                    }
                    Some(e) if e.kind != Kind::Commit => wanted.push((rel, e)),
                    Some(_) => {
                        let err = ConfigError::new(*rel, "is a submodule, not a file");
                        texts.insert(rel.to_string(), Err(err));
                    }
                    None => {
                        texts.insert(rel.to_string(), Ok(None));
                    }
                }
            }
        }
        if wanted.is_empty() {
            return;
        }
        let mut objects: Vec<&str> = wanted.iter().map(|(_, e)| e.object.as_str()).collect();
        objects.sort_unstable();
        objects.dedup();
        let got = run(self.runner.as_ref(), &git::cat_file_batch(&objects))
            .map_err(|e| e.to_string())
            .and_then(|o| {
                if o.success() {
                    Ok(parse_batch(&o.stdout, &objects))
                } else {
                    Err(o.stderr.trim().to_string())
                }
            });
        let mut symlinks = Vec::new();
        let mut texts = self.texts();
        for (rel, e) in wanted {
            let text = match &got {
                Err(why) => Err(ConfigError::new(
                    rel,
                    format!("cannot be read from git: {why}"),
                )),
                Ok(map) => match map.get(&e.object) {
                    Some(Ok(t)) if e.kind == Kind::Symlink => {
                        symlinks.push((rel.to_string(), t.clone()));
                        continue;
                    }
                    Some(Ok(t)) => Ok(Some(t.clone())),
                    Some(Err(why)) => Err(ConfigError::new(rel, why.to_string())),
                    None => Err(ConfigError::new(rel, "git cat-file did not return it")),
                },
            };
            texts.insert(rel.to_string(), text);
        }
        drop(texts);
        // A symlink is read as the file it points to, one step, inside the repository.
        for (rel, target) in symlinks {
            let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
            let resolved = crate::config::paths::join(dir, &target)
                .ok()
                .filter(|t| self.entries.get(t).is_some_and(|e| e.kind == Kind::File));
            let text = match resolved {
                Some(t) => self.read(&t),
                None => Err(ConfigError::new(
                    rel.as_str(),
                    format!("is a symlink to `{target}`, which is not a file of this revision"),
                )),
            };
            self.texts().insert(rel, text);
        }
    }
}

impl Tree for Revision {
    fn describe(&self) -> String {
        format!("revision {}", self.name)
    }

    fn locate(&self, rel: &str) -> String {
        format!("{}:{rel}", self.name)
    }

    fn read(&self, rel: &str) -> Result<Option<String>, ConfigError> {
        if let Some(t) = self.texts().get(rel) {
            return t.clone();
        }
        self.fetch(&[rel]);
        self.texts().get(rel).cloned().unwrap_or(Ok(None))
    }

    fn prefetch(&self, rels: &[String]) {
        let rels: Vec<&str> = rels.iter().map(String::as_str).collect();
        self.fetch(&rels);
    }

    fn exists(&self, rel: &str) -> bool {
        self.entries.contains_key(rel) || self.dirs.contains(rel)
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.dirs.contains(rel)
    }

    fn is_file(&self, rel: &str) -> bool {
        self.entries
            .get(rel)
            .is_some_and(|e| e.kind != Kind::Commit)
    }

    fn folders_with(&self, rel: &str, file: &str) -> Vec<OsString> {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let suffix = format!("/{file}");
        self.entries
            .iter()
            .filter(|(_, e)| e.kind != Kind::Commit)
            .filter_map(|(p, _)| p.strip_prefix(&prefix)?.strip_suffix(&suffix))
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .map(OsString::from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_is_split_by_sizes_and_a_text_that_is_not_utf8_is_named() {
        let (a, b, c) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
        // a starts with a byte-order mark; b was `x: caf\xe9` (7 bytes), decoded lossily to 9
        let out = format!("{a} blob 7\n\u{feff}k: 1\n{b} blob 7\nx: caf\u{fffd}\n{c} blob 0\n\n");
        let got = parse_batch(&out, &[&a, &b, &c]);
        assert_eq!(got[&a].as_ref().unwrap(), "k: 1");
        assert!(
            matches!(got[&b], Err(ReadError::NotUtf8(6))),
            "{:?}",
            got[&b]
        );
        assert_eq!(got[&c].as_ref().unwrap(), "");
    }

    #[test]
    fn ls_tree_entries_and_folders() {
        let out = "100644 blob aaa     12\tconfig/clusters/c1/cluster.yaml\0\
                   120000 blob bbb     10\thelm-charts/daskhub/values.jsonnet\0\
                   160000 commit ccc       -\tvendor/lib\0";
        let e = parse_ls_tree(out);
        assert_eq!(e["config/clusters/c1/cluster.yaml"].size, Some(12));
        assert_eq!(e["helm-charts/daskhub/values.jsonnet"].kind, Kind::Symlink);
        assert_eq!(e["vendor/lib"].kind, Kind::Commit);
        assert_eq!(e["vendor/lib"].size, None);
    }
}
