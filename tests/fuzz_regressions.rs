//! Replays every input the fuzzers kept (crashes found and fixed, plus edge cases) through
//! the same entry points the fuzz targets use, so a fixed crash stays fixed.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.file_name() == ".keep" {
            continue;
        }
        run(&std::fs::read(entry.path()).unwrap());
        n += 1;
    }
    n
}

#[test]
fn parse_config_inputs() {
    assert!(replay("parse_config", awscred::fuzzing::config) > 0);
}

#[test]
fn decode_entries_inputs() {
    assert!(replay("decode_entries", awscred::fuzzing::entries) > 0);
}

#[test]
fn chunk_header_inputs() {
    assert!(replay("chunk_header", awscred::fuzzing::chunks) > 0);
}
