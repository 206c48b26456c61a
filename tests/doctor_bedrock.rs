//! `awscred doctor` proves Bedrock works, end to end with the built binary against the
//! emulator: the region's Claude inference profiles (ListInferenceProfiles, followed over
//! pages), the configured models among them, the IAM action an AccessDenied names, and with
//! `--invoke` one InvokeModel of one output token, through the endpoint overrides Claude
//! Code honours.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::process::Output;

/// Signed in, with `setup claude` for eu-west-1 (the profile's region is us-east-1: the
/// settings' AWS_REGION is the one Claude Code uses).
fn set_up() -> Harness {
    let h = Harness::new(
        "file",
        Settings {
            auto_approve_after: Some(0),
            ..Settings::default()
        },
    );
    let o = h.run(&["login", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.run(&[
        "setup",
        "claude",
        "--profile",
        "bedrock",
        "--region",
        "eu-west-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    h
}

fn doctor(h: &Harness, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = h.home().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = vec!["doctor", "--profile", "bedrock"];
    all.extend_from_slice(args);
    let mut c = h.command(&all);
    for (k, v) in env {
        c.env(k, v);
    }
    c.current_dir(dir).output().unwrap()
}

fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

/// Every Bedrock request was signed with credentials the emulator issued to the role.
fn assert_signed_by_the_role(h: &Harness) {
    let signers = h.emu.bedrock_signers();
    assert!(!signers.is_empty());
    for akid in signers {
        let who = h.emu.issued(&akid).expect("issued credentials");
        assert!(
            who.arn.contains(":assumed-role/BedrockUser/"),
            "{}",
            who.arn
        );
    }
}

#[test]
fn doctor_lists_the_regions_claude_profiles_over_every_page() {
    let h = set_up();
    let o = doctor(&h, &[], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    let line = line_with(&out, "Bedrock ListInferenceProfiles in eu-west-1");
    assert!(line.starts_with("ok "), "{line}");
    // eu-west-1 has 7 eu. profiles (5 Claude) and 3 global. ones, 4 a page: three pages.
    assert!(line.contains(": 8 Claude inference profiles: "), "{line}");
    assert!(
        line.contains("eu.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "{line}"
    );
    assert!(
        line.contains("global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        "the last page was read: {line}"
    );
    assert!(!line.contains("us.anthropic"), "{line}");
    assert!(!line.contains("nova") && !line.contains("llama"), "{line}");
    assert_eq!(h.emu.count("ListInferenceProfiles"), 3);
    assert_eq!(h.emu.count("InvokeModel"), 0, "no invoke without --invoke");
    assert!(out.contains("note  run awscred doctor --invoke"), "{out}");
    assert_signed_by_the_role(&h);
}

#[test]
fn doctor_says_whether_the_configured_models_are_among_the_profiles() {
    let h = set_up();
    let path = h.home().join(".claude/settings.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "\"CLAUDE_CODE_USE_BEDROCK\"",
        "\"ANTHROPIC_DEFAULT_HAIKU_MODEL\": \"eu.anthropic.claude-haiku-4-5-20251001-v1:0\",\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"eu.anthropic.claude-opus-4-9-20990101-v1:0\",\n    \"CLAUDE_CODE_USE_BEDROCK\"",
    );
    std::fs::write(&path, text).unwrap();
    let o = doctor(&h, &[], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "ok    ANTHROPIC_DEFAULT_HAIKU_MODEL = eu.anthropic.claude-haiku-4-5-20251001-v1:0 is among them"
        ),
        "{out}"
    );
    assert!(
        out.contains("error ANTHROPIC_DEFAULT_OPUS_MODEL = eu.anthropic.claude-opus-4-9-20990101-v1:0 is not among the Claude inference profiles of eu-west-1"),
        "{out}"
    );
    assert!(
        out.contains(
            "fix: set ANTHROPIC_DEFAULT_OPUS_MODEL to eu.anthropic.claude-opus-4-1-20250805-v1:0"
        ),
        "{out}"
    );
}

#[test]
fn access_denied_names_the_missing_action() {
    let h = set_up();
    h.emu
        .update(|s| s.bedrock_denied = vec!["bedrock:ListInferenceProfiles".into()]);
    let o = doctor(&h, &[], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = line_with(
        &out,
        "Bedrock ListInferenceProfiles in eu-west-1 was refused",
    );
    assert!(line.starts_with("error "), "{line}");
    assert!(
        line.contains("the credentials lack bedrock:ListInferenceProfiles"),
        "{line}"
    );
    assert!(
        out.contains("fix: ask your administrator to allow bedrock:ListInferenceProfiles for arn:aws:sts::111122223333:assumed-role/BedrockUser/"),
        "{out}"
    );
    // The answer's body is not printed, only the service's code and message.
    assert!(!out.contains("error_description"), "{out}");
}

#[test]
fn invoke_calls_the_regions_newest_sonnet_with_one_token() {
    let h = set_up();
    let o = doctor(&h, &["--invoke"], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    let line = line_with(&out, "Bedrock InvokeModel of");
    assert!(
        line.starts_with("ok    Bedrock InvokeModel of eu.anthropic.claude-sonnet-4-5-20250929-v1:0 (the newest Sonnet profile for eu-west-1) in eu-west-1"),
        "{line}"
    );
    assert!(line.contains("stop reason: max_tokens"), "{line}");
    assert_eq!(h.emu.count("InvokeModel"), 1);
    assert_signed_by_the_role(&h);

    // ANTHROPIC_MODEL wins, from the environment as from the settings.
    let o = doctor(
        &h,
        &["--invoke"],
        &[(
            "ANTHROPIC_MODEL",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        )],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("ok    Bedrock InvokeModel of global.anthropic.claude-haiku-4-5-20251001-v1:0 (ANTHROPIC_MODEL)"),
        "{out}"
    );
}

#[test]
fn invoke_failures_say_what_to_fix() {
    let h = set_up();
    h.emu
        .update(|s| s.bedrock_denied = vec!["bedrock:InvokeModel".into()]);
    let o = doctor(&h, &["--invoke"], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = line_with(&out, "Bedrock InvokeModel of");
    assert!(line.starts_with("error "), "{line}");
    assert!(
        line.contains("the credentials lack bedrock:InvokeModel"),
        "{line}"
    );
    assert!(
        out.contains("fix: ask your administrator to allow bedrock:InvokeModel for"),
        "{out}"
    );

    // A profile of another geography: Bedrock refuses the id.
    h.emu.update(|s| s.bedrock_denied = Vec::new());
    let o = doctor(
        &h,
        &["--invoke"],
        &[(
            "ANTHROPIC_MODEL",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        )],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = line_with(&out, "Bedrock InvokeModel of us.anthropic");
    assert!(line.contains("ValidationException"), "{line}");
    assert!(
        out.contains("inference profiles there start with `eu.` or `global.`"),
        "{out}"
    );
}

#[test]
fn bedrock_endpoint_overrides_are_honoured() {
    let h = set_up();
    let emu = h.emu.url().to_string();
    // Everything else goes nowhere: only the Bedrock overrides reach the emulator.
    let base = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_SSO", emu.as_str()),
        ("AWS_ENDPOINT_URL_SSO_OIDC", emu.as_str()),
        ("AWS_ENDPOINT_URL_STS", emu.as_str()),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut env = base.to_vec();
        env.extend_from_slice(extra);
        doctor(&h, &["--invoke"], &env)
    };

    let o = with(&[
        ("AWS_ENDPOINT_URL_BEDROCK", emu.as_str()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emu.as_str()),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        line_with(&out, "Bedrock InvokeModel of")
            .contains("(from AWS_ENDPOINT_URL_BEDROCK_RUNTIME)"),
        "{out}"
    );

    let o = with(&[("ANTHROPIC_BEDROCK_BASE_URL", emu.as_str())]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        line_with(&out, "Bedrock InvokeModel of").contains("(from ANTHROPIC_BEDROCK_BASE_URL)"),
        "{out}"
    );

    // The control plane's override does not carry the runtime.
    let before = h.emu.count("InvokeModel");
    let o = with(&[("AWS_ENDPOINT_URL_BEDROCK", emu.as_str())]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        line_with(&out, "Bedrock ListInferenceProfiles in eu-west-1").starts_with("ok "),
        "{out}"
    );
    let line = line_with(&out, "Bedrock InvokeModel of");
    assert!(
        line.contains("could not reach http://127.0.0.1:9"),
        "{line}"
    );
    assert_eq!(h.emu.count("InvokeModel"), before);

    // A base URL that is not one is named.
    let o = with(&[("ANTHROPIC_BEDROCK_BASE_URL", "localhost:4566")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("Bedrock not checked: ANTHROPIC_BEDROCK_BASE_URL is `localhost:4566`, which does not start with http:// or https://"),
        "{out}"
    );
}

#[test]
fn a_hostile_profile_list_is_bounded_and_printed_inert() {
    let h = set_up();
    // Every page names the same next page, and an id carries terminal escapes.
    let mut f = awscred_emulator::Fault::error("ListInferenceProfiles", 200, "", 1000);
    f.body = Some(
        r#"{"inferenceProfileSummaries":[{"inferenceProfileId":"eu.anthropic.\u001b]8;;http://evil\u0007claude\u001b[2J"}],"nextToken":"again"}"#
            .into(),
    );
    h.emu.inject(f);
    let o = doctor(&h, &[], &[]);
    let out = stdout(&o);
    assert_eq!(h.emu.count("ListInferenceProfiles"), 20, "bounded");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    let line = line_with(&out, "Bedrock ListInferenceProfiles in eu-west-1");
    assert!(
        line.contains(": 1 Claude inference profiles (the first 20 pages): eu.anthropic."),
        "{line}"
    );
}

#[test]
fn a_repositorys_bedrock_endpoint_gets_no_signed_request() {
    let h = set_up();
    // A listener that records whether anything reached it.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let trap_url = format!("http://{}", trap.local_addr().unwrap());
    trap.set_nonblocking(true).unwrap();
    let project = h.home().join("elsewhere/.claude");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("settings.json"),
        format!(r#"{{"env": {{"ANTHROPIC_BEDROCK_BASE_URL": "{trap_url}"}}}}"#),
    )
    .unwrap();
    let o = doctor(&h, &["--invoke"], &[]);
    let out = stdout(&o);
    assert!(
        trap.accept().is_err(),
        "nothing connected to the repository's endpoint"
    );
    assert!(
        out.contains("warn  env.ANTHROPIC_BEDROCK_BASE_URL in project settings"),
        "{out}"
    );
    assert!(out.contains("is not used by doctor"), "{out}");
    // The checks went to the endpoint the user set (the harness's AWS_ENDPOINT_URL).
    assert!(
        line_with(&out, "Bedrock InvokeModel of").starts_with("ok "),
        "{out}"
    );
}
