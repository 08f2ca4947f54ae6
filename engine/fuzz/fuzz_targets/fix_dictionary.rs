//! Validate arbitrary messages against the FIX 4.4 dictionary: no panic, only known
//! SessionRejectReason codes, group entries inside the message.
#![no_main]

use std::sync::OnceLock;

use engine::fix::dict::Dictionary;
use libfuzzer_sys::fuzz_target;

fn dictionary() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/venuegate/fix/spec/FIX44.xml");
        Dictionary::load(path, None).expect("the vendored FIX44.xml loads")
    })
}

fuzz_target!(|data: &[u8]| {
    engine::fix::fuzz::fix_dictionary(dictionary(), data);
});
