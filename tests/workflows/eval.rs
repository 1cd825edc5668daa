//! GitHub Actions expressions evaluated against a simulated context, with GitHub's rules: loose,
//! case-insensitive equality; `||`/`&&` returning an operand; `a.*.b` filters; `null` for a
//! missing property. An unknown function panics, and so does a missing key of a context the
//! workflow or the test defines (`steps`, `needs`, `matrix`, `secrets`, `env`, `inputs`): a test
//! never passes on a silently empty substitution.

use serde_json::{Map, Value, json};

use super::expr::{Expr, parse, uses_status};

/// Contexts whose keys come from the workflow or the test: a missing one is a mistake.
const STRICT: &[&str] = &["steps", "needs", "matrix", "secrets", "env", "inputs"];

/// What the status functions answer: a job's needs, or a step's earlier steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct Status {
    pub failed: bool,
    /// a need was skipped (job level: `success()` is false, `failure()` too)
    pub skipped: bool,
}

pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s.trim().is_empty() => 0.0,
        Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// GitHub's `==`: strings case-insensitively, other mixed types as numbers.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            std::ptr::eq(a, b)
        }
        (Value::Null, Value::Null) => true,
        _ => number(a) == number(b),
    }
}

/// A value as GitHub writes it into a string.
pub fn to_text(v: &Value, src: &str) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        _ => panic!("`{src}` is an object or array inside a string: use toJSON()"),
    }
}

pub struct Eval<'a> {
    pub ctx: &'a Map<String, Value>,
    pub status: Status,
    pub src: &'a str,
}

impl Eval<'_> {
    /// (value, is a `.*` filter result)
    fn eval(&self, e: &Expr) -> (Value, bool) {
        match e {
            Expr::Lit(v) => (v.clone(), false),
            Expr::Ctx(name) => (self.ctx.get(name).cloned().unwrap_or(json!({})), false),
            Expr::Prop(inner, key) => {
                let (v, filtered) = self.eval(inner);
                if let Expr::Ctx(root) = &**inner
                    && STRICT.contains(&root.as_str())
                    && v.get(key).is_none()
                {
                    panic!(
                        "`{}`: `{root}.{key}` is not defined here (known: {:?})",
                        self.src,
                        v.as_object().map(|o| o.keys().collect::<Vec<_>>())
                    );
                }
                if filtered {
                    let items = v.as_array().cloned().unwrap_or_default();
                    let mapped = items.iter().filter_map(|x| x.get(key).cloned()).collect();
                    (Value::Array(mapped), true)
                } else {
                    (v.get(key).cloned().unwrap_or(Value::Null), false)
                }
            }
            Expr::Index(inner, idx) => {
                let (v, _) = self.eval(inner);
                let (i, _) = self.eval(idx);
                let got = match (&v, &i) {
                    (Value::Array(a), Value::Number(n)) => a.get(n.as_f64().unwrap() as usize),
                    (Value::Object(o), Value::String(k)) => o.get(k),
                    _ => None,
                };
                (got.cloned().unwrap_or(Value::Null), false)
            }
            Expr::Star(inner) => {
                let (v, _) = self.eval(inner);
                let items = match v {
                    Value::Array(a) => a,
                    Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
                    _ => Vec::new(),
                };
                (Value::Array(items), true)
            }
            Expr::Not(inner) => (Value::Bool(!truthy(&self.eval(inner).0)), false),
            Expr::Bin(op, a, b) => {
                let (x, _) = self.eval(a);
                let v = match *op {
                    "||" => {
                        if truthy(&x) {
                            x
                        } else {
                            self.eval(b).0
                        }
                    }
                    "&&" => {
                        if truthy(&x) {
                            self.eval(b).0
                        } else {
                            x
                        }
                    }
                    "==" => Value::Bool(loose_eq(&x, &self.eval(b).0)),
                    "!=" => Value::Bool(!loose_eq(&x, &self.eval(b).0)),
                    cmp => {
                        let (x, y) = (number(&x), number(&self.eval(b).0));
                        Value::Bool(match cmp {
                            "<" => x < y,
                            "<=" => x <= y,
                            ">" => x > y,
                            _ => x >= y,
                        })
                    }
                };
                (v, false)
            }
            Expr::Call(f, args) => (self.call(f, args), false),
        }
    }

    fn call(&self, f: &str, args: &[Expr]) -> Value {
        let a: Vec<Value> = args.iter().map(|e| self.eval(e).0).collect();
        let arity = |n: std::ops::RangeInclusive<usize>| {
            assert!(
                n.contains(&a.len()),
                "`{}`: {f}() takes {n:?} arguments",
                self.src
            );
        };
        let s = self.status;
        match f {
            "success" => Value::Bool(!s.failed && !s.skipped),
            "failure" => Value::Bool(s.failed),
            "always" => Value::Bool(true),
            "cancelled" => Value::Bool(false),
            "fromjson" => {
                arity(1..=1);
                let text = to_text(&a[0], self.src);
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("`{}`: fromJSON({text:?}): {e}", self.src))
            }
            "tojson" => {
                arity(1..=1);
                Value::String(serde_json::to_string_pretty(&a[0]).unwrap())
            }
            "join" => {
                arity(1..=2);
                let sep = a.get(1).map_or(",".into(), |v| to_text(v, self.src));
                match &a[0] {
                    Value::Array(items) => Value::String(
                        items
                            .iter()
                            .map(|v| to_text(v, self.src))
                            .collect::<Vec<_>>()
                            .join(&sep),
                    ),
                    v => Value::String(to_text(v, self.src)),
                }
            }
            "contains" => {
                arity(2..=2);
                Value::Bool(match &a[0] {
                    Value::Array(items) => items.iter().any(|x| loose_eq(x, &a[1])),
                    v => to_text(v, self.src)
                        .to_lowercase()
                        .contains(&to_text(&a[1], self.src).to_lowercase()),
                })
            }
            "startswith" | "endswith" => {
                arity(2..=2);
                let (h, n) = (
                    to_text(&a[0], self.src).to_lowercase(),
                    to_text(&a[1], self.src).to_lowercase(),
                );
                Value::Bool(if f == "startswith" {
                    h.starts_with(&n)
                } else {
                    h.ends_with(&n)
                })
            }
            _ => panic!("`{}`: unsupported function {f}()", self.src),
        }
    }
}

/// The positions of each `${{ … }}` in `s` (quotes inside respected), and the expression text.
fn templates(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("${{").map(|i| i + from) {
        let b = s.as_bytes();
        let mut j = i + 3;
        let mut quoted = false;
        loop {
            assert!(j + 1 < b.len(), "unterminated `${{{{` in {s:?}");
            if b[j] == b'\'' {
                quoted = !quoted;
            } else if !quoted && b[j] == b'}' && b[j + 1] == b'}' {
                break;
            }
            j += 1;
        }
        out.push((i, j + 2, s[i + 3..j].trim()));
        from = j + 2;
    }
    out
}

/// A YAML string with `${{ … }}` in it: one whole expression keeps its type (a matrix list);
/// otherwise each expression is written into the text.
pub fn interpolate(s: &str, ctx: &Map<String, Value>) -> Value {
    let t = templates(s);
    let ev = |src: &str| {
        Eval {
            ctx,
            status: Status::default(),
            src,
        }
        .eval(&parse(src))
        .0
    };
    if let [(0, end, src)] = t.as_slice()
        && *end == s.len()
    {
        return ev(src);
    }
    let mut out = String::new();
    let mut last = 0;
    for (i, j, src) in t {
        out.push_str(&s[last..i]);
        out.push_str(&to_text(&ev(src), src));
        last = j;
    }
    out.push_str(&s[last..]);
    Value::String(out)
}

/// Every string in a YAML value interpolated (`with:`, `env:`, `outputs:` maps).
pub fn interpolate_value(v: &serde_yaml::Value, ctx: &Map<String, Value>) -> Value {
    match v {
        serde_yaml::Value::String(s) => interpolate(s, ctx),
        serde_yaml::Value::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().expect("string keys").to_string(),
                        interpolate_value(v, ctx),
                    )
                })
                .collect(),
        ),
        serde_yaml::Value::Sequence(s) => {
            Value::Array(s.iter().map(|v| interpolate_value(v, ctx)).collect())
        }
        other => serde_json::to_value(other).unwrap(),
    }
}

/// An `if:`: with or without `${{ }}`; without a status function it means `success() && (…)`.
pub fn condition(v: &serde_yaml::Value, ctx: &Map<String, Value>, status: Status) -> bool {
    let src = match v {
        serde_yaml::Value::Null => "success()".to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::String(s) => {
            let t = s.trim();
            match templates(t).as_slice() {
                [(0, end, inner)] if *end == t.len() => inner.to_string(),
                [] => t.to_string(),
                _ => panic!("unsupported `if:` mixing text and expressions: {s:?}"),
            }
        }
        other => panic!("unsupported `if:` {other:?}"),
    };
    let mut e = parse(&src);
    if !uses_status(&e) {
        e = Expr::Bin(
            "&&",
            Box::new(Expr::Call("success".into(), vec![])),
            Box::new(e),
        );
    }
    truthy(
        &Eval {
            ctx,
            status,
            src: &src,
        }
        .eval(&e)
        .0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Map<String, Value> {
        json!({
            "github": {"event": {"pull_request": {"labels": [{"name": "a"}, {"name": "b"}]}}},
            "needs": {"plan": {"result": "success", "outputs": {"clusters": "[\"x\"]"}}},
            "steps": {"pr": {"outputs": {}}},
            "vars": {},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn github_semantics() {
        let c = ctx();
        let s = |e: &str| interpolate(e, &c);
        assert_eq!(
            s("${{ join(github.event.pull_request.labels.*.name, ',') }}"),
            "a,b"
        );
        assert_eq!(
            s("${{ fromJson(needs.plan.outputs.clusters) }}"),
            json!(["x"])
        );
        assert_eq!(s("${{ fromJSON(vars.MAX || '10') }}"), json!(10));
        assert_eq!(s("x-${{ github.event.before }}-y"), "x--y");
        assert_eq!(s("${{ 'A' == 'a' }}"), json!(true));
        assert_eq!(s("${{ github.event.pull_request.base.sha }}"), Value::Null);
        let yes = |e: &str| condition(&e.into(), &c, Status::default());
        assert!(
            yes("steps.pr.outputs.number == ''"),
            "null == '' as numbers"
        );
        assert!(yes(
            "${{ !cancelled() && needs.plan.outputs.clusters != '[]' }}"
        ));
        assert!(!condition(
            &"needs.plan.result == 'success'".into(),
            &c,
            Status {
                failed: false,
                skipped: true
            }
        ));
    }

    #[test]
    #[should_panic(expected = "unsupported function hashfiles()")]
    fn an_unknown_function_panics() {
        interpolate("${{ hashFiles('x') }}", &ctx());
    }

    #[test]
    #[should_panic(expected = "unsupported context `inputz`")]
    fn an_unknown_context_panics() {
        interpolate("${{ inputz.x }}", &ctx());
    }

    #[test]
    #[should_panic(expected = "`steps.plan` is not defined here")]
    fn a_missing_step_panics() {
        interpolate("${{ steps.plan.outputs.x }}", &ctx());
    }

    #[test]
    #[should_panic(expected = "object or array inside a string")]
    fn an_array_written_into_text_panics() {
        interpolate("x ${{ github.event.pull_request.labels }}", &ctx());
    }
}
