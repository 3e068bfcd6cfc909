use clap::Parser;
use std::process::ExitCode;
use zwarm::error::{exit, Error};
use zwarm::render::{self, Style};

fn main() -> ExitCode {
    let cli = match zwarm::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    let style = Style::decide(cli.color);
    let code = match zwarm::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let typed = err.downcast_ref::<Error>();
            let hint = typed.and_then(Error::hint);
            render::error(&style, &one_line(&err), hint.as_deref());
            typed.map(Error::exit_code).unwrap_or(exit::FAILURE)
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
