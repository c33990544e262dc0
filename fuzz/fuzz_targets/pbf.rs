#![no_main]
//! Arbitrary bytes as an OSM PBF file, with the heap capped at the bound
//! `kuaifan_fuzz::pbf::allocation_bound` sets from the input's size: an
//! allocation past it aborts, and libFuzzer reports the input.

use std::alloc::System;

use cap::Cap;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fuzz_target!(init: {
    // libfuzzer-sys's hook aborts on any panic, even one the loader
    // catches and turns into an error (see `OsmError::Malformed`). The
    // default hook only prints; a panic nothing catches still reaches
    // libfuzzer-sys, which aborts on it.
    drop(std::panic::take_hook());
}, |data: &[u8]| {
    let limit = ALLOCATOR
        .allocated()
        .saturating_add(kuaifan_fuzz::pbf::allocation_bound(data.len()));
    let _ = ALLOCATOR.set_limit(limit);
    kuaifan_fuzz::pbf::run(data);
    let _ = ALLOCATOR.set_limit(usize::MAX);
});
