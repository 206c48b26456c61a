//! The chunk header decoder and chunked reads on arbitrary stored values.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    awscred::fuzzing::chunks(data);
});
