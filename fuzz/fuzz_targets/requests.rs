#![no_main]
//! See `kuaifan_fuzz::requests`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kuaifan_fuzz::requests::run(data));
