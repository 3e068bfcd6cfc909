//! The integration tests, in one binary: the real zwarm binary driven by
//! fake agents replaying recorded transcripts, and by the real agent CLIs
//! against mock model servers. `support/` holds what the suites share,
//! `suite/` the tests, one file per subject.

mod suite;
mod support;
