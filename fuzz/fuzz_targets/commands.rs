#![no_main]
//! See `kuaifan_fuzz::commands`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kuaifan_fuzz::commands::run(data));
