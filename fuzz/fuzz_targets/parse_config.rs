//! The profile parser and resolver on arbitrary text: never a panic, only errors.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    awscred::fuzzing::config(data);
});
