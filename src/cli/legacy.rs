//! zwarm 2.3.5's `zwarm session ...` spellings, kept for existing scripts.

use super::AdapterArg;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct LegacyArgs {
    #[command(subcommand)]
    pub command: LegacyCommand,
}

/// zwarm 2.3.5's `session` commands, mapped onto today's. Their `-d DIR` was
/// the project directory whose `.zwarm` holds the sessions.
#[derive(Subcommand, Debug)]
pub(crate) enum LegacyCommand {
    Start {
        task: String,
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
        #[arg(short, long)]
        model: Option<String>,
        #[arg(short, long, value_enum, default_value_t = AdapterArg::Codex)]
        adapter: AdapterArg,
    },
    Ls {
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
        /// Accepted for compatibility: every session is listed
        #[arg(short, long)]
        all: bool,
    },
    Show {
        id: String,
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
    },
    Logs {
        id: String,
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
        #[arg(short, long)]
        turn: Option<u32>,
        /// Follow the running turn
        #[arg(short, long)]
        follow: bool,
    },
    Inject {
        id: String,
        message: String,
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
    },
    Kill {
        id: String,
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
    },
    Clean {
        #[arg(short = 'd', value_name = "DIR")]
        project: Option<PathBuf>,
        #[arg(short, long, default_value_t = 7)]
        keep_days: u64,
        #[arg(short, long)]
        yes: bool,
    },
}
