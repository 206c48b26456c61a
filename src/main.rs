//! The awscred binary; everything happens in [`awscred::app`].

fn main() -> std::process::ExitCode {
    awscred::app::run(std::env::args_os())
}
