//! The literal stage: AWS shared config and credentials files as sections of keys.
//!
//! No meaning is given to any key here; [`super::resolve`] does that. Each value remembers
//! the file and line it came from so errors can point at it. The grammar follows botocore's:
//! `[profile NAME]`, `[default]`, `[sso-session NAME]`, `[services NAME]` in the config file,
//! `[NAME]` in the credentials file, `#`/`;` comment lines, indented lines continuing the
//! previous value (sub-properties), the last value winning for a repeated key.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Which of the two AWS files a text came from; they name sections differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/config`: `[profile NAME]`, `[sso-session NAME]`.
    Config,
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
}

/// What a section describes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SectionKind {
    /// A profile.
    Profile,
    /// An IAM Identity Center session shared by profiles.
    SsoSession,
    /// Endpoint settings per service.
    Services,
    /// `[name]` in the config file: no profile to botocore (it needs `[profile name]`).
    Bare,
}

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value, trimmed.
    pub text: String,
    /// Its location.
    pub at: Location,
}

/// The keys of one section (keys lower-cased, as botocore matches them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Key → value.
    pub keys: BTreeMap<String, Value>,
    /// Where the section header is (the first, if it is repeated).
    pub at: Option<Location>,
}

impl Section {
    /// A value, if set and not blank.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.get(key).filter(|v| !v.text.is_empty())
    }
}

/// Parsed files: sections by kind and name, parsed when first asked for.
///
/// Adding a text only indexes its section headers (one pass over the lines, no allocation
/// per line); a section's keys are parsed the first time [`Sections::get`] asks for it, so a
/// configuration of tens of thousands of profiles costs one scan and the few sections a
/// profile's chain names. Errors in sections nobody asked for are found by
/// [`Sections::validate`] (`doctor`, `list`) or [`Sections::merge_text`], not on the way.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    texts: Vec<Arc<Text>>,
    headers: Vec<Header>,
    /// Per header: the merged section of every header naming the same (kind, name), kept
    /// in the slot of the first of them once parsed.
    /// In chunks of [`SLOT_CHUNK`], allocated when a section in them is first asked for.
    slots: Vec<OnceLock<Box<[Slot]>>>,
    /// Each header's key, apart, so a lookup scans a small array.
    keys: Vec<u64>,
    /// Every (kind, name), sorted, each once; built on first use.
    names: OnceLock<Vec<(SectionKind, String)>>,
}

/// One file's text: in memory, or an open file read by byte range (a section at a time).
#[derive(Debug)]
struct Text {
    source: Source,
    file: PathBuf,
    kind: FileKind,
    /// The whole text, read when every section is needed (`names`, `validate`).
    whole: OnceLock<Result<String>>,
}

#[derive(Debug)]
enum Source {
    Memory(String),
    File(Mutex<std::fs::File>),
}

impl Text {
    /// The whole text (UTF-8 checked).
    fn whole(&self) -> Result<&str> {
        let whole = self.whole.get_or_init(|| match &self.source {
            Source::Memory(t) => Ok(t.clone()),
            Source::File(f) => {
                let mut bytes = Vec::new();
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                f.seek(SeekFrom::Start(0))
                    .and_then(|_| f.read_to_end(&mut bytes))
                    .map_err(|e| read_error(&self.file, &e))?;
                utf8_text(bytes, &self.file, 1)
            }
        });
        match whole {
            Ok(t) => Ok(t.as_str()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Bytes `start..end` as text; `line` is the line `start` is on (for errors).
    fn range(&self, start: usize, end: usize, line: usize) -> Result<std::borrow::Cow<'_, str>> {
        match &self.source {
            Source::Memory(t) => Ok(std::borrow::Cow::Borrowed(&t[start..end])),
            Source::File(f) => {
                let mut bytes = vec![0; end.saturating_sub(start)];
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                f.seek(SeekFrom::Start(start as u64))
                    .and_then(|_| f.read_exact(&mut bytes))
                    .map_err(|e| read_error(&self.file, &e))?;
                utf8_text(bytes, &self.file, line).map(std::borrow::Cow::Owned)
            }
        }
    }
}

/// The error for a file that cannot be read.
pub fn read_error(path: &Path, e: &std::io::Error) -> Error {
    Error::user(format!("cannot read {}", path.display()))
        .caused_by(e)
        .with_hint(format!("check the permissions of {}", path.display()))
}

/// Bytes as text, or an error naming the line (counted from `first_line`) of the first byte
/// that is not UTF-8 (a Latin-1 `é` in a comment, say), so the fix is plain.
pub fn utf8_text(bytes: Vec<u8>, path: &Path, first_line: usize) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let line = first_line + e.as_bytes()[..good].iter().filter(|&&b| b == b'\n').count();
        Error::user(format!(
            "{}:{line}: the file is not UTF-8 text",
            path.display()
        ))
        .with_hint(format!(
            "save {} as UTF-8 (line {line} holds a character in another encoding)",
            path.display()
        ))
    })
}

/// A parsed section (or why it could not be), once asked for.
type Slot = OnceLock<Box<Result<Section>>>;

/// Slots allocated at once.
const SLOT_CHUNK: usize = 256;

/// A section header line and the lines up to the next one.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// Index into `texts`.
    text: usize,
    /// Byte range of the header line and the section's lines, and where the header line
    /// ends.
    start: usize,
    end: usize,
    header_end: usize,
    /// 1-based line of the header.
    line: usize,
    /// What the header names: a hash of (kind, name), [`NO_NAME`] or [`ASK_SHELL`].
    key: u64,
}

/// A header that names no section (unbalanced `]`, or not a profile, session or services).
const NO_NAME: u64 = 0;
/// A header with quotes or backslashes: compared by [`section_name`] itself.
const ASK_SHELL: u64 = 1;

fn name_key(kind: &SectionKind, name: &str) -> u64 {
    // FNV-1a; 0 and 1 are reserved for the markers above.
    let tag = match kind {
        SectionKind::Profile => 2u8,
        SectionKind::SsoSession => 3,
        SectionKind::Services => 4,
        SectionKind::Bare => 5,
    };
    let mut h: u64 = (0xcbf2_9ce4_8422_2325 ^ u64::from(tag)).wrapping_mul(0x0100_0000_01b3);
    for &b in name.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(2)
}

/// The text between `[` and the first `]` of a header line, trimmed.
fn header_text(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix('[')?;
    rest.find(']').map(|end| rest[..end].trim())
}

/// [`section_name`]'s answer as a key, without allocating when no quoting is involved.
fn header_key(header: &str, kind: FileKind) -> u64 {
    if kind == FileKind::Credentials {
        return if header.is_empty() {
            NO_NAME
        } else {
            name_key(&SectionKind::Profile, header)
        };
    }
    if header == "default" {
        return name_key(&SectionKind::Profile, "default");
    }
    if header.contains(['"', '\'', '\\']) {
        return ASK_SHELL;
    }
    let mut words = header.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("profile"), Some(n), None) => name_key(&SectionKind::Profile, n),
        (Some("sso-session"), Some(n), None) => name_key(&SectionKind::SsoSession, n),
        (Some("services"), Some(n), None) => name_key(&SectionKind::Services, n),
        (Some(_), Some(_), None) | (None, ..) | (Some(_), Some(_), Some(_)) => NO_NAME,
        (Some(n), None, _) => name_key(&SectionKind::Bare, n),
    }
}

/// ASCII bytes as text.
fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// ASCII white space as `str::trim` and `split_whitespace` see it.
fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// [`header_key`] of a header line (from its `[` to the line's end), on bytes: one pass
/// for the common ASCII header, the `str` path for anything else.
fn line_key(line: &[u8], kind: FileKind) -> u64 {
    let Some(close) = memchr::memchr(b']', line) else {
        return NO_NAME;
    };
    let inner = &line[1..close];
    if !inner.is_ascii() {
        return std::str::from_utf8(inner).map_or(NO_NAME, |h| header_key(h.trim(), kind));
    }
    let start = inner.iter().position(|&b| !blank(b)).unwrap_or(inner.len());
    let end = inner
        .iter()
        .rposition(|&b| !blank(b))
        .map_or(start, |i| i + 1);
    let inner = &inner[start..end];
    if kind == FileKind::Credentials || inner == b"default" {
        return header_key(text(inner), kind);
    }
    // The common header, `profile NAME` with a plain name: no word splitting needed.
    if let Some(name) = inner.strip_prefix(b"profile ")
        && !name.is_empty()
        && !name
            .iter()
            .any(|&b| blank(b) || b == b'"' || b == b'\'' || b == b'\\')
    {
        return name_key(&SectionKind::Profile, text(name));
    }
    if inner.iter().any(|&b| b == b'"' || b == b'\'' || b == b'\\') {
        return ASK_SHELL;
    }
    let mut words = inner.split(|&b| blank(b)).filter(|w| !w.is_empty());
    match (words.next(), words.next(), words.next()) {
        (Some(b"profile"), Some(n), None) => name_key(&SectionKind::Profile, text(n)),
        (Some(b"sso-session"), Some(n), None) => name_key(&SectionKind::SsoSession, text(n)),
        (Some(b"services"), Some(n), None) => name_key(&SectionKind::Services, text(n)),
        (Some(n), None, _) => name_key(&SectionKind::Bare, text(n)),
        _ => NO_NAME,
    }
}

impl Sections {
    /// A section, parsed on first use; an error when its lines are malformed.
    pub fn get(&self, kind: SectionKind, name: &str) -> Result<Option<&Section>> {
        let want = name_key(&kind, name);
        let target = (kind, name.to_string());
        let matches: Vec<usize> = self
            .keys
            .iter()
            .enumerate()
            .filter(|&(i, &k)| {
                (k == want || k == ASK_SHELL)
                    && self.name_of(&self.headers[i]).as_ref() == Some(&target)
            })
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = matches.first() else {
            return Ok(None);
        };
        let chunk = self.slots[first / SLOT_CHUNK]
            .get_or_init(|| (0..SLOT_CHUNK).map(|_| OnceLock::new()).collect());
        let parsed = chunk[first % SLOT_CHUNK]
            .get_or_init(|| Box::new(self.parse_headers(&matches, &target)));
        match parsed.as_ref() {
            Ok(section) => Ok(Some(section)),
            Err(e) => Err(e.clone()),
        }
    }

    /// Names of every section of a kind, sorted, each once (from the headers alone).
    pub fn names(&self, kind: SectionKind) -> impl Iterator<Item = &str> {
        let all = self.names.get_or_init(|| {
            for t in &self.texts {
                // One read of the whole file rather than one per header.
                let _ = t.whole();
            }
            let mut all: Vec<(SectionKind, String)> = self
                .headers
                .iter()
                .filter_map(|h| self.name_of(h))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        });
        all.iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, n)| n.as_str())
    }

    /// Parses one file's text, reporting any malformed line, and merges it in. Within one
    /// file a repeated section header or a repeated key in a section is an error naming both
    /// lines: botocore (the AWS CLI) rejects such a file whole, so accepting it would hide a
    /// file the other tools cannot read.
    pub fn merge_text(&mut self, text: &str, file: &Path, kind: FileKind) -> Result<()> {
        check_text(text, file, kind)?;
        self.add_text(text.to_string(), file, kind);
        Ok(())
    }

    /// Adds one file's text without parsing its sections: each is parsed, and its errors
    /// reported, when it is first asked for.
    pub fn add_text(&mut self, text: String, file: &Path, kind: FileKind) {
        let mut scan = Scan::new(self.texts.len(), kind);
        scan.region(text.as_bytes(), true);
        self.push(scan, Source::Memory(text), file, kind);
    }

    /// Adds an open file: one pass indexes its section headers (the text is not kept), and
    /// a section's bytes are read again when it is first asked for.
    pub fn add_file(&mut self, mut f: std::fs::File, file: &Path, kind: FileKind) -> Result<()> {
        let mut scan = Scan::new(self.texts.len(), kind);
        let mut buf = vec![0u8; 256 * 1024];
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let n = match f.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(file, &e)),
            };
            if n == 0 {
                scan.region(&buf[..filled], true);
                break;
            }
            filled += n;
            // Whole lines now; the partial last line waits for the next read.
            if let Some(last) = memchr::memrchr(b'\n', &buf[..filled]) {
                scan.region(&buf[..=last], false);
                buf.copy_within(last + 1..filled, 0);
                filled -= last + 1;
            }
        }
        self.push(scan, Source::File(Mutex::new(f)), file, kind);
        Ok(())
    }

    fn push(&mut self, scan: Scan, source: Source, file: &Path, kind: FileKind) {
        let headers = scan.finish();
        self.keys.extend(headers.iter().map(|h| h.key));
        self.headers.extend(headers);
        self.slots
            .resize_with(self.headers.len().div_ceil(SLOT_CHUNK), OnceLock::new);
        self.names = OnceLock::new();
        self.texts.push(Arc::new(Text {
            source,
            file: file.to_path_buf(),
            kind,
            whole: OnceLock::new(),
        }));
    }

    /// Parses every section of every text, for the errors sections nobody asked for hold.
    pub fn validate(&self) -> Result<()> {
        for t in &self.texts {
            check_text(t.whole()?, &t.file, t.kind)?;
        }
        Ok(())
    }

    fn name_of(&self, h: &Header) -> Option<(SectionKind, String)> {
        if h.key == NO_NAME {
            return None;
        }
        let t = &self.texts[h.text];
        let line = match t.whole.get() {
            Some(Ok(whole)) => std::borrow::Cow::Borrowed(&whole[h.start..h.header_end]),
            _ => t.range(h.start, h.header_end, h.line).ok()?,
        };
        section_name(header_text(line.trim())?, t.kind)
    }

    /// Parses the sections of `headers` (all naming `target`) into one, as a whole-file
    /// parse would have merged them.
    fn parse_headers(&self, headers: &[usize], target: &(SectionKind, String)) -> Result<Section> {
        let mut map = BTreeMap::new();
        let mut state: Option<(usize, LineParser<'_>)> = None;
        for &i in headers {
            let h = self.headers[i];
            let t = &self.texts[h.text];
            if state.as_ref().is_none_or(|(text, _)| *text != h.text) {
                state = Some((h.text, LineParser::new(&t.file, t.kind)));
            }
            let Some((_, parser)) = state.as_mut() else {
                continue;
            };
            let text = t.range(h.start, h.end, h.line)?;
            for (idx, raw) in text.lines().enumerate() {
                parser.line(&mut map, h.line + idx, raw)?;
            }
        }
        Ok(map.remove(target).unwrap_or_default())
    }
}

/// The header index being built from a text read front to back.
struct Scan {
    text: usize,
    kind: FileKind,
    headers: Vec<Header>,
    /// Bytes and lines before the region being scanned.
    offset: usize,
    line: usize,
}

impl Scan {
    fn new(text: usize, kind: FileKind) -> Self {
        Self {
            text,
            kind,
            headers: Vec::new(),
            offset: 0,
            line: 1,
        }
    }

    /// Indexes the header lines of `region`, which ends at a line's end (or the text's).
    /// A header line is one whose first character that is not white space is `[`: found
    /// by looking at each `[` and what comes before it on its line.
    fn region(&mut self, region: &[u8], last: bool) {
        let mut counted = 0;
        for p in memchr::memchr_iter(b'[', region) {
            let mut line_start = p;
            while line_start > 0 && region[line_start - 1] != b'\n' && blank(region[line_start - 1])
            {
                line_start -= 1;
            }
            if line_start > 0 && region[line_start - 1] != b'\n' {
                // Something else before the `[` on its line: a header only when that is
                // white space beyond ASCII.
                line_start = memchr::memrchr(b'\n', &region[..p]).map_or(0, |i| i + 1);
                let before = &region[line_start..p];
                if before.is_ascii()
                    || !std::str::from_utf8(before).is_ok_and(|s| s.trim().is_empty())
                {
                    continue;
                }
            }
            if line_start < counted {
                continue;
            }
            self.line += count_lines(&region[counted..line_start]);
            counted = line_start;
            let header_end = memchr::memchr(b'\n', &region[p..]).map_or(region.len(), |i| p + i);
            let key = line_key(&region[p..header_end], self.kind);
            let start = self.offset + line_start;
            if let Some(prev) = self.headers.last_mut()
                && prev.end == usize::MAX
            {
                prev.end = start;
            }
            self.headers.push(Header {
                text: self.text,
                start,
                end: usize::MAX,
                header_end: self.offset + header_end,
                line: self.line,
                key,
            });
        }
        self.line += count_lines(&region[counted..]);
        self.offset += region.len();
        if last
            && let Some(prev) = self.headers.last_mut()
            && prev.end == usize::MAX
        {
            prev.end = self.offset;
        }
    }

    fn finish(self) -> Vec<Header> {
        self.headers
    }
}

/// Newlines in `bytes`, eight bytes at a time (the release build is optimised for size, so
/// a byte loop is not vectorised for us): in `w ^ 0x0a…0a` a newline is a zero byte, and
/// `!(((x & 0x7f…7f) + 0x7f…7f) | x | 0x7f…7f)` has exactly the high bit of each zero byte.
fn count_lines(bytes: &[u8]) -> usize {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let (words, rest) = bytes.as_chunks::<8>();
    let mut n = 0usize;
    for w in words {
        let x = u64::from_ne_bytes(*w) ^ 0x0a0a_0a0a_0a0a_0a0a;
        let zeros = !(((x & LOW).wrapping_add(LOW)) | x | LOW);
        n += zeros.count_ones() as usize;
    }
    n + rest.iter().filter(|&&b| b == b'\n').count()
}

/// Parses a whole text for its errors.
fn check_text(text: &str, file: &Path, kind: FileKind) -> Result<()> {
    let mut map = BTreeMap::new();
    let mut parser = LineParser::new(file, kind);
    for (idx, raw) in text.lines().enumerate() {
        parser.line(&mut map, idx + 1, raw)?;
    }
    Ok(())
}

/// The state of a parse through one file's lines.
struct LineParser<'a> {
    file: &'a Path,
    kind: FileKind,
    current: Option<(SectionKind, String)>,
    last_key: Option<String>,
    /// Headers and keys seen in this file, with their lines.
    headers: BTreeMap<String, usize>,
    keys_seen: BTreeMap<(String, String), usize>,
    header_text: String,
}

impl<'a> LineParser<'a> {
    fn new(file: &'a Path, kind: FileKind) -> Self {
        Self {
            file,
            kind,
            current: None,
            last_key: None,
            headers: BTreeMap::new(),
            keys_seen: BTreeMap::new(),
            header_text: String::new(),
        }
    }

    fn line(
        &mut self,
        map: &mut BTreeMap<(SectionKind, String), Section>,
        line_no: usize,
        raw: &str,
    ) -> Result<()> {
        let file = self.file;
        let at = Location {
            file: file.to_path_buf(),
            line: line_no,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            return Ok(());
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented && !trimmed.starts_with('[') {
            // Continuation or sub-property of the previous key (configparser's rule).
            if let (Some(sec), Some(key)) = (&self.current, &self.last_key)
                && let Some(section) = map.get_mut(sec)
                && let Some(v) = section.keys.get_mut(key)
            {
                if CREDENTIAL_KEYS.contains(&key.as_str()) {
                    return Err(Error::user(format!(
                        "{at}: an indented line continues `{key}` (the line is not shown: it may hold a secret)"
                    ))
                    .with_hint(format!(
                        "write `{key} = …` on one line, without indenting the next line, in {}",
                        file.display()
                    )));
                }
                v.text.push('\n');
                v.text.push_str(trimmed);
                return Ok(());
            }
            if self.current.is_none() {
                return Ok(());
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(Error::user(format!(
                    "{at}: a section header has no closing `]` (the line is not shown: it may hold a secret)"
                ))
                .with_hint(format!("fix line {line_no} of {}", file.display())));
            };
            let after = rest[end + 1..].trim();
            if !after.is_empty() && !after.starts_with('#') && !after.starts_with(';') {
                return Err(Error::user(format!(
                    "{at}: unexpected text after the section header{} (not shown: it may hold a secret)",
                    named_key(after).map(|k| format!(", starting with key `{k}`")).unwrap_or_default()
                ))
                .with_hint(format!(
                    "put the section header and each `key = value` on lines of their own in {}",
                    file.display()
                )));
            }
            self.header_text = rest[..end].trim().to_string();
            let header_text = &self.header_text;
            if let Some(first) = self.headers.insert(header_text.clone(), line_no) {
                return Err(Error::user(format!(
                    "{at}: section [{header_text}] appears twice in this file (first at line {first})"
                ))
                .with_hint(format!(
                    "merge the two [{header_text}] sections of {} into one: the AWS CLI rejects the file as it is",
                    file.display()
                )));
            }
            self.current = section_name(header_text, self.kind);
            self.last_key = None;
            if let Some(sec) = &self.current {
                let entry = map.entry(sec.clone()).or_default();
                if entry.at.is_none() {
                    entry.at = Some(at);
                }
            }
            return Ok(());
        }
        // configparser splits at the first `=` or `:`.
        let Some((key, value)) = trimmed
            .find(['=', ':'])
            .map(|i| (&trimmed[..i], &trimmed[i + 1..]))
        else {
            let what = match named_key(trimmed) {
                Some(k) => format!("key `{k}` has no `=`"),
                None => "expected `key = value` or a `[section]`".to_string(),
            };
            return Err(Error::user(format!(
                "{at}: {what} (the line is not shown: it may hold a secret)"
            ))
            .with_hint(format!("fix line {line_no} of {}", file.display())));
        };
        let key = key.trim().to_ascii_lowercase();
        if key.contains(char::is_whitespace)
            && let Some(known) = named_key(trimmed)
        {
            // `sso_start_url https://…`: configparser would take `sso_start_url https`
            // as a key; it is a known key missing its `=`.
            return Err(Error::user(format!(
                "{at}: key `{known}` has no `=` (the line is not shown: it may hold a secret)"
            ))
            .with_hint(format!(
                "write `{known} = …` on line {line_no} of {}",
                file.display()
            )));
        }
        let Some(sec) = &self.current else {
            // Keys before any section, or in a section that is not a profile, session or
            // services block, are ignored, as botocore does.
            self.last_key = None;
            return Ok(());
        };
        let header_text = &self.header_text;
        if let Some(first) = self
            .keys_seen
            .insert((header_text.clone(), key.clone()), line_no)
        {
            return Err(Error::user(format!(
                "{at}: `{key}` is set twice in [{header_text}] (first at line {first})"
            ))
            .with_hint(format!(
                "keep one `{key}` in [{header_text}] of {}: the AWS CLI rejects the file as it is",
                file.display()
            )));
        }
        let section = map.entry(sec.clone()).or_default();
        section.keys.insert(
            key.clone(),
            Value {
                text: value.trim().to_string(),
                at,
            },
        );
        self.last_key = Some(key);
        Ok(())
    }
}

/// Keys whose value is a credential: never continued on an indented line, never shown.
const CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Keys AWS tools and awscred read; a bad line may be named by its key when it starts with
/// one of these, and never otherwise (an unknown first word may be a pasted secret).
const KNOWN_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_account_id",
    "region",
    "output",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "external_id",
    "role_session_name",
    "duration_seconds",
    "mfa_serial",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_registration_scopes",
    "login_session",
    "ca_bundle",
    "endpoint_url",
];

/// The key a bad line starts with, when it is one awscred knows (`awscred_*` included).
fn named_key(line: &str) -> Option<String> {
    let word: String = line
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let known =
        KNOWN_KEYS.contains(&word.as_str()) || (word.starts_with("awscred_") && word.len() <= 40);
    known.then_some(word)
}

fn section_name(header: &str, kind: FileKind) -> Option<(SectionKind, String)> {
    if kind == FileKind::Credentials {
        return (!header.is_empty()).then(|| (SectionKind::Profile, header.to_string()));
    }
    if header == "default" {
        return Some((SectionKind::Profile, "default".into()));
    }
    // botocore splits `profile NAME` with shell rules, so `[profile "my team"]` names
    // `my team`; anything but exactly two words is not a profile.
    let words = shell_words(header)?;
    match words.as_slice() {
        [k, name] if k == "profile" => Some((SectionKind::Profile, name.clone())),
        [k, name] if k == "sso-session" => Some((SectionKind::SsoSession, name.clone())),
        [k, name] if k == "services" => Some((SectionKind::Services, name.clone())),
        // `[name]` without `profile ` is not a profile in the config file (botocore keeps
        // it as a top-level block no profile reads); remembered for a hint.
        [name] => Some((SectionKind::Bare, name.clone())),
        _ => None,
    }
}

/// Splits like Python's `shlex.split` for what section headers hold: words separated by
/// white space, `"…"` and `'…'` quoting, backslash escapes outside single quotes. `None`
/// for an unbalanced quote (botocore skips such a section).
pub(crate) fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => w.push(c),
                            c => {
                                w.push('\\');
                                w.push(c);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {

    #[test]
    fn newlines_are_counted_exactly_eight_bytes_at_a_time() {
        let samples: [&[u8]; 6] = [
            b"",
            b"\n",
            b"a\nb\n\n\x0b\x0a\x8a\xff\n",
            b"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
            "[profile é]\r\nregion = eu-west-1\n\tx\n".as_bytes(),
            &[
                0x0a, 0x00, 0x0b, 0x09, 0x8a, 0x0a, 0x7f, 0x80, 0x0a, 0x01, 0x0a,
            ],
        ];
        for s in samples {
            for start in 0..s.len().min(8) {
                let b = &s[start..];
                assert_eq!(
                    count_lines(b),
                    b.iter().filter(|&&c| c == b'\n').count(),
                    "{b:?}"
                );
            }
        }
    }

    use super::*;

    fn parse(text: &str, kind: FileKind) -> Result<Sections> {
        let mut s = Sections::default();
        s.merge_text(text, Path::new("/cfg"), kind)?;
        Ok(s)
    }

    #[test]
    fn profiles_sessions_comments_and_case() {
        let s = parse(
            "# top\n[default]\nregion = us-east-1\n\n[profile dev] # comment\nSSO_Session = corp\n; c\n[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n",
            FileKind::Config,
        )
        .unwrap();
        let dev = s.get(SectionKind::Profile, "dev").unwrap().unwrap();
        assert_eq!(dev.get("sso_session").unwrap().text, "corp");
        assert_eq!(dev.get("sso_session").unwrap().at.line, 6);
        assert_eq!(
            s.get(SectionKind::SsoSession, "corp")
                .unwrap()
                .unwrap()
                .get("sso_start_url")
                .unwrap()
                .text,
            "https://x.awsapps.com/start"
        );
        assert!(s.get(SectionKind::Profile, "default").unwrap().is_some());
    }

    #[test]
    fn sub_properties_attach_to_their_key() {
        let s = parse(
            "[profile a]\ns3 =\n  max_concurrent_requests = 20\nregion = eu-west-1\n",
            FileKind::Config,
        )
        .unwrap();
        let a = s.get(SectionKind::Profile, "a").unwrap().unwrap();
        assert_eq!(a.keys["s3"].text, "\nmax_concurrent_requests = 20");
        assert_eq!(a.get("region").unwrap().text, "eu-west-1");
    }

    #[test]
    fn credentials_file_sections_are_bare_names() {
        let s = parse(
            "[profile x]\naws_access_key_id = A\n",
            FileKind::Credentials,
        )
        .unwrap();
        assert!(s.get(SectionKind::Profile, "profile x").unwrap().is_some());
    }

    #[test]
    fn a_repeated_section_or_key_in_one_file_is_an_error_naming_both_lines() {
        let e = parse(
            "[profile a]\nregion = a\n[profile a]\nregion = b\n",
            FileKind::Config,
        )
        .unwrap_err();
        assert!(e.message().contains("/cfg:3"), "{}", e.message());
        assert!(e.message().contains("first at line 1"), "{}", e.message());
        let e = parse("[profile a]\nregion = a\nRegion = b\n", FileKind::Config).unwrap_err();
        assert!(
            e.message().contains("/cfg:3: `region` is set twice"),
            "{}",
            e.message()
        );
        // The same profile in both files is how botocore merges them: fine.
        let mut s = Sections::default();
        s.merge_text("[a]\nregion = a\n", Path::new("/c1"), FileKind::Credentials)
            .unwrap();
        s.merge_text("[a]\nregion = b\n", Path::new("/c2"), FileKind::Credentials)
            .unwrap();
        assert_eq!(
            s.get(SectionKind::Profile, "a")
                .unwrap()
                .unwrap()
                .get("region")
                .unwrap()
                .text,
            "b"
        );
    }

    #[test]
    fn colons_quotes_and_bare_names_as_botocore_reads_them() {
        let s = parse(
            "[profile \"my team\"]\nregion: eu-west-1\nsso_start_url = https://x.awsapps.com/start\n\
             [plain]\nregion = us-east-1\n[profile a b]\nregion = x\n[profile 'x]\nregion = y\n",
            FileKind::Config,
        )
        .unwrap();
        let team = s.get(SectionKind::Profile, "my team").unwrap().unwrap();
        assert_eq!(team.get("region").unwrap().text, "eu-west-1");
        assert_eq!(
            team.get("sso_start_url").unwrap().text,
            "https://x.awsapps.com/start"
        );
        assert!(
            s.get(SectionKind::Profile, "plain").unwrap().is_none(),
            "[plain] is no profile"
        );
        assert!(s.get(SectionKind::Bare, "plain").unwrap().is_some());
        assert!(s.get(SectionKind::Profile, "a b").unwrap().is_none());
        assert_eq!(s.names(SectionKind::Profile).count(), 1);
    }

    #[test]
    fn indented_lines_continue_values_but_never_a_credential() {
        let s = parse(
            "[profile a]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nrole_arn = arn:aws:iam::1:role/R\n",
            FileKind::Config,
        )
        .unwrap();
        let a = s.get(SectionKind::Profile, "a").unwrap().unwrap();
        assert_eq!(a.get("region").unwrap().text, "eu-west-1");
        assert_eq!(a.get("role_arn").unwrap().text, "arn:aws:iam::1:role/R");
        let e = parse(
            "[a]\naws_secret_access_key = wJalr\n  XUtnFEMI\n",
            FileKind::Credentials,
        )
        .unwrap_err();
        assert!(
            e.message()
                .contains("/cfg:3: an indented line continues `aws_secret_access_key`"),
            "{}",
            e.message()
        );
        assert!(!e.report().contains("XUtn") && !e.report().contains("wJalr"));
    }

    #[test]
    fn shell_words_follow_shlex() {
        assert_eq!(
            shell_words("profile \"my team\"").unwrap(),
            ["profile", "my team"]
        );
        assert_eq!(shell_words("profile 'a b'").unwrap(), ["profile", "a b"]);
        assert_eq!(shell_words("profile a\\ b").unwrap(), ["profile", "a b"]);
        assert_eq!(shell_words("  profile   x  ").unwrap(), ["profile", "x"]);
        assert!(shell_words("profile \"x").is_none());
    }

    #[test]
    fn bad_lines_name_file_and_line_without_echoing_values() {
        let e = parse(
            "[profile a]\naws_secret_access_key wJalrXUtnFEMI/K7MDENG\n",
            FileKind::Config,
        )
        .unwrap_err();
        assert!(e.message().contains("/cfg:2"), "{}", e.message());
        assert!(
            e.message()
                .contains("key `aws_secret_access_key` has no `=`"),
            "{}",
            e.message()
        );
        assert!(!e.report().contains("K7MDENG"), "{}", e.report());
        let e = parse("[profile a\n", FileKind::Config).unwrap_err();
        assert!(e.message().contains("/cfg:1"));
        // Every malformed shape: the value never appears, not even its first characters.
        for text in [
            "[default] aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCY\n",
            "[default]\nwJalrXUtnFEMIK7MDENGbPxRfiCY\n",
            "[default]\nwJalrXUtnFEMI/K7MDENG+bPxRfiCY wJalr\n",
            "[wJalrXUtnFEMIK7MDENGbPxRfiCY\n",
            "[default]\n[wJalrXUtnFEMIK7MDENGbPxRfiCY\n",
        ] {
            let e = parse(text, FileKind::Credentials).unwrap_err();
            let shown = format!("{}{}", e.report(), e);
            assert!(!shown.contains("wJalr"), "{text:?} shows: {shown}");
            assert!(shown.contains("/cfg:"), "names file and line: {shown}");
        }
        let e = parse(
            "[default] aws_secret_access_key=wJalrXUtnFEMIK7MDENG\n",
            FileKind::Config,
        )
        .unwrap_err();
        assert!(
            e.message().contains("`aws_secret_access_key`"),
            "{}",
            e.message()
        );
    }

    fn lazy(text: &str, kind: FileKind) -> Sections {
        let mut s = Sections::default();
        s.add_text(text.to_string(), Path::new("/cfg"), kind);
        s
    }

    #[test]
    fn sections_are_parsed_when_asked_for_and_errors_elsewhere_wait_for_validate() {
        let text = "[profile good]\nregion = eu-west-1\n\n[profile broken]\nthis line has no equals sign\n\n[profile dup]\nregion = a\nregion = b\n";
        let s = lazy(text, FileKind::Config);
        let good = s.get(SectionKind::Profile, "good").unwrap().unwrap();
        assert_eq!(good.get("region").unwrap().text, "eu-west-1");
        assert_eq!(good.at.as_ref().unwrap().line, 1);
        let e = s.get(SectionKind::Profile, "broken").unwrap_err();
        assert!(
            e.message().contains("/cfg:5: expected `key = value`"),
            "{}",
            e.message()
        );
        let e = s.get(SectionKind::Profile, "dup").unwrap_err();
        assert!(
            e.message().contains("/cfg:9: `region` is set twice"),
            "{}",
            e.message()
        );
        assert!(s.get(SectionKind::Profile, "missing").unwrap().is_none());
        // The whole-file parse reports the first error, as before.
        let e = s.validate().unwrap_err();
        assert!(e.message().contains("/cfg:5"), "{}", e.message());
        assert_eq!(
            parse(text, FileKind::Config).unwrap_err().message(),
            e.message()
        );
        let names: Vec<&str> = s.names(SectionKind::Profile).collect();
        assert_eq!(names, ["broken", "dup", "good"]);
    }

    #[test]
    fn a_lazy_section_is_what_the_whole_file_parse_gives() {
        // Headers that name one section in several spellings merge; a repeated header is
        // found even when only its section is asked for.
        let text = "top = 1\n[default]\nregion = a\n[profile \"my team\"]\nregion = b\n\
                    s3 =\n  addressing_style = path\n[profile default]\noutput = json\n\
                    [profile   spaced]\nregion = c\n[profile spaced]\nregion = d\n\
                    [sso-session corp]\nsso_region = e\n  [profile indented]\nregion = f\n\
                    [plain]\nregion = g\n[profile a\\ b]\nregion = h\n";
        let eager = parse(text, FileKind::Config).unwrap();
        let s = lazy(text, FileKind::Config);
        for (kind, name) in [
            (SectionKind::Profile, "default"),
            (SectionKind::Profile, "my team"),
            (SectionKind::Profile, "spaced"),
            (SectionKind::Profile, "indented"),
            (SectionKind::Profile, "a b"),
            (SectionKind::SsoSession, "corp"),
            (SectionKind::Bare, "plain"),
            (SectionKind::Profile, "plain"),
        ] {
            assert_eq!(
                s.get(kind.clone(), name).unwrap(),
                eager.get(kind.clone(), name).unwrap(),
                "{kind:?} {name}"
            );
        }
        let spaced = s.get(SectionKind::Profile, "spaced").unwrap().unwrap();
        assert_eq!(
            spaced.get("region").unwrap().text,
            "d",
            "the later header wins"
        );
        assert_eq!(
            s.get(SectionKind::Profile, "default")
                .unwrap()
                .unwrap()
                .keys
                .len(),
            2
        );
        let e = lazy(
            "[profile x]\nregion = a\n[profile y]\n[profile x]\n",
            FileKind::Config,
        )
        .get(SectionKind::Profile, "x")
        .unwrap_err();
        assert!(e.message().contains("appears twice"), "{}", e.message());
        assert_eq!(
            s.names(SectionKind::Profile).collect::<Vec<_>>(),
            eager.names(SectionKind::Profile).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_file_is_indexed_across_reads_and_read_back_a_section_at_a_time() {
        // Larger than one read, with headers and lines cut at read boundaries, CRLF line
        // ends, indented and Unicode-indented headers, brackets inside values, and a byte
        // that is not UTF-8 in a section nobody asks for.
        let mut text = String::new();
        for i in 0..6000 {
            text.push_str(&format!(
                "[profile p{i}]\r\nregion = r{i}\r\ncredential_process = x [a] [b]\r\n\r\n"
            ));
        }
        text.push_str("  [profile indented]\nregion = i\n\u{3000}[profile wide]\nregion = w\n");
        let mut bytes = text.clone().into_bytes();
        bytes.extend_from_slice(b"[profile latin]\nregion = caf\xe9\n[profile last]\nregion = l\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        fs_err::write(&path, &bytes).unwrap();
        let mut s = Sections::default();
        s.add_file(
            fs_err::File::open(&path).unwrap().into_parts().0,
            &path,
            FileKind::Config,
        )
        .unwrap();
        text.push_str("[profile last]\nregion = l\n");
        let eager = parse(&text, FileKind::Config).unwrap();
        for name in ["p0", "p2999", "p5999", "indented", "wide", "last"] {
            let lazy = s.get(SectionKind::Profile, name).unwrap().unwrap();
            let mut want = eager
                .get(SectionKind::Profile, name)
                .unwrap()
                .unwrap()
                .clone();
            // Lines after the section that is not UTF-8 are two further on in the file.
            if name == "last" {
                for v in want.keys.values_mut() {
                    v.at.line += 2;
                }
                if let Some(at) = want.at.as_mut() {
                    at.line += 2;
                }
            }
            let fix = |mut sec: Section| {
                for v in sec.keys.values_mut() {
                    v.at.file = PathBuf::new();
                }
                sec.at = sec.at.map(|a| Location {
                    file: PathBuf::new(),
                    line: a.line,
                });
                sec
            };
            assert_eq!(fix(lazy.clone()), fix(want), "{name}");
        }
        assert_eq!(
            s.get(SectionKind::Profile, "p5999")
                .unwrap()
                .unwrap()
                .get("region")
                .unwrap()
                .text,
            "r5999"
        );
        let e = s.get(SectionKind::Profile, "latin").unwrap_err();
        assert!(
            e.message()
                .ends_with(&format!(":{}: the file is not UTF-8 text", 6000 * 4 + 6)),
            "{}",
            e.message()
        );
        assert!(s.validate().is_err());
        assert_eq!(s.names(SectionKind::Profile).count(), 6004);
    }

    #[test]
    fn header_keys_from_bytes_are_those_from_text() {
        for kind in [FileKind::Config, FileKind::Credentials] {
            for line in [
                "[profile a]",
                "[ profile  a ]  # c",
                "[profile\ta]",
                "[profile\u{b}a]",
                "[default]",
                "[ default ]",
                "[profile default]",
                "[sso-session s]",
                "[services x]",
                "[plain]",
                "[profile a b]",
                "[profile \"my team\"]",
                "[profile a\\ b]",
                "[profile é]",
                "[\u{3000}profile x]",
                "[profile a",
                "[]",
                "[ ]",
            ] {
                let text_key = header_text(line).map_or(NO_NAME, |h| header_key(h, kind));
                assert_eq!(
                    line_key(line.as_bytes(), kind),
                    text_key,
                    "{kind:?} {line:?}"
                );
            }
        }
    }

    #[test]
    fn blank_values_count_as_unset() {
        let s = parse("[profile a]\nregion =\n", FileKind::Config).unwrap();
        assert!(
            s.get(SectionKind::Profile, "a")
                .unwrap()
                .unwrap()
                .get("region")
                .is_none()
        );
    }
}
