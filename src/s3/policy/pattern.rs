//! Wildcard patterns (`*` any run of characters, `?` one character) and policy variables
//! (`${aws:userid}`), the matching shared by actions, resources and string conditions.
//!
//! A pattern is a list of [`Tok`]s, so a `*` that came from the document (a wildcard) and one that
//! came from `${*}` or from a variable's value (a literal character) stay apart.

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    /// This character, literally.
    Char(char),
    /// `*`: any run of characters, the empty one included (`/` too: ARNs have no segments here).
    Any,
    /// `?`: exactly one character.
    One,
}

/// Whether `text` matches `pattern`. Linear backtracking on the last `*` seen: O(|p|·|t|) at
/// worst, never exponential, whatever the fuzzer sends.
pub(super) fn glob(pattern: &[Tok], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Any)
}

/// The tokens of `text` with `*` and `?` as wildcards.
pub(super) fn wild_tokens(text: &str) -> impl Iterator<Item = Tok> + '_ {
    text.chars().map(|c| match c {
        '*' => Tok::Any,
        '?' => Tok::One,
        c => Tok::Char(c),
    })
}

/// Whether `text` matches the wildcard pattern `pattern` (no variables, no escapes).
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let tokens: Vec<Tok> = wild_tokens(pattern).collect();
    glob(&tokens, text)
}

/// One piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Document text: `*` and `?` in it are wildcards where the element allows them.
    Text(String),
    /// `${*}`, `${?}` or `${$}`: that character, never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`: the request's value of the key (its first, for a key with
    /// several), or the default, or, with neither, a value that matches nothing.
    Var {
        /// The key, normalized ([`super::conditions::normalize_key`]).
        key: String,
        /// The default, if given.
        default: Option<String>,
    },
}

/// A string of the document that may hold policy variables (Resource, NotResource and condition
/// values; only in `2012-10-17` policies: in `2008-10-17` ones `${...}` is plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Reads `raw`; with `variables` false the whole string is text. A `${` without its `}` is
    /// text too.
    pub(super) fn parse(raw: &str, variables: bool) -> Template {
        if !variables {
            return Template { parts: vec![Part::Text(raw.to_owned())] };
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start + 2..].find('}') else { break };
            text.push_str(&rest[..start]);
            let inner = &rest[start + 2..start + 2 + len];
            let part = match inner {
                "*" => Part::Escaped('*'),
                "?" => Part::Escaped('?'),
                "$" => Part::Escaped('$'),
                _ => variable(inner),
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
            rest = &rest[start + 2 + len + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        Template { parts }
    }

    /// The pattern for one request: variables replaced by `lookup`'s value, wildcards live in the
    /// document's text when `wildcards`. `None` when a variable has no value and no default (the
    /// element then matches nothing, as IAM's).
    pub(super) fn tokens(
        &self,
        wildcards: bool,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) if wildcards => out.extend(wild_tokens(t)),
                Part::Text(t) => out.extend(t.chars().map(Tok::Char)),
                Part::Escaped(c) => out.push(Tok::Char(*c)),
                Part::Var { key, default } => {
                    let value = lookup(key).or_else(|| default.clone())?;
                    out.extend(value.chars().map(Tok::Char));
                }
            }
        }
        Some(out)
    }

    /// The document text, when it is text only (no variable, no escape).
    pub(super) fn text(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Whether this value is the same for every request and, read with wildcards, matches one
    /// string only: no variable, no `*` or `?` (Block Public Access's "fixed value").
    pub(super) fn is_fixed(&self) -> bool {
        self.parts.iter().all(|part| match part {
            Part::Text(t) => !t.contains(['*', '?']),
            Part::Escaped(_) => true,
            Part::Var { .. } => false,
        })
    }
}

/// `key` or `key, 'default'` inside `${...}`.
fn variable(inner: &str) -> Part {
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let unquoted = default.strip_prefix('\'').and_then(|d| d.strip_suffix('\''));
            (key.trim(), Some(unquoted.unwrap_or(default).to_owned()))
        }
        None => (inner.trim(), None),
    };
    Part::Var { key: super::conditions::normalize_key(key), default }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(wildcard_match("s3:get*", "s3:getobject"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("s3:?etObject", "s3:GetObject"));
        assert!(!wildcard_match("s3:?etObject", "s3:etObject"));
        assert!(wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y/z"));
        assert!(!wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        // Backtracking stays linear on a hostile pattern.
        let long = "a".repeat(5000);
        assert!(!wildcard_match(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn templates_substitute_variables_and_escapes() {
        let lookup = |key: &str| (key == "aws:userid").then(|| "AID*X".to_owned());
        let t = Template::parse("home/${aws:userid}/*", true);
        let tokens = t.tokens(true, &lookup).unwrap();
        assert!(glob(&tokens, "home/AID*X/file"));
        assert!(!glob(&tokens, "home/AIDzzX/file"), "a variable's * is a literal");
        assert!(!t.is_fixed());

        let t = Template::parse("a${*}b", true);
        assert!(glob(&t.tokens(true, &lookup).unwrap(), "a*b"));
        assert!(!glob(&t.tokens(true, &lookup).unwrap(), "aXb"));
        assert!(t.is_fixed());

        let t = Template::parse("${aws:username}", true);
        assert_eq!(t.tokens(true, &lookup), None, "no value, no default: matches nothing");
        let t = Template::parse("${aws:username, 'nobody'}", true);
        assert!(glob(&t.tokens(true, &lookup).unwrap(), "nobody"));

        let t = Template::parse("${aws:userid}", false);
        assert!(glob(&t.tokens(true, &lookup).unwrap(), "${aws:userid}"), "2008-10-17: plain text");
        let t = Template::parse("x${unterminated", true);
        assert!(glob(&t.tokens(false, &lookup).unwrap(), "x${unterminated"));
        assert!(Template::parse("", true).tokens(false, &lookup).unwrap().is_empty());
    }
}
