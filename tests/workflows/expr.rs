//! GitHub Actions expressions (`${{ … }}`): the tokens and grammar of what the shipped workflows
//! use. Anything else (an unknown token, context or construct) panics; [`super::eval`] gives them
//! GitHub's meaning.

use serde_json::{Value, json};

const CONTEXTS: &[&str] = &[
    "github", "env", "vars", "secrets", "needs", "steps", "matrix", "runner", "job", "strategy",
    "inputs",
];
pub const STATUS: &[&str] = &["success", "failure", "always", "cancelled"];

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

#[derive(Clone, Debug)]
pub enum Expr {
    Lit(Value),
    Ctx(String),
    Prop(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Star(Box<Expr>),
    Call(String, Vec<Expr>),
    Not(Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
}

fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                assert!(i < c.len(), "unterminated string in expression `{src}`");
                if c[i] == '\'' {
                    if c.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(c[i]);
                i += 1;
            }
            out.push(Tok::Str(s));
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            let n = text
                .parse()
                .unwrap_or_else(|_| panic!("unsupported number `{text}` in `{src}`"));
            out.push(Tok::Num(n));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '-') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||"]
                .into_iter()
                .find(|o| *o == two);
            if let Some(op) = op {
                out.push(Tok::Op(op));
                i += 2;
                continue;
            }
            let op = [".", "*", "[", "]", "(", ")", ",", "!", "<", ">"]
                .into_iter()
                .find(|o| o.starts_with(ch))
                .unwrap_or_else(|| panic!("unsupported character `{ch}` in expression `{src}`"));
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    out
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, op: &'static str) -> bool {
        let hit = self.peek() == Some(&Tok::Op(op));
        if hit {
            self.pos += 1;
        }
        hit
    }
    fn expect(&mut self, op: &'static str) {
        assert!(self.eat(op), "expected `{op}` in expression `{}`", self.src);
    }
    fn or(&mut self) -> Expr {
        let mut e = self.and();
        while self.eat("||") {
            e = Expr::Bin("||", Box::new(e), Box::new(self.and()));
        }
        e
    }
    fn and(&mut self) -> Expr {
        let mut e = self.cmp();
        while self.eat("&&") {
            e = Expr::Bin("&&", Box::new(e), Box::new(self.cmp()));
        }
        e
    }
    fn cmp(&mut self) -> Expr {
        let e = self.unary();
        if let Some(Tok::Op(op @ ("==" | "!=" | "<" | "<=" | ">" | ">="))) = self.peek().cloned() {
            self.pos += 1;
            return Expr::Bin(op, Box::new(e), Box::new(self.unary()));
        }
        e
    }
    fn unary(&mut self) -> Expr {
        if self.eat("!") {
            return Expr::Not(Box::new(self.unary()));
        }
        let mut e = self.primary();
        loop {
            if self.eat(".") {
                if self.eat("*") {
                    e = Expr::Star(Box::new(e));
                } else {
                    match self.toks.get(self.pos).cloned() {
                        Some(Tok::Ident(name)) => {
                            self.pos += 1;
                            e = Expr::Prop(Box::new(e), name);
                        }
                        t => panic!("unsupported `.{t:?}` in expression `{}`", self.src),
                    }
                }
            } else if self.eat("[") {
                if self.eat("*") {
                    e = Expr::Star(Box::new(e));
                } else {
                    e = Expr::Index(Box::new(e), Box::new(self.or()));
                }
                self.expect("]");
            } else {
                return e;
            }
        }
    }
    fn primary(&mut self) -> Expr {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        match t {
            Some(Tok::Str(s)) => Expr::Lit(Value::String(s)),
            Some(Tok::Num(n)) => Expr::Lit(json!(n)),
            Some(Tok::Op("(")) => {
                let e = self.or();
                self.expect(")");
                e
            }
            Some(Tok::Ident(id)) => match id.as_str() {
                "true" => Expr::Lit(Value::Bool(true)),
                "false" => Expr::Lit(Value::Bool(false)),
                "null" => Expr::Lit(Value::Null),
                _ if self.eat("(") => {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or());
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",");
                        }
                    }
                    Expr::Call(id.to_lowercase(), args)
                }
                _ => {
                    assert!(
                        CONTEXTS.contains(&id.as_str()),
                        "unsupported context `{id}` in expression `{}`",
                        self.src
                    );
                    Expr::Ctx(id)
                }
            },
            t => panic!("unsupported token {t:?} in expression `{}`", self.src),
        }
    }
}

pub fn parse(src: &str) -> Expr {
    let mut p = Parser {
        toks: lex(src),
        pos: 0,
        src,
    };
    let e = p.or();
    assert!(
        p.pos == p.toks.len(),
        "unsupported expression `{src}` (left over: {:?})",
        &p.toks[p.pos..]
    );
    e
}

/// Whether an `if:` names a status function (else it means `success() && (…)`).
pub fn uses_status(e: &Expr) -> bool {
    match e {
        Expr::Call(f, args) => STATUS.contains(&f.as_str()) || args.iter().any(uses_status),
        Expr::Prop(e, _) | Expr::Star(e) | Expr::Not(e) => uses_status(e),
        Expr::Index(a, b) | Expr::Bin(_, a, b) => uses_status(a) || uses_status(b),
        Expr::Lit(_) | Expr::Ctx(_) => false,
    }
}
