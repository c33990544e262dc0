//! The PBF corpus again, this time under the allocation bound the fuzzer
//! enforces: a capped allocator in this test binary (a binary of its own,
//! so no other test's allocations count) makes an allocation past
//! `allocation_bound(input size)` fail the process.

use std::alloc::System;

use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

#[test]
fn pbf_corpus_stays_within_its_allocation_bound() {
    let files = kuaifan_fuzz::corpus("pbf").unwrap_or_else(|e| panic!("the pbf corpus: {e}"));
    // Warm up what is allocated once per process (thread pools, the
    // profile), so that it does not count against the first input.
    kuaifan_fuzz::pbf::run(&[]);
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let bound = kuaifan_fuzz::pbf::allocation_bound(data.len());
        let base = ALLOCATOR.allocated();
        ALLOCATOR
            .set_limit(base.saturating_add(bound))
            .unwrap_or_else(|_| panic!("the limit can be set"));
        kuaifan_fuzz::pbf::run(&data);
        let _ = ALLOCATOR.set_limit(usize::MAX);
    }
}

/// A block header that claims a 2 GB block, then 16 bytes: refused as not
/// PBF, under a limit far below 2 GB.
#[test]
fn a_block_that_claims_two_gigabytes_is_not_believed() {
    // BlobHeader { type = "OSMData", datasize = 2^31 - 1 }
    let mut header = vec![0x0a, 7];
    header.extend_from_slice(b"OSMData");
    header.extend_from_slice(&[0x18, 0xff, 0xff, 0xff, 0xff, 0x07]);
    let mut file = (header.len() as u32).to_be_bytes().to_vec();
    file.extend_from_slice(&header);
    file.extend_from_slice(&[0x5a; 16]);
    let limit = ALLOCATOR.allocated() + kuaifan_fuzz::pbf::allocation_bound(file.len());
    assert!(limit < 1 << 31);
    ALLOCATOR
        .set_limit(limit)
        .unwrap_or_else(|_| panic!("the limit can be set"));
    let read = kuaifan_engine::OsmRoads::from_pbf_bytes(&file, &kuaifan_engine::Profile::default());
    let _ = ALLOCATOR.set_limit(usize::MAX);
    let error = read
        .expect_err("a 16-byte block is not a 2 GB one")
        .to_string();
    assert!(error.contains("not a valid OSM PBF file"), "{error}");
}
