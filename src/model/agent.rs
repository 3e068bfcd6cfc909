//! Which agent a session runs: the `adapter` value of `meta.json`.

/// The agents zwarm can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AgentKind {
    Codex,
    Claude,
    Gemini,
    Qwen,
}

impl AgentKind {
    /// The name stored in `meta.json`'s `adapter` (2.3.5's names).
    pub(crate) fn meta_name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::Claude => "claude_code",
            AgentKind::Gemini => "gemini",
            AgentKind::Qwen => "qwen",
        }
    }

    /// The short name people type and see.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            AgentKind::Codex => "codex",
            AgentKind::Claude => "claude",
            AgentKind::Gemini => "gemini",
            AgentKind::Qwen => "qwen",
        }
    }

    pub(crate) fn from_meta(name: &str) -> Option<Self> {
        match name {
            "codex" => Some(AgentKind::Codex),
            "claude_code" | "claude" => Some(AgentKind::Claude),
            "gemini" => Some(AgentKind::Gemini),
            "qwen" => Some(AgentKind::Qwen),
            _ => None,
        }
    }
}
