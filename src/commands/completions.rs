//! `completions`: a shell completion script.

use super::Outcome;
use crate::cli::CompletionsArgs;
use crate::render;

pub(crate) fn run(a: &CompletionsArgs) -> Outcome {
    render::completions(a.shell);
    Outcome::OK
}
