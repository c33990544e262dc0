//! Every committed corpus file of every target, run through the same
//! function the fuzzer runs: valid seeds, and every input that ever
//! crashed, so a fixed crash stays fixed. A failure names the file; run
//! it again under the fuzzer with `fuzz/run <target> <file>`.

use std::panic::{AssertUnwindSafe, catch_unwind};

fn replay(target: &str) {
    let (_, run) = kuaifan_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let files = kuaifan_fuzz::corpus(target).unwrap_or_else(|e| panic!("corpus of {target}: {e}"));
    assert!(
        files.len() >= 5,
        "the {target} corpus has only {} files",
        files.len()
    );
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target} fails on:\n  {}",
        failed.join("\n  ")
    );
}

#[test]
fn pbf_corpus_replays() {
    replay("pbf");
}

#[test]
fn scenario_corpus_replays() {
    replay("scenario");
}

#[test]
fn requests_corpus_replays() {
    replay("requests");
}

#[test]
fn commands_corpus_replays() {
    replay("commands");
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target)
        .join(format!("seed-{name}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seeds reach the service's success paths, so the corpus is not
/// all refusals.
#[test]
fn the_closed_loop_seed_is_answered_and_an_observer_is_refused() {
    let loop_ = seed("requests", "closed-loop");
    let answers = kuaifan_fuzz::requests::answer_all(&loop_);
    assert_eq!(answers.len(), 8);
    for (call, outcome) in &answers {
        assert!(outcome.is_ok(), "{call}: {outcome:?}");
    }
    let observer = kuaifan_fuzz::requests::answer_all(&seed("requests", "closed-loop-as-observer"));
    for (call, outcome) in &observer {
        let code = outcome.as_ref().err().map(tonic::Status::code);
        match *call {
            // Reads are allowed; the incident was never reported.
            "GetIncident" => assert_eq!(code, Some(tonic::Code::NotFound)),
            "ListIncidents" => assert_eq!(code, None),
            _ => assert_eq!(code, Some(tonic::Code::PermissionDenied), "{call}"),
        }
    }
}

/// Noise seeds give the commands target both accepted and refused
/// commands to check.
#[test]
fn the_command_noise_seeds_are_accepted_and_refused() {
    let (mut accepted, mut refused) = (0, 0);
    for len in [16, 64, 256, 1024, 4096] {
        let (a, r) = kuaifan_fuzz::commands::apply_all(&seed("commands", &format!("noise-{len}")));
        accepted += a;
        refused += r;
    }
    assert!(
        accepted >= 20 && refused >= 20,
        "{accepted} accepted, {refused} refused"
    );
}
