//! Files awscred changes outside its store (Claude Code settings, `~/.aws/config`, their
//! backups), against a repository or a home directory prepared to misuse them: links
//! planted in `.claude`, secret files behind them, dotfile managers' links, read-only
//! targets, private modes.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

mod common;

use awscred_emulator::Settings;
use common::*;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

const SECRET: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
const SECRET_MARK: &str = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";

/// A harness whose state directory is `$HOME/state` through `XDG_STATE_HOME`.
fn harness() -> Harness {
    let mut h = Harness::new("file", Settings::default());
    let state = h.home().join("state");
    h.set_env("XDG_STATE_HOME", state.to_str().unwrap());
    h
}

fn state_dir(h: &Harness) -> PathBuf {
    h.home().join("state/awscred")
}

fn run_in(h: &Harness, dir: &Path, args: &[&str]) -> Output {
    h.command(args).current_dir(dir).output().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .unwrap()
        .file_type()
        .is_symlink()
}

/// The backup the output names; it must be in the state directory.
fn printed_backup(h: &Harness, o: &Output) -> PathBuf {
    let out = stdout(o);
    let p = out
        .lines()
        .find_map(|l| l.strip_prefix("The previous file is kept as "))
        .and_then(|l| l.strip_suffix('.'))
        .unwrap_or_else(|| panic!("no backup named in {out}"));
    let p = PathBuf::from(p);
    assert!(p.starts_with(state_dir(h)), "{}", p.display());
    p
}

/// Every path under `dir` (links not followed) with its content or link target.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                out.push((
                    p.clone(),
                    format!("-> {}", std::fs::read_link(&p).unwrap().display()),
                ));
            } else if m.is_dir() {
                todo.push(p);
            } else {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_backup_link_shipped_by_a_repository_is_not_followed() {
    let h = harness();
    let bashrc = h.home().join(".bashrc");
    std::fs::write(&bashrc, "export PATH=$HOME/bin:$PATH\n").unwrap();
    let repo = h.home().join("src/repo");
    std::fs::create_dir_all(repo.join(".claude")).unwrap();
    let old = "{\"permissions\": {\"allow\": [\"Bash(ls)\"]}}\n";
    std::fs::write(repo.join(".claude/settings.json"), old).unwrap();
    symlink(
        "../../../.bashrc",
        repo.join(".claude/settings.json.awscred-backup"),
    )
    .unwrap();
    let before = snapshot(&repo);

    let o = run_in(
        &h,
        &repo,
        &[
            "setup",
            "claude",
            "--profile",
            "bedrock",
            "--scope",
            "project",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&bashrc).unwrap(),
        "export PATH=$HOME/bin:$PATH\n"
    );
    let backup = printed_backup(&h, &o);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(mode(&state_dir(&h)), 0o700);
    // The project gained nothing and lost nothing; only settings.json changed.
    let after = snapshot(&repo);
    assert_eq!(
        after.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        before.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let settings = std::fs::read_to_string(repo.join(".claude/settings.json")).unwrap();
    assert!(settings.contains("awsCredentialExport") && settings.contains("Bash(ls)"));
}

#[test]
fn a_settings_link_to_a_secret_is_refused_for_reading_and_writing() {
    let h = harness();
    let ssh = h.home().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    let key = ssh.join("id_ed25519");
    std::fs::write(&key, SECRET).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let repo = h.home().join("repo");
    std::fs::create_dir_all(repo.join(".claude")).unwrap();
    symlink(&key, repo.join(".claude/settings.local.json")).unwrap();

    for extra in [&["--dry-run"][..], &[]] {
        let mut args = vec![
            "setup",
            "claude",
            "--profile",
            "bedrock",
            "--scope",
            "local",
        ];
        args.extend_from_slice(extra);
        let o = run_in(&h, &repo, &args);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("settings.local.json is a symbolic link"),
            "{}",
            stderr(&o)
        );
        assert!(!stdout(&o).contains(SECRET_MARK) && !stderr(&o).contains(SECRET_MARK));
    }
    let o = run_in(&h, &repo, &["doctor", "--profile", "bedrock"]);
    assert!(
        stdout(&o).contains("symbolic link") || stderr(&o).contains("symbolic link"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!stdout(&o).contains(SECRET_MARK) && !stderr(&o).contains(SECRET_MARK));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), SECRET);
    assert_eq!(mode(&key), 0o600);
    assert!(is_link(&repo.join(".claude/settings.local.json")));
    assert!(!state_dir(&h).exists(), "nothing was backed up");
}

#[test]
fn a_claude_directory_that_is_a_link_is_refused() {
    let h = harness();
    let elsewhere = h.home().join(".config/other");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("settings.json"), "{\"theme\": \"dark\"}").unwrap();
    let repo = h.home().join("repo");
    std::fs::create_dir(&repo).unwrap();
    symlink(&elsewhere, repo.join(".claude")).unwrap();
    let before = snapshot(&elsewhere);
    for scope in ["project", "local"] {
        let o = run_in(
            &h,
            &repo,
            &["setup", "claude", "--profile", "bedrock", "--scope", scope],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(
            stderr(&o).contains("repo/.claude is a symbolic link"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(
        snapshot(&elsewhere),
        before,
        "nothing written through the link"
    );
}

#[test]
fn a_private_settings_file_and_its_backup_stay_private() {
    let h = harness();
    let claude = h.home().join(".claude");
    std::fs::create_dir(&claude).unwrap();
    let settings = claude.join("settings.json");
    let old = "{\"env\": {\"ANTHROPIC_API_KEY\": \"sk-ant-private\"}}\n";
    std::fs::write(&settings, old).unwrap();
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&settings), 0o600);
    let backup = printed_backup(&h, &o);
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);
    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("settings.json."), "{name}");
    assert_eq!(std::fs::read_dir(&claude).unwrap().count(), 1);
}

#[test]
fn a_dotfile_managers_link_is_kept_and_its_target_updated() {
    let h = harness();
    let target_dir = h.home().join("dotfiles/claude");
    std::fs::create_dir_all(&target_dir).unwrap();
    let target = target_dir.join("settings.json");
    std::fs::write(&target, "{\"theme\": \"dark\"}\n").unwrap();
    std::fs::create_dir(h.home().join(".claude")).unwrap();
    let link = h.home().join(".claude/settings.json");
    symlink("../dotfiles/claude/settings.json", &link).unwrap();

    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(is_link(&link));
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from("../dotfiles/claude/settings.json")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["theme"], "dark");
    assert_eq!(v["env"]["CLAUDE_CODE_USE_BEDROCK"], "1");
    assert_eq!(
        std::fs::read_dir(&target_dir).unwrap().count(),
        1,
        "nothing left beside the target"
    );
    let backup = printed_backup(&h, &o);
    assert_eq!(
        std::fs::read_to_string(backup).unwrap(),
        "{\"theme\": \"dark\"}\n"
    );
}

#[test]
fn a_read_only_link_target_is_an_error_naming_both_paths() {
    // The mode is checked, not left to EACCES, so this holds for root too (as in CI).
    let h = harness();
    let store = h.home().join("nix-store");
    std::fs::create_dir(&store).unwrap();
    let target = store.join("settings.json");
    std::fs::write(&target, "{}\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::create_dir(h.home().join(".claude")).unwrap();
    let link = h.home().join(".claude/settings.json");
    symlink(&target, &link).unwrap();

    let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains(&link.display().to_string()), "{err}");
    assert!(err.contains(&target.display().to_string()), "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert!(!state_dir(&h).exists(), "a refused change leaves no backup");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}\n");
    assert!(is_link(&link));
}

#[test]
fn a_link_target_in_a_directory_that_cannot_be_written_is_an_error_naming_both_paths() {
    // Root ignores directory permissions, so as root (as in CI) awscred runs as an
    // unprivileged user that owns the home directory.
    let h = harness();
    let dotfiles = h.home().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let target = dotfiles.join("settings.json");
    std::fs::write(&target, "{}\n").unwrap();
    std::fs::create_dir(h.home().join(".claude")).unwrap();
    let link = h.home().join(".claude/settings.json");
    symlink(&target, &link).unwrap();
    let root = rustix::process::geteuid().is_root();
    if root {
        let chown = std::process::Command::new("chown")
            .args(["-R", "54323:54323"])
            .arg(h.home())
            .status()
            .unwrap();
        assert!(chown.success());
    }
    std::fs::set_permissions(&dotfiles, std::fs::Permissions::from_mode(0o555)).unwrap();

    let c = h.command(&["setup", "claude", "--profile", "bedrock"]);
    let mut cmd = if root {
        let mut s = std::process::Command::new("setpriv");
        s.args(["--reuid=54323", "--regid=54323", "--clear-groups"])
            .arg(c.get_program());
        s
    } else {
        std::process::Command::new(c.get_program())
    };
    let o = cmd
        .args(c.get_args())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap();
    std::fs::set_permissions(&dotfiles, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&link.display().to_string()), "{err}");
    assert!(err.contains(&target.display().to_string()), "{err}");
    assert!(err.contains("cannot be written"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}\n");
    assert!(is_link(&link));
    assert_eq!(std::fs::read_dir(&dotfiles).unwrap().count(), 1);
    assert!(!state_dir(&h).exists(), "a refused change leaves no backup");
}

#[test]
fn aws_profile_keeps_the_config_private_and_ignores_a_planted_temporary_link() {
    let h = harness();
    let cfg = h.config_path();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let victim = h.home().join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    let planted = h.home().join(".aws/.config.awscred.tmp");
    symlink(&victim, &planted).unwrap();

    let o = h.run(&[
        "setup",
        "aws-profile",
        "bedrock-cli",
        "--profile",
        "bedrock",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&cfg), 0o600);
    assert!(
        std::fs::read_to_string(&cfg)
            .unwrap()
            .contains("[profile bedrock-cli]\nregion = us-east-1\ncredential_process = ")
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    assert!(
        is_link(&planted),
        "a link awscred did not make is left alone"
    );
    let backup = printed_backup(&h, &o);
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), CONFIG);
    let mut names: Vec<_> = std::fs::read_dir(h.home().join(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".config.awscred.tmp", "config"]);
}

#[test]
fn only_the_last_backups_are_kept() {
    let h = harness();
    std::fs::create_dir(h.home().join(".claude")).unwrap();
    let settings = h.home().join(".claude/settings.json");
    for i in 0..7 {
        std::fs::write(&settings, format!("{{\"round\": {i}}}\n")).unwrap();
        let o = h.run(&["setup", "claude", "--profile", "bedrock"]);
        assert!(o.status.success(), "{}", stderr(&o));
        printed_backup(&h, &o);
    }
    let mut kept: Vec<String> = std::fs::read_dir(state_dir(&h))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        (2..7)
            .map(|i| format!("{{\"round\": {i}}}\n"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_new_project_settings_file_comes_alone_and_needs_no_backup() {
    let h = harness();
    let repo = h.home().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let o = run_in(
        &h,
        &repo,
        &[
            "setup",
            "claude",
            "--profile",
            "bedrock",
            "--scope",
            "project",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("kept as"), "{}", stdout(&o));
    let files: Vec<PathBuf> = snapshot(&repo).into_iter().map(|(p, _)| p).collect();
    assert_eq!(files, [repo.join(".claude/settings.json")]);
    assert_eq!(mode(&repo.join(".claude/settings.json")), 0o644);
    assert!(!state_dir(&h).exists());
}
