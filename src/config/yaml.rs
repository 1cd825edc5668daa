//! Typed YAML loading with errors that name the file, line, column and field, and a bound on
//! how deeply a document may nest.

use serde::de::DeserializeOwned;

use super::error::ConfigError;

/// How deeply collections may nest in a YAML file deploy reads. Real values files nest about 10
/// levels and chart schemas about 30; a file nesting thousands is an accident or an attack, and
/// YAML parsers take time quadratic in depth (a 200 KB file of `[` took almost a minute).
pub const MAX_DEPTH: usize = 100;

/// Parse `text` (the content of `file`, repo-relative) into `T`.
///
/// One parse when the document is well-formed: libyaml builds a `serde_yaml::Value`, whose
/// mappings refuse a repeated key, and `T` is read from that. Anything else (a syntax or type
/// error, a repeated key, and the rare documents where the value could differ from a direct read:
/// tags, merge keys, non-string keys) takes the exact path: the key scan with both lines of a
/// repeated key, then serde's own error with its position.
pub fn from_str<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    check_depth(file, text)?;
    read_checked(file, text)
}

/// [`from_str`] once the depth is checked.
fn read_checked<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    if let Some(v) = one_parse(text) {
        return Ok(v);
    }
    check_keys(file, text)?;
    serde_yaml::from_str(text).map_err(|e| to_config_error(file, &e))
}

/// [`from_str`], read straight from the text (without building a `Value` first: a fifth fewer
/// instructions for a cluster file), for a type whose every mapping refuses a repeated key by
/// itself: structs (serde's derive refuses a field given twice) and `serde_yaml::Value`s, no
/// `HashMap` or `BTreeMap` (which keep the last of two equal keys). `plain_values` says whether
/// the read value's `Value`s are [`plain`] (only string keys among what that asks): the key scan
/// compares keys as written, a `Value` as read, so `1` and `'1'` are one key to the scan and two
/// to a `Value`. A document that does not read, or whose `Value`s are not plain, takes
/// [`from_str`]'s own path: the same result and the same errors by construction. A block-style
/// document (as cluster files are written) is read first by [`super::block_yaml`], which reads
/// exactly what serde_yaml reads or declines; libyaml reads the rest.
pub fn from_str_refusing_repeats<T: DeserializeOwned>(
    file: &str,
    text: &str,
    plain_values: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    // (the block reader nests far less deep than MAX_DEPTH, and the depth scan never counts
    // more levels than there are: what it reads, the scan would pass)
    if let Some(v) = super::block_yaml::from_str(text).filter(&plain_values) {
        return Ok(v);
    }
    check_depth(file, text)?;
    match serde_yaml::from_str(text) {
        Ok(v) if plain_values(&v) => Ok(v),
        _ => read_checked(file, text),
    }
}

fn one_parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_yaml::from_value(value_of(text)?).ok()
}

fn value_of(text: &str) -> Option<serde_yaml::Value> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    plain(&v).then_some(v)
}

/// The document as a `serde_yaml::Value` when [`from_str`] reads it in one parse (not too deep,
/// well-formed, no repeated key, tag, merge key or non-string key), for a caller that reads it
/// twice (as JSON for a schema and as a type); `None` when only [`from_str`] can say what is
/// wrong.
pub fn plain_value(text: &str) -> Option<serde_yaml::Value> {
    check_depth("", text).ok()?;
    value_of(text)
}

/// No tag, no merge key, no null and only string keys anywhere in `v`. (A type read from a
/// `Value` takes a null for an empty list, mapping or struct, where read from the text `~` is
/// an error: a document with a null takes the exact path.)
pub fn plain(v: &serde_yaml::Value) -> bool {
    use serde_yaml::Value;
    match v {
        Value::Mapping(m) => m
            .iter()
            .all(|(k, v)| matches!(k, Value::String(s) if s != "<<") && plain(v)),
        Value::Sequence(s) => s.iter().all(plain),
        Value::Tagged(_) | Value::Null => false,
        _ => true,
    }
}

/// Refuse a document whose collections nest deeper than [`MAX_DEPTH`], before any parser builds
/// it: one pass over the text, in milliseconds whatever its size (see [`super::depth`]).
pub fn check_depth(file: &str, text: &str) -> Result<(), ConfigError> {
    match super::depth::too_deep(text, MAX_DEPTH) {
        None => Ok(()),
        Some((line, column)) => Err(ConfigError::new(
            file,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        )
        .at(line, column)),
    }
}

/// Parse `text` into a JSON value (any YAML document), after the same checks as [`from_str`]:
/// serde_json's maps would keep the last of two equal keys without a word.
pub fn to_json(file: &str, text: &str) -> Result<serde_json::Value, ConfigError> {
    from_str(file, text)
}

/// A helm values file: YAML whose top level is a mapping (or empty), without repeated keys;
/// helm refuses anything else. With `secret`, no error message quotes a value of the file.
pub fn check_values_doc(
    file: &str,
    text: &str,
    secret: bool,
) -> Result<serde_json::Value, ConfigError> {
    let v = to_json(file, text).map_err(|mut e| {
        if secret {
            e.message = redact_quoted(&e.message);
        }
        e
    })?;
    let kind = match &v {
        serde_json::Value::Object(_) | serde_json::Value::Null => return Ok(v),
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
    };
    Err(ConfigError::new(
        file,
        format!(
            "the top level is {kind}, but a values file must be a mapping (`key: value` lines)"
        ),
    )
    .field("(top level)"))
}

/// `invalid type: string "s3cr3t"` → `invalid type: string "***"`: for messages about a file
/// that holds secrets.
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quote = false;
    for c in message.chars() {
        if c == '"' {
            if in_quote {
                out.push_str("***\"");
            } else {
                out.push('"');
            }
            in_quote = !in_quote;
        } else if !in_quote {
            out.push(c);
        }
    }
    if in_quote {
        out.push_str("***");
    }
    out
}

/// Where the key scan is: a mapping (its path, keys seen with their line, the key whose value
/// comes next) or a sequence (its path, the next index).
enum Frame {
    Map(
        String,
        std::collections::HashMap<String, usize>,
        Option<String>,
    ),
    Seq(String, usize),
}

fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Reject a mapping that has the same key twice, naming the key and both lines (YAML forbids
/// it; serde's errors would say `duplicate field` at the start of the mapping, and a JSON value
/// would silently keep the second). A document that does not parse is left to serde's message.
pub fn check_keys(file: &str, text: &str) -> Result<(), ConfigError> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // the first repeated key; reported once the whole document scanned, since a syntax error
    // further down is serde's to report, and comes first
    let mut repeated: Option<ConfigError> = None;
    loop {
        let Ok((ev, mark)) = parser.next_token() else {
            return Ok(());
        };
        let starts_node = matches!(
            ev,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(_)
        );
        let mut path = String::new();
        if starts_node {
            match stack.last_mut() {
                Some(Frame::Map(p, seen, pending @ None)) => {
                    // this node is a key
                    let Event::Scalar(k, ..) = &ev else {
                        *pending = Some("?".into()); // a complex key: not checked
                        path = join_path(p, "?");
                        if let Event::MappingStart(..) | Event::SequenceStart(..) = ev {
                            push(&mut stack, &ev, path);
                        }
                        continue;
                    };
                    let line = mark.line();
                    if k != "<<"
                        && repeated.is_none()
                        && let Some(first) = seen.get(k)
                    {
                        let mut e = ConfigError::new(
                            file,
                            format!(
                                "duplicate key `{k}` (first at line {first}): a key may appear once"
                            ),
                        )
                        .at(line, mark.col() + 1);
                        if !p.is_empty() {
                            e = e.field(p.clone());
                        }
                        repeated = Some(e);
                    }
                    seen.insert(k.clone(), line);
                    *pending = Some(k.clone());
                    continue;
                }
                Some(Frame::Map(p, _, pending)) => {
                    path = join_path(p, &pending.take().unwrap_or_default());
                }
                Some(Frame::Seq(p, i)) => {
                    path = format!("{p}[{i}]");
                    *i += 1;
                }
                None => {}
            }
        }
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => push(&mut stack, &ev, path),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            Event::StreamEnd => return repeated.map_or(Ok(()), Err),
            _ => {}
        }
    }
}

fn push(stack: &mut Vec<Frame>, ev: &yaml_rust2::parser::Event, path: String) {
    if let yaml_rust2::parser::Event::MappingStart(..) = ev {
        stack.push(Frame::Map(path, Default::default(), None));
    } else {
        stack.push(Frame::Seq(path, 0));
    }
}

pub fn to_config_error(file: &str, e: &serde_yaml::Error) -> ConfigError {
    let mut msg = e.to_string();
    // serde_yaml renders "<path>: <message> at line L column C"; we put the location first.
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let (field, message) = split_field(&msg);
    let mut err = ConfigError::new(file, message);
    if let Some(field) = field {
        err = err.field(field);
    }
    if let Some(loc) = e.location() {
        err = err.at(loc.line(), loc.column());
    }
    err
}

/// "gcloud.zone: invalid type: …" → (Some("gcloud.zone"), "invalid type: …").
fn split_field(msg: &str) -> (Option<String>, String) {
    if let Some((head, rest)) = msg.split_once(": ") {
        let looks_like_path = !head.is_empty()
            && !head.contains(' ')
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-[]".contains(c));
        if looks_like_path {
            return (Some(head.to_string()), rest.to_string());
        }
    }
    (None, msg.to_string())
}

/// `/hubs/0/name` → `hubs[0].name`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        zone: String,
    }

    #[test]
    fn one_parse_reads_what_the_exact_path_reads() {
        use serde_json::json;
        // well-formed: one parse; tags, merge keys and non-string keys: the exact path
        let cases = [
            (
                "a: 1\nb: [x, {c: true}]\n",
                json!({"a": 1, "b": ["x", {"c": true}]}),
            ),
            ("a: !!str 1\n", json!({"a": "1"})),
            ("1: a\n", json!({"1": "a"})),
            ("", json!(null)),
        ];
        for (doc, want) in cases {
            let got: serde_json::Value = from_str("f.yaml", doc).unwrap();
            assert_eq!(got, want, "{doc:?}");
            let exact: serde_json::Value = serde_yaml::from_str(doc).unwrap();
            assert_eq!(got, exact, "{doc:?}");
        }
        assert!(!plain(&serde_yaml::from_str("a: !t 1\n").unwrap()));
        assert!(!plain(
            &serde_yaml::from_str("b: &x {c: 1}\na: {<<: *x}\n").unwrap()
        ));
        assert!(!plain(&serde_yaml::from_str("1: a\n").unwrap()));
        assert!(!plain(&serde_yaml::from_str("a: ~\n").unwrap()));
        // a null where a list is expected stays an error, as read from the text
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Hubs {
            hubs: Vec<String>,
        }
        for doc in ["hubs: ~\n", "hubs: null\n"] {
            let e = from_str::<Hubs>("c.yaml", doc).unwrap_err();
            assert!(e.message.contains("invalid type"), "{doc}: {e}");
        }
        assert_eq!(
            from_str::<Hubs>("c.yaml", "hubs: [a]\n").unwrap().hubs,
            ["a"]
        );
        // keys equal as text but not as values: still a repeated key, with both lines
        let e = from_str::<serde_json::Value>("f.yaml", "1: a\n'1': b\n").unwrap_err();
        assert_eq!(
            e.message,
            "duplicate key `1` (first at line 1): a key may appear once"
        );
        assert_eq!(e.line, Some(2));
        let e = from_str::<serde_json::Value>("f.yaml", "a:\n  b: 1\n  b: 2\n").unwrap_err();
        assert_eq!(
            e.message,
            "duplicate key `b` (first at line 2): a key may appear once"
        );
        assert_eq!(e.field.as_deref(), Some("a"));
    }

    #[test]
    fn unknown_field_has_location_and_field() {
        let e = from_str::<Outer>("x.yaml", "inner:\n  zone: a\n  zonee: b\n").unwrap_err();
        assert_eq!(e.file, "x.yaml");
        assert_eq!(e.field.as_deref(), Some("inner"));
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert!(
            e.message.starts_with("unknown field `zonee`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicate_keys_are_named_where_they_repeat() {
        let e = from_str::<serde_yaml::Value>("x.yaml", "name: a\nprovider: gcp\nprovider: aws\n")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.yaml:3:1: duplicate key `provider` (first at line 2): a key may appear once"
        );
        let e = to_json(
            "v.yaml",
            "hub:\n  config:\n    a: 1\n    b: [1, {c: 1, c: 2}]\n    a: 2\n",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("hub.config.b[1]"));
        assert_eq!((e.line, e.column), (Some(4), Some(19)));
        // equal keys in different mappings, and in documents of a list, are fine
        assert!(check_keys("ok.yaml", "a: {x: 1}\nb: {x: 1}\nl:\n- x: 1\n- x: 1\n").is_ok());
    }

    #[test]
    fn values_documents() {
        assert!(check_values_doc("v.yaml", "", false).is_ok());
        assert!(check_values_doc("v.yaml", "# only a comment\n", false).is_ok());
        let e = check_values_doc("v.yaml", "- a\n- b\n", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "v.yaml: (top level): the top level is a list, but a values file must be a mapping (`key: value` lines)"
        );
        let e = check_values_doc("s.yaml", "a: \"FAKE-s3cr3t\"\n  b: [\n", true).unwrap_err();
        assert!(!e.to_string().contains("FAKE-s3cr3t"), "{e}");
        assert_eq!(
            redact_quoted(r#"invalid type: string "x y", expected `z`"#),
            r#"invalid type: string "***", expected `z`"#
        );
    }

    #[test]
    fn deep_nesting_is_refused_at_once() {
        let text = format!("a: {}", "[".repeat(200_000));
        let t = std::time::Instant::now();
        let e = from_str::<serde_yaml::Value>("x.yaml", &text).unwrap_err();
        assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
        assert_eq!(
            e.to_string(),
            "x.yaml:1:103: nesting deeper than 100 levels"
        );
        // block style too
        let text: String = (0..150).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = check_depth("y.yaml", &text).unwrap_err();
        assert_eq!((e.line, e.column), (Some(101), Some(101)), "{e}");
        // as deep as allowed is fine
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(from_str::<serde_yaml::Value>("z.yaml", &ok).is_ok());
    }

    #[test]
    fn syntax_error_has_location() {
        let e = from_str::<Outer>("x.yaml", "inner: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }
}
