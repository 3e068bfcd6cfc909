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
    _restore: Restore,
}

/// Gives the terminal back when dropped: made as soon as raw mode is on,
/// so that a failure further on in setting up gives it back too.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
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
        let restore = Restore;
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
        Ok(Screen {
            term: Terminal::new(CrosstermBackend::new(io::stdout()))?,
            _restore: restore,
        })
    }
}

/// Leaves the alternate screen and raw mode; harmless when done twice.
fn restore() {
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}
