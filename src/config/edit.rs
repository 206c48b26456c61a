//! Format-preserving edits of `~/.aws/config`: set one key in one profile and leave every
//! other byte (comments, order, spacing, other profiles) as it was.

/// Sets `key = value` in `[profile NAME]` (`[default]` for `default`), adding the section at
/// the end when missing. Returns the new text, or `None` when it already says that.
pub fn set_profile_key(text: &str, profile: &str, key: &str, value: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_header_for = |line: &str| {
        let t = line.trim();
        let Some(inner) = t.strip_prefix('[').and_then(|r| r.split(']').next()) else {
            return false;
        };
        let words: Vec<&str> = inner.split_whitespace().collect();
        match words.as_slice() {
            ["profile", n] => *n == profile,
            [n] => {
                *n == profile
                    && (profile == "default" || !text.contains(&format!("[profile {profile}]")))
            }
            _ => false,
        }
    };
    let new_line = format!("{key} = {value}\n");
    let Some(start) = lines.iter().position(|l| is_header_for(l)) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let header = if profile == "default" {
            "[default]".to_string()
        } else {
            format!("[profile {profile}]")
        };
        out.push_str(&format!("{header}\n{new_line}"));
        return Some(out);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    for (i, line) in lines.iter().enumerate().take(end).skip(start + 1) {
        let t = line.trim();
        if t.starts_with('#') || t.starts_with(';') || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = t.split_once('=')
            && k.trim().eq_ignore_ascii_case(key)
        {
            if v.trim() == value {
                return None;
            }
            let mut out: String = lines[..i].concat();
            out.push_str(&new_line);
            out.push_str(&lines[i + 1..].concat());
            return Some(out);
        }
    }
    // Insert after the section's last non-blank line.
    let mut insert_at = end;
    while insert_at > start + 1 && lines[insert_at - 1].trim().is_empty() {
        insert_at -= 1;
    }
    let mut out: String = lines[..insert_at].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&new_line);
    out.push_str(&lines[insert_at..].concat());
    Some(out)
}

/// The lines `[start, end)` of `[profile NAME]` (`[default]` for `default`) in `lines`:
/// its header, and everything up to the next header.
fn profile_section(lines: &[&str], profile: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|line| {
        let t = line.trim();
        let Some(inner) = t.strip_prefix('[').and_then(|r| r.split(']').next()) else {
            return false;
        };
        match inner.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["profile", n] => *n == profile,
            ["default"] => profile == "default",
            _ => false,
        }
    })?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);
    Some((start, end))
}

/// Removes `[profile NAME]` with its keys, and the comment lines right above its header;
/// comment lines right above the next header stay with that one. `None` when there is no
/// such section.
pub fn remove_profile(text: &str, profile: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (start, end) = profile_section(&lines, profile)?;
    let is_comment = |l: &str| {
        let t = l.trim_start();
        t.starts_with('#') || t.starts_with(';')
    };
    let mut from = start;
    while from > 0 && is_comment(lines[from - 1]) {
        from -= 1;
    }
    let mut to = end;
    if end < lines.len() {
        while to > start + 1 && is_comment(lines[to - 1]) {
            to -= 1;
        }
    }
    let mut out: String = lines[..from].concat();
    if to == lines.len() {
        // The last section went: no blank lines left at the end of the file.
        while out.ends_with("\n\n") {
            out.pop();
        }
    }
    out.push_str(&lines[to..].concat());
    Some(out)
}

/// Removes `key` from `[profile NAME]`. `None` when the section has no such key.
pub fn remove_profile_key(text: &str, profile: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (start, end) = profile_section(&lines, profile)?;
    let i = (start + 1..end).find(|&i| {
        let line = lines[i];
        !line.starts_with([' ', '\t'])
            && line
                .split_once(['=', ':'])
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key))
    })?;
    // The key's continuation lines (indented) go with it.
    let mut next = i + 1;
    while next < end && lines[next].starts_with([' ', '\t']) && !lines[next].trim().is_empty() {
        next += 1;
    }
    Some([lines[..i].concat(), lines[next..].concat()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# my config\n[default]\nregion = us-east-1\n\n[profile bedrock-cli]  # for the CLI\n; keep me\nregion = eu-west-1\n\n[profile other]\nregion = x\n";

    #[test]
    fn inserts_into_an_existing_section_keeping_everything_else() {
        let out = set_profile_key(
            TEXT,
            "bedrock-cli",
            "credential_process",
            "awscred process --profile bedrock",
        )
        .unwrap();
        assert_eq!(
            out,
            "# my config\n[default]\nregion = us-east-1\n\n[profile bedrock-cli]  # for the CLI\n; keep me\nregion = eu-west-1\ncredential_process = awscred process --profile bedrock\n\n[profile other]\nregion = x\n"
        );
        assert_eq!(
            set_profile_key(
                &out,
                "bedrock-cli",
                "credential_process",
                "awscred process --profile bedrock"
            ),
            None
        );
        let changed = set_profile_key(
            &out,
            "bedrock-cli",
            "credential_process",
            "awscred process --profile b2",
        )
        .unwrap();
        assert!(
            changed
                .contains("credential_process = awscred process --profile b2\n\n[profile other]")
        );
        assert_eq!(changed.matches("credential_process").count(), 1);
    }

    #[test]
    fn appends_a_missing_section() {
        let out = set_profile_key(
            TEXT,
            "new",
            "credential_process",
            "awscred process --profile p",
        )
        .unwrap();
        assert!(out.starts_with(TEXT));
        assert!(
            out.ends_with("\n\n[profile new]\ncredential_process = awscred process --profile p\n")
        );
        let out = set_profile_key("", "default", "k", "v").unwrap();
        assert_eq!(out, "[default]\nk = v\n");
        let out = set_profile_key("[profile a]\nx = 1", "a", "k", "v").unwrap();
        assert_eq!(out, "[profile a]\nx = 1\nk = v\n");
    }

    #[test]
    fn removes_a_section_and_leaves_its_neighbours_whole() {
        let text =
            "[profile a]\nx = 1\n\n# about b\n[profile b]\ny = 2\n; note\n\n[profile c]\nz = 3\n";
        assert_eq!(
            remove_profile(text, "b").unwrap(),
            "[profile a]\nx = 1\n\n[profile c]\nz = 3\n"
        );
        assert_eq!(
            remove_profile(text, "a").unwrap(),
            "# about b\n[profile b]\ny = 2\n; note\n\n[profile c]\nz = 3\n"
        );
        assert_eq!(
            remove_profile(text, "c").unwrap(),
            "[profile a]\nx = 1\n\n# about b\n[profile b]\ny = 2\n; note\n"
        );
        assert_eq!(remove_profile(text, "missing"), None);
        assert_eq!(remove_profile("[a]\nx = 1\n", "a"), None, "not a profile");
    }

    #[test]
    fn removes_one_key_with_its_continuation() {
        let text =
            "[profile a]\nregion = x\ns3 =\n  max = 1\nout = json\n[profile b]\nregion = y\n";
        assert_eq!(
            remove_profile_key(text, "a", "s3").unwrap(),
            "[profile a]\nregion = x\nout = json\n[profile b]\nregion = y\n"
        );
        assert_eq!(
            remove_profile_key(text, "b", "REGION").unwrap(),
            "[profile a]\nregion = x\ns3 =\n  max = 1\nout = json\n[profile b]\n"
        );
        assert_eq!(remove_profile_key(text, "b", "out"), None);
    }
}
