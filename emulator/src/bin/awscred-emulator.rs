//! Runs the emulator in the foreground: `awscred-emulator [--port N] [--auto-approve]`.
//! Prints its URL on the first line of stdout.

use awscred_emulator::{Emulator, Settings};
use std::io::Write;

fn main() {
    let mut port = 0u16;
    let mut settings = Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--auto-approve" => settings.auto_approve_after = Some(0),
            "--help" | "-h" => {
                println!("usage: awscred-emulator [--port N] [--auto-approve]");
                return;
            }
            other => {
                eprintln!("awscred-emulator: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let emu = match Emulator::start_on(settings, port) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("awscred-emulator: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", emu.url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
