//! The token, registration and credential readers on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    awscred::fuzzing::entries(data);
});
