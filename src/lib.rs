//! zwarm: run coding agents as background sessions.
