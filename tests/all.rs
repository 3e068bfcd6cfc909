//! The integration tests, in one binary: the real zwarm binary driven by
//! fake agents replaying recorded transcripts, and by the real agent CLIs
//! against mock model servers. `support/` holds what the suites share,
//! `suite/` the tests, one file per subject.

// A test binary exports nothing, so `pub` only says "for the other suites";
// and in a test, a failed unwrap is the test failing, said where it fails.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

mod suite;
mod support;
