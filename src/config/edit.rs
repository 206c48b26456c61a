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
}
