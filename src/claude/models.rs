//! Bedrock model ids in Claude Code's settings: which region names are real, which
//! inference-profile prefix Claude Code picks for a region, and whether a model id the
//! user names can be called from the region at all.
//!
//! Claude Code picks current models and the prefix itself, so awscred writes model ids only
//! when asked. An id is refused only when its geography is known not to be callable from
//! the region (a `us.` profile from an EU region, say); a prefix awscred does not know is
//! let through with a warning, since AWS adds geographies.

/// The env variables that name models, in the order `setup` writes them.
pub const MODEL_VARS: [&str; 5] = [
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
];

/// Deprecated by Claude Code in favour of `ANTHROPIC_DEFAULT_HAIKU_MODEL`.
pub const SMALL_FAST: &str = "ANTHROPIC_SMALL_FAST_MODEL";

/// What earlier versions of awscred wrote with `--default-models`: the Bedrock page's
/// defaults of the time, now a year old.
pub const STALE: [(&str, &str); 2] = [
    (
        "ANTHROPIC_MODEL",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    ),
    (
        "ANTHROPIC_SMALL_FAST_MODEL",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    ),
];

/// Whether `(var, value)` is a model id an earlier awscred wrote.
pub fn is_stale(var: &str, value: &str) -> bool {
    STALE.iter().any(|(k, v)| *k == var && *v == value)
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `us-gov-west-1`, `eu-central-2`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((num, words)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && !num.is_empty()
        && num.len() <= 2
        && num.bytes().all(|c| c.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|c| c.is_ascii_lowercase()))
        && words[0].len() == 2
}

/// The inference-profile prefix Claude Code picks for `region` (longest match first).
pub fn region_prefix(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "us-gov"
    } else if region.starts_with("us-") {
        "us"
    } else if region.starts_with("eu-") {
        "eu"
    } else if region.starts_with("ap-") {
        "apac"
    } else {
        "global"
    }
}

/// The prefixes awscred knows; `ANTHROPIC_BEDROCK_REGION_PREFIX` takes the ones after `us-gov`.
const KNOWN: [&str; 7] = ["us-gov", "us", "eu", "apac", "jp", "au", "global"];

/// Whether a `prefix.` profile is known not to be callable from `region`.
fn known_uncallable(prefix: &str, region: &str) -> bool {
    let gov = region.starts_with("us-gov-");
    let geo = region_prefix(region);
    match prefix {
        "global" => gov,
        "us-gov" => !gov,
        "us" | "eu" | "apac" => geo != "global" && geo != prefix,
        // Japan and Australia profiles are called from their own countries' regions.
        "jp" => !matches!(region, "ap-northeast-1" | "ap-northeast-3") && geo != "global",
        "au" => !matches!(region, "ap-southeast-2" | "ap-southeast-4") && geo != "global",
        _ => false,
    }
}

/// What Claude Code makes of `ANTHROPIC_BEDROCK_REGION_PREFIX=value` in `region`: `None`
/// when it is honoured, else why not.
pub fn check_region_prefix(value: &str, region: &str) -> Option<String> {
    if !KNOWN[1..].contains(&value) {
        return Some(format!(
            "ANTHROPIC_BEDROCK_REGION_PREFIX={value} is not one of {}; Claude Code uses `{}.` for {region}",
            KNOWN[1..].join(" "),
            region_prefix(region)
        ));
    }
    if region.starts_with("us-gov-") {
        return Some(format!(
            "ANTHROPIC_BEDROCK_REGION_PREFIX is ignored in GovCloud; Claude Code uses `us-gov.` for {region}"
        ));
    }
    known_uncallable(value, region).then(|| {
        format!(
            "ANTHROPIC_BEDROCK_REGION_PREFIX={value} cannot be called from {region}; Claude Code falls back to `{}.`",
            region_prefix(region)
        )
    })
}

/// What `setup` makes of a model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fine.
    Fine,
    /// Written, with this warning.
    Warn(String),
    /// Refused: the message, and the id to use instead.
    Refuse(String, String),
}

/// Checks `id` (a model id, inference-profile id or ARN) against `region`.
pub fn check(id: &str, region: &str) -> Verdict {
    if let Some(rest) = id.strip_prefix("arn:") {
        // arn:PARTITION:bedrock:REGION:ACCOUNT:RESOURCE
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_, service, arn_region, _, resource] = parts.as_slice() else {
            return Verdict::Warn(format!("{id} is not a Bedrock ARN awscred recognises"));
        };
        if *service != "bedrock" {
            return Verdict::Warn(format!("{id} is not a Bedrock ARN"));
        }
        if let Some(profile) = resource.strip_prefix("inference-profile/") {
            return check(profile, region);
        }
        if !arn_region.is_empty() && *arn_region != region {
            return Verdict::Warn(format!(
                "{id} is in {arn_region}, but Claude Code calls Bedrock in {region}"
            ));
        }
        return Verdict::Fine;
    }
    let Some((first, rest)) = id.split_once('.') else {
        return Verdict::Fine;
    };
    // `anthropic.claude-…` is a model called in the region itself.
    if first == "anthropic" || !rest.contains('.') {
        return Verdict::Fine;
    }
    let right = region_prefix(region);
    if !KNOWN.contains(&first) {
        return Verdict::Warn(format!(
            "{id}: awscred does not know the inference-profile prefix `{first}.`; for {region} Claude Code uses `{right}.`"
        ));
    }
    if known_uncallable(first, region) {
        return Verdict::Refuse(
            format!(
                "{id} is an inference profile of `{first}.`, which cannot be called from {region}"
            ),
            format!("{right}.{rest}"),
        );
    }
    Verdict::Fine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for r in [
            "us-east-1",
            "us-gov-west-1",
            "eu-central-2",
            "ap-southeast-4",
            "ca-central-1",
        ] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "",
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-1 ",
            "https://bedrock.us-east-1.amazonaws.com",
            "us-east-1a",
            "us--1",
            "us-east-123",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }

    #[test]
    fn the_prefix_claude_code_picks() {
        assert_eq!(region_prefix("us-gov-west-1"), "us-gov");
        assert_eq!(region_prefix("us-west-2"), "us");
        assert_eq!(region_prefix("eu-west-3"), "eu");
        assert_eq!(region_prefix("ap-northeast-1"), "apac");
        assert_eq!(region_prefix("ca-central-1"), "global");
    }

    #[test]
    fn profiles_of_another_geography_are_refused_with_the_right_prefix() {
        let id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(
            check(id, "eu-west-1"),
            Verdict::Refuse(
                format!(
                    "{id} is an inference profile of `us.`, which cannot be called from eu-west-1"
                ),
                "eu.anthropic.claude-sonnet-4-5-20250929-v1:0".into()
            )
        );
        assert!(matches!(check(id, "ap-south-1"), Verdict::Refuse(_, s) if s.starts_with("apac.")));
        assert!(
            matches!(check(id, "us-gov-west-1"), Verdict::Refuse(_, s) if s.starts_with("us-gov."))
        );
        assert!(matches!(
            check("global.anthropic.claude-x", "us-gov-east-1"),
            Verdict::Refuse(..)
        ));
        assert!(matches!(
            check("jp.anthropic.claude-x", "ap-southeast-1"),
            Verdict::Refuse(..)
        ));
        assert!(matches!(
            check("eu.anthropic.claude-x", "us-east-1"),
            Verdict::Refuse(..)
        ));
        for (id, region) in [
            ("us.anthropic.claude-x", "us-east-2"),
            ("eu.anthropic.claude-x", "eu-north-1"),
            ("apac.anthropic.claude-x", "ap-southeast-2"),
            ("jp.anthropic.claude-x", "ap-northeast-1"),
            ("au.anthropic.claude-x", "ap-southeast-4"),
            ("global.anthropic.claude-x", "eu-west-1"),
            ("us-gov.anthropic.claude-x", "us-gov-west-1"),
            ("anthropic.claude-3-haiku-20240307-v1:0", "eu-west-1"),
            // Not known either way: let through.
            ("us.anthropic.claude-x", "ca-central-1"),
        ] {
            assert_eq!(check(id, region), Verdict::Fine, "{id} from {region}");
        }
    }

    #[test]
    fn unknown_prefixes_warn_and_arns_are_accepted() {
        assert!(
            matches!(check("mx.anthropic.claude-x", "us-east-1"), Verdict::Warn(w) if w.contains("`mx.`") && w.contains("`us.`"))
        );
        let app = "arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile/abc123";
        assert_eq!(check(app, "eu-west-1"), Verdict::Fine);
        assert!(matches!(check(app, "us-east-1"), Verdict::Warn(_)));
        let gov =
            "arn:aws-us-gov:bedrock:us-gov-west-1:111122223333:application-inference-profile/x";
        assert_eq!(check(gov, "us-gov-west-1"), Verdict::Fine);
        assert!(matches!(
            check(
                "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/us.anthropic.claude-x",
                "eu-west-1"
            ),
            Verdict::Refuse(..)
        ));
    }

    #[test]
    fn the_region_prefix_preference() {
        assert_eq!(check_region_prefix("jp", "ap-northeast-1"), None);
        assert_eq!(check_region_prefix("global", "eu-west-1"), None);
        assert!(check_region_prefix("us-gov", "us-gov-west-1").is_some());
        assert!(
            check_region_prefix("us", "us-gov-west-1")
                .unwrap()
                .contains("GovCloud")
        );
        assert!(
            check_region_prefix("mars", "us-east-1")
                .unwrap()
                .contains("not one of")
        );
        assert!(
            check_region_prefix("us", "eu-west-1")
                .unwrap()
                .contains("falls back to `eu.`")
        );
    }

    #[test]
    fn stale_ids_are_only_what_awscred_wrote() {
        assert!(is_stale(
            "ANTHROPIC_MODEL",
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        ));
        assert!(!is_stale(
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        ));
        assert!(!is_stale("ANTHROPIC_MODEL", "us.anthropic.claude-x"));
    }
}
