//! Parse and frame arbitrary bytes: no panic, spans inside the message, and the framer's items
//! independent of how the stream is split into reads (see `engine::fix::fuzz::fix_parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    engine::fix::fuzz::fix_parse(data);
});
