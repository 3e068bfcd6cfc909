//! The terminal while the dashboard runs: raw mode and the alternate
//! screen, given back on every way out. A normal return and an error drop
//! the [`Screen`]; a panic runs the hook installed here first, so the
//! message is printed on a terminal that reads as usual again; SIGTERM,
//! SIGHUP and SIGINT end the event loop, which then drops the screen.

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, Stdout};
use std::sync::Once;

pub(crate) type Term = Terminal<CrosstermBackend<Stdout>>;

/// The dashboard's terminal; restored when dropped.
pub(crate) struct Screen {
    pub term: Term,
}

impl Screen {
    pub(crate) fn enter() -> io::Result<Screen> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        // From here on a failure must still give the terminal back.
        let screen = Screen {
            term: Terminal::new(CrosstermBackend::new(io::stdout()))?,
        };
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen and raw mode; harmless when done twice.
fn restore() {
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}
