//! Process-wide protections, set before anything else runs.
//!
//! awscred holds refresh tokens and credentials in memory. A crash must never write them to
//! a core file, and another process of the same user must not read this one's memory. So,
//! first thing: the core-file size limit is set to 0 (a plain `core_pattern` then writes
//! nothing) and, on Linux, the process is marked not dumpable (which also stops a pipe
//! `core_pattern` such as systemd-coredump, and `ptrace` and `/proc/PID/mem` access by
//! other processes of the same user). Children get their own dumpable flag back at
//! `execve`; the soft core limit of 0 is inherited by helpers awscred starts (a browser, an
//! MFA tool), and given back to the program `awscred exec` becomes.
//!
//! macOS gets the core limit through the same POSIX call (type-checked only: it cannot be
//! run here); Windows writes no core files unless Windows Error Reporting is configured
//! for local dumps, which is the user's choice.

/// The core-file limit this process started with, restored for a program that replaces it.
#[cfg(unix)]
static STARTED_WITH: std::sync::OnceLock<rustix::process::Rlimit> = std::sync::OnceLock::new();

/// Gives back the core-file limit the user started awscred with, just before awscred
/// replaces itself with another program (`exec`): that program is the user's, not ours.
#[cfg(unix)]
pub fn restore_for_child() {
    if let Some(limit) = STARTED_WITH.get() {
        let _ = rustix::process::setrlimit(rustix::process::Resource::Core, *limit);
    }
}

/// Applies the protections; failures are ignored (the program still works, only less
/// protected), since none of them can be fixed by the user at this point.
pub fn apply() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let started = getrlimit(Resource::Core);
        let hard = started.maximum;
        let _ = STARTED_WITH.set(started);
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: hard,
            },
        );
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{DumpableBehavior, set_dumpable_behavior};
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn no_core_file_and_not_dumpable() {
        super::apply();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(limit.current, Some(0));
        assert_eq!(
            rustix::process::dumpable_behavior().ok(),
            Some(rustix::process::DumpableBehavior::NotDumpable)
        );
    }
}
