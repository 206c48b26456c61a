//! Process-wide protections, set before anything else runs.
//!
//! awscred holds refresh tokens and credentials in memory. A crash must never write them to
//! a core file, and another process of the same user must not read this one's memory. So,
//! first thing: the core-file size limit is set to 0 (a plain `core_pattern` then writes
//! nothing) and, on Linux, the process is marked not dumpable (which also stops a pipe
//! `core_pattern` such as systemd-coredump, and `ptrace` and `/proc/PID/mem` access by
//! other processes of the same user). Children get their own dumpable flag back at
//! `execve`; the soft core limit of 0 is inherited, the hard limit is kept so a child can
//! raise it again.
//!
//! macOS gets the core limit through the same POSIX call (type-checked only: it cannot be
//! run here); Windows writes no core files unless Windows Error Reporting is configured
//! for local dumps, which is the user's choice.

/// Applies the protections; failures are ignored (the program still works, only less
/// protected), since none of them can be fixed by the user at this point.
pub fn apply() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let hard = getrlimit(Resource::Core).maximum;
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
