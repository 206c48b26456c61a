//! Minimal textual edits of a JSON settings file: set or remove one member of the root
//! object or of an object one level down, and leave every other byte (key order,
//! indentation, spacing, line endings, unknown keys) as it was, as `config::edit` does for
//! the AWS config.
//!
//! The editor reads plain JSON only. It declines (returns `None`) a text it cannot edit
//! safely, such as duplicate keys in an object it would touch; the caller then rewrites
//! the file whole and says so.

use serde_json::Value;
use std::ops::Range;

/// One `"key": value` member and where it sits.
#[derive(Debug)]
struct Member {
    key: String,
    /// The key's opening quote.
    start: usize,
    /// Just after the key's closing quote.
    key_end: usize,
    value: Range<usize>,
}

/// An object: its braces and members in text order.
#[derive(Debug)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end of the value starting at `i` (no leading whitespace).
fn value_end(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    if depth > 128 {
        return None;
    }
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' => object_at(b, i, depth).map(|o| o.close + 1),
        b'[' => {
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = skip_ws(b, value_end(b, j, depth + 1)?);
                match *b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b"+-.".contains(&b[j])) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The object whose `{` is at `i`.
fn object_at(b: &[u8], i: usize, depth: usize) -> Option<Object> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Some(Object {
            open: i,
            close: j,
            members,
        });
    }
    loop {
        let key_end = string_end(b, j)?;
        let key: String = serde_json::from_slice(&b[j..key_end]).ok()?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let vs = skip_ws(b, colon + 1);
        let ve = value_end(b, vs, depth + 1)?;
        members.push(Member {
            key,
            start: j,
            key_end,
            value: vs..ve,
        });
        let k = skip_ws(b, ve);
        match *b.get(k)? {
            b',' => j = skip_ws(b, k + 1),
            b'}' => {
                return Some(Object {
                    open: i,
                    close: k,
                    members,
                });
            }
            _ => return None,
        }
    }
}

/// A settings text being edited.
#[derive(Debug, Clone)]
pub struct Editor {
    text: String,
    /// The file's line ending.
    nl: &'static str,
    /// One level of indentation.
    unit: String,
}

impl Editor {
    /// Starts editing `text`, a JSON object; `None` when the editor cannot handle it.
    pub fn new(text: &str) -> Option<Self> {
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut ed = Self {
            text: text.to_string(),
            nl,
            unit: "  ".into(),
        };
        let root = ed.root()?;
        let b = text.as_bytes();
        if skip_ws(b, root.close + 1) != b.len() {
            return None;
        }
        if let Some(m) = root.members.iter().find(|m| ed.own_line(m.start)) {
            ed.unit = text[line_start(text, m.start)..m.start].to_string();
        }
        // Duplicate keys: which one counts is the reader's choice; do not guess.
        let mut objects = vec![root];
        while let Some(o) = objects.pop() {
            let mut keys: Vec<&str> = o.members.iter().map(|m| m.key.as_str()).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return None;
            }
            objects.extend(
                o.members
                    .iter()
                    .filter_map(|m| object_at(b, m.value.start, 1)),
            );
        }
        Some(ed)
    }

    /// The text as edited so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn root(&self) -> Option<Object> {
        let b = self.text.as_bytes();
        object_at(b, skip_ws(b, 0), 0)
    }

    /// The object at `path` (empty: the root).
    fn object(&self, path: &[&str]) -> Option<Object> {
        let mut o = self.root()?;
        for key in path {
            let m = o.members.iter().find(|m| m.key == *key)?;
            o = object_at(self.text.as_bytes(), m.value.start, 1)?;
        }
        Some(o)
    }

    /// Whether the member starting at `at` begins its line.
    fn own_line(&self, at: usize) -> bool {
        self.text[line_start(&self.text, at)..at]
            .bytes()
            .all(|c| c == b' ' || c == b'\t')
    }

    /// The value at `path`, parsed.
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let (last, parent) = path.split_last()?;
        let o = self.object(parent)?;
        let m = o.members.iter().find(|m| m.key == *last)?;
        serde_json::from_str(&self.text[m.value.clone()]).ok()
    }

    /// Sets the value at `path`, creating the objects on the way; `None` when something on
    /// the way is not an object.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Option<()> {
        let (last, parent) = path.split_last()?;
        // Create the missing objects on the way as one nested value.
        let mut depth = 0;
        let mut o = self.root()?;
        let mut new = value.clone();
        let mut key = *last;
        for (i, k) in parent.iter().enumerate() {
            match o.members.iter().find(|m| m.key == *k) {
                Some(m) => {
                    o = object_at(self.text.as_bytes(), m.value.start, 1)?;
                    depth += 1;
                }
                None => {
                    for k2 in parent[i + 1..].iter().rev() {
                        new = Value::Object([(key.to_string(), new)].into_iter().collect());
                        key = k2;
                    }
                    new = Value::Object([(key.to_string(), new)].into_iter().collect());
                    key = k;
                    break;
                }
            }
        }
        match o.members.iter().find(|m| m.key == key) {
            Some(m) => {
                let indent = line_indent(&self.text, m.start).to_string();
                let v = self.render(&new, &indent, self.own_line(m.start));
                self.text.replace_range(m.value.clone(), &v);
            }
            None => self.insert(&o, depth, key, &new)?,
        }
        Some(())
    }

    fn render(&self, v: &Value, indent: &str, pretty: bool) -> String {
        if !pretty || !matches!(v, Value::Object(_) | Value::Array(_)) {
            return v.to_string();
        }
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(self.unit.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        if serde::Serialize::serialize(v, &mut ser).is_err() {
            return v.to_string();
        }
        String::from_utf8_lossy(&out).replace('\n', &format!("{}{indent}", self.nl))
    }

    fn insert(&mut self, o: &Object, depth: usize, key: &str, v: &Value) -> Option<()> {
        let k = Value::String(key.to_string()).to_string();
        match o.members.last() {
            Some(last) => {
                let sep = self.text[last.key_end..last.value.start].to_string();
                let at = last.value.end;
                let piece = if self.own_line(last.start) {
                    let indent = line_indent(&self.text, last.start).to_string();
                    let v = self.render(v, &indent, true);
                    format!(",{}{indent}{k}{sep}{v}", self.nl)
                } else {
                    format!(", {k}{sep}{}", v)
                };
                self.text.insert_str(at, &piece);
            }
            None => {
                let base = if depth == 0 {
                    String::new()
                } else {
                    leading_ws(&self.text, o.open).to_string()
                };
                let indent = format!("{base}{}", self.unit);
                let v = self.render(v, &indent, true);
                let piece = format!("{{{nl}{indent}{k}: {v}{nl}{base}}}", nl = self.nl);
                self.text.replace_range(o.open..o.close + 1, &piece);
            }
        }
        Some(())
    }

    /// Removes the member at `path` with its line; returns whether it was there.
    pub fn remove(&mut self, path: &[&str]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let Some(o) = self.object(parent) else {
            return false;
        };
        let Some(i) = o.members.iter().position(|m| m.key == *last) else {
            return false;
        };
        let m = &o.members[i];
        let range = if let Some(next) = o.members.get(i + 1) {
            let on_later_line = self.text[m.value.end..next.start].contains('\n');
            if self.own_line(m.start) && self.own_line(next.start) && on_later_line {
                line_start(&self.text, m.start)..line_start(&self.text, next.start)
            } else {
                m.start..next.start
            }
        } else if let Some(prev) = i.checked_sub(1).and_then(|p| o.members.get(p)) {
            prev.value.end..m.value.end
        } else {
            o.open + 1..o.close
        };
        self.text.replace_range(range, "");
        true
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |p| p + 1)
}

/// The whitespace that starts the line holding `at`.
fn leading_ws(text: &str, at: usize) -> &str {
    let s = &text[line_start(text, at)..at];
    let n = s.len() - s.trim_start_matches([' ', '\t']).len();
    &s[..n]
}

/// The whitespace before `at` on its line (empty when something else precedes it).
fn line_indent(text: &str, at: usize) -> &str {
    let s = &text[line_start(text, at)..at];
    if s.bytes().all(|c| c == b' ' || c == b'\t') {
        s
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(text: &str, path: &[&str], v: Value) -> String {
        let mut e = Editor::new(text).unwrap();
        e.set(path, &v).unwrap();
        let out = e.text().to_string();
        let parsed: Value = serde_json::from_str(&out).unwrap();
        let mut want: Value = serde_json::from_str(text).unwrap();
        let mut at = &mut want;
        for k in &path[..path.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(k.to_string())
                .or_insert(json!({}));
        }
        at[path[path.len() - 1]] = v;
        assert_eq!(parsed, want, "{out}");
        out
    }

    #[test]
    fn replacing_a_value_changes_only_its_bytes() {
        let text = "{\n    \"b\": 1,\n    \"a\":   \"old\",  \"z\": [1, {\"x\": null}]\n}\n";
        assert_eq!(
            set(text, &["a"], json!("new")),
            text.replace("\"old\"", "\"new\"")
        );
    }

    #[test]
    fn a_new_key_goes_after_the_last_at_its_indentation() {
        let text = "{\n    \"theme\": \"dark\",\n    \"env\": {\n        \"FOO\": \"1\"\n    },\n    \"zeta\": true\n}\n";
        let out = set(text, &["env", "BAR"], json!("2"));
        assert_eq!(
            out,
            text.replace("\"FOO\": \"1\"", "\"FOO\": \"1\",\n        \"BAR\": \"2\"")
        );
        let out = set(text, &["awsAuthRefresh"], json!("x"));
        assert_eq!(
            out,
            text.replace(
                "\"zeta\": true",
                "\"zeta\": true,\n    \"awsAuthRefresh\": \"x\""
            )
        );
    }

    #[test]
    fn a_missing_object_is_created_in_the_file_style() {
        let text = "{\n\t\"theme\": \"dark\"\n}";
        let out = set(text, &["env", "K"], json!("v"));
        assert_eq!(
            out,
            "{\n\t\"theme\": \"dark\",\n\t\"env\": {\n\t\t\"K\": \"v\"\n\t}\n}"
        );
        let out = set("{}\n", &["env", "K"], json!("v"));
        assert_eq!(out, "{\n  \"env\": {\n    \"K\": \"v\"\n  }\n}\n");
        let out = set("{\"env\": {}}", &["env", "K"], json!("v"));
        assert_eq!(out, "{\"env\": {\n  \"K\": \"v\"\n}}");
    }

    #[test]
    fn compact_files_stay_compact() {
        let text = r#"{"a":1,"env":{"X":"1"}}"#;
        assert_eq!(
            set(text, &["env", "Y"], json!("2")),
            r#"{"a":1,"env":{"X":"1", "Y":"2"}}"#
        );
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let text = "{\r\n  \"a\": 1\r\n}\r\n";
        assert_eq!(
            set(text, &["b"], json!("x")),
            "{\r\n  \"a\": 1,\r\n  \"b\": \"x\"\r\n}\r\n"
        );
    }

    #[test]
    fn removing_takes_the_line_and_keeps_commas_right() {
        let text =
            "{\n  \"env\": {\n    \"A\": \"1\",\n    \"B\": \"2\",\n    \"C\": \"3\"\n  }\n}\n";
        for (key, want) in [
            (
                "A",
                "{\n  \"env\": {\n    \"B\": \"2\",\n    \"C\": \"3\"\n  }\n}\n",
            ),
            (
                "B",
                "{\n  \"env\": {\n    \"A\": \"1\",\n    \"C\": \"3\"\n  }\n}\n",
            ),
            (
                "C",
                "{\n  \"env\": {\n    \"A\": \"1\",\n    \"B\": \"2\"\n  }\n}\n",
            ),
        ] {
            let mut e = Editor::new(text).unwrap();
            assert!(e.remove(&["env", key]));
            assert_eq!(e.text(), want);
        }
        let mut e = Editor::new(r#"{"env": {"A": "1", "B": 2}, "x": 1}"#).unwrap();
        assert!(e.remove(&["env", "A"]));
        assert_eq!(e.text(), r#"{"env": {"B": 2}, "x": 1}"#);
        assert!(e.remove(&["env", "B"]));
        assert_eq!(e.text(), r#"{"env": {}, "x": 1}"#);
        assert!(!e.remove(&["env", "B"]));
        // Two members on one line of a multi-line object: only the one goes.
        let mut e = Editor::new("{\n  \"a\": 1, \"b\": 2,\n  \"c\": 3\n}").unwrap();
        assert!(e.remove(&["a"]));
        assert_eq!(e.text(), "{\n  \"b\": 2,\n  \"c\": 3\n}");
    }

    #[test]
    fn strings_with_braces_escapes_and_unicode_are_read_right() {
        let text =
            "{\"k\\\"{\": \"}\\\\\", \"ü\": \"ß\", \"n\": -1.5e3, \"t\": [true, false, null]}";
        let e = Editor::new(text).unwrap();
        assert_eq!(e.get(&["k\"{"]), Some(json!("}\\")));
        assert_eq!(e.get(&["ü"]), Some(json!("ß")));
        set(text, &["n"], json!("x"));
    }

    #[test]
    fn what_it_cannot_edit_safely_is_declined() {
        assert!(Editor::new(r#"{"a": 1, "a": 2}"#).is_none());
        assert!(Editor::new(r#"{"env": {"A": 1, "A": 2}}"#).is_none());
        assert!(Editor::new("[1]").is_none());
        assert!(Editor::new("{\"a\": 1} // c").is_none());
        assert!(Editor::new("{\"a\": 1,}").is_none());
    }

    #[test]
    fn setting_inside_a_non_object_fails() {
        let mut e = Editor::new(r#"{"env": 3}"#).unwrap();
        assert!(e.set(&["env", "A"], &json!("1")).is_none());
    }
}
