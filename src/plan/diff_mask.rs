//! What `deploy diff` hides and what it calls noise, applied to a pair of rendered objects (the
//! base's and the head's version of one Kubernetes object) before they are compared. Pure.
//!
//! **Secrets.** A string that holds a value of an encrypted (or secret) values file (as written,
//! base64-encoded or escaped as templates escape it; one shorter than [`MIN_SECRET`] only as a
//! whole word, one shorter than [`MIN_TOKEN`] not at all), and every
//! value under a `Secret`'s `data` and `stringData`, is replaced on both sides by
//! `(secret, unchanged)` when the two sides' values are equal; when they differ, by `(secret)` at
//! the base and `(secret, changed)` at the head; on an object only one side has, by `(secret)`. A
//! reviewer learns *that* a secret changed, never what it is.
//!
//! **Noise** (fields that differ between renders of an unchanged release, or that only repeat a
//! change shown elsewhere), normalised on both sides:
//! - the chart-version labels `helm.sh/chart` and `chart` (`basehub-0.1.0`), wherever an object
//!   has labels (its own, a pod template's, a volume claim template's): the chart's version is
//!   reported once per release instead;
//! - `checksum/*` annotations (a digest of a ConfigMap or Secret shown in full beside it);
//! - fields a chart renders differently each time (random passwords and tokens kept across
//!   upgrades with `lookup`, which `helm template` cannot do): found by rendering the same release
//!   twice, and replaced by `(generated at render time)`.

use std::collections::BTreeSet;

use aho_corasick::AhoCorasick;
use serde_json::Value;

/// The labels whose value is a chart's name and version.
pub const CHART_LABELS: [&str; 2] = ["helm.sh/chart", "chart"];
/// Annotations with this prefix hold digests of other objects.
pub const CHECKSUM_PREFIX: &str = "checksum/";
/// Secrets at least this long are searched for anywhere inside strings; shorter ones (down to
/// [`MIN_TOKEN`]) only as a whole word (not inside a longer word: every `hub` of a manifest would
/// be hidden otherwise).
pub const MIN_SECRET: usize = 6;
/// Secrets shorter than this are not searched for at all (one or two characters are no secret,
/// and would hide half a manifest).
pub const MIN_TOKEN: usize = 3;

pub const SECRET: &str = "(secret)";
pub const SECRET_UNCHANGED: &str = "(secret, unchanged)";
pub const SECRET_CHANGED: &str = "(secret, changed)";
pub const CHART_LABEL: &str = "(chart version)";
pub const CHECKSUM: &str = "(checksum)";
pub const GENERATED: &str = "(generated at render time)";

/// The values that must never be shown: every string (and long number) of the encrypted and
/// secret values files of both revisions, as written and as a chart's templates may write it
/// (base64-encoded, JSON-escaped as `toJson` does, with Go's `\u0026`-style escapes of `&`, `<`
/// and `>`, single-quoted YAML).
#[derive(Debug, Default)]
pub struct Secrets {
    /// Found anywhere in a string.
    needles: BTreeSet<String>,
    /// Found as whole words only.
    words: BTreeSet<String>,
    values: usize,
    matcher: Option<AhoCorasick>,
    word_matcher: Option<AhoCorasick>,
}

impl Secrets {
    /// Register every value of a secret document.
    pub fn add_doc(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.add(s),
            // (a short number is a port or a count more often than a secret, and is everywhere)
            Value::Number(n) if n.to_string().len() >= MIN_SECRET => self.add(&n.to_string()),
            Value::Array(a) => a.iter().for_each(|x| self.add_doc(x)),
            Value::Object(m) => m.values().for_each(|x| self.add_doc(x)),
            _ => {}
        }
    }

    pub fn add(&mut self, raw: &str) {
        let s = raw.trim();
        if s.len() < MIN_TOKEN {
            return;
        }
        self.values += 1;
        let set = if s.len() >= MIN_SECRET {
            // (base64 of the value as written too: a `|` block's ends in a line break)
            self.needles.insert(base64(s.as_bytes()));
            self.needles.insert(base64(raw.as_bytes()));
            &mut self.needles
        } else {
            &mut self.words
        };
        set.extend(written_forms(s));
        self.matcher = None;
        self.word_matcher = None;
    }

    /// Build the matchers (after the last `add`).
    pub fn seal(&mut self) {
        if !self.needles.is_empty() {
            self.matcher = AhoCorasick::new(&self.needles).ok();
        }
        if !self.words.is_empty() {
            self.word_matcher = AhoCorasick::new(&self.words).ok();
        }
    }

    /// How many values are kept secret.
    pub fn len(&self) -> usize {
        self.values
    }

    pub fn is_empty(&self) -> bool {
        self.values == 0
    }

    /// Whether `s` holds a secret.
    pub fn hits(&self, s: &str) -> bool {
        let anywhere = match &self.matcher {
            Some(m) => m.is_match(s),
            None => self.needles.iter().any(|n| s.contains(n.as_str())),
        };
        anywhere || self.hits_word(s)
    }

    /// Where a secret's first (last) character is a word character, the one before (after) it
    /// must not be one (as a regex's `\b`): `Zq9x7` in `"Zq9x7"`, not in `xZq9x7y`; `-Zq9x` in
    /// `key-Zq9x`.
    fn hits_word(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let word = |i: usize| {
            b.get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        };
        let whole = |start: usize, end: usize| {
            let joined_before = start > 0 && word(start) && word(start - 1);
            let joined_after = end > start && word(end - 1) && word(end);
            !joined_before && !joined_after
        };
        match &self.word_matcher {
            Some(m) => m
                .find_overlapping_iter(s)
                .any(|x| whole(x.start(), x.end())),
            None => self.words.iter().any(|w| {
                s.match_indices(w.as_str())
                    .any(|(i, _)| whole(i, i + w.len()))
            }),
        }
    }
}

/// `s` as it is, and as templates escape it: JSON (`toJson`, `quote` of a string with `"` or `\`),
/// Go's JSON with its HTML escapes, single-quoted YAML (`squote`).
fn written_forms(s: &str) -> Vec<String> {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let json = quoted
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(s)
        .to_string();
    let go = json
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let mut forms = vec![s.to_string(), json, go, s.replace('\'', "''")];
    forms.sort();
    forms.dedup();
    forms
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What a chart renders differently each time: a JSON-pointer-like path inside an object
/// (`/data/token`), with the object: its kind (every object of that kind: what a chart's first
/// render found, whose object names may be another release's) or `kind/name` (that object only:
/// what one release's second render found).
pub type Unstable = BTreeSet<(String, String)>;

/// The paths (with the object's kind, and name when `by_name`) whose values differ between two
/// renders of the same release, where both renders have the object.
pub fn unstable_paths(first: &[&Value], second: &[&Value], by_name: bool) -> Unstable {
    fn walk(kind: &str, path: &mut String, a: &Value, b: &Value, out: &mut Unstable) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    if let Some(w) = y.get(k) {
                        let len = path.len();
                        path.push('/');
                        path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                        walk(kind, path, v, w, out);
                        path.truncate(len);
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    walk(kind, path, v, w, out);
                    path.truncate(len);
                }
            }
            _ if a != b => {
                out.insert((kind.to_string(), path.clone()));
            }
            _ => {}
        }
    }
    let mut out = Unstable::new();
    for (a, b) in first.iter().zip(second) {
        let key = object_key(a, by_name);
        walk(&key, &mut String::new(), a, b, &mut out);
    }
    out
}

/// An object's kind, and `/name` after it when `by_name`.
fn object_key(v: &Value, by_name: bool) -> String {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if by_name {
        let name = v.pointer("/metadata/name").and_then(Value::as_str);
        format!("{kind}/{}", name.unwrap_or(""))
    } else {
        kind.to_string()
    }
}

/// Normalise the noise of one object (see the module's list).
pub fn normalise(v: &mut Value, unstable: &Unstable) {
    let (kind, named) = (object_key(v, false), object_key(v, true));
    for (k, path) in unstable {
        if (*k == kind || *k == named)
            && let Some(x) = v.pointer_mut(path)
        {
            *x = Value::String(GENERATED.into());
        }
    }
    labels_and_annotations(v);
}

fn labels_and_annotations(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(meta)) = m.get_mut("metadata") {
                if let Some(Value::Object(labels)) = meta.get_mut("labels") {
                    for l in CHART_LABELS {
                        if let Some(x) = labels.get_mut(l) {
                            *x = Value::String(CHART_LABEL.into());
                        }
                    }
                }
                if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
                    for (k, x) in ann.iter_mut() {
                        if k.starts_with(CHECKSUM_PREFIX) {
                            *x = Value::String(CHECKSUM.into());
                        }
                    }
                }
            }
            m.values_mut().for_each(labels_and_annotations);
        }
        Value::Array(a) => a.iter_mut().for_each(labels_and_annotations),
        _ => {}
    }
}

/// Hide the secrets of one object's two sides (either may be absent: an added or removed
/// object), as the module says.
pub fn mask_pair(base: Option<&mut Value>, head: Option<&mut Value>, secrets: &Secrets) {
    let is_secret_kind = |v: &Option<&mut Value>| {
        v.as_ref()
            .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some("Secret"))
    };
    let whole = is_secret_kind(&base) || is_secret_kind(&head);
    walk(base, head, false, whole, 0, secrets);
}

/// `force`: everything below is secret. `secret_kind`: the pair is a `Secret`, whose
/// top-level `data` and `stringData` are secret.
fn walk(
    a: Option<&mut Value>,
    b: Option<&mut Value>,
    force: bool,
    secret_kind: bool,
    depth: usize,
    s: &Secrets,
) {
    let is_map = |v: &Option<&mut Value>| v.as_ref().is_some_and(|v| v.is_object());
    let is_seq = |v: &Option<&mut Value>| v.as_ref().is_some_and(|v| v.is_array());
    match (a, b) {
        (a, b) if (is_map(&a) || a.is_none()) && (is_map(&b) || b.is_none()) => {
            let keys: BTreeSet<String> = [&a, &b]
                .iter()
                .filter_map(|v| v.as_ref().and_then(|v| v.as_object()))
                .flat_map(|m| m.keys().cloned())
                .collect();
            let (mut a, mut b) = (a, b);
            for k in keys {
                let under =
                    force || (secret_kind && depth == 0 && (k == "data" || k == "stringData"));
                let x = a
                    .as_deref_mut()
                    .and_then(|v| v.as_object_mut())
                    .and_then(|m| m.get_mut(&k));
                let y = b
                    .as_deref_mut()
                    .and_then(|v| v.as_object_mut())
                    .and_then(|m| m.get_mut(&k));
                walk(x, y, under, secret_kind, depth + 1, s);
            }
        }
        (a, b) if (is_seq(&a) || a.is_none()) && (is_seq(&b) || b.is_none()) => {
            let (mut a, mut b) = (a, b);
            let n = [&a, &b]
                .iter()
                .filter_map(|v| v.as_ref().and_then(|v| v.as_array()).map(Vec::len))
                .max()
                .unwrap_or(0);
            for i in 0..n {
                let x = a
                    .as_deref_mut()
                    .and_then(|v| v.as_array_mut())
                    .and_then(|v| v.get_mut(i));
                let y = b
                    .as_deref_mut()
                    .and_then(|v| v.as_array_mut())
                    .and_then(|v| v.get_mut(i));
                walk(x, y, force, secret_kind, depth + 1, s);
            }
        }
        (a, b) => {
            // leaves, or a leaf on one side and a structure on the other
            let secret = |v: &Option<&mut Value>| match v.as_deref() {
                None | Some(Value::Null) => false,
                Some(Value::String(t)) => force || s.hits(t),
                Some(Value::Number(n)) => force || s.hits(&n.to_string()),
                Some(Value::Bool(_)) => force,
                Some(other) => force || s.hits(&other.to_string()),
            };
            if !(secret(&a) || secret(&b)) {
                return;
            }
            let same = match (&a, &b) {
                (Some(x), Some(y)) => **x == **y,
                _ => false,
            };
            let (was, is) = match (a.is_some() && b.is_some(), same) {
                (true, true) => (SECRET_UNCHANGED, SECRET_UNCHANGED),
                (true, false) => (SECRET, SECRET_CHANGED),
                (false, _) => (SECRET, SECRET),
            };
            if let Some(x) = a {
                *x = Value::String(was.into());
            }
            if let Some(y) = b {
                *y = Value::String(is.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(values: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        values.iter().for_each(|v| s.add(v));
        s.seal();
        s
    }

    #[test]
    fn secrets_are_found_as_templates_write_them_and_short_ones_as_whole_words() {
        let s = secrets(&["pa&ss<LEAK>w0rd", "it's-a-secret", "Zq9x7", "ab"]);
        // toJson (Go escapes &, < and > as \u0026, \u003c, \u003e)
        assert!(s.hits(r#"env = {"API_KEY":"pa\u0026ss\u003cLEAK\u003ew0rd"}"#));
        assert!(s.hits(r#"{"k":"pa&ss<LEAK>w0rd"}"#));
        assert!(s.hits("k: 'it''s-a-secret'"));
        assert!(s.hits(&base64(b"pa&ss<LEAK>w0rd")));
        // a short one as a word, not inside a longer one
        assert!(s.hits(r#"{"SHORT_TOKEN":"Zq9x7"}"#));
        assert!(s.hits("Zq9x7"));
        assert!(!s.hits("xZq9x7y and Zq9x7_b"));
        let edged = secrets(&["-Zq9x"]);
        assert!(edged.hits("key-Zq9x"), "an edge that is no word character");
        // a value from a `|` block, base64-encoded as written (with its line break)
        let block = secrets(&["FAKE-token-123\n"]);
        assert!(block.hits(&base64(b"FAKE-token-123\n")));
        // two characters are not searched for
        assert!(!s.hits("ab cd"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b"FAKE-token"), "RkFLRS10b2tlbg==");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn secret_values_become_changed_or_unchanged_never_shown() {
        let s = secrets(&["FAKE-old-password", "FAKE-new-password"]);
        let mut a = json!({"kind": "ConfigMap", "data": {"config": "password=FAKE-old-password\n", "x": "1", "same": "FAKE-new-password"}});
        let mut b = json!({"kind": "ConfigMap", "data": {"config": "password=FAKE-new-password\n", "x": "1", "same": "FAKE-new-password"}});
        mask_pair(Some(&mut a), Some(&mut b), &s);
        assert_eq!(a["data"]["config"], SECRET);
        assert_eq!(b["data"]["config"], SECRET_CHANGED);
        assert_eq!(
            (&a["data"]["same"], &b["data"]["same"]),
            (&json!(SECRET_UNCHANGED), &json!(SECRET_UNCHANGED))
        );
        assert_eq!(b["data"]["x"], "1");
    }

    #[test]
    fn a_secrets_data_is_always_hidden_and_base64_is_recognised() {
        let s = secrets(&["FAKE-token-123"]);
        let mut a = json!({"kind": "Secret", "metadata": {"name": "hub"}, "data": {"a": "c2FtZQ==", "b": "b2xk"}});
        let mut b = json!({"kind": "Secret", "metadata": {"name": "hub"}, "data": {"a": "c2FtZQ==", "b": "bmV3", "c": "bmV3"}});
        mask_pair(Some(&mut a), Some(&mut b), &s);
        assert_eq!(a["data"], json!({"a": SECRET_UNCHANGED, "b": SECRET}));
        assert_eq!(
            b["data"],
            json!({"a": SECRET_UNCHANGED, "b": SECRET_CHANGED, "c": SECRET})
        );
        assert_eq!(b["metadata"]["name"], "hub");
        let mut only = json!({"kind": "ConfigMap", "data": {"t": base64(b"FAKE-token-123")}});
        mask_pair(None, Some(&mut only), &s);
        assert_eq!(only["data"]["t"], SECRET);
    }

    #[test]
    fn chart_labels_checksums_and_unstable_fields_are_normalised() {
        let mut d = json!({"kind": "Deployment", "metadata": {"labels": {"helm.sh/chart": "basehub-0.1.0", "app": "hub"}},
            "spec": {"template": {"metadata": {"labels": {"chart": "jupyterhub-4.1.0"}, "annotations": {"checksum/config": "abc", "other": "x"}}}}});
        let unstable = Unstable::from([("Deployment".to_string(), "/spec/replicas".to_string())]);
        d["spec"]["replicas"] = json!(3);
        normalise(&mut d, &unstable);
        assert_eq!(
            d["metadata"]["labels"],
            json!({"helm.sh/chart": CHART_LABEL, "app": "hub"})
        );
        let t = &d["spec"]["template"]["metadata"];
        assert_eq!(t["labels"]["chart"], CHART_LABEL);
        assert_eq!(
            t["annotations"],
            json!({"checksum/config": CHECKSUM, "other": "x"})
        );
        assert_eq!(d["spec"]["replicas"], GENERATED);
    }

    #[test]
    fn a_releases_own_unstable_fields_are_those_of_the_object_that_changed() {
        let a1 = json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "r1"}});
        let a2 = json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "r2"}});
        let u = unstable_paths(&[&a1], &[&a2], true);
        let mut a = a1.clone();
        normalise(&mut a, &u);
        assert_eq!(a["data"]["x"], GENERATED);
        // the same field of another ConfigMap may really change: it stays
        let mut b = json!({"kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"x": "edit"}});
        normalise(&mut b, &u);
        assert_eq!(b["data"]["x"], "edit");
    }

    #[test]
    fn unstable_paths_are_those_two_renders_disagree_on() {
        let a = json!({"kind": "Secret", "data": {"token": "x1", "fixed": "y"}, "list": [1, 2]});
        let b = json!({"kind": "Secret", "data": {"token": "x2", "fixed": "y"}, "list": [1, 3]});
        let u = unstable_paths(&[&a], &[&b], false);
        assert_eq!(
            u.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
            ["/data/token", "/list/1"]
        );
    }
}
