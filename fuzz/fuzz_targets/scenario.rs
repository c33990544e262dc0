#![no_main]
//! See `kuaifan_fuzz::scenario`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kuaifan_fuzz::scenario::run(data));
